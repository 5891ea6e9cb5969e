"""Datasets: a registry of what exists and readers that turn files (or hub copies) into plain records."""
from .corpus import corpus_sentences, wikitext_sentences
from .families import CLASSIFICATION, CLUSTERING
from .records import ClassificationData, ClusteringData
from .registry import STS_DATASETS, data_root, load, load_sts
from .sts import STSData

__all__ = ["CLASSIFICATION", "CLUSTERING", "ClassificationData", "ClusteringData", "STSData", "STS_DATASETS",
           "data_root", "load", "load_sts", "wikitext_sentences", "corpus_sentences"]
