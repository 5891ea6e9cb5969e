"""Datasets: a registry of what exists and readers that turn files (or hub copies) into plain records."""
from .corpus import wikitext_sentences
from .registry import STS_DATASETS, data_root, load_sts
from .sts import STSData

__all__ = ["STSData", "STS_DATASETS", "data_root", "load_sts", "wikitext_sentences"]
