import os
from pathlib import Path

# Never reach the hub from tests: a hub name would otherwise retry for ~45 s before failing.
for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ[var] = "1"

import pytest  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402

from sentgrid.paths import PROJECT_ROOT, register_resolvers  # noqa: E402

register_resolvers()


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = Path(os.environ.get("SENTGRID_DATA", PROJECT_ROOT.parent / "shared" / "data"))
    assert root.is_dir(), f"the test data is missing: set SENTGRID_DATA (looked in {root})"
    return root


@pytest.fixture(scope="session")
def minilm_cfg():
    return OmegaConf.load(PROJECT_ROOT / "conf/model/minilm.yaml")


@pytest.fixture(scope="session")
def minilm(minilm_cfg, tmp_path_factory):
    from sentgrid.encoders import TransformerEncoder
    from sentgrid.templates import Template

    return TransformerEncoder(minilm_cfg, Template("none", None), tmp_path_factory.mktemp("memo"))


@pytest.fixture
def compose_cell(tmp_path, data_root):
    """A full cell config from conf/ with overrides, writing only under tmp_path."""
    from hydra import compose, initialize_config_dir

    def make(*overrides):
        with initialize_config_dir(config_dir=str(PROJECT_ROOT / "conf"), version_base="1.3"):
            return compose("config", overrides=[f"data.root={data_root}", f"cache.dir={tmp_path / 'cache'}",
                                                "tracking.enabled=false", *overrides])
    return make
