import pytest

from sentgrid.errors import SentgridError
from sentgrid.templates import PROMPTBERT, Template


def test_promptbert_wraps_the_sentence():
    assert PROMPTBERT.apply("A man plays.") == 'This sentence : "A man plays." means [MASK] .'
    assert PROMPTBERT.apply("x", mask_token="<mask>") == 'This sentence : "x" means <mask> .'


@pytest.mark.parametrize("sentence,expected", [("A man plays", "A man plays."), ("Why?", "Why?"),
                                               ("He said 'no'", "He said 'no'"), ("Done.", "Done.")])
def test_punctuation_policy_appends_a_period_only_when_missing(sentence, expected):
    assert Template("none", None, punctuation=True).apply(sentence) == expected


def test_literal_mask_in_the_sentence_is_kept():
    assert PROMPTBERT.apply("[MASK] me", mask_token="<m>") == 'This sentence : "[MASK] me" means <m> .'


def test_template_without_sentence_slot_is_an_error():
    with pytest.raises(SentgridError, match=r"\[X\]"):
        Template("bad", "no slot here [MASK]")


def test_pooling_template_needs_a_mask():
    with pytest.raises(SentgridError, match=r"has no \[MASK\]"):
        Template("nomask", 'This sentence : "[X]" .').require_mask()
