"""cache.layers: which hidden layers a new cache entry keeps.

`all` (the default) keeps every layer, so any later sweep over layers reads the entry. `requested` keeps
only the layers the sweep asks of that model: a 12-layer model's `layer=last` entries are 13x smaller, and
a later sweep over other layers encodes those sentences again. The sweep's start (its callback, through
plan) writes the layers each model is asked for to `kept_layers.json` in the sweep folder, so every cell
of the sweep keeps the same set and the sweep still encodes each sentence once; a cell run alone keeps
its own layers. The kept set is part of the entry's key: entries never change their contents.
"""
import hashlib
import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)

CHOICES = ("all", "requested")
SWEEP_FILE = "kept_layers.json"


def group(encoder) -> str:
    """The name under which a sweep collects the layers asked of one forward model."""
    identity = json.dumps(encoder.identity(), sort_keys=True, default=str)
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def to_keep(setting: str, encoder, layers: list[int], sweep: dict) -> list[int] | None:
    """The layers a new entry of `encoder` keeps for a cell asking `layers`; None: every layer."""
    if setting == "all" or not getattr(encoder, "layered", False):
        return None
    kept = sorted(set(layers) | set(sweep.get(group(encoder), ())))
    return None if len(kept) > encoder.num_layers else kept


def of_sweep() -> dict:
    """{group: layers} written at this multirun's start; {} outside a multirun or when it is not there
    (a launcher on machines that do not share the sweep folder: each cell then keeps its own layers)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized() or HydraConfig.get().mode.name != "MULTIRUN":
        return {}
    path = Path(HydraConfig.get().sweep.dir) / SWEEP_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("could not read %s (%s); this cell keeps only its own layers", path, exc)
        return {}


def write_sweep(sweep_dir: str | Path, groups: dict) -> None:
    folder = Path(sweep_dir)
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{SWEEP_FILE}.tmp"
    temporary.write_text(json.dumps(groups, sort_keys=True))
    temporary.replace(folder / SWEEP_FILE)
