"""STS data, read in one place: the 8 datasets declared once (local files, hub id, expected pairs) and
readers for local release files (raw, as MTEB scores them, or SentEval-tokenised) and MTEB hub copies.

Every reader returns an `STSData`: aligned sentence pairs, gold scores and the subset of each pair
(STS12-16 are unions of subsets; "mean"/"wmean" aggregations are taken over them).
"""
import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import SentgridError, choice_error
from .readers import text_of
from .records import Slicing


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

    def take(self, max_items: int | None, order: str = "evenly", seed: int = 0) -> "STSData":
        """A slice of `max_items` pairs, for quick runs: evenly spaced (covers every subset), or nested (stratified by
        subset)."""
        slicing = Slicing(max_items, order, seed)
        index = slicing.pick(len(self), self.subsets)
        if len(index) == len(self):
            return self
        return STSData(self.name, [self.sentences1[i] for i in index], [self.sentences2[i] for i in index],
                       self.scores[index], self.subsets[index], self.source, {**self.notes, **slicing.notes()})


def _lines(path: Path) -> list[str]:
    lines = text_of(path).split("\n")
    return lines[:-1] if lines[-1] == "" else lines


def _score(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SentgridError(f"{where}: score {text!r} is not a number.") from None
    if not math.isfinite(value):
        raise SentgridError(f"{where}: score {text!r} is not a finite number.")
    return value


def _pair(fields: list[str], where: str) -> tuple[str, str]:
    if len(fields) < 2:
        raise SentgridError(f"{where}: expected two tab-separated sentences, found {len(fields)} field(s).")
    for position, sentence in enumerate(fields[:2], start=1):
        if not sentence.strip():
            raise SentgridError(f"{where}: sentence {position} of the pair is empty.")
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
    with io.StringIO(text_of(path)) as f:
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


@dataclass(frozen=True)
class STSSpec:
    name: str
    hub_id: str
    pairs: int  # expected scored pairs (SICK-R: all three splits)
    year_dir: tuple[str, str] | None = None  # (raw folder, SentEval folder) for STS12-16
    subsets: tuple[str, ...] = ()
    raw_gold: str = "STS.gs.{}.txt"
    raw_input: str = "STS.input.{}.txt"


STS_DATASETS = {spec.name: spec for spec in [
    STSSpec("STS12", "mteb/sts12-sts", 3108, ("sts-raw/STS12-en-test/test-gold", "senteval/STS/STS12-en-test"),
            ("MSRpar", "MSRvid", "SMTeuroparl", "surprise.OnWN", "surprise.SMTnews")),
    # STS13's SMT subset has no input file (LDC licence), as in SentEval and MTEB.
    STSSpec("STS13", "mteb/sts13-sts", 1500, ("sts-raw/STS13-en-test/test-gs", "senteval/STS/STS13-en-test"),
            ("FNWN", "headlines", "OnWN")),
    STSSpec("STS14", "mteb/sts14-sts", 3750, ("sts-raw/STS14-en-test/sts-en-test-gs-2014", "senteval/STS/STS14-en-test"),
            ("deft-forum", "deft-news", "headlines", "images", "OnWN", "tweet-news")),
    STSSpec("STS15", "mteb/sts15-sts", 3000, ("sts-raw/STS15-en-test/test_evaluation_task2a", "senteval/STS/STS15-en-test"),
            ("answers-forums", "answers-students", "belief", "headlines", "images")),
    STSSpec("STS16", "mteb/sts16-sts", 1186, ("sts-raw/STS16-en-test/sts2016-english-with-gs-v1.0", "senteval/STS/STS16-en-test"),
            ("answer-answer", "headlines", "plagiarism", "postediting", "question-question"),
            raw_gold="STS2016.gs.{}.txt", raw_input="STS2016.input.{}.txt"),
    STSSpec("STSB", "mteb/stsbenchmark-sts", 1379),
    STSSpec("SICK-R", "mteb/sickr-sts", 9927),
    STSSpec("BIOSSES", "mteb/biosses-sts", 100),
]}

TEXT_VARIANTS = ("raw", "senteval")
SICK_SPLITS = ("all", "test")
SOURCES = ("local", "hub")


def load_sts(name: str, root: Path | None, text_variant: str = "raw", sick_split: str = "all",
             source: str = "local") -> STSData:
    if name not in STS_DATASETS:
        raise choice_error("task.sts.datasets entry", name, STS_DATASETS)
    if text_variant not in TEXT_VARIANTS:
        raise choice_error("task.sts.text_variant", text_variant, TEXT_VARIANTS)
    if sick_split not in SICK_SPLITS:
        raise choice_error("task.sts.sick_split", sick_split, SICK_SPLITS)
    if source not in SOURCES:
        raise choice_error("task.sts.source", source, SOURCES)
    spec = STS_DATASETS[name]
    if source == "hub":
        return read_hub(name, spec.hub_id)
    senteval = text_variant == "senteval"
    if spec.year_dir:
        folder = root / spec.year_dir[senteval]
        gold, inputs = ("STS.gs.{}.txt", "STS.input.{}.txt") if senteval else (spec.raw_gold, spec.raw_input)
        data = read_semeval_year(name, folder, list(spec.subsets), inputs, gold)
    elif name == "STSB":
        folder = "senteval/STS/STSBenchmark" if senteval else "sts-raw/STSBenchmark/stsbenchmark"
        data = read_stsb(name, root / folder / "sts-test.csv")
    elif name == "SICK-R":
        splits = ["SICK_train.txt", "SICK_trial.txt", "SICK_test_annotated.txt"] if sick_split == "all" \
            else ["SICK_test_annotated.txt"]
        data = read_sick(name, [root / "senteval/SICK" / f for f in splits])
    else:  # BIOSSES: one version only, raw text
        data = read_biosses(name, root / "biosses/biosses.tsv")
    if not len(data):
        raise SentgridError(f"{name}: no scored pairs in {data.source}; run python -m sentgrid.data check.")
    data.notes["text_variant"] = "raw" if name == "BIOSSES" else text_variant
    return data

DATASETS = STS_DATASETS


def load(name: str, root: Path | None, settings) -> STSData:
    """One STS dataset as the task's settings (`task.sts`) read it."""
    return load_sts(name, root, settings.text_variant, settings.sick_split, settings.source)


def rows(data: STSData) -> str:
    return str(len(data))


def expected_rows(name: str) -> str:
    return str(STS_DATASETS[name].pairs)


def files(name: str) -> list[str]:
    """Every local file an STS dataset can read (both text variants)."""
    spec = STS_DATASETS[name]
    if spec.year_dir:
        raw, senteval = spec.year_dir
        return [f"{raw}/{pattern.format(s)}" for s in spec.subsets for pattern in (spec.raw_input, spec.raw_gold)] + \
               [f"{senteval}/STS.{kind}.{s}.txt" for s in spec.subsets for kind in ("input", "gs")]
    return {"STSB": ["sts-raw/STSBenchmark/stsbenchmark/sts-test.csv", "senteval/STS/STSBenchmark/sts-test.csv"],
            "SICK-R": [f"senteval/SICK/SICK_{s}.txt" for s in ("train", "trial", "test_annotated")],
            "BIOSSES": ["biosses/biosses.tsv"]}[spec.name]
