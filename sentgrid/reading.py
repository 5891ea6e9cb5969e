"""What a cell reads from the store, decided once: a run (`embed`), `plan` (its estimate) and `export` ask
here, so an estimate can never count entries a run does not read.

A cell reads one primitive of its encoder's forward passes when its pooling is served by one (the smallest
entry, and any layer of it; an encoder built on a forward model, BERT + Avg., turns the base model's primitives
into its own where it `serves` them); otherwise the forward model's token entries, which the encoder turns into
token states (as they are, mixed with or replaced by its table); a static table alone reads no entry. The
layers are the cell's `layer` resolved against the model ([0] for a table without layers).
"""
from dataclasses import dataclass

from . import layers as layer_spec
from .encoders import Produces
from .store import TOKENS


@dataclass(frozen=True)
class Reading:
    forward: object | None  # the model whose cached passes are read; None: a static table alone
    kind: str | None        # the primitive read, or TOKENS; None without a forward model
    layers: list[int]

    @property
    def primitive(self) -> str | None:
        return None if self.kind in (None, TOKENS) else self.kind


def reading(encoder, spec) -> Reading:
    """What the cell `spec` reads through `encoder`."""
    layers = layer_spec.resolve(spec.layer, encoder.num_layers) if encoder.layered else [0]
    forward = encoder.forward_model
    primitive = spec.pooling.primitive if Produces.PRIMITIVES in encoder.produces else None
    if primitive is not None and encoder is not forward and not encoder.serves(primitive):
        primitive = None  # an encoder built on the forward model (BERT + Avg.) says which primitives it turns into its own
    return Reading(forward, primitive or (TOKENS if forward is not None else None), layers)
