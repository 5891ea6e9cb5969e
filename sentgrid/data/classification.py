"""The classification datasets, declared once (local files, splits and expected rows), and their readers."""
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SentgridError, choice_error
from . import readers
from .records import ClassificationData


def _polarity(positive, negative):
    return lambda root: {"train": readers.polarity(root / positive, root / negative)}


def _sst(folder, reader):
    return lambda root: {split: reader(root / folder / f"sentiment-{split}") for split in ("train", "dev", "test")}


def _trec(root):
    return {"train": readers.trec(root / "senteval/TREC/train_5500.label"),
            "test": readers.trec(root / "senteval/TREC/TREC_10.label")}


def _mrpc(root):
    return {"train": readers.mrpc(root / "senteval/MRPC/msr_paraphrase_train.txt"),
            "test": readers.mrpc(root / "senteval/MRPC/msr_paraphrase_test.txt")}


def _banking(root):
    return {split: readers.csv_columns(root / f"banking77/banking_data/{split}.csv", "text", "category")[:2]
            for split in ("train", "test")}


def _emotion(root):
    return {split: readers.semicolon(root / f"emotion/archive/{name}.txt")
            for split, name in (("train", "train"), ("dev", "val"), ("test", "test"))}


def _amazon(root):
    return {split: readers.csv_columns(root / f"amazon-counterfactual/data/EN_{name}.tsv", "sentence",
                                       "is_counterfactual", "\t")[:2]
            for split, name in (("train", "train"), ("dev", "valid"), ("test", "test"))}


def _tweets(root):
    # Upstream names are swapped: train.csv is Kaggle's test set (= MTEB test); test.csv is that test set
    # followed by Kaggle's train set, so MTEB train = rows of test.csv whose textID is not in train.csv.
    folder = root / "tweet-sentiment-extraction"
    test_texts, test_labels, test_rows = readers.csv_columns(folder / "train.csv", "text", "sentiment")
    all_texts, all_labels, all_rows = readers.csv_columns(folder / "test.csv", "text", "sentiment")
    test_ids = {row["textID"] for row in test_rows}
    keep = [i for i, row in enumerate(all_rows) if row["textID"] not in test_ids]
    return {"train": ([all_texts[i] for i in keep], all_labels[keep]), "test": (test_texts, test_labels)}


@dataclass(frozen=True)
class ClassificationSpec:
    name: str
    files: tuple[str, ...]
    rows: dict  # split -> expected rows
    load: Callable[[Path], dict]
    hub_id: str | None = None
    pairs: bool = False


_SE = "senteval"
CLASSIFICATION = {spec.name: spec for spec in [
    ClassificationSpec("MR", (f"{_SE}/MR/rt-polarity.pos", f"{_SE}/MR/rt-polarity.neg"), {"train": 10662},
                       _polarity(f"{_SE}/MR/rt-polarity.pos", f"{_SE}/MR/rt-polarity.neg")),
    ClassificationSpec("CR", (f"{_SE}/CR/custrev.pos", f"{_SE}/CR/custrev.neg"), {"train": 3771},
                       _polarity(f"{_SE}/CR/custrev.pos", f"{_SE}/CR/custrev.neg")),
    ClassificationSpec("SUBJ", (f"{_SE}/SUBJ/subj.subjective", f"{_SE}/SUBJ/subj.objective"), {"train": 10000},
                       _polarity(f"{_SE}/SUBJ/subj.subjective", f"{_SE}/SUBJ/subj.objective")),
    ClassificationSpec("MPQA", (f"{_SE}/MPQA/mpqa.pos", f"{_SE}/MPQA/mpqa.neg"), {"train": 10603},
                       _polarity(f"{_SE}/MPQA/mpqa.pos", f"{_SE}/MPQA/mpqa.neg")),
    ClassificationSpec("SST2", tuple(f"{_SE}/SST/binary/sentiment-{s}" for s in ("train", "dev", "test")),
                       {"train": 67349, "dev": 872, "test": 1821}, _sst(f"{_SE}/SST/binary", readers.sst_binary)),
    ClassificationSpec("SST5", tuple(f"{_SE}/SST/fine/sentiment-{s}" for s in ("train", "dev", "test")),
                       {"train": 8544, "dev": 1101, "test": 2210}, _sst(f"{_SE}/SST/fine", readers.sst_fine)),
    ClassificationSpec("TREC", (f"{_SE}/TREC/train_5500.label", f"{_SE}/TREC/TREC_10.label"),
                       {"train": 5452, "test": 500}, _trec),
    ClassificationSpec("MRPC", (f"{_SE}/MRPC/msr_paraphrase_train.txt", f"{_SE}/MRPC/msr_paraphrase_test.txt"),
                       {"train": 4076, "test": 1725}, _mrpc, pairs=True),
    ClassificationSpec("Banking77", ("banking77/banking_data/train.csv", "banking77/banking_data/test.csv"),
                       {"train": 10003, "test": 3080}, _banking, "mteb/banking77"),
    ClassificationSpec("Emotion", tuple(f"emotion/archive/{s}.txt" for s in ("train", "val", "test")),
                       {"train": 16000, "dev": 2000, "test": 2000}, _emotion, "mteb/emotion"),
    ClassificationSpec("AmazonCounterfactual",
                       tuple(f"amazon-counterfactual/data/EN_{s}.tsv" for s in ("train", "valid", "test")),
                       {"train": 4018, "dev": 335, "test": 670}, _amazon, "mteb/amazon_counterfactual"),
    ClassificationSpec("TweetSentimentExtraction",
                       ("tweet-sentiment-extraction/train.csv", "tweet-sentiment-extraction/test.csv"),
                       {"train": 27480, "test": 3534}, _tweets, "mteb/tweet_sentiment_extraction"),
]}


def load_classification(name: str, root: Path) -> ClassificationData:
    if name not in CLASSIFICATION:
        raise choice_error("classification dataset", name, CLASSIFICATION)
    spec = CLASSIFICATION[name]
    splits = {split: (items, np.asarray(labels)) for split, (items, labels) in spec.load(root).items()}
    for split, expected in spec.rows.items():
        if len(splits[split][0]) != expected:
            raise SentgridError(f"{name} {split} has {len(splits[split][0])} rows, expected {expected}; "
                                f"the files under {root} are not the ones sentgrid knows (run python -m sentgrid.data check).")
    return ClassificationData(name, splits, ", ".join(str(root / f) for f in spec.files), pairs=spec.pairs)


DATASETS = CLASSIFICATION


def load(name: str, root: Path, settings=None) -> ClassificationData:
    return load_classification(name, root)


def files(name: str) -> list[str]:
    return list(CLASSIFICATION[name].files)


def rows(data: ClassificationData) -> str:
    return "/".join(str(len(data.splits[s][0])) for s in CLASSIFICATION[data.name].rows)


def expected_rows(name: str) -> str:
    return "/".join(map(str, CLASSIFICATION[name].rows.values()))
