"""Text -> per-layer sentence primitives. One encoder kind for now: Hugging Face transformers."""
from .transformer import TransformerEncoder

__all__ = ["TransformerEncoder"]
