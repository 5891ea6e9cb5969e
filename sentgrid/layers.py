"""Which hidden layers a cell reads: 0 is the embedding layer's output, 1..L the transformer blocks.

Negative indices count from the end (-1 is block L) and are resolved to positive numbers, which are
what gets recorded.
"""
from .errors import SentgridError, choice_error

LAYER_CHOICES = ("last", "first_last", "index", "mean_of", "all")


def resolve_index(index, num_layers: int) -> int:
    try:
        index = int(index)
    except (TypeError, ValueError):
        raise SentgridError(f"layer index {index!r} is not an integer; use 0..{num_layers} or a negative index.") from None
    resolved = index + num_layers + 1 if index < 0 else index
    if not 0 <= resolved <= num_layers:
        raise SentgridError(
            f"layer {index} is out of range for a model with {num_layers} blocks; "
            f"use 0 (embeddings) to {num_layers}, or -1 to -{num_layers + 1} counting from the end.")
    return resolved


def resolve(cfg, num_layers: int) -> list[int]:
    """The sorted list of layer numbers named by a `layer` config, for a model with `num_layers` blocks."""
    name = cfg.name
    if name == "last":
        layers = [num_layers]
    elif name == "first_last":
        layers = [1, num_layers]
    elif name == "index":
        layers = [resolve_index(cfg.index, num_layers)]
    elif name == "mean_of":
        if not cfg.layers:
            raise SentgridError("layer=mean_of needs a non-empty list, for example layer.layers=[1,-1].")
        layers = [resolve_index(i, num_layers) for i in cfg.layers]
    elif name == "all":
        layers = list(range(num_layers + 1))
    else:
        raise choice_error("layer", name, LAYER_CHOICES)
    return sorted(set(layers))
