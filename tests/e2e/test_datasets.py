"""The real data files: every dataset has its expected rows, readers keep the details right, `data check`."""
import pytest

from sentgrid.data import CLASSIFICATION, CLUSTERING, STS_DATASETS, load_classification, load_clustering, load_sts
from sentgrid.data.check import check
from sentgrid.tasks import FAMILIES


@pytest.mark.parametrize("name", list(STS_DATASETS))
def test_every_sts_dataset_has_its_expected_pairs(data_root, name):
    data = load_sts(name, data_root)
    assert len(data) == STS_DATASETS[name].pairs
    assert len(data.sentences1) == len(data.sentences2) == len(data.subsets)
    assert 0 <= data.scores.min() and data.scores.max() <= 5


def test_senteval_variant_is_lower_cased_and_tokenised(data_root):
    raw, tok = load_sts("STSB", data_root), load_sts("STSB", data_root, text_variant="senteval")
    assert len(raw) == len(tok) == 1379
    assert raw.sentences1[0] == "A girl is styling her hair."
    assert tok.sentences1[0] == "a girl is styling her hair ."
    assert tok.notes["text_variant"] == "senteval"


def test_sick_test_split_and_subsets(data_root):
    assert len(load_sts("SICK-R", data_root, sick_split="test")) == 4927
    sts12 = load_sts("STS12", data_root)
    assert sorted(set(sts12.subsets)) == sorted(STS_DATASETS["STS12"].subsets)
    assert (sts12.subsets == "MSRpar").sum() == 750


def test_unscored_lines_are_skipped(data_root):
    sts15 = load_sts("STS15", data_root)  # 8,500 input lines, 3,000 scored
    assert (sts15.subsets == "answers-forums").sum() == 375


def test_slice_covers_every_subset(data_root):
    part = load_sts("STS12", data_root).take(50)
    assert len(part) == 50 and len(set(part.subsets)) == 5


@pytest.mark.parametrize("name", list(CLUSTERING))
def test_clustering_readers(data_root, name):
    data = load_clustering(name, data_root)
    assert len(data) == CLUSTERING[name].rows and len(set(data.labels)) == CLUSTERING[name].n_labels


@pytest.mark.parametrize("name", list(CLASSIFICATION))
def test_classification_readers(data_root, name):
    data = load_classification(name, data_root)
    assert {s: len(items) for s, (items, _) in data.splits.items()} == CLASSIFICATION[name].rows
    part = data.take(20)
    assert all(len(items) <= 20 for items, _ in part.splits.values())


def test_reader_details(data_root):
    trec = load_classification("TREC", data_root)
    assert sorted(set(trec.splits["test"][1])) == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
    assert sorted(set(load_classification("SST5", data_root).splits["train"][1])) == [0, 1, 2, 3, 4]
    tweets = load_classification("TweetSentimentExtraction", data_root)
    assert not set(tweets.splits["train"][0]) >= set(tweets.splits["test"][0])  # no test set in train
    mrpc = load_classification("MRPC", data_root)
    assert mrpc.pairs and len(mrpc.splits["train"][0][0]) == 2


def test_data_check_passes_on_the_real_data_and_fails_on_an_empty_root(data_root, tmp_path, capsys):
    assert check(data_root) == 0
    total = sum(len(family.datasets) for family in FAMILIES.values())
    assert f"{total} of {total} datasets ok" in capsys.readouterr().out
    assert check(tmp_path) == 1
    assert "missing sts-raw/STS12-en-test/test-gold/STS.input.MSRpar.txt" in capsys.readouterr().out
