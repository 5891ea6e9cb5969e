"""Text -> per-layer token states: transformers (cached forward passes), static tables (RE, GloVe,
Avg., B2S) and the BERT + Avg. mix. Each model YAML names its class with `_target_`; the contract
every class keeps is `base.Encoder`."""
from .base import Encoder, Produces, build, is_layered

__all__ = ["Encoder", "Produces", "build", "is_layered"]
