"""`python -m sentgrid export`: a cell as a sentence-transformers folder that loads with no sentgrid code
and gives the cell's vectors and scores; what cannot be exported exactly is refused in one sentence."""
import json
import subprocess
import sys

import pytest

from sentgrid.data import load_sts
from sentgrid.errors import SentgridError
from sentgrid.export import export
from sentgrid.pipeline import run_cell

SLICE = 40
SMALL = ["task.sts.datasets=[STSB,BIOSSES]", f"task.max_items={SLICE}", "corpus.max_sentences=300"]


@pytest.fixture(scope="module")
def common(tmp_path_factory, data_root):
    """One cache for the module: the cells share their encodings, as a user's exports do."""
    cache = tmp_path_factory.mktemp("export-cache")
    return [f"data.root={data_root}", f"cache.dir={cache}", "tracking.enabled=false", *SMALL]


def peer(folder):
    """`encode(sentences, batch_size)` of `folder` loaded by its own library alone: sentence-transformers,
    or Model2Vec for a static export."""
    if (folder / "modules.json").exists():
        from sentence_transformers import SentenceTransformer
        model = SentenceTransformer(str(folder), device="cpu")
    else:
        from model2vec import StaticModel
        model = StaticModel.from_pretrained(str(folder))
    return lambda sentences, batch_size: model.encode(sentences, batch_size=batch_size)


def assert_scores(record, folder, data_root, spearman_agrees, names=("STSB", "BIOSSES"), label=""):
    """The exported folder scores (STS Spearman x100, cosine, as MTEB) what the cell recorded."""
    encode = peer(folder)
    for name in names:
        spearman_agrees(record["metrics"][f"sts/{name}/spearman"], encode, load_sts(name, data_root).take(SLICE),
                        label=(name, label))


@pytest.mark.parametrize("cell", [
    # every post-processing step, pooling mode class and layer choice at least once
    ["layer=last", "pooling=avg", "postproc=none"],
    ["layer=last", "pooling=avg", "postproc=normalize", "template=custom", "template.text='query: [X]'"],
    ["layer=first_last", "pooling=mean_sqrt_len", "postproc=whiten_normalize"],
    ["layer=index", "layer.index=3", "pooling=cls", "postproc=zscore"],
    ["layer=last", "pooling=max", "postproc=abtt"],
])
def test_an_exported_cell_gives_its_vectors_and_scores_in_sentence_transformers(tmp_path, common, data_root, cell,
                                                                               spearman_agrees):
    overrides = [*cell, "postproc.fit_on=wikitext", *common]
    record = run_cell(run_config(overrides))
    report = export(overrides, tmp_path / "out")
    check = report["check"]
    assert check["sentences"] >= 2 * SLICE and check["model_relative"] <= 1e-4 and check["postproc_relative"] <= 1e-4, check
    card = (tmp_path / "out" / "README.md").read_text()
    fitted = "none" if "postproc=none" in cell else "the corpus"
    assert f"post-processing fitted on: {fitted}" in card and "sentgrid 0.1.0" in card and "cache.dir" not in card
    assert str(data_root) not in card and "site-packages" not in card  # no local paths travel with the model
    assert {oct(p.stat().st_mode & 0o777) for p in (tmp_path / "out").rglob("*") if p.is_file()} == \
        {oct(0o666 & ~current_umask())}  # safetensors' weights were 0600
    assert_scores(record, tmp_path / "out", data_root, spearman_agrees, label=cell)


def current_umask() -> int:
    import os

    umask = os.umask(0)
    os.umask(umask)
    return umask


def run_config(overrides):
    from sentgrid.paths import register_resolvers
    from sentgrid.plan import compose_cell

    register_resolvers()
    return compose_cell(overrides)


def test_a_fit_per_dataset_needs_a_fit_set_named_and_a_test_fit_is_said(tmp_path, common, data_root, capsys,
                                                                        spearman_agrees):
    overrides = ["postproc=whiten", *common]
    with pytest.raises(SentgridError, match="name it with --fit-on .one of STSB, BIOSSES"):
        export(overrides, tmp_path / "out")
    report = export(overrides, tmp_path / "out", fit_on="STSB")
    assert report["seen_test"] and "has seen it" in capsys.readouterr().err
    assert "this export has seen test data" in (tmp_path / "out" / "README.md").read_text()
    # Fitted on STSB as the cell fits STSB: the export scores STSB as the cell does.
    record = run_cell(run_config(overrides))
    assert_scores(record, tmp_path / "out", data_root, spearman_agrees, names=["STSB"])
    assert json.loads((tmp_path / "out" / "sentgrid_cell.json").read_text())["fit"].startswith("sts/STSB")
    text = tmp_path / "mine.txt"
    text.write_text("A first sentence.\nA second one.\nAnd a third.\n")
    mine = export(["postproc=zscore", *common], tmp_path / "mine", fit_on=str(text))
    assert not mine["seen_test"] and "mine.txt (3 sentences)" in mine["fit"]


@pytest.mark.parametrize("cell, message", [
    (["postproc=quantile", "postproc.fit_on=wikitext"], "quantile \\(each dimension mapped to uniform .* not an affine"),
    (["pooling=template", "template=promptbert"], "pooling=template \\(the state at the template's \\[MASK\\]\\) has no mode"),
    (["template=promptbert"], "a sentence-transformers prompt is a prefix only"),
    (["pooling.weighting=idf_task"], "weigh tokens by corpus statistics"),
    (["pooling=max", "layer=first_last"], "pooling=max over several layers averages what each layer pools"),
    (["pooling.special_tokens=exclude"], "always includes"),
])
def test_what_cannot_be_exported_exactly_is_refused_in_one_sentence(tmp_path, common, cell, message):
    with pytest.raises(SentgridError, match=f"cannot be exported exactly: .*{message}"):
        export([*cell, *common], tmp_path / "out")
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.tmp-*"))


def test_the_command_refuses_a_folder_in_use_with_one_sentence(tmp_path, common):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    refused = subprocess.run([sys.executable, "-m", "sentgrid", "export", "--out", str(tmp_path / "full"), *common],
                             capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.strip().splitlines() == [f"sentgrid export: error: --out {tmp_path / 'full'} exists and is "
                                                   f"not empty; choose another folder or remove it."]


def test_an_out_that_is_a_file_is_refused_and_a_killed_exports_temporary_is_removed(tmp_path, common):
    from sentgrid.store.entries import HOST

    (tmp_path / "file").write_text("")
    with pytest.raises(SentgridError, match="--out .*file is a file; give a folder"):
        export(common, tmp_path / "file")
    dead, alive = tmp_path / f".out.tmp-{HOST}~999999-abcd1234", tmp_path / f".out.tmp-{HOST}~1-abcd1234"
    for folder in (dead, alive):  # a SIGKILLed export's leftover (~87 MB), and one whose writer still runs
        folder.mkdir()
        (folder / "model.safetensors").write_text("x")
    export(["postproc=none", *common], tmp_path / "out")
    assert not dead.exists() and alive.exists() and (tmp_path / "out" / "modules.json").exists()


@pytest.mark.parametrize("cell", [
    ["model=re", "pooling.special_tokens=exclude", "postproc=whiten"],
    ["model=re", "pooling.special_tokens=exclude", "pooling.weighting=sif", "postproc=normalize"],
    ["model=m2v", "postproc=none"],
])
def test_a_static_cell_exports_to_a_model2vec_folder_with_its_vectors_and_scores(tmp_path, common, data_root, cell,
                                                                                  tiny_base, spearman_agrees):
    if "model=m2v" in cell:
        cell = [*cell, f"model.base.path={tiny_base}", "model.pca_dims=16"]
    overrides = [*cell, "postproc.fit_on=wikitext", *common]
    record = run_cell(run_config(overrides))
    report = export(overrides, tmp_path / "out")
    assert report["library"] == "Model2Vec" and report["check"]["relative"] <= 1e-4, report["check"]
    assert ("directions" in report["check"]["summary"]) == ("pooling.weighting=sif" in cell)
    assert_scores(record, tmp_path / "out", data_root, spearman_agrees, label=cell)


@pytest.mark.parametrize("cell, message", [
    (["model=glove"], "GloVe's word tokenizer"),
    (["model=re", "pooling=max"], "not a mean"),
    (["model=re"], "adds no \\[CLS\\]/\\[SEP\\]"),
    (["model=re", "pooling.special_tokens=exclude", "pooling.weighting=idf_task"], "one model has one table"),
    (["model=re", "pooling.special_tokens=exclude", "pooling.weighting=sif", "postproc=whiten"], "which whiten would see"),
    (["model=re", "pooling.special_tokens=exclude", "template=custom", "template.text='It says [X] here'"],
     "has no prompt template"),
    (["model=bert_avg"], "a transformer's token states mixed with its averaged static table"),
])
def test_what_a_static_model_cannot_do_exactly_is_refused(tmp_path, common, cell, message):
    with pytest.raises(SentgridError, match=f"cannot be exported exactly: .*{message}"):
        export([*cell, *common], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_finished_cell_exports_by_its_id_and_its_card_has_its_scores(tmp_path, sentgrid_cli, data_root):
    run = sentgrid_cli("layer=first_last", "postproc=whiten", "postproc.fit_on=wikitext", *SMALL)
    assert run.returncode == 0, run.stderr[-3000:]
    record = json.loads((tmp_path / "run" / "result.json").read_text())
    where = [f"cache.dir={tmp_path / 'cache'}", f"data.root={data_root}"]
    report = export(where, tmp_path / "out", cell=record["cell_id"][:12])
    assert report["scores"]["sts/avg/spearman"] == record["metrics"]["sts/avg/spearman"]
    card = (tmp_path / "out" / "README.md").read_text()
    assert "layer=first_last postproc=whiten postproc.fit_on=wikitext" in card and "| sts/STSB/spearman |" in card
    with pytest.raises(SentgridError, match="--cell 0000: no finished cell"):
        export(where, tmp_path / "other", cell="0000")
