"""Shared fixtures. Tests live in two layers: tests/unit (no subprocess, no full data files, seconds)
and tests/e2e (marked `e2e`: real CLI runs and whole cells on small slices of the real data)."""
import json
import os
import subprocess
import sys
from pathlib import Path

# Never reach the hub from tests: a hub name would otherwise retry for ~45 s before failing.
for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ[var] = "1"

import pytest  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402

from sentgrid.packaged_models import MPNET, assemble  # noqa: E402
from sentgrid.paths import PROJECT_ROOT, register_resolvers  # noqa: E402

register_resolvers()
E2E = Path(__file__).parent / "e2e"


def pytest_collection_modifyitems(items):
    for item in items:
        if E2E in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = Path(os.environ.get("SENTGRID_DATA", PROJECT_ROOT.parent / "shared" / "data"))
    assert root.is_dir(), f"the test data is missing: set SENTGRID_DATA (looked in {root})"
    return root


@pytest.fixture(scope="session", autouse=True)
def models_dir(tmp_path_factory):
    """One store of reassembled packaged models (MPNet, ~440 MB) per test session, shared by every cell and
    CLI run (SENTGRID_MODELS), instead of one per test cache."""
    folder = tmp_path_factory.mktemp("models")
    os.environ["SENTGRID_MODELS"] = str(folder)
    return folder


@pytest.fixture(scope="session")
def mpnet_cfg(models_dir):
    cfg = OmegaConf.load(PROJECT_ROOT / "conf/model/mpnet.yaml")
    cfg.path = str(assemble(MPNET, models_dir))
    cfg.dtype = "float32"  # compared with transformers and sentence-transformers in float32
    return cfg


@pytest.fixture(scope="session")
def minilm_cfg():
    return OmegaConf.load(PROJECT_ROOT / "conf/model/minilm.yaml")


@pytest.fixture(scope="session")
def minilm(minilm_cfg, tmp_path_factory):
    from sentgrid.encoders.transformer import TransformerEncoder
    from sentgrid.templates import Template

    return TransformerEncoder(minilm_cfg, Template("none", None), fingerprints=tmp_path_factory.mktemp("memo"))


@pytest.fixture
def workspace(tmp_path):
    """A fresh store under tmp_path (float32 token entries unless a test asks otherwise)."""
    from sentgrid.spec import CacheSpec
    from sentgrid.workspace import Workspace

    return lambda **settings: Workspace(CacheSpec(dir=str(tmp_path / "cache"), **settings))


@pytest.fixture
def compose_cell(tmp_path, data_root):
    """A full cell config from conf/ with overrides, writing only under tmp_path."""
    from hydra import compose, initialize_config_dir

    def make(*overrides):
        with initialize_config_dir(config_dir=str(PROJECT_ROOT / "conf"), version_base="1.3"):
            return compose("config", overrides=[f"data.root={data_root}", f"cache.dir={tmp_path / 'cache'}",
                                                "tracking.enabled=false", *overrides])
    return make


@pytest.fixture
def sentgrid_cli(tmp_path, data_root):
    """`python -m sentgrid ARGS` as a user runs it, with its cache, store and Hydra folders under tmp_path."""
    def run(*args, sweep="sweep", uri=None, root=None):
        env = {**os.environ, "SENTGRID_DATA": str(root or data_root)}
        # Flags first (argparse wants the overrides together); the test's own settings come last, so they
        # win over these defaults.
        flags = [a for a in args if a.startswith("-")]
        args = [a for a in args if not a.startswith("-")]
        command = [sys.executable, "-m", "sentgrid", *flags, f"cache.dir={tmp_path / 'cache'}",
                   f"tracking.uri={uri or f'sqlite:///{tmp_path}/mlflow.db'}", f"hydra.sweep.dir={tmp_path / sweep}",
                   f"hydra.run.dir={tmp_path / 'run'}", *args]
        return subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    return run


def sweep_records(folder: Path) -> list[dict]:
    """The result.json of every job of a sweep folder, in job order."""
    return [json.loads((folder / str(i) / "result.json").read_text()) for i in range(len(list(folder.glob("[0-9]*"))))]


@pytest.fixture
def records():
    return sweep_records


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory, minilm_cfg):
    """A 2-layer, 32-wide random BERT with MiniLM's vocabulary: distilling its 30k tokens takes seconds."""
    import torch
    import transformers

    folder = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = transformers.AutoTokenizer.from_pretrained(minilm_cfg.path)
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=64)
    transformers.BertModel(config).save_pretrained(folder)
    return folder


# -- a peer's Spearman against a cell's, on slices where two float paths can order near-ties differently -----
def spearman_tie_margin(cosines, gold, eps: float) -> float:
    """How far (x100) Spearman's rho of `cosines` against `gold` can move when every cosine moves by at most
    `eps`: items i and j can change order only where |c_i - c_j| <= 2 eps, so item i's rank moves by at most
    m_i, the count of such neighbours; rho = cov(ranks)/(sd sd) with the cosines' ranks a permutation, so
    |d rho| <= sum_i m_i |q_i - mean q| / (n sd_r sd_q), q the gold's (tie-averaged) ranks."""
    import numpy as np
    from scipy.stats import rankdata

    c, q = np.asarray(cosines, dtype=np.float64), rankdata(gold)
    near = (np.abs(c[:, None] - c[None, :]) <= 2 * eps).sum(1) - 1
    return 100 * float((near * np.abs(q - q.mean())).sum() / (len(c) * rankdata(c).std() * q.std()))


def cosines(a, b):
    import numpy as np

    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.fixture
def spearman_agrees():
    """spearman_agrees(recorded, encode, data, tolerance): the cell's recorded Spearman (x100) equals the
    peer's on `data` (an STS slice) within `tolerance` plus what near-ties can move. `encode(sentences,
    batch_size)` is the peer; it runs at its default batching and one sentence at a time, and twice their
    largest cosine difference (at least 1e-5) is the float noise allowed: a 40-pair slice has pairs whose
    cosines differ by 4e-6, and which of them comes first then depends on the CPU's kernels (issue 23)."""
    import numpy as np
    from scipy.stats import spearmanr

    def check(recorded: float, encode, data, tolerance: float = 0.01, label=""):
        batched = cosines(encode(data.sentences1, 32), encode(data.sentences2, 32))
        single = cosines(encode(data.sentences1, 1), encode(data.sentences2, 1))
        eps = max(2 * float(np.abs(batched - single).max()), 1e-5)
        peer = 100 * spearmanr(batched, data.scores).statistic
        margin = spearman_tie_margin(batched, data.scores, eps)
        assert abs(recorded - peer) <= tolerance + margin, (label, recorded, peer, f"near-tie margin {margin:.3f}")
        return peer
    return check


# -- the fault ledger: rows added by tests/faults, one table at the end of the session --------------------
# Here, not in tests/faults/conftest.py: with pytest-xdist (make test) the workers run the tests and the
# controller, which loads only this conftest, prints the table from the rows the workers send back.
LEDGER: list[dict] = []


@pytest.fixture
def ledger():
    """ledger(fault, injected, finished_correctly, lost, wrong): one row of the closing table."""
    def add(fault: str, injected: int, correct: int, lost: int = 0, wrong: int = 0):
        LEDGER.append({"fault": fault, "injected": injected, "correct": correct, "lost": lost, "wrong": wrong})
    return add


def pytest_sessionfinish(session):
    output = getattr(session.config, "workeroutput", None)
    if output is not None:  # an xdist worker: its rows go back to the controller
        output["ledger"] = json.dumps(LEDGER)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    LEDGER.extend(json.loads(getattr(node, "workeroutput", {}).get("ledger", "[]")))


def pytest_terminal_summary(terminalreporter):
    if not LEDGER:
        return
    write = terminalreporter.write_line
    write("")
    write(f"{'fault':<48}{'injected':>9}{'finished correctly':>20}{'results lost':>14}{'wrong numbers':>15}")
    for row in LEDGER:
        write(f"{row['fault']:<48}{row['injected']:>9}{row['correct']:>20}{row['lost']:>14}{row['wrong']:>15}")
    totals = {k: sum(r[k] for r in LEDGER) for k in ("injected", "correct", "lost", "wrong")}
    write(f"{'total':<48}{totals['injected']:>9}{totals['correct']:>20}{totals['lost']:>14}{totals['wrong']:>15}")
