"""model=m2v against the model2vec library itself: the same distillation, the same vectors, the same
scores; built once and read from the store after. A tiny random BERT with MiniLM's vocabulary stands in
for the base so that distilling its 30k tokens takes a second (MiniLM: 15 s here)."""
import numpy as np

from sentgrid.data import STS_DATASETS, load_sts
from sentgrid.pipeline import run_cell

SLICE = 60


def test_m2v_equals_model2vecs_own_distill_and_encode(compose_cell, tiny_base, data_root, spearman_agrees):
    from model2vec.distill import distill

    cell = ["model=m2v", f"model.base.path={tiny_base}", "model.pca_dims=16", f"task.max_items={SLICE}"]
    record = run_cell(compose_cell(*cell))
    assert record["resolved"]["model"]["table_built"] and record["resolved"]["model"]["hidden_size"] == 16
    peer = distill(str(tiny_base), pca_dims=16)  # the library's defaults, as model=m2v's
    # Its rows are stored in float16 (as sentgrid's table holds them); averaged in float32 as sentgrid does,
    # not rounded back to float16 (which moves a 60-pair Spearman by up to 0.04).
    peer.embedding = peer.embedding.astype(np.float32)
    encode = lambda sentences, batch_size: peer.encode(sentences, batch_size=batch_size)  # noqa: E731
    for name in STS_DATASETS:
        spearman_agrees(record["metrics"][f"sts/{name}/spearman"], encode, load_sts(name, data_root).take(SLICE),
                        label=name)
    # Built once: the next process's cell (another pooling) reads the table from the store.
    from sentgrid.workspace import Workspace

    Workspace._open = {}
    again = run_cell(compose_cell(*cell, "pooling=max"))
    assert not again["resolved"]["model"]["table_built"] and again["resolved"]["model"]["vocabulary"] == peer.embedding.shape[0]
