"""The halving sweeper's settings, objective and keep rule, on planted scores (no cell runs)."""
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from sentgrid.errors import SentgridError
from sentgrid.search.halving import Halving, refuse_owned, select, shared, spread
from sentgrid.search.objective import Objective
from sentgrid.search.scored import Scored


def settings(**changes):
    node = OmegaConf.create({"rungs": [100, 400, None], "eta": 3, "keep": "top", "objective": None, **changes})
    return Halving.from_config(node, ["sts", "clustering"])


def test_objectives_are_one_metric_or_a_weighted_mean():
    assert Objective.parse(None, ["sts", "clustering"]).label == "sts/avg/spearman"
    mix = Objective.parse("0.75*sts/avg/spearman+0.25*clustering/avg/accuracy", ["sts", "clustering"])
    assert mix.of({"sts/avg/spearman": 80.0, "clustering/avg/accuracy": 40.0}) == 70.0
    assert mix.of({"sts/avg/spearman": 80.0}) != mix.of({"sts/avg/spearman": 80.0})  # NaN: a term is missing
    even = Objective.parse("sts/avg/spearman + clustering/avg/accuracy", ["sts", "clustering"])
    assert even.of({"sts/avg/spearman": 80.0, "clustering/avg/accuracy": 40.0}) == 60.0
    with pytest.raises(SentgridError, match="names 'classification', which the cells do not score"):
        Objective.parse("classification/avg/accuracy", ["sts"])
    with pytest.raises(SentgridError, match=r"'-1\*sts/avg/spearman' is not a metric"):
        Objective.parse("-1*sts/avg/spearman", ["sts"])


@pytest.mark.parametrize("changes, message", [
    ({"rungs": []}, "hydra.sweeper.rungs=.* must be a list"),
    ({"rungs": [400, 100]}, "must grow from rung to rung"),
    ({"rungs": [None, 100]}, "must grow from rung to rung"),
    ({"rungs": [0, 100]}, "0 is not a whole number of items"),
    ({"eta": 1}, "hydra.sweeper.eta=1 must be more than 1"),
    ({"keep": "best"}, "hydra.sweeper.keep='best': choose one of top, tied"),
])
def test_bad_settings_are_one_sentence_naming_them(changes, message):
    with pytest.raises(SentgridError, match=message):
        settings(**changes)


def test_each_rung_sets_its_slice_and_tag_and_the_grid_may_not():
    assert settings().overrides(2) == ["task.max_items=null", "task.slice=nested", "+tracking.tags.rung=2"]
    assert settings().expected_counts(100) == [100, 34, 12]
    with pytest.raises(SentgridError, match="task.max_items=50: a halving sweep sets"):
        refuse_owned([["pooling=avg", "task.max_items=50"]])


def planted(values):
    return [Scored([f"layer.index={i}"], Path(str(i)), "ok", {"metrics": {}}, v, f"layer.index={i}")
            for i, v in enumerate(values)]


def test_top_keeps_the_best_third_and_never_a_failed_cell():
    cells = planted([70.0, 91.0, 80.0, float("nan"), 85.0, 60.0, 88.0])
    kept = select(cells, settings(), None, None).kept
    assert [c.name for c in kept] == ["layer.index=1", "layer.index=6"]  # ceil(6 scored / 3)
    assert [c.name for c in select(planted([50.0]), settings(), None, None).kept] == ["layer.index=0"]


def test_stand_ins_and_shared_overrides():
    assert spread(list(range(10)), 3) == [0, 4, 9] and spread([1, 2], 5) == [1, 2]
    assert shared([["a=1", "b=1"], ["a=1", "b=2"]]) == ["a=1"]


def test_a_search_space_from_hydras_sweep_syntax():
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    from sentgrid.search.space import space_of

    parsed = OverridesParser.create().parse_overrides([
        "model=minilm", "pooling=avg,max", "layer.index=range(1,7)", "model.w=interval(0,1)",
        "pooling.sif_a=tag(log,interval(0.0001,0.01))", "postproc.n=int(interval(1,300))", "hydra.sweeper.n_trials=3"])
    space = space_of(parsed)
    assert space.fixed == ("model=minilm",)
    assert space.distributions == {
        "pooling": CategoricalDistribution(["avg", "max"]), "layer.index": IntDistribution(1, 6),
        "model.w": FloatDistribution(0.0, 1.0), "pooling.sif_a": FloatDistribution(0.0001, 0.01, log=True),
        "postproc.n": IntDistribution(1, 300)}
    assert space.overrides({"pooling": "max", "layer.index": 3, "model.w": 0.25, "pooling.sif_a": 0.001,
                            "postproc.n": 7}) == ["model=minilm", "pooling=max", "layer.index=3", "model.w=0.25",
                                                  "pooling.sif_a=0.001", "postproc.n=7"]
    with pytest.raises(SentgridError, match="nothing to search"):
        space_of(OverridesParser.create().parse_overrides(["model=minilm"]))


def test_a_trial_leaves_the_settings_its_cell_does_not_read_at_their_defaults():
    """TPE asked for the best cell (no token weights) five times with different SIF `a`: five cells of their own,
    four of them wasted. Unread, `a` is left at its default, so those trials are one cell, run once."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from sentgrid.search.space import space_of

    space = space_of(OverridesParser.create().parse_overrides([
        "pooling.weighting=none,sif", "pooling.sif_a=tag(log,interval(0.0001,0.01))", "postproc=none,whiten",
        "postproc.fit_on=task,wikitext"]))
    unweighted = {"pooling.weighting": "none", "postproc": "none", "postproc.fit_on": "wikitext"}
    assert space.cell({**unweighted, "pooling.sif_a": 0.003}) == space.cell({**unweighted, "pooling.sif_a": 0.0002}) \
        == (["pooling.weighting=none", "postproc=none"], ["pooling.sif_a", "postproc.fit_on"])
    read = {"pooling.weighting": "sif", "pooling.sif_a": 0.003, "postproc": "whiten", "postproc.fit_on": "wikitext"}
    assert space.cell(read) == (["pooling.weighting=sif", "pooling.sif_a=0.003", "postproc=whiten",
                                 "postproc.fit_on=wikitext"], [])
    # a cell that does not compose keeps every override: its job records the one-sentence error
    bad = {**read, "postproc.fit_on": "nowhere"}
    assert space.cell(bad) == (space.overrides(bad), [])
