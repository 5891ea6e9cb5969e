import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from sentgrid.errors import SentgridError
from sentgrid.pooling import pool, primitive_for, token_primitives


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


@pytest.mark.parametrize("name,special,primitive", [("cls", "include", "cls"), ("avg", "include", "mean_all"),
                                                    ("avg", "exclude", "mean_content"), ("max", "exclude", "max_content"),
                                                    ("template", "include", "mask")])
def test_pooling_choices_read_the_right_primitive(name, special, primitive):
    assert primitive_for(OmegaConf.create({"name": name, "special_tokens": special})) == primitive


def test_unknown_pooling_lists_the_choices():
    with pytest.raises(SentgridError, match="choose one of: cls, avg, max, template"):
        primitive_for(OmegaConf.create({"name": "median", "special_tokens": "include"}))


def test_layers_are_averaged():
    per_layer = np.stack([np.ones((2, 3)), 3 * np.ones((2, 3))]).astype(np.float32)
    np.testing.assert_allclose(pool(per_layer), 2 * np.ones((2, 3)))
