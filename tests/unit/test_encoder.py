import numpy as np
import pytest
from omegaconf import OmegaConf

from sentgrid.encoders.transformer import TransformerEncoder
from sentgrid.errors import SentgridError
from sentgrid.pooling.primitives import PRIMITIVES
from sentgrid.templates import PROMPTBERT, Template

NONE = Template("none", None)


def test_minilm_encodes_every_layer_and_primitive(minilm):
    out, stats = minilm.encode(["A man is playing a guitar.", "Hi"])
    assert minilm.num_layers == 6
    assert set(out) == set(PRIMITIVES)
    assert out["mean_all"].shape == (7, 2, 384)
    assert stats["lengths"].tolist() == [9, 3]  # [CLS] a man is playing a guitar . [SEP]


def test_order_and_batching_do_not_change_vectors(minilm_cfg, tmp_path):
    sentences = ["short", "a somewhat longer sentence here", "mid length one"]
    small = TransformerEncoder(OmegaConf.merge(minilm_cfg, {"batch_size": 1}), NONE, fingerprints=tmp_path)
    one, _ = small.encode(sentences)
    many, _ = small.encode(sentences[::-1])
    np.testing.assert_allclose(one["mean_all"][:, ::-1], many["mean_all"], atol=1e-5)


def test_template_mask_and_truncation_are_counted(minilm_cfg, tmp_path):
    encoder = TransformerEncoder(OmegaConf.merge(minilm_cfg, {"max_length": 20}), PROMPTBERT, fingerprints=tmp_path)
    out, stats = encoder.encode(["A dog runs.", "word " * 40])
    assert "mask" in out
    assert stats["mask_truncated"] == 1 and (stats["lengths"] > 20).sum() == 1


def test_identity_changes_with_template_and_length(minilm_cfg, tmp_path):
    base = TransformerEncoder(minilm_cfg, NONE, fingerprints=tmp_path).identity()
    assert base != TransformerEncoder(minilm_cfg, PROMPTBERT, fingerprints=tmp_path).identity()
    assert base != TransformerEncoder(OmegaConf.merge(minilm_cfg, {"max_length": 128}), NONE, fingerprints=tmp_path).identity()
    assert base == TransformerEncoder(minilm_cfg, NONE, fingerprints=tmp_path).identity()


def test_random_bert_is_seeded(minilm_cfg, tmp_path):
    cfg = OmegaConf.create({"name": "random-bert", "path": None, "tokenizer": minilm_cfg.path, "max_length": 32,
                            "batch_size": 8, "dtype": "float32", "device": "cpu",
                            "random_init": {"seed": 1, "config": {"hidden_size": 32, "num_hidden_layers": 2,
                                                                 "num_attention_heads": 2, "intermediate_size": 64}}})
    first, _ = TransformerEncoder(cfg, NONE, fingerprints=tmp_path).encode(["a test"])
    again, _ = TransformerEncoder(cfg, NONE, fingerprints=tmp_path).encode(["a test"])
    other = TransformerEncoder(OmegaConf.merge(cfg, {"random_init": {"seed": 2}}), NONE, fingerprints=tmp_path)
    np.testing.assert_array_equal(first["cls"], again["cls"])
    assert not np.allclose(first["cls"], other.encode(["a test"])[0]["cls"])
    assert first["cls"].shape == (3, 1, 32)


def test_unloadable_model_paths_name_the_fix(minilm_cfg, tmp_path):
    def layers_of(path):
        return TransformerEncoder(OmegaConf.merge(minilm_cfg, {"path": path}), NONE, fingerprints=tmp_path).num_layers

    with pytest.raises(SentgridError, match="is not a model folder"):
        layers_of("/no/such/model")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SentgridError, match="could not read the model config"):
        layers_of(str(tmp_path / "empty"))
    with pytest.raises(SentgridError, match="from the Hugging Face hub"):
        layers_of("no-such-org/no-such-model")


def test_bfloat16_encode_equals_autocast_over_float32_weights(minilm_cfg, tmp_path):
    """The encoder casts linear weights to bfloat16 once; autocast over float32 weights (what
    sentence-transformers does under autocast) casts them per call: the numbers are the same."""
    import torch
    import transformers

    sentences = ["A man is playing a guitar.", "Two dogs run across a snowy field.", "Hi"]
    encoder = TransformerEncoder(OmegaConf.merge(minilm_cfg, {"dtype": "bfloat16", "device": "cpu"}), NONE,
                                 fingerprints=tmp_path)
    ours, _ = encoder.encode(sentences)
    assert encoder.model.encoder.layer[0].attention.self.query.weight.dtype == torch.bfloat16
    reference = transformers.AutoModel.from_pretrained(encoder.folder).eval()
    batch = encoder.tokenizer(sentences, padding=True, return_tensors="pt")
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        last = reference(**batch).last_hidden_state.float()
    mask = batch["attention_mask"].unsqueeze(-1).float()
    mean = ((last * mask).sum(1) / mask.sum(1)).numpy()
    np.testing.assert_allclose(ours["mean_all"][-1], mean, rtol=0, atol=1e-6)  # bfloat16 vs float32 differ by ~1e-2
