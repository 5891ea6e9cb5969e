"""The data root: the folder that holds every dataset (`data.root`, or SENTGRID_DATA)."""
from pathlib import Path

from ..errors import SentgridError


def data_root(value) -> Path:
    if not value:
        raise SentgridError("data.root is not set; set data.root=/path/to/data or the SENTGRID_DATA environment "
                            "variable to the folder holding sts-raw/, senteval/, biosses/ ...")
    root = Path(str(value)).expanduser()
    if not root.is_dir():
        raise SentgridError(f"data.root={str(value)!r} is not a folder; set data.root (or SENTGRID_DATA) "
                            f"to the folder holding sts-raw/, senteval/, biosses/ ...")
    return root
