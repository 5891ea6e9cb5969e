"""sentgrid's numbers against peers computing the same thing."""
import numpy as np
import pytest
from scipy.stats import spearmanr

from sentgrid.data import STS_DATASETS, load_sts
from sentgrid.pipeline import run_cell

SLICE = 60  # pairs per dataset: every dataset and subset, a few seconds of encoding


@pytest.fixture(scope="module")
def sentence_transformer(minilm_cfg):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(minilm_cfg.path, device="cpu")


def test_minilm_avg_last_equals_sentence_transformers(compose_cell, data_root, sentence_transformer, spearman_agrees):
    record = run_cell(compose_cell(f"task.max_items={SLICE}"))
    encode = lambda sentences, batch_size: sentence_transformer.encode(sentences, batch_size=batch_size)  # noqa: E731
    for name in STS_DATASETS:
        spearman_agrees(record["metrics"][f"sts/{name}/spearman"], encode, load_sts(name, data_root).take(SLICE),
                        tolerance=0.05, label=name)
    # Every layer is cached: blocks 1 and 6 of the same sentences need no forward pass.
    again = run_cell(compose_cell(f"task.max_items={SLICE}", "layer=first_last", "pooling=max"))
    assert again["encode"]["sentences_computed"] == 0 and again["resolved"]["layers"] == [1, 6]


def test_whitening_matches_the_reference_formula_on_real_vectors(compose_cell, data_root):
    """postproc=whiten with fit_on=task equals BERT-whitening (Su et al.) computed by hand from plain vectors."""
    plain = run_cell(compose_cell("task.max_items=400", "task.sts.datasets=[SICK-R]"))
    whitened = run_cell(compose_cell("task.max_items=400", "task.sts.datasets=[SICK-R]", "postproc=whiten"))
    assert whitened["encode"]["sentences_computed"] == 0
    from sentgrid.encoders.transformer import TransformerEncoder
    from sentgrid.spec import CacheSpec
    from sentgrid.templates import Template
    from sentgrid.workspace import Workspace
    cfg = compose_cell()
    data = load_sts("SICK-R", data_root).take(400)
    encoder = TransformerEncoder(cfg.model, Template("none", None))
    store = Workspace(CacheSpec(dir=cfg.cache.dir)).encoding
    arrays, _ = store.primitives(encoder, {"d": data.sentences}, "mean_all", [6])
    x = arrays["d"][0].astype(np.float64)
    u, s, _ = np.linalg.svd(np.cov(x, rowvar=False))
    keep = s > 1e-6 * s[0]
    w = (x - x.mean(0)) @ (u[:, keep] / np.sqrt(s[keep]))
    row = {t: i for i, t in enumerate(data.sentences)}
    a, b = w[[row[t] for t in data.sentences1]], w[[row[t] for t in data.sentences2]]
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert abs(whitened["metrics"]["sts/SICK-R/spearman"] - 100 * spearmanr(cos, data.scores).statistic) < 0.05
    assert plain["metrics"]["sts/SICK-R/spearman"] != whitened["metrics"]["sts/SICK-R/spearman"]
