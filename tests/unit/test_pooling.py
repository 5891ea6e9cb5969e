import numpy as np
import pytest
import torch

from sentgrid.errors import SentgridError
from sentgrid.pooling import MODES, pool_primitive
from sentgrid.pooling.primitives import token_primitives
from sentgrid.spec import PoolingSpec


def test_primitives_match_hand_computation():
    torch.manual_seed(0)
    hidden = torch.randn(3, 2, 5, 4)  # layers, batch, tokens, dim
    attention = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]])
    special = torch.tensor([[1, 0, 0, 1, 0], [1, 0, 0, 0, 1]])  # [CLS] ... [SEP] (+ padding)
    out = token_primitives(hidden, attention, special, mask_positions=torch.tensor([2, 3]))
    h = hidden.numpy()
    np.testing.assert_allclose(out["cls"], h[:, :, 0])
    np.testing.assert_allclose(out["mean_all"][:, 0], h[:, 0, :4].mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(out["mean_content"][:, 0], h[:, 0, 1:3].mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(out["mean_content"][:, 1], h[:, 1, 1:4].mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(out["max_all"][:, 0], h[:, 0, :4].max(axis=1))
    np.testing.assert_allclose(out["max_content"][:, 1], h[:, 1, 1:4].max(axis=1))
    np.testing.assert_allclose(out["mask"][:, 0], h[:, 0, 2])
    np.testing.assert_allclose(out["mask"][:, 1], h[:, 1, 3])


def test_sentence_without_content_tokens_falls_back_to_all_tokens():
    hidden = torch.randn(1, 1, 2, 3)
    out = token_primitives(hidden, torch.tensor([[1, 1]]), torch.tensor([[1, 1]]), None)
    np.testing.assert_allclose(out["mean_content"], out["mean_all"])
    assert "mask" not in out


@pytest.mark.parametrize("name,special,primitive", [
    ("cls", "include", "cls"), ("avg", "include", "mean_all"), ("avg", "exclude", "mean_content"),
    ("max", "exclude", "max_content"), ("template", "include", "mask"), ("mean_sqrt_len", "include", "mean_all"),
    ("lasttoken", "include", None), ("weightedmean", "include", None)])
def test_pooling_choices_read_the_right_primitive(name, special, primitive):
    assert PoolingSpec(name=name, special_tokens=special).primitive == primitive
    # Token weights need token states whatever the mode.
    if not MODES[name].one_token:
        assert PoolingSpec(name=name, special_tokens=special, bias_removal="promptbert").primitive is None


def test_unknown_pooling_lists_the_choices():
    with pytest.raises(SentgridError, match="choose one of: " + ", ".join(MODES)):
        PoolingSpec(name="median")


def test_layers_are_averaged():
    per_layer = np.stack([np.ones((2, 3)), 3 * np.ones((2, 3))]).astype(np.float32)
    np.testing.assert_allclose(pool_primitive(per_layer, MODES["avg"]), 2 * np.ones((2, 3)))


# -- the modes served from primitives, held to sentence-transformers' Pooling (every mode's token path is
# held to it in test_registries.py) ---------------------------------------------------------------------
def padded_batch(seed=0, lengths=(5, 2, 7, 1), dim=6):
    """Token states [batch, tokens, dim] with right padding and its attention mask."""
    generator = torch.Generator().manual_seed(seed)
    tokens = torch.randn(len(lengths), max(lengths), dim, generator=generator)
    mask = torch.tensor([[1] * n + [0] * (max(lengths) - n) for n in lengths])
    return tokens, mask


@pytest.mark.parametrize("mode", [m for m, spec in MODES.items() if spec.st_name and spec.served_by("include")])
def test_primitive_pooling_equals_sentence_transformers(mode):
    """Modes served from the cached primitives (no token states, no new forward pass) give the same vectors."""
    from sentence_transformers.sentence_transformer.modules import Pooling

    tokens, mask = padded_batch(seed=1)
    per_layer = token_primitives(tokens[None], mask, torch.zeros_like(mask), None)[MODES[mode].served_by("include")]
    ours = pool_primitive(per_layer.numpy(), MODES[mode], token_counts=mask.sum(dim=1).numpy())
    module = Pooling(tokens.shape[-1], pooling_mode=MODES[mode].st_name)
    theirs = module({"token_embeddings": tokens, "attention_mask": mask})["sentence_embedding"].numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_one_token_modes_refuse_token_weights():
    for name in ("cls", "template", "lasttoken"):
        with pytest.raises(SentgridError, match="reads one token"):
            PoolingSpec(name=name, bias_removal="frequent")
    with pytest.raises(SentgridError, match="with pooling=weightedmean use only pooling.bias_removal"):
        PoolingSpec(name="weightedmean", weighting="idf_task")
