"""Plain records for the clustering and classification families (STS has its own in sts.py)."""
from dataclasses import dataclass, field

import numpy as np

SLICE_ORDERS = ("evenly", "nested")


def evenly(n: int, k: int | None) -> np.ndarray:
    """Indices of an evenly spaced slice of k out of n items (all when k is None or >= n)."""
    if not k or k >= n:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, int(k)).round().astype(int))


def nested_order(strata: np.ndarray, seed: int) -> np.ndarray:
    """Every index of `strata` in a seeded order whose every prefix holds each stratum (a label, an STS subset) in
    proportion, within one item: a stratum's items, shuffled, sit at evenly spaced points of [0, 1) from one random
    offset (systematic sampling), and the strata are merged by those points."""
    rng = np.random.default_rng(seed)
    points = np.empty(len(strata))
    for value in np.unique(strata):
        members = rng.permutation(np.flatnonzero(strata == value))
        points[members] = (np.arange(len(members)) + rng.random()) / len(members)
    return np.lexsort((np.arange(len(strata)), points))


@dataclass(frozen=True)
class Slicing:
    """Which items task.max_items keeps: `evenly` spaced ones (files are often sorted, so every part is covered), or
    with `task.slice=nested` the first N of a seeded order stratified by label (or STS subset), so that a smaller
    slice is part of every larger one: a halving sweep's larger rung reuses what the smaller one encoded."""
    max_items: int | None = None
    order: str = "evenly"
    seed: int = 0

    def pick(self, n: int, strata: np.ndarray | None = None) -> np.ndarray:
        """The indices kept of n items, in their file order."""
        if not self.max_items or self.max_items >= n:
            return np.arange(n)
        if self.order == "evenly":
            return evenly(n, self.max_items)
        strata = np.zeros(n, dtype=int) if strata is None else np.asarray(strata)
        return np.sort(nested_order(strata, self.seed)[:int(self.max_items)])

    def notes(self) -> dict:
        """What a sliced dataset's notes record."""
        return {"max_items": int(self.max_items)} | ({"slice": self.order, "slice_seed": int(self.seed)}
                                                      if self.order != "evenly" else {})


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

    def take(self, max_items: int | None, order: str = "evenly", seed: int = 0) -> "ClusteringData":
        slicing = Slicing(max_items, order, seed)
        index = slicing.pick(len(self), self.labels)
        if len(index) == len(self):
            return self
        return ClusteringData(self.name, [self.texts[i] for i in index], self.labels[index], self.source,
                              {**self.notes, **slicing.notes()})


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

    def take(self, max_items: int | None, order: str = "evenly", seed: int = 0) -> "ClassificationData":
        """At most `max_items` per split, stratified by label when nested (evenly spaced ones stay spread too: files
        are often sorted by label)."""
        slicing = Slicing(max_items, order, seed)
        if not slicing.max_items:
            return self
        splits = {}
        for split, (items, labels) in self.splits.items():
            index = slicing.pick(len(items), labels)
            splits[split] = ([items[i] for i in index], labels[index])
        return ClassificationData(self.name, splits, self.source, self.pairs, {**self.notes, **slicing.notes()})
