"""`python -m sentgrid.report tables|figures [filters]`: what `make tables` and `make figures` run.

    --experiment NAME   MLflow experiment(s), e.g. a preset's name (repeatable)
    --sweep DIR         read the result records of these sweep folders instead of MLflow (repeatable)
    --tag KEY=VALUE     keep cells whose column KEY equals VALUE, e.g. --tag model=minilm (repeatable)
    --source auto|mlflow|records
"""
import argparse
import shutil
import sys
from pathlib import Path

from ..paths import home, register_resolvers
from .data_labels import FULL, NESTED_PREFIX, SLICE_PREFIX, slice_settings
from .figures import write_figures
from .results import load
from .tables import write_tables


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sentgrid.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["tables", "figures", "all"])
    parser.add_argument("--experiment", action="append")
    parser.add_argument("--sweep", action="append")
    parser.add_argument("--tag", action="append", default=[])
    parser.add_argument("--source", choices=["auto", "mlflow", "records"], default="auto")
    parser.add_argument("--uri", default=None,
                        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else the project's mlflow.db)")
    parser.add_argument("--out", default=str(home() / "reports"))
    args = parser.parse_args(argv)
    register_resolvers()
    tags = {}
    for item in args.tag:
        if "=" not in item:
            parser.error(f"--tag {item!r}: use KEY=VALUE")
        key, value = item.split("=", 1)
        tags[key] = value
    results = load(args.source, args.uri, args.experiment, args.sweep, tags)
    print(f"{len(results.frame)} cells from {results.source} ({results.duplicates} duplicate runs dropped, latest kept)")
    if results.frame.empty:
        print("nothing to report: run a sweep first (e.g. python -m sentgrid -m +experiment=main_table), "
              "or check the filters", file=sys.stderr)
        return 1
    out = Path(args.out)
    kinds = [k for k in ("tables", "figures") if args.what in (k, "all")]
    for kind in kinds:  # a slice's tables and figures go to their own folder: slices never mix with full data
        for prefix in (SLICE_PREFIX, NESTED_PREFIX):
            for old in (out / kind).glob(f"{prefix}*"):
                shutil.rmtree(old)
    for label, part in results.by_data():
        where = "" if label == FULL else f" ({label}: {slice_settings(label)})"
        if "tables" in kinds:
            folder = out / "tables" / ("" if label == FULL else label)
            files = write_tables(part, folder, label)
            print(f"tables{where}: {len(files)} files in {folder} (README.md shows them all)")
            if label == FULL:
                print((folder / "README.md").read_text().split("## Golden checks")[-1].strip())
        if "figures" in kinds:
            written, skipped = write_figures(part.frame, out / "figures" / ("" if label == FULL else label))
            for path in written:
                print(f"figure{where}: {path}")
            for line in skipped if label == FULL else []:
                print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
