"""Text -> per-layer token states: transformers (cached forward passes), static tables (RE, GloVe,
Avg., B2S) and the BERT + Avg. mix. `build` picks one from `model.kind`."""
import json
from collections import OrderedDict
from pathlib import Path

from omegaconf import OmegaConf

from ..errors import choice_error
from .averaged import AveragedEncoder
from .bert2static import Bert2StaticEncoder
from .mix import MixEncoder
from .static import GloveEncoder, RandomEncoder
from .transformer import TransformerEncoder

KINDS = ("transformer", "random", "glove", "avg", "bert_avg", "b2s")


# Cells of one process (a sweep with the basic launcher) reuse a loaded model and its built tables.
_RECENT: OrderedDict = OrderedDict()
KEEP_ENCODERS = 2


def build(model_cfg, template, cache, corpus, corpus_cfg=None):
    """The encoder a `model` config names; `corpus()` returns the corpus sentences (loaded when needed).

    The last few encoders are kept, keyed by everything that defines them, so a sweep loads its model
    (and builds its Avg./B2S table) once per process."""
    key = json.dumps([OmegaConf.to_container(model_cfg, resolve=True), template.describe(), str(cache.root),
                      str(cache.store_dtype), str(cache.token_dtype), None if corpus_cfg is None else OmegaConf.to_container(corpus_cfg, resolve=True)],
                     sort_keys=True, default=str)
    if key in _RECENT:
        _RECENT.move_to_end(key)
        return _RECENT[key]
    encoder = _build(model_cfg, template, cache, corpus)
    _RECENT[key] = encoder
    while len(_RECENT) > KEEP_ENCODERS:
        _RECENT.popitem(last=False)
    return encoder


def _build(model_cfg, template, cache, corpus):
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
