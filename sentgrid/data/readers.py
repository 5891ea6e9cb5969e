"""Readers for the clustering and classification files under the data root.

Each returns texts (or pairs) and labels; a malformed line stops with the file name and line number.
"""
import csv
import io
from pathlib import Path

import numpy as np

from ..errors import SentgridError


def text_of(path: Path, encoding: str = "utf-8", newline: str | None = None) -> str:
    """A data file's text, its line ends translated as `open(..., newline=newline)` would; a missing,
    undecodable or empty file stops with one sentence naming it."""
    path = Path(path)
    if not path.is_file():
        raise SentgridError(f"missing data file {path}; check data.root (or SENTGRID_DATA).")
    data = path.read_bytes()
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise SentgridError(f"{path}:{line}: not valid {encoding.upper()} text (byte {exc.start}); "
                            f"re-save the file as {encoding.upper()}.") from None
    if not text.strip():
        raise SentgridError(f"{path} is empty; it should hold the dataset (run python -m sentgrid.data check).")
    return io.StringIO(text, newline=newline).read().lstrip("\ufeff") if newline is None else text.lstrip("\ufeff")


def _read(path: Path, encoding: str = "utf-8") -> list[str]:
    return text_of(path, encoding).splitlines()


def _text(text: str, where: str) -> str:
    text = text.strip()
    if not text:
        raise SentgridError(f"{where}: empty text.")
    return text


def label_tab_text(path: Path) -> tuple[list[str], np.ndarray]:
    """Short-text clustering files: `label<TAB>text` (a trailing tab is allowed)."""
    texts, labels = [], []
    for lineno, line in enumerate(_read(path), start=1):
        fields = line.split("\t")
        if len(fields) < 2:
            raise SentgridError(f"{path}:{lineno}: expected label<TAB>text, found {len(fields)} field(s).")
        texts.append(_text(fields[1], f"{path}:{lineno}"))
        labels.append(fields[0].strip())
    return texts, np.array(labels)


def polarity(positive: Path, negative: Path) -> tuple[list[str], np.ndarray]:
    """One sentence per line in two files (MR, CR, SUBJ, MPQA); positive is label 1."""
    texts, labels = [], []
    for path, label in ((positive, 1), (negative, 0)):
        for line in _read(path, "latin-1"):
            if line.strip():  # SentEval skips blank lines (CR has a few)
                texts.append(line.strip())
                labels.append(label)
    return texts, np.array(labels)


def _labelled_lines(path: Path, split) -> tuple[list[str], np.ndarray]:
    """One `(text, integer label)` per line, `split(line) -> (text, label)` saying where each sits."""
    texts, labels = [], []
    for lineno, line in enumerate(_read(path), start=1):
        text, label = split(line)
        where = f"{path}:{lineno}"
        labels.append(_int(label, where))
        texts.append(_text(text, where))
    return texts, np.array(labels)


def sst_binary(path: Path) -> tuple[list[str], np.ndarray]:
    """`text<TAB>label` per line."""
    return _labelled_lines(path, lambda line: line.rpartition("\t")[::2])


def sst_fine(path: Path) -> tuple[list[str], np.ndarray]:
    """`label<SPACE>text` per line (label first, unlike the binary files)."""
    return _labelled_lines(path, lambda line: line.partition(" ")[::-2])


def trec(path: Path) -> tuple[list[str], np.ndarray]:
    """`COARSE:fine question` per line; the coarse class is the label (6 classes)."""
    texts, labels = [], []
    for lineno, line in enumerate(_read(path, "latin-1"), start=1):
        head, _, text = line.partition(" ")
        if ":" not in head:
            raise SentgridError(f"{path}:{lineno}: expected 'COARSE:fine question', found {line[:40]!r}.")
        labels.append(head.split(":")[0])
        texts.append(_text(text, f"{path}:{lineno}"))
    return texts, np.array(labels)


def mrpc(path: Path) -> tuple[list[tuple[str, str]], np.ndarray]:
    """Header, then Quality, #1 ID, #2 ID, #1 String, #2 String (tab-separated)."""
    pairs, labels = [], []
    for lineno, line in enumerate(_read(path)[1:], start=2):
        fields = line.split("\t")
        where = f"{path}:{lineno}"
        if len(fields) != 5:
            raise SentgridError(f"{where}: expected 5 tab-separated columns, found {len(fields)}.")
        pairs.append((_text(fields[3], where), _text(fields[4], where)))
        labels.append(_int(fields[0], where))
    return pairs, np.array(labels)


def csv_columns(path: Path, text: str, label: str, delimiter: str = ",") -> tuple[list[str], np.ndarray, list[dict]]:
    """A csv/tsv with a header; returns texts, labels and the raw rows."""
    texts, labels, rows = [], [], []
    with io.StringIO(text_of(path, newline=""), newline="") as f:
        reader = csv.DictReader(f, delimiter=delimiter)
        if not reader.fieldnames or text not in reader.fieldnames or label not in reader.fieldnames:
            raise SentgridError(f"{path}:1: header lacks the columns {text!r} and {label!r}.")
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if row.get(text) is None or row.get(label) is None:
                raise SentgridError(f"{where}: missing column {text!r} or {label!r}.")
            texts.append(_text(row[text], where))
            labels.append(row[label].strip())
            rows.append(row)
    return texts, np.array(labels), rows


def semicolon(path: Path) -> tuple[list[str], np.ndarray]:
    """`text;label` per line (Emotion)."""
    texts, labels = [], []
    for lineno, line in enumerate(_read(path), start=1):
        text, sep, label = line.rpartition(";")
        if not sep:
            raise SentgridError(f"{path}:{lineno}: expected text;label.")
        texts.append(_text(text, f"{path}:{lineno}"))
        labels.append(label.strip())
    return texts, np.array(labels)


def _int(text: str, where: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise SentgridError(f"{where}: label {text.strip()!r} is not an integer.") from None
