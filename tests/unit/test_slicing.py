"""task.slice: evenly spaced slices as before, nested ones that grow by inclusion and keep strata in proportion."""
import numpy as np
import pytest
from omegaconf import OmegaConf

from sentgrid.cells import cell_config
from sentgrid.data.records import ClassificationData, ClusteringData, Slicing, nested_order
from sentgrid.data.sts import STSData
from sentgrid.errors import SentgridError
from sentgrid.report.data_labels import data_label, slice_settings
from sentgrid.spec import TaskSpec


def test_nested_slices_are_subsets_of_larger_ones_and_keep_strata_in_proportion():
    labels = np.array([0] * 600 + [1] * 300 + [2] * 100)  # sorted by label, as many files are
    picked = {k: Slicing(k, "nested", 7).pick(len(labels), labels) for k in (10, 50, 200, 999)}
    for small, large in ((10, 50), (50, 200), (200, 999)):
        assert set(picked[small]) <= set(picked[large])
    for k, index in picked.items():
        assert len(index) == k and np.all(np.diff(index) > 0)  # file order kept
        counts = np.bincount(labels[index], minlength=3)
        assert np.all(np.abs(counts - k * np.array([0.6, 0.3, 0.1])) <= 1)
    assert np.array_equal(Slicing(1000, "nested").pick(1000, labels), np.arange(1000))  # all of them: file order
    assert sorted(nested_order(labels, 7)) == list(range(1000))


def test_nested_order_is_seeded():
    labels = np.arange(100) % 4
    assert np.array_equal(Slicing(20, "nested", 1).pick(100, labels), Slicing(20, "nested", 1).pick(100, labels))
    assert not np.array_equal(Slicing(20, "nested", 1).pick(100, labels), Slicing(20, "nested", 2).pick(100, labels))


def test_every_record_takes_a_nested_slice_by_its_strata():
    sts = STSData("S", [f"a{i}" for i in range(40)], [f"b{i}" for i in range(40)], np.linspace(0, 5, 40),
                  np.array(["x"] * 30 + ["y"] * 10), "here")
    part = sts.take(8, "nested", 0)
    assert list(part.subsets).count("y") == 2 and part.notes == {"max_items": 8, "slice": "nested", "slice_seed": 0}
    assert sts.take(8).notes == {"max_items": 8}  # evenly spaced: recorded as every earlier slice was
    texts = ClusteringData("C", [f"t{i}" for i in range(30)], np.array([0] * 20 + [1] * 10), "here")
    assert np.bincount(texts.take(6, "nested").labels).tolist() == [4, 2]
    split = ClassificationData("K", {"train": ([f"t{i}" for i in range(20)], np.array([0] * 10 + [1] * 10))}, "here")
    assert np.bincount(split.take(4, "nested").splits["train"][1]).tolist() == [2, 2]


def test_a_slice_order_outside_the_choices_is_one_sentence():
    with pytest.raises(SentgridError, match="task.slice='random'.*evenly, nested"):
        TaskSpec(families=(), slice="random")


def config(**task):
    return OmegaConf.create({"model": {"name": "minilm", "path": "x", "num_layers": 6}, "layer": {"name": "last"},
                             "task": {"families": ["sts"], "max_items": None, **task},
                             "corpus": {"source": "hub"}, "data": {}, "cache": {"dir": "/tmp/none"}})


def test_the_slice_is_part_of_a_cell_only_when_it_changes_the_items():
    before = cell_config(config(max_items=100), with_data=False)  # a cell recorded before task.slice existed
    assert cell_config(config(max_items=100, slice="evenly", slice_seed=0), with_data=False) == before
    assert cell_config(config(max_items=100, slice="nested", slice_seed=0), with_data=False) != before
    full = cell_config(config(), with_data=False)
    assert cell_config(config(slice="nested", slice_seed=3), with_data=False) == full  # full data: the same items


def test_data_labels_name_the_slice():
    assert data_label({"max_items": None, "slice": "nested"}) == "full"
    assert data_label({"max_items": 50}) == "slice-50"
    assert data_label({"max_items": 50, "slice": "nested", "slice_seed": 0}) == "nested-50"
    assert data_label({"max_items": 50, "slice": "nested", "slice_seed": 2}) == "nested-50-seed-2"
    assert slice_settings("nested-50-seed-2") == "task.max_items=50 task.slice=nested task.slice_seed=2"
    assert slice_settings("slice-50") == "task.max_items=50"
