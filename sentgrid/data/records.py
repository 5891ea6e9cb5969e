"""Plain records for the clustering and classification families (STS has its own in sts.py)."""
from dataclasses import dataclass, field

import numpy as np


def evenly(n: int, k: int | None) -> np.ndarray:
    """Indices of an evenly spaced slice of k out of n items (all when k is None or >= n)."""
    if not k or k >= n:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, int(k)).round().astype(int))


@dataclass
class ClusteringData:
    name: str
    texts: list[str]
    labels: np.ndarray
    source: str
    notes: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.texts)

    @property
    def sentences(self) -> list[str]:
        return sorted(set(self.texts))

    def take(self, max_items: int | None) -> "ClusteringData":
        index = evenly(len(self), max_items)
        if len(index) == len(self):
            return self
        return ClusteringData(self.name, [self.texts[i] for i in index], self.labels[index], self.source,
                              {**self.notes, "max_items": int(max_items)})


@dataclass
class ClassificationData:
    """Splits name -> (items, labels); an item is a text, or a (text, text) pair when `pairs` (MRPC).
    Datasets without a test split (MR, CR, SUBJ, MPQA) have only "train" and are cross-validated."""
    name: str
    splits: dict[str, tuple[list, np.ndarray]]
    source: str
    pairs: bool = False
    notes: dict = field(default_factory=dict)

    def __len__(self):
        return sum(len(items) for items, _ in self.splits.values())

    @property
    def sentences(self) -> list[str]:
        texts = set()
        for items, _ in self.splits.values():
            texts.update(t for item in items for t in (item if self.pairs else (item,)))
        return sorted(texts)

    def take(self, max_items: int | None) -> "ClassificationData":
        """An evenly spaced slice of at most `max_items` per split (labels stay spread: files are often sorted)."""
        if not max_items:
            return self
        splits = {}
        for split, (items, labels) in self.splits.items():
            index = evenly(len(items), max_items)
            splits[split] = ([items[i] for i in index], labels[index])
        return ClassificationData(self.name, splits, self.source, self.pairs, {**self.notes, "max_items": int(max_items)})
