"""Datasets: one module per task family declares its datasets and reads them into plain records
(`sts.py`, `clustering.py`, `classification.py`); `corpus.py` reads the general corpus."""
from .classification import CLASSIFICATION, load_classification
from .clustering import CLUSTERING, load_clustering
from .corpus import corpus_sentences, wikitext_sentences
from .records import ClassificationData, ClusteringData
from .root import data_root
from .sts import STS_DATASETS, STSData, load_sts

__all__ = ["CLASSIFICATION", "CLUSTERING", "ClassificationData", "ClusteringData", "STSData", "STS_DATASETS",
           "corpus_sentences", "data_root", "load_classification", "load_clustering", "load_sts",
           "wikitext_sentences"]
