"""Prompt templates: wrap a sentence in a template and say where its [MASK] is.

A template is a string with one `[X]` (the sentence) and, for `pooling=template`, one `[MASK]`.
`[MASK]` is replaced by the tokenizer's own mask token, so non-BERT vocabularies work too.
"""
from dataclasses import dataclass

import numpy as np

from .errors import SentgridError

SENTENCE_SLOT = "[X]"
MASK_SLOT = "[MASK]"
# PromptBERT appends "." to sentences that do not already end in one of these.
PROMPTBERT_ENDINGS = ('.', '?', '"', "'")


@dataclass(frozen=True)
class Template:
    name: str
    text: str | None  # None: the sentence is used as it is
    punctuation: bool = False  # the PromptBERT policy: append "." when the sentence lacks an ending

    def __post_init__(self):
        if self.text is not None and self.text.count(SENTENCE_SLOT) != 1:
            raise SentgridError(
                f"template.text={self.text!r} must contain {SENTENCE_SLOT} exactly once, where the sentence goes.")

    @property
    def has_mask(self) -> bool:
        return self.text is not None and MASK_SLOT in self.text

    def require_mask(self) -> None:
        if not self.has_mask:
            raise SentgridError(
                f"pooling=template reads the hidden state at [MASK], but template {self.name!r} "
                f"({self.text!r}) has no {MASK_SLOT}; use template=promptbert or put {MASK_SLOT} in template.text.")

    def apply(self, sentence: str, mask_token: str = MASK_SLOT) -> str:
        sentence = sentence.strip()
        if self.punctuation and not sentence.endswith(PROMPTBERT_ENDINGS):
            sentence += "."
        if self.text is None:
            return sentence
        # Replace the mask first so a literal "[MASK]" inside the sentence is left alone.
        return self.text.replace(MASK_SLOT, mask_token).replace(SENTENCE_SLOT, sentence)

    def describe(self) -> dict:
        return {"name": self.name, "text": self.text, "punctuation": self.punctuation}


def from_config(cfg) -> Template:
    return Template(name=str(cfg.name), text=cfg.text, punctuation=bool(cfg.punctuation))


PROMPTBERT = Template("promptbert", 'This sentence : "[X]" means [MASK] .')


def mask_positions(rows, mask_id: int) -> np.ndarray:
    """For each sentence's token ids (no padding), where the template's [MASK] is: the last [MASK] (a
    sentence may contain the word itself), or the last token when truncation cut the template's off."""
    out = np.empty(len(rows), np.int64)
    for i, ids in enumerate(rows):
        hits = np.flatnonzero(np.asarray(ids) == mask_id)
        out[i] = hits[-1] if len(hits) else len(ids) - 1
    return out
