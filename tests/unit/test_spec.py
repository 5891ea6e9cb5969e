"""CellSpec: every setting checked once, before any work, with one sentence naming it."""
import pytest

from sentgrid.errors import SentgridError
from sentgrid.spec import CellSpec, PoolingSpec
from sentgrid.tasks import FAMILIES


def test_defaults_live_in_the_spec(compose_cell):
    spec = CellSpec.from_config(compose_cell())
    assert spec.pooling == PoolingSpec()  # the YAML and the dataclass agree on every default
    assert spec.pooling.primitive == "mean_all" and spec.layer.name == "last"
    assert spec.task.families == ("sts",) and spec.postproc.steps == () and not spec.postproc.fit_on_corpus


@pytest.mark.parametrize("override,message", [
    ("model.batch_size=0", "model.batch_size=0 must be at least 1"),
    ("task.max_items=-1", "task.max_items=-1 must be at least 1"),
    ("pooling.weighting=tfidf", "pooling.weighting='tfidf' is not valid"),
    ("postproc.fit_on=both", "postproc.fit_on='both' is not valid"),
    ("cache.dtype=int8", "cache.dtype='int8' is not valid"),
    ("layer.name=middle", "layer='middle' is not valid"),
    ("task.skip=[STS99]", "task.skip names ['STS99']"),
    ("task.families=[sts,paraphrase]", "task family='paraphrase' is not valid"),
])
def test_bad_settings_stop_with_one_sentence(compose_cell, override, message):
    with pytest.raises(SentgridError, match=message.replace("[", r"\[").replace("(", r"\(")):
        CellSpec.from_config(compose_cell(override))


def test_template_pooling_without_a_template_reads_promptbert(compose_cell):
    spec = CellSpec.from_config(compose_cell("pooling=template"))
    assert spec.template.name == "promptbert" and spec.template.has_mask and "template" in spec.notes


def test_the_paper_families_come_in_the_papers_order():
    assert list(FAMILIES)[:3] == ["sts", "clustering", "classification"]  # every family's contract: test_registries
