"""The general corpus, split into sentences: Avg. and B2S training, corpus idf, SIF, bias removal and
post-processing fits (postproc.fit_on=wikitext).

Sources: a local file (WikiText raw by default; any text file with `corpus.format=lines` or `text`),
or WikiText-103 from the Hugging Face hub (`corpus.source=hub`, for users who are online).
"""
import io
import json
import re
from pathlib import Path

from ..errors import SentgridError, choice_error
from .readers import text_of

SOURCES = ("file", "hub")
FORMATS = ("wikitext", "lines", "text")
# WikiText raw escapes in-word hyphens and number separators as " @-@ ", " @,@ ", " @.@ ".
_ESCAPES = re.compile(r" @([-,.])@ ")
# A sentence ends at . ! ? followed by a space and an upper-case letter or a quote.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")


def split_sentences(lines, fmt: str, max_sentences: int | None = None, min_words: int = 3) -> list[str]:
    """Sentences of raw lines: `wikitext` skips ` = Headings = ` and undoes @-@ escapes, `lines` takes
    each line as one sentence, `text` splits lines at sentence ends."""
    if fmt not in FORMATS:
        raise choice_error("corpus.format", fmt, FORMATS)
    sentences = []
    for line in lines:
        line = line.strip()
        if not line or (fmt == "wikitext" and line.startswith("=")):
            continue
        if fmt == "wikitext":
            line = _ESCAPES.sub(r"\1", line)
        for sentence in ([line] if fmt == "lines" else _SENTENCE_END.split(line)):
            if len(sentence.split()) >= min_words:
                sentences.append(sentence)
                if max_sentences and len(sentences) >= max_sentences:
                    return sentences
    return sentences


def wikitext_sentences(path: str | Path, max_sentences: int | None = None, fmt: str = "wikitext") -> list[str]:
    """Sentences of a local text file, in order."""
    path = Path(str(path))
    if not path.is_file():
        raise SentgridError(f"corpus file {path} not found; set corpus.path (or data.root) to a WikiText raw "
                            f"file or any text file (with corpus.format=lines or text).")
    return split_sentences(io.StringIO(text_of(path)), fmt, max_sentences)


def corpus_sentences(cfg) -> list[str]:
    """The corpus a config names (`corpus` node)."""
    source = cfg.get("source", "file")
    if source == "file":
        return wikitext_sentences(cfg.path, cfg.max_sentences, cfg.get("format", "wikitext"))
    if source != "hub":
        raise choice_error("corpus.source", source, SOURCES)
    import datasets

    try:
        rows = datasets.load_dataset(cfg.hub_name, cfg.hub_config, split=cfg.hub_split)
    except Exception as exc:
        raise SentgridError(f"could not load corpus {cfg.hub_name}/{cfg.hub_config} from the Hugging Face hub "
                            f"({type(exc).__name__}); go online once, or use corpus.source=file.") from exc
    return split_sentences((row["text"] for row in rows), "wikitext", cfg.max_sentences)


class Corpora:
    """Corpora read once per process: `loader(cfg)` gives a function returning the corpus a config names,
    read on its first call only (most cells never need the corpus)."""

    def __init__(self):
        self.read: dict[str, list[str]] = {}

    def loader(self, cfg):
        from omegaconf import OmegaConf

        key = json.dumps(OmegaConf.to_container(cfg, resolve=True), sort_keys=True, default=str)

        def load() -> list[str]:
            if key not in self.read:
                self.read[key] = corpus_sentences(cfg)
            return self.read[key]
        return load
