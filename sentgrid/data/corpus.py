"""The general corpus: WikiText raw split into sentences (post-processing fits; later Avg. and idf)."""
import re
from pathlib import Path

from ..errors import SentgridError

# WikiText raw escapes in-word hyphens and number separators as " @-@ ", " @,@ ", " @.@ ".
_ESCAPES = re.compile(r" @([-,.])@ ")
# A sentence ends at . ! ? followed by a space and an upper-case letter or a quote.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")


def wikitext_sentences(path: str | Path, max_sentences: int | None = None, min_words: int = 3) -> list[str]:
    """Sentences of a WikiText raw file, in order; headings (` = Title = `) and fragments are skipped."""
    path = Path(path)
    if not path.is_file():
        raise SentgridError(f"corpus file {path} not found; set corpus.path (or data.root) to a WikiText raw file.")
    sentences = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("="):
                continue
            for sentence in _SENTENCE_END.split(_ESCAPES.sub(r"\1", line)):
                if len(sentence.split()) >= min_words:
                    sentences.append(sentence)
                    if max_sentences and len(sentences) >= max_sentences:
                        return sentences
    return sentences
