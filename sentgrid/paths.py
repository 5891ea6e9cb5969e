"""Where things live: the configs (in the package when installed, `conf/` in a source checkout), the
home of a user's outputs (cache, SQLite store, `multirun/`, `outputs/`, `reports/`).

The home is `$SENTGRID_HOME`, else the working directory: never inside site-packages, so an installed
sentgrid works from any folder. Registered as OmegaConf resolvers so configs can say `${sentgrid_home:}`
and `${minilm_path:}`, `${mpnet_path:${cache.models_dir}}` (the packaged models, `packaged_models.py`).
"""
import os
from pathlib import Path

from omegaconf import OmegaConf

PACKAGE = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE.parent  # the source checkout (its git commit is recorded); site-packages when installed
# A wheel carries the configs as sentgrid/conf (mapped from the top-level conf/ at build time).
CONF_DIR = PACKAGE / "conf" if (PACKAGE / "conf" / "config.yaml").is_file() else PROJECT_ROOT / "conf"


def home() -> Path:
    """Where outputs go by default: $SENTGRID_HOME, else the working directory (absolute)."""
    return Path(os.environ.get("SENTGRID_HOME") or os.getcwd()).resolve()


def register_resolvers() -> None:
    from .packaged_models import minilm_path, mpnet_path

    resolvers = {"sentgrid_home": lambda: str(home()), "minilm_path": minilm_path, "mpnet_path": mpnet_path}
    for name, fn in resolvers.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)
