"""Evidence: resampled scores against the scorers on the drawn items, intervals against scipy's bootstrap,
the paired test's level and power on synthetic data, Holm's tied set, and kept outputs (round trip, damage)."""
import json

import numpy as np
import pytest
from scipy.stats import bootstrap, spearmanr

from sentgrid.cells import FinishedCells
from sentgrid.errors import SentgridError
from sentgrid.outputs import CellOutputs, DamagedOutputs, checksum
from sentgrid.stats import Settings
from sentgrid.stats.intervals import cell_intervals, per_resample
from sentgrid.stats.paired import holm, paired, tied_with_best
from sentgrid.stats.resample import counts, interval, resampled
from sentgrid.tasks import classification, clustering, pair_classification, sts

RNG = np.random.default_rng(7)
N = 120
GOLD = np.round(RNG.uniform(0, 5, N), 1)  # ties, as real gold scores have


def family_outputs():
    """Outputs of each family as its `predict` makes them (ties, -1 for items a row did not predict)."""
    similarity = np.round(GOLD + RNG.normal(size=N), 2)
    labels = RNG.integers(0, 4, N).astype(np.int32)
    noisy = np.where(RNG.random((3, N)) < 0.3, RNG.integers(0, 5, (3, N)), labels).astype(np.int32)
    folds = RNG.integers(0, 3, N)
    held_out = np.where(folds[None] == np.arange(3)[:, None], noisy, -1).astype(np.int32)
    return {
        "sts": (sts, {"similarity": similarity, "gold": GOLD, "subset": RNG.integers(0, 3, N).astype(np.int32)}),
        "pair": (pair_classification, {"similarity": similarity, "gold": (GOLD > 2.5).astype(np.int64)}),
        "clustering": (clustering, {"predicted": noisy, "gold": labels, "v_measure": np.array(False)}),
        "classification cv": (classification, {"predicted": held_out, "gold": labels, "C": np.ones(3),
                                               "repeated": np.array(True), "items": np.array(N)}),
        "classification test": (classification, {"predicted": noisy[:1], "gold": labels, "C": np.ones(1),
                                                 "repeated": np.array(False), "items": np.array(N)}),
    }


def mapped(gold: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Each text's label under the one-to-one mapping of clusters to labels that matches most texts."""
    from scipy.optimize import linear_sum_assignment

    table = np.zeros((gold.max() + 1, predicted.max() + 1))
    np.add.at(table, (gold, predicted), 1)
    labels, clusters = linear_sum_assignment(table, maximize=True)
    label_of = dict(zip(clusters, labels))
    return np.array([label_of.get(p, -1) for p in predicted])


def drawn(outputs: dict, index: np.ndarray) -> dict:
    """The outputs of the items `index` draws (an item drawn twice appears twice)."""
    def take(value):
        if value.ndim == 0:
            return value
        return value[..., index] if value.shape[-1] == N else value
    return {name: take(value) for name, value in outputs.items()}


@pytest.mark.parametrize("name", list(family_outputs()))
def test_each_familys_resampled_scores_equal_its_scores_of_the_drawn_items(name):
    scorer, outputs = family_outputs()[name]
    rng = np.random.default_rng(1)
    indices = [np.sort(rng.integers(0, N, N)) for _ in range(5)]
    chunk = np.array([np.bincount(i, minlength=N) for i in indices])
    ours = scorer.resampled(outputs, chunk)
    for row, index in enumerate(indices):
        theirs = scorer.rescore(drawn(outputs, index))
        if name == "clustering":  # accuracy keeps the mapping found on all texts (clustering.resampled says why)
            theirs["accuracy"] = np.mean([100 * (mapped(outputs["gold"], p)[index] == outputs["gold"][index]).mean()
                                          for p in outputs["predicted"]])
        for metric, values in ours.items():
            assert values[row] == pytest.approx(theirs[metric], abs=1e-9), (metric, row)
    everything = scorer.resampled(outputs, np.ones((1, N), dtype=int))  # all items once: the score itself
    assert all(values[0] == pytest.approx(scorer.rescore(outputs)[m], abs=1e-9) for m, values in everything.items())


def test_a_spearman_interval_equals_scipys_percentile_bootstrap():
    similarity = GOLD + RNG.normal(size=N)
    settings = Settings(resamples=4000, level=0.95, seed=3)
    ours = interval(resampled(sts, "sts/X", {"similarity": similarity, "gold": GOLD}, settings)["spearman"], 0.95)
    theirs = bootstrap((similarity, GOLD), lambda x, y: 100 * spearmanr(x, y).statistic, paired=True,
                       vectorized=False, n_resamples=4000, method="percentile", random_state=11).confidence_interval
    width = theirs.high - theirs.low
    assert abs(ours[0] - theirs.low) < 0.1 * width and abs(ours[1] - theirs.high) < 0.1 * width  # Monte-Carlo error


def test_resamples_depend_on_the_dataset_and_the_seed_only():
    one = np.concatenate(list(counts("sts/STSB", 50, Settings(200, 0.95, 0))))
    again = np.concatenate(list(counts("sts/STSB", 50, Settings(200, 0.9, 0))))
    other = np.concatenate(list(counts("sts/SICK-R", 50, Settings(200, 0.95, 0))))
    assert one.shape == (200, 50) and (one.sum(axis=1) == 50).all()
    assert np.array_equal(one, again) and not np.array_equal(one, other)


def rejection_rate(improvement: float, datasets: int = 500, n: int = 200) -> float:
    """How often the paired test rejects "alike" at 0.05: two cells whose similarities are the gold signal plus
    independent noise of equal size, B's signal `improvement` stronger."""
    rejected = 0
    for i in range(datasets):
        rng = np.random.default_rng(i)
        gold = rng.normal(size=n)
        a, b = gold + rng.normal(size=n), gold * (1 + improvement) + rng.normal(size=n)
        settings = Settings(400, 0.95, i)
        points = [100 * spearmanr(x, gold).statistic for x in (a, b)]
        values = [resampled(sts, "x", {"similarity": x, "gold": gold}, settings)["spearman"] for x in (a, b)]
        rejected += paired(*points, *values, 0.95).p < 0.05
    return rejected / datasets


def test_the_paired_test_holds_its_level_under_the_null_and_finds_a_planted_improvement():
    assert 0.03 <= rejection_rate(0.0) <= 0.07
    assert rejection_rate(0.5) >= 0.8


def test_identical_cells_differ_by_nothing_with_p_one():
    values = RNG.normal(80, 1, 300)
    d = paired(80.0, 80.0, values, values.copy(), 0.95)
    assert (d.difference, d.low, d.high, d.p) == (0.0, 0.0, 0.0, 1.0)


def test_holm_steps_down():
    assert holm({"a": 0.01, "b": 0.02, "c": 0.06}, 0.05) == {"a", "b"}  # 0.01 <= .05/3, 0.02 <= .05/2, 0.06 > .05
    assert holm({"a": 0.01, "b": 0.03, "c": 0.04}, 0.05) == {"a"}  # 0.03 > .05/2: b and c stay
    assert holm({"a": 0.02, "b": 0.001}, 0.05) == {"a", "b"}
    assert holm({"a": 0.03, "b": 0.04}, 0.05) == set()  # 0.03 > 0.05/2: stops at the first


def test_the_tied_set_keeps_the_close_cells_and_drops_a_clearly_worse_one():
    rng = np.random.default_rng(0)
    shared = rng.normal(0, 1, 1000)  # what every cell's resamples share (the same items)
    values = {"best": 80 + shared, "close": 79.99 + shared + rng.normal(0, 0.3, 1000),
              "worse": 78 + shared + rng.normal(0, 0.3, 1000)}
    best, tied, p = tied_with_best({"best": 80.0, "close": 79.99, "worse": 78.0}, values, 0.95)
    assert best == "best" and tied == {"best", "close"} and p["worse"] < 1e-6


def test_settings_are_checked_with_one_sentence():
    assert Settings.from_config(None) == Settings(1000, 0.95, 0)
    for node, setting in (({"resamples": 5}, "stats.resamples"), ({"level": 1.5}, "stats.level"),
                          ({"seed": -1}, "stats.seed"), ({"resamples": "many"}, "stats.resamples")):
        with pytest.raises(SentgridError, match=setting):
            Settings.from_config(node)


def kept_cell() -> CellOutputs:
    settings = Settings(200, 0.95, 0)
    scorer, outputs = family_outputs()["sts"]
    kept = CellOutputs({}, {}, settings, {"sts/A": "sts", "sts/B": "sts"})
    for key in kept.families:
        kept.outputs[key] = outputs
        kept.resampled[key] = resampled(scorer, key, outputs, settings)
    return kept


def test_outputs_round_trip_and_family_averages_resample_every_dataset_at_once():
    kept = kept_cell()
    back = CellOutputs.unpack(kept.pack())
    assert back.families == kept.families and back.settings == kept.settings
    for key in kept.outputs:
        assert all(np.array_equal(back.outputs[key][n], v) for n, v in kept.outputs[key].items())
        assert back.rescored(key) == sts.rescore(kept.outputs[key])  # exactly
    values = per_resample(back)
    assert np.array_equal(values["sts/avg/spearman"], (values["sts/A/spearman"] + values["sts/B/spearman"]) / 2)
    assert set(cell_intervals(back)) == {"sts/A/spearman", "sts/A/pearson", "sts/B/spearman", "sts/B/pearson",
                                         "sts/avg/spearman", "sts/avg/pearson"}
    # other settings: drawn again from the outputs, not the stored resamples
    assert len(per_resample(back, Settings(50, 0.95, 0))["sts/A/spearman"]) == 50


def test_a_damaged_outputs_file_is_refused_and_force_keeps_the_earlier_one(tmp_path, capsys):
    from sentgrid.store.maintenance import verify

    packed = kept_cell().pack()
    record = {"tags": {"cell": "x"}, "config": {"task": {"families": ["sts"]}, "pooling": {}, "model": {"name": "m"}},
              "timings": {"total": 1.0}, "outputs": {"sha256": checksum(packed)}}
    cells, identity = FinishedCells(tmp_path), "cd" * 32
    cells.mark(identity, tmp_path / "result.json", record, packed)
    assert cells.outputs(identity).families == {"sts/A": "sts", "sts/B": "sts"}
    path = cells.outputs_path(identity)
    assert path.stat().st_mode & 0o777 == 0o444
    cells.mark(identity, tmp_path / "result.json", record, packed)  # force=true: the earlier pair goes to history/
    assert len(list((path.parent / "history").glob("*.outputs.npz"))) == 1
    damaged = bytearray(packed)
    damaged[len(damaged) // 2] ^= 1
    path.chmod(0o644)
    path.write_bytes(bytes(damaged))
    with pytest.raises(DamagedOutputs, match="damaged"):
        cells.outputs(identity)
    assert verify(tmp_path) == 1 and path.exists()  # `cache verify` finds it; --fix removes it
    assert verify(tmp_path, fix=True) == 0 and not path.exists()
    with pytest.raises(DamagedOutputs, match="gone.*force=true"):
        cells.outputs(identity)
    assert cells.outputs(identity, {"outputs": {}}) is None  # a record from before outputs were kept
    assert json.loads(cells.path(identity).read_text())["record"]["outputs"]["sha256"] == checksum(packed)
    assert "damaged outputs of cell cdcdcdcdcdcdcdcd: its sha256 is not the one its record names" in capsys.readouterr().out
