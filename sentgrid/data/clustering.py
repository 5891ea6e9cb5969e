"""The clustering datasets, declared once (local file, expected rows, labels), and how to read them."""
from dataclasses import dataclass
from pathlib import Path

from ..errors import choice_error
from . import readers
from .records import ClusteringData

SC = "short-text-clustering"


@dataclass(frozen=True)
class ClusteringSpec:
    name: str
    file: str
    rows: int
    n_labels: int
    hub_id: str | None = None

    @property
    def files(self) -> tuple[str, ...]:
        return (self.file,)


CLUSTERING = {spec.name: spec for spec in [
    ClusteringSpec("AgNews", f"{SC}/agnewsdataraw-8000", 8000, 4),
    ClusteringSpec("SearchSnippets", f"{SC}/search_snippets/search_snippets_true_text", 12340, 8),
    ClusteringSpec("StackOverflow", f"{SC}/stackoverflow/stackoverflow_true_text", 20000, 20),
    ClusteringSpec("Biomedical", f"{SC}/biomedical/biomedical_true_text", 20000, 20),
    ClusteringSpec("GoogleNews-TS", f"{SC}/TS", 11109, 152),
    ClusteringSpec("GoogleNews-T", f"{SC}/T", 11108, 152),
    ClusteringSpec("GoogleNews-S", f"{SC}/S", 11108, 152),
    ClusteringSpec("Tweet", f"{SC}/tweet-original-order.txt", 2472, 89),
]}


def load_clustering(name: str, root: Path) -> ClusteringData:
    if name not in CLUSTERING:
        raise choice_error("clustering dataset", name, CLUSTERING)
    spec = CLUSTERING[name]
    texts, labels = readers.label_tab_text(root / spec.file)
    return ClusteringData(name, texts, labels, str(root / spec.file))


DATASETS = CLUSTERING


def load(name: str, root: Path, settings=None) -> ClusteringData:
    return load_clustering(name, root)


def files(name: str) -> list[str]:
    return list(CLUSTERING[name].files)


def rows(data: ClusteringData) -> str:
    return str(len(data))


def expected_rows(name: str) -> str:
    return str(CLUSTERING[name].rows)
