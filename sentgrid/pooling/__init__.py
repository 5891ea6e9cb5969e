"""Token states -> sentence vectors: the pooling modes (`modes.py`, one registry), the primitives the
forward pass keeps (`primitives.py`), flat token batches (`tokens.py`), and token weights (`weighting.py`).

Adding a mode: one entry in `modes.MODES` and one `conf/pooling/<name>.yaml`.
"""
from ..errors import choice_error
from .modes import MODES, Mode, pool_primitive, pool_tokens
from .tokens import TokenBatch, tokenize


def mode(name: str) -> Mode:
    if name not in MODES:
        raise choice_error("pooling", name, MODES)
    return MODES[name]


__all__ = ["MODES", "Mode", "TokenBatch", "mode", "pool_primitive", "pool_tokens", "tokenize"]
