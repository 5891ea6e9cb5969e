"""`python -m sentgrid.data check`: is every dataset under the data root, with the rows and checksums
sentgrid expects? Prints one line per dataset and exits non-zero on any problem."""
import argparse
import hashlib
import os
import sys
from pathlib import Path

from ..errors import SentgridError
from .checksums import FILES
from .families import CLASSIFICATION, CLUSTERING, load_classification, load_clustering
from .registry import STS_DATASETS, data_root, load_sts, sts_files


def file_status(root: Path, relative: str) -> str | None:
    """None when the file is present and matches its published size and sha256, else what is wrong."""
    path = root / relative
    if not path.is_file():
        return f"missing {relative}"
    size, sha256 = FILES[relative]
    if path.stat().st_size != size:
        return f"size of {relative} is {path.stat().st_size}, expected {size}"
    if hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
        return f"checksum of {relative} differs"
    return None


def rows_of(family: str, name: str, root: Path) -> tuple[str, str]:
    """(found rows, expected rows) as text."""
    if family == "sts":
        return str(len(load_sts(name, root))), str(STS_DATASETS[name].pairs)
    if family == "clustering":
        return str(len(load_clustering(name, root))), str(CLUSTERING[name].rows)
    data = load_classification(name, root)
    found = "/".join(str(len(data.splits[s][0])) for s in CLASSIFICATION[name].rows)
    return found, "/".join(map(str, CLASSIFICATION[name].rows.values()))


def check(root: Path) -> int:
    specs = [("sts", n, sts_files(s)) for n, s in STS_DATASETS.items()] + \
            [("clustering", n, list(s.files)) for n, s in CLUSTERING.items()] + \
            [("classification", n, list(s.files)) for n, s in CLASSIFICATION.items()]
    problems = 0
    print(f"data root: {root}\n{'family':<15}{'dataset':<26}{'rows':>20}{'expected':>20}  files")
    for family, name, files in specs:
        issues = [status for f in files if (status := file_status(root, f))]
        try:
            found, expected = rows_of(family, name, root)
        except SentgridError as exc:
            found, expected = "error", ""
            issues.append(str(exc))
        ok = not issues and found == expected
        problems += not ok
        print(f"{family:<15}{name:<26}{found:>20}{expected:>20}  {'ok' if ok else 'FAIL'} ({len(files)} files)")
        for issue in issues:
            print(f"{'':<41}- {issue}")
    print(f"\n{len(specs) - problems} of {len(specs)} datasets ok" + (f", {problems} with problems" if problems else ""))
    return 1 if problems else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sentgrid.data", description=__doc__)
    parser.add_argument("command", choices=["check"])
    parser.add_argument("--root", default=os.environ.get("SENTGRID_DATA"), help="data root (default: $SENTGRID_DATA)")
    args = parser.parse_args(argv)
    try:
        return check(data_root(args.root))
    except SentgridError as exc:
        print(f"sentgrid: error: {exc}", file=sys.stderr)
        return 2
