"""Task families, one registry: each family names the module that reads its data, the scoring module in
this package, and its headline and averaged metrics.

A scoring module gives `predict` (the per-item outputs a cell keeps: what it predicted, beside the gold),
`rescore` (outputs -> scores, so kept outputs re-score exactly), `evaluate` (both), `resampled` (the headline
scores on bootstrap resamples of the items, as draw counts), `fit_sentences` and `scored_sentences`.

Declared here rather than in the scoring modules so that importing this package imports neither torch nor
scikit-learn (a second of every process's start): reports, `plan` and a cell's main process use it; the
scoring modules are imported where datasets are scored. Adding a family: a reading module in
`sentgrid/data/`, a scoring module here, its line in FAMILIES, and `conf/task/<name>.yaml`.
"""
import importlib
from dataclasses import dataclass
from functools import cached_property
from types import ModuleType

from ..errors import choice_error


@dataclass(frozen=True)
class Family:
    name: str
    label: str                      # how tables and figures name it
    data_module: str                # reads the family's datasets: DATASETS, load, files, rows, expected_rows
    scorer_module: str              # scores them: predict, rescore, evaluate, resampled, fit_sentences, scored_sentences
    headline: tuple[str, str]       # the two metrics a summary shows; the first is the objective
    averaged: tuple[str, ...]       # metrics averaged over the family's datasets (`<family>/avg/<metric>`)
    cell_seconds: float             # a cell's scoring on cached encodings, for `plan` until measured here (MiniLM)
    token_seconds: float = 0.0      # what pooling from token states (token weights, token-level modes) adds to it
    heavy: bool = False             # evaluation takes seconds (fits models): worth a worker process per dataset
    objective_label: str = ""       # the first headline metric in words (its name when empty)

    @cached_property
    def data(self) -> ModuleType:
        return importlib.import_module(self.data_module)

    @cached_property
    def scorer(self) -> ModuleType:
        return importlib.import_module(self.scorer_module)

    @property
    def datasets(self) -> list[str]:
        return list(self.data.DATASETS)

    @property
    def axis_label(self) -> str:
        """The family average's name on a figure's axis."""
        return f"{self.label} average ({self.objective_label or self.headline[0]} x100)"


# Default costs on full data, 2 cores: STS + clustering measured on a 384-cell MiniLM grid (2026-12-06: a cell
# served by a primitive 18.5 s besides encoding, one pooled from token states 4.7 s more, split by the families'
# sentences, 30k and 73k; classification's token share at that rate for its 204k sentences).
FAMILIES = {f.name: f for f in (  # in the paper's order
    Family("sts", "STS", "sentgrid.data.sts", "sentgrid.tasks.sts", headline=("spearman", "pearson"),
           averaged=("spearman", "pearson", "spearman_mean", "spearman_wmean", "pearson_mean", "pearson_wmean"),
           cell_seconds=2.0, token_seconds=1.4, objective_label="Spearman"),
    Family("clustering", "clustering", "sentgrid.data.clustering", "sentgrid.tasks.clustering",
           headline=("accuracy", "nmi"), averaged=("accuracy", "nmi"), cell_seconds=16.5, token_seconds=3.4,
           heavy=True),
    Family("classification", "classification", "sentgrid.data.classification", "sentgrid.tasks.classification",
           headline=("accuracy", "f1"), averaged=("accuracy", "f1"), cell_seconds=17.0, token_seconds=9.0,
           heavy=True),
    Family("pair_classification", "pair classification", "sentgrid.data.pair_classification",
           "sentgrid.tasks.pair_classification", headline=("ap", "accuracy"), averaged=("ap", "accuracy", "f1"),
           cell_seconds=1.0, objective_label="average precision"),
)}


def family(name: str) -> Family:
    if name not in FAMILIES:
        raise choice_error("task family", name, FAMILIES)
    return FAMILIES[name]


__all__ = ["FAMILIES", "Family", "family"]
