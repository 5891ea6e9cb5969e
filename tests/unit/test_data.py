import pytest

from sentgrid.data import data_root, load_sts, wikitext_sentences
from sentgrid.data.sts import read_biosses, read_semeval_year, read_sick, read_stsb
from sentgrid.errors import SentgridError


def test_unknown_options_name_the_choices(data_root):
    with pytest.raises(SentgridError, match="choose one of: STS12"):
        load_sts("STS99", data_root)
    with pytest.raises(SentgridError, match="task.sts.text_variant=.*choose one of: raw, senteval"):
        load_sts("STS12", data_root, text_variant="lower")


def test_data_root_errors_name_the_setting(tmp_path):
    with pytest.raises(SentgridError, match="SENTGRID_DATA"):
        data_root(None)
    with pytest.raises(SentgridError, match="data.root='/no/such/dir' is not a folder"):
        data_root("/no/such/dir")
    with pytest.raises(SentgridError, match="missing data file .*sts-test.csv"):
        load_sts("STSB", tmp_path)


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_column_names_file_and_line(tmp_path):
    write(tmp_path / "STS.input.a.txt", "one\ttwo\nonly one sentence\n")
    write(tmp_path / "STS.gs.a.txt", "1.0\n2.0\n")
    with pytest.raises(SentgridError, match=r"STS.input.a.txt:2: expected two tab-separated sentences"):
        read_semeval_year("X", tmp_path, ["a"], "STS.input.{}.txt", "STS.gs.{}.txt")


def test_non_numeric_score_names_file_and_line(tmp_path):
    write(tmp_path / "STS.input.a.txt", "one\ttwo\nthree\tfour\n")
    write(tmp_path / "STS.gs.a.txt", "1.0\nhigh\n")
    with pytest.raises(SentgridError, match=r"STS.gs.a.txt:2: score 'high' is not a number"):
        read_semeval_year("X", tmp_path, ["a"], "STS.input.{}.txt", "STS.gs.{}.txt")


def test_empty_sentence_and_short_rows_are_errors(tmp_path):
    stsb = write(tmp_path / "sts.csv", "g\tf\ty\t1\t2.0\ta\tb\ng\tf\ty\t2\t3.0\t\tb\n")
    with pytest.raises(SentgridError, match=r"sts.csv:2: sentence 1 of the pair is empty"):
        read_stsb("STSB", stsb)
    sick = write(tmp_path / "SICK.txt", "pair_ID\tsentence_A\tsentence_B\trelatedness_score\n1\ta\tb\n")
    with pytest.raises(SentgridError, match=r"SICK.txt:2: expected 4 tab-separated columns, found 3"):
        read_sick("SICK-R", [sick])
    bio = write(tmp_path / "b.tsv", "header\n1\ta\tb\t1\t1\t1\t1\t1\tx\n")
    with pytest.raises(SentgridError, match=r"b.tsv:2: score 'x'"):
        read_biosses("BIOSSES", bio)


def test_damaged_files_stop_with_the_file_and_line(tmp_path):
    write(tmp_path / "STS.input.a.txt", "one\ttwo\nthree\tfour\n")
    write(tmp_path / "STS.gs.a.txt", "1.0\nnan\n")
    with pytest.raises(SentgridError, match=r"STS.gs.a.txt:2: score 'nan' is not a finite number"):
        read_semeval_year("X", tmp_path, ["a"], "STS.input.{}.txt", "STS.gs.{}.txt")
    empty = write(tmp_path / "empty.csv", "")
    with pytest.raises(SentgridError, match=r"empty.csv is empty"):
        read_stsb("STSB", empty)
    (tmp_path / "latin.csv").write_bytes(b"g\tf\ty\t1\t2.0\ta\tb\ng\tf\ty\t1\t2.0\tcaf\xe9\tb\n")
    with pytest.raises(SentgridError, match=r"latin.csv:2: not valid UTF-8 text"):
        read_stsb("STSB", tmp_path / "latin.csv")


def test_mismatched_input_and_gold_files(tmp_path):
    write(tmp_path / "STS.input.a.txt", "one\ttwo\n")
    write(tmp_path / "STS.gs.a.txt", "1.0\n2.0\n")
    with pytest.raises(SentgridError, match="do not belong together"):
        read_semeval_year("X", tmp_path, ["a"], "STS.input.{}.txt", "STS.gs.{}.txt")


def test_wikitext_sentences(data_root):
    sentences = wikitext_sentences(data_root / "wikitext/wikitext-2-raw/wiki.test.raw")
    assert len(sentences) > 9000
    assert sentences[0] == "Robert Boulter is an English film , television and theatre actor ."
    assert sentences[1].startswith("He had a guest-starring role")  # " @-@ " undone
    assert not any(s.startswith("=") for s in sentences)
    assert len(wikitext_sentences(data_root / "wikitext/wikitext-2-raw/wiki.test.raw", max_sentences=10)) == 10


def test_corpus_formats_and_errors(tmp_path):
    from omegaconf import OmegaConf

    from sentgrid.data import corpus_sentences
    from sentgrid.errors import SentgridError

    text = tmp_path / "notes.txt"
    text.write_text("First line has words. Second sentence here!\nshort\nA third line of text\n")
    base = {"source": "file", "path": str(text), "max_sentences": None}
    assert corpus_sentences(OmegaConf.create({**base, "format": "lines"})) == [
        "First line has words. Second sentence here!", "A third line of text"]
    assert corpus_sentences(OmegaConf.create({**base, "format": "text"}))[:2] == [
        "First line has words.", "Second sentence here!"]
    with pytest.raises(SentgridError, match="corpus.format"):
        corpus_sentences(OmegaConf.create({**base, "format": "csv"}))
    with pytest.raises(SentgridError, match="corpus.path"):
        corpus_sentences(OmegaConf.create({**base, "path": str(tmp_path / "missing.txt"), "format": "lines"}))
    with pytest.raises(SentgridError, match="corpus.source=file"):
        corpus_sentences(OmegaConf.create({"source": "hub", "hub_name": "wikitext", "hub_config": "wikitext-103-raw-v1",
                                           "hub_split": "train", "max_sentences": 10}))


def test_a_dataset_is_read_once_per_process_until_its_file_changes(tmp_path):
    """The cells of a sweep share what was read (requests._read), and an edited file is read again."""
    import os

    from omegaconf import OmegaConf

    from sentgrid.requests import _read

    (tmp_path / "biosses").mkdir()
    path = tmp_path / "biosses/biosses.tsv"
    header = "id\tsentence1\tsentence2\ta\tb\tc\td\te\tscore\n"
    rows = ["1\ta cat\ta dog\t1\t1\t1\t1\t1\t1\n", "2\train\tsun\t2\t2\t2\t2\t2\t2\n", "3\tsnow\tice\t3\t3\t3\t3\t3\t3\n"]
    path.write_text(header + "".join(rows[:2]))
    settings = OmegaConf.create({"datasets": ["BIOSSES"], "text_variant": "raw", "sick_split": "all",
                                 "source": "local"})
    first = _read("sts", "BIOSSES", tmp_path, settings)
    assert _read("sts", "BIOSSES", tmp_path, settings) is first and len(first) == 2
    path.write_text(header + "".join(rows))
    os.utime(path, ns=(1, 1))  # even where a rewrite keeps the size or lands within the clock's tick
    again = _read("sts", "BIOSSES", tmp_path, settings)
    assert again is not first and len(again) == 3
