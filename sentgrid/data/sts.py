"""STS readers: local release files (raw, as MTEB scores them, or SentEval-tokenised) and MTEB hub copies.

Every reader returns an `STSData`: aligned sentence pairs, gold scores and the subset of each pair
(STS12-16 are unions of subsets; "mean"/"wmean" aggregations are taken over them).
"""
import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import SentgridError
from .records import evenly


@dataclass
class STSData:
    name: str
    sentences1: list[str]
    sentences2: list[str]
    scores: np.ndarray
    subsets: np.ndarray  # subset name of each pair
    source: str  # files or hub id it was read from
    notes: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.scores)

    @property
    def sentences(self) -> list[str]:
        """The distinct sentences, sorted: the unit of encoding and caching."""
        return sorted(set(self.sentences1) | set(self.sentences2))

    def take(self, max_items: int | None) -> "STSData":
        """An evenly spaced slice of `max_items` pairs (covers every subset), for quick runs."""
        index = evenly(len(self), max_items)
        if len(index) == len(self):
            return self
        return STSData(self.name, [self.sentences1[i] for i in index], [self.sentences2[i] for i in index],
                       self.scores[index], self.subsets[index], self.source, {**self.notes, "max_items": int(max_items)})


def _lines(path: Path) -> list[str]:
    if not path.is_file():
        raise SentgridError(f"missing data file {path}; check data.root (or SENTGRID_DATA).")
    with open(path, encoding="utf-8") as f:
        return f.read().split("\n")[:-1] if path.stat().st_size else []


def _score(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise SentgridError(f"{where}: score {text!r} is not a number.") from None


def _pair(fields: list[str], where: str) -> tuple[str, str]:
    if len(fields) < 2 or not fields[0].strip() or not fields[1].strip():
        raise SentgridError(f"{where}: expected two tab-separated sentences, found {len(fields)} field(s).")
    return fields[0], fields[1]


def read_semeval_year(name: str, folder: Path, subsets: list[str], input_pattern: str, gold_pattern: str) -> STSData:
    """STS12-16: per subset an input file (sentence1<TAB>sentence2[<TAB>source...]) and a gold file
    (one score per line; an empty line means the pair was not scored and is skipped)."""
    s1, s2, scores, labels = [], [], [], []
    for subset in subsets:
        inputs = folder / input_pattern.format(subset)
        golds = folder / gold_pattern.format(subset)
        input_lines, gold_lines = _lines(inputs), _lines(golds)
        if len(input_lines) != len(gold_lines):
            raise SentgridError(f"{inputs} has {len(input_lines)} lines but {golds} has {len(gold_lines)}; "
                                f"the files do not belong together.")
        for lineno, (line, gold) in enumerate(zip(input_lines, gold_lines), start=1):
            if not gold.strip():
                continue
            a, b = _pair(line.split("\t"), f"{inputs}:{lineno}")
            s1.append(a)
            s2.append(b)
            scores.append(_score(gold.strip(), f"{golds}:{lineno}"))
            labels.append(subset)
    return STSData(name, s1, s2, np.array(scores), np.array(labels), str(folder))


def read_stsb(name: str, path: Path) -> STSData:
    """STS-B csv: tab-separated genre, file, year, id, score, sentence1, sentence2 (some raw lines carry
    extra source columns, so only the first seven count; quoting is off because texts contain quotes)."""
    s1, s2, scores = [], [], []
    with open(_exists(path), encoding="utf-8") as f:
        for lineno, row in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE), start=1):
            where = f"{path}:{lineno}"
            if len(row) < 7:
                raise SentgridError(f"{where}: expected 7 tab-separated columns, found {len(row)}.")
            a, b = _pair(row[5:7], where)
            s1.append(a)
            s2.append(b)
            scores.append(_score(row[4], where))
    return STSData(name, s1, s2, np.array(scores), np.array([name] * len(scores)), str(path))


def read_sick(name: str, paths: list[Path]) -> STSData:
    """SICK files with a header: pair_ID, sentence_A, sentence_B, relatedness_score, ..."""
    s1, s2, scores, labels = [], [], [], []
    for path in paths:
        lines = _lines(path)
        header = lines[0].split("\t") if lines else []
        try:
            ia, ib, iscore = (header.index(c) for c in ("sentence_A", "sentence_B", "relatedness_score"))
        except ValueError:
            raise SentgridError(f"{path}:1: header lacks sentence_A, sentence_B or relatedness_score.") from None
        for lineno, line in enumerate(lines[1:], start=2):
            fields = line.split("\t")
            where = f"{path}:{lineno}"
            if len(fields) <= max(ia, ib, iscore):
                raise SentgridError(f"{where}: expected {len(header)} tab-separated columns, found {len(fields)}.")
            a, b = _pair([fields[ia], fields[ib]], where)
            s1.append(a)
            s2.append(b)
            scores.append(_score(fields[iscore], where))
            labels.append(path.stem)
    return STSData(name, s1, s2, np.array(scores), np.array(labels), ", ".join(map(str, paths)))


def read_biosses(name: str, path: Path) -> STSData:
    """biosses.tsv: id, sentence1, sentence2, five annotator scores, score (their mean)."""
    s1, s2, scores = [], [], []
    lines = _lines(path)
    for lineno, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        where = f"{path}:{lineno}"
        if len(fields) < 9:
            raise SentgridError(f"{where}: expected 9 tab-separated columns, found {len(fields)}.")
        a, b = _pair(fields[1:3], where)
        s1.append(a)
        s2.append(b)
        scores.append(_score(fields[8], where))
    return STSData(name, s1, s2, np.array(scores), np.array([name] * len(scores)), str(path))


def read_hub(name: str, hub_id: str, split: str = "test") -> STSData:
    """An MTEB STS dataset from the Hugging Face hub (columns sentence1, sentence2, score)."""
    import datasets

    try:
        rows = datasets.load_dataset(hub_id, split=split)
    except Exception as exc:
        raise SentgridError(f"could not load {hub_id!r} from the Hugging Face hub ({type(exc).__name__}); "
                            f"use task.source=local with data.root pointing at the local files.") from exc
    return STSData(name, list(rows["sentence1"]), list(rows["sentence2"]), np.asarray(rows["score"], dtype=float),
                   np.array([name] * len(rows)), f"hub:{hub_id}")


def _exists(path: Path) -> Path:
    if not path.is_file():
        raise SentgridError(f"missing data file {path}; check data.root (or SENTGRID_DATA).")
    return path
