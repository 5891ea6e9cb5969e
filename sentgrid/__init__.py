"""sentgrid: a Hydra grid runner for sentence embeddings extracted from pretrained transformers."""
__version__ = "0.1.0"
