"""What a cell must encode: its datasets, the corpus (when post-processing is fitted on it) and the
diagnostic sets. `requests_for(spec)` builds it; `run_cell` and `plan` both use it, so what a plan
counts is what a run encodes.
"""
import json
import os
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from .data import load_sts
from .spec import CellSpec
from .tasks import family as family_of


@dataclass
class Dataset:
    family: str
    name: str
    data: object  # the family's record (STSData, ClusteringData, ClassificationData)

    @property
    def key(self) -> str:
        return f"{self.family}/{self.name}"

    def fit_sentences(self, on_corpus: bool) -> list[str] | None:
        """The sentences its post-processing is fitted on, decided here for scoring, diagnostics and export:
        None when it is fitted on the corpus (postproc.fit_on=wikitext), else its family's choice (the
        dataset's own sentences; its training split where it has one)."""
        return None if on_corpus else family_of(self.family).scorer.fit_sentences(self.data)


@dataclass
class Diagnostics:
    corpus: list[str]        # IsoScore and average cosine are measured on these corpus sentences ...
    corpus_fit: list[str]    # ... post-processed with a fit on the next ones (fitted on themselves,
                             # whitening would make every IsoScore exactly 1)
    stsb: object             # STS-B: alignment of its positive pairs, uniformity of its sentences


@dataclass
class Requests:
    datasets: list[Dataset]
    corpus: list[str] | None = None           # the post-processing fit set with fit_on=wikitext
    diagnostics: Diagnostics | None = None

    def sentences(self) -> dict[str, list[str]]:
        """Every sentence list to encode, by a name unique within the cell."""
        out = {d.key: d.data.sentences for d in self.datasets}
        if self.corpus is not None:
            out["corpus"] = self.corpus
        if self.diagnostics is not None:
            out["diagnostics/corpus"] = self.diagnostics.corpus
            out["diagnostics/corpus-fit"] = self.diagnostics.corpus_fit
            out["diagnostics/STSB"] = self.diagnostics.stsb.sentences
        return out


_READ: dict = {}  # (family, dataset, root, settings, files' sizes and times) -> the dataset as read
_READ_MOST = 64


def _read(family: str, dataset: str, root, settings):
    """A dataset as its family's reader reads it, read once per process while its files stay as they were: the
    cells of a sweep on small slices spent a third of their time reading the same files again (0.65 s of
    2.2 s a cell, 100 items per dataset, 14 datasets). Records are never changed after they are read."""
    reader = family_of(family).data
    node = OmegaConf.to_container(settings, resolve=True) if isinstance(settings, DictConfig) else settings
    stamp = []
    for name in reader.files(dataset) if root is not None else []:
        try:
            info = os.stat(Path(root) / name)
            stamp.append((name, info.st_size, info.st_mtime_ns))
        except OSError:
            stamp.append((name, None, None))
    key = (family, dataset, str(root), json.dumps(node, sort_keys=True, default=str), tuple(stamp))
    if key not in _READ:
        if len(_READ) >= _READ_MOST:
            _READ.clear()
        _READ[key] = reader.load(dataset, root, settings)
    return _READ[key]


def load_datasets(spec: CellSpec, root) -> list[Dataset]:
    """Every dataset of the cell's families, less the ones skipped, sliced to task.max_items."""
    out = []
    for name in spec.task.families:
        settings = spec.task.settings[name]
        for dataset in settings.datasets:
            if dataset not in spec.task.skip:
                out.append(Dataset(name, dataset, _read(name, dataset, root, settings).take(
                    spec.task.max_items, spec.task.slice, int(spec.task.slice_seed))))
    return out


def requests_for(spec: CellSpec, corpus, datasets: list[Dataset] | None = None) -> Requests:
    """The cell's requests; `corpus()` returns the corpus sentences (read only when needed)."""
    root = spec.root()
    requests = Requests(datasets if datasets is not None else load_datasets(spec, root))
    if spec.postproc.fit_on_corpus:
        requests.corpus = corpus()
    if spec.diagnostics.enabled:
        size = int(spec.diagnostics.corpus_sentences)
        sentences = corpus()
        requests.diagnostics = Diagnostics(sentences[:size], sentences[size:2 * size] or sentences[:size],
                                           load_sts("STSB", root))
    return requests
