"""Text -> per-layer token states: transformers (cached forward passes), static tables (RE, GloVe,
Avg., B2S) and the BERT + Avg. mix. `build` picks one from `model.kind`."""
from pathlib import Path

from ..errors import choice_error
from .averaged import AveragedEncoder
from .bert2static import Bert2StaticEncoder
from .mix import MixEncoder
from .static import GloveEncoder, RandomEncoder
from .transformer import TransformerEncoder

KINDS = ("transformer", "random", "glove", "avg", "bert_avg", "b2s")


def build(model_cfg, template, cache, corpus):
    """The encoder a `model` config names; `corpus()` returns the corpus sentences (loaded when needed)."""
    kind = model_cfg.get("kind", "transformer")
    if kind == "transformer":
        return TransformerEncoder(model_cfg, template, memo_dir=Path(cache.root) / "fingerprints")
    if kind == "random":
        return RandomEncoder(model_cfg, template)
    if kind == "glove":
        return GloveEncoder(model_cfg, template)
    if kind == "avg":
        return AveragedEncoder(model_cfg, template, cache, corpus)
    if kind == "bert_avg":
        return MixEncoder(model_cfg, template, cache, corpus)
    if kind == "b2s":
        return Bert2StaticEncoder(model_cfg, template, cache, corpus)
    raise choice_error("model.kind", kind, KINDS)


__all__ = ["KINDS", "TransformerEncoder", "build"]
