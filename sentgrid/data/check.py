"""`python -m sentgrid.data check`: is every dataset under the data root, with the rows and checksums
sentgrid expects? Prints one line per dataset and exits non-zero on any problem."""
import argparse
import hashlib
import json
import os
import sys
from functools import cache
from pathlib import Path

from ..errors import SentgridError
from .root import data_root


@cache
def published() -> dict[str, dict]:
    """Size and sha256 of every local data file sentgrid reads, as published in shared/data/SOURCES.md."""
    return json.loads((Path(__file__).parent / "checksums.json").read_text())


def file_status(root: Path, relative: str) -> str | None:
    """None when the file is present and matches its published size and sha256, else what is wrong."""
    path = root / relative
    if not path.is_file():
        return f"missing {relative}"
    expected = published()[relative]
    if path.stat().st_size != expected["size"]:
        return f"size of {relative} is {path.stat().st_size}, expected {expected['size']}"
    if hashlib.sha256(path.read_bytes()).hexdigest() != expected["sha256"]:
        return f"checksum of {relative} differs"
    return None


def check(root: Path) -> int:
    from ..tasks import FAMILIES

    problems = total = 0
    width = max(len(name) for name in FAMILIES) + 2
    print(f"data root: {root}\n{'family':<{width}}{'dataset':<26}{'rows':>20}{'expected':>20}  files")
    for family in FAMILIES.values():
        reader = family.data
        for name in family.datasets:
            files = reader.files(name)
            issues = [status for f in files if (status := file_status(root, f))]
            expected = reader.expected_rows(name)
            try:
                found = reader.rows(reader.load(name, root, _LOCAL_RAW))
            except SentgridError as exc:
                found, expected = "error", ""
                issues.append(str(exc))
            ok = not issues and found == expected
            total += 1
            problems += not ok
            print(f"{family.name:<{width}}{name:<26}{found:>20}{expected:>20}  {'ok' if ok else 'FAIL'} ({len(files)} files)")
            for issue in issues:
                print(f"{'':<{width + 26}}- {issue}")
    print(f"\n{total - problems} of {total} datasets ok" + (f", {problems} with problems" if problems else ""))
    return 1 if problems else 0


class _LOCAL_RAW:
    """The reading settings `check` uses: local files, raw text, every SICK-R split."""
    source, text_variant, sick_split = "local", "raw", "all"


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
