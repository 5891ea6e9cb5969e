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


def test_pair_classification_equals_sentence_transformers_evaluator(compose_cell, data_root, sentence_transformer):
    """task=pair_classification (MRPC) against sentence-transformers' BinaryClassificationEvaluator on its own
    encoding. The thresholds are exact on equal similarities; where the peer's cosines of a positive and a
    negative pair lie within float noise of each other they may swap, which moves accuracy and F1 by at most
    one pair each and AP by a bounded amount: only then is that much allowed."""
    from sentence_transformers.sentence_transformer.evaluation import BinaryClassificationEvaluator

    from sentgrid.data.pair_classification import load

    record = run_cell(compose_cell("task=pair_classification", f"task.max_items={SLICE}"))
    data = load("MRPC", data_root).take(SLICE)
    first, second = zip(*data.pairs)
    theirs = BinaryClassificationEvaluator(list(first), list(second), data.labels.tolist(), write_csv=False,
                                           similarity_fn_names=["cosine"])
    scores = theirs.compute_metrics(sentence_transformer)["cosine"]
    a, b = sentence_transformer.encode(list(first)), sentence_transformer.encode(list(second))
    cosines = np.sort((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1))
    near_ties = int((np.diff(cosines) < 1e-5).sum())
    allowed = 100 * near_ties / len(data) + 1e-6
    for metric in ("accuracy", "f1", "ap"):
        assert abs(record["metrics"][f"pair_classification/MRPC/{metric}"] - 100 * scores[metric]) <= allowed, metric
