"""Task families, one registry: each scoring module in this package declares its `FAMILY` (name, the
module that reads its data, headline and averaged metrics); `evaluate` and `fit_sentences` live beside it.

Importing this package imports no torch, so reports and `plan` can use it. Adding a family: a reading
module in `sentgrid/data/`, a scoring module here that declares `FAMILY`, and `conf/task/<name>.yaml`.
"""
import importlib
import pkgutil
from dataclasses import dataclass
from functools import cached_property
from types import ModuleType

from ..errors import choice_error


@dataclass(frozen=True)
class Family:
    name: str
    data_module: str                # reads the family's datasets: DATASETS, load, files, rows, expected_rows
    headline: tuple[str, str]       # the two metrics a summary shows; the first is the objective
    averaged: tuple[str, ...]       # metrics averaged over the family's datasets (`<family>/avg/<metric>`)
    heavy: bool = False             # evaluation takes seconds (fits models): worth a worker process per dataset
    scorer_module: str = ""         # set by the registry: the module that declared this family

    @cached_property
    def data(self) -> ModuleType:
        return importlib.import_module(self.data_module)

    @cached_property
    def scorer(self) -> ModuleType:
        return importlib.import_module(self.scorer_module)

    @property
    def datasets(self) -> list[str]:
        return list(self.data.DATASETS)


def _discover() -> dict[str, Family]:
    found = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        family = getattr(module, "FAMILY", None)
        if isinstance(family, Family):
            found[family.name] = Family(**{**family.__dict__, "scorer_module": module.__name__})
    order = ["sts", "clustering", "classification"]  # the paper's order; new families follow
    return {name: found[name] for name in sorted(found, key=lambda n: (order.index(n) if n in order else 99, n))}


FAMILIES = _discover()


def family(name: str) -> Family:
    if name not in FAMILIES:
        raise choice_error("task family", name, FAMILIES)
    return FAMILIES[name]


__all__ = ["FAMILIES", "Family", "family"]
