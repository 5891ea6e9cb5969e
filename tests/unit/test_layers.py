import pytest
from omegaconf import OmegaConf

from sentgrid.errors import SentgridError
from sentgrid.layers import resolve


def layer(**kw):
    return OmegaConf.create(kw)


@pytest.mark.parametrize("cfg,expected", [
    (layer(name="last"), [12]),
    (layer(name="first_last"), [1, 12]),
    (layer(name="index", index=0), [0]),
    (layer(name="index", index=-1), [12]),
    (layer(name="index", index=-13), [0]),
    (layer(name="mean_of", layers=[-1, 1, 6]), [1, 6, 12]),
    (layer(name="all"), list(range(13))),
])
def test_layers_resolve_to_positive_indices(cfg, expected):
    assert resolve(cfg, num_layers=12) == expected


@pytest.mark.parametrize("cfg,match", [
    (layer(name="index", index=13), "out of range"),
    (layer(name="index", index=-14), "out of range"),
    (layer(name="index", index="x"), "not an integer"),
    (layer(name="mean_of", layers=[]), "non-empty"),
    (layer(name="middle"), "choose one of: last, first_last"),
])
def test_bad_layers_name_the_fix(cfg, match):
    with pytest.raises(SentgridError, match=match):
        resolve(cfg, num_layers=12)
