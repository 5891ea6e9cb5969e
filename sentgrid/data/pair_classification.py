"""The pair-classification datasets (is this pair a paraphrase?), declared once, their record and reader.

MRPC's test split: 1,725 sentence pairs labelled paraphrase (1) or not (0). The classification family
trains a classifier on MRPC's pairs; this family reads only the cosine of each pair, as MTEB's
PairClassification does.
"""
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import SentgridError, choice_error
from . import readers
from .records import Slicing

DATASETS = {"MRPC": ("senteval/MRPC/msr_paraphrase_test.txt", 1725)}  # name -> (file, rows)


@dataclass
class PairData:
    name: str
    pairs: list[tuple[str, str]]
    labels: np.ndarray  # 1: the pair is a paraphrase (similar), 0: not
    source: str
    notes: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.pairs)

    @property
    def sentences(self) -> list[str]:
        return sorted({s for pair in self.pairs for s in pair})

    def take(self, max_items: int | None, order: str = "evenly", seed: int = 0) -> "PairData":
        slicing = Slicing(max_items, order, seed)
        index = slicing.pick(len(self), self.labels)
        if len(index) == len(self):
            return self
        return PairData(self.name, [self.pairs[i] for i in index], self.labels[index], self.source,
                        {**self.notes, **slicing.notes()})


def load(name: str, root: Path, settings=None) -> PairData:
    if name not in DATASETS:
        raise choice_error("pair-classification dataset", name, DATASETS)
    file, expected = DATASETS[name]
    pairs, labels = readers.mrpc(root / file)
    if len(pairs) != expected:
        raise SentgridError(f"{name} has {len(pairs)} pairs, expected {expected}; the files under {root} are not the "
                            f"ones sentgrid knows (run python -m sentgrid.data check).")
    return PairData(name, pairs, labels, str(root / file))


def files(name: str) -> list[str]:
    return [DATASETS[name][0]]


def rows(data: PairData) -> str:
    return str(len(data))


def expected_rows(name: str) -> str:
    return str(DATASETS[name][1])
