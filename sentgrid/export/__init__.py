"""`python -m sentgrid export <overrides> --out DIR` (or `--cell ID`, a finished cell's id): a cell as a
model a well-known library loads.

A transformer cell becomes a sentence-transformers folder (sentence_transformers.py), a static cell a
Model2Vec `StaticModel` folder (model2vec.py), each built from the library's own parts, so loading it
runs no sentgrid code. What the library cannot do exactly is refused in one sentence: an export never
approximates a cell.

Post-processing is fitted once: on the corpus for `postproc.fit_on=wikitext` (as the cell), else on the set
`--fit-on` names (a dataset of the cell, `corpus`, or a text file, one sentence per line). The folder's
README records the cell, its scores, the fit set and the sentgrid version, and every export checks itself
before it is written: the loaded folder's vectors against the cell's on the fit set's first sentences.
"""
import argparse
import json
import shutil
import sys
from pathlib import Path

from ..errors import SentgridError, what_it_is
from ..store.entries import temporary_name
from .refusal import refuse

CHECK_SENTENCES = 256  # sentences compared between the loaded folder and the cell
TOLERANCE = 1e-4       # largest |difference| allowed, relative to the largest |value|


def fit_set(spec, requests, fit_on: str | None, corpus) -> tuple[list[str] | None, str, bool]:
    """(fit sentences, what they are, whether they include test data the cell is scored on); `corpus()`
    gives the corpus sentences."""
    from ..tasks import family

    if not spec.postproc.steps:
        return None, "none (no post-processing)", False
    if spec.postproc.fit_on_corpus:
        return requests.corpus, f"the corpus ({local_name(spec.corpus.path)})", False
    if fit_on is None:
        names = ", ".join(d.name for d in requests.datasets)
        raise SentgridError(f"postproc.fit_on=task fits the post-processing per dataset, but one model has one fit: "
                            f"name it with --fit-on (one of {names}; corpus; or a text file, one sentence a line).")
    if fit_on == "corpus":
        return corpus(), f"the corpus ({local_name(spec.corpus.path)})", False
    for dataset in requests.datasets:
        if dataset.name == fit_on:
            sentences = dataset.fit_sentences(on_corpus=False)
            test = set(sentences) & set(family(dataset.family).scorer.scored_sentences(dataset.data))
            return sentences, f"{dataset.key} ({len(sentences):,} sentences)", bool(test)
    path = Path(fit_on)
    if not path.is_file():
        raise SentgridError(f"--fit-on {fit_on!r} is neither a dataset of the cell, `corpus`, nor a file.")
    sentences = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(sentences) < 2:
        raise SentgridError(f"--fit-on {path}: the post-processing needs at least 2 sentences, one a line.")
    return sentences, f"{path.name} ({len(sentences):,} sentences)", False


def card(overrides: list[str], spec, scores: dict | None, fit: str, seen_test: bool, check: dict, writer) -> str:
    from .. import __version__
    from ..cells import RUN_ONLY

    where = (*RUN_ONLY, "cache")  # where things are, not what the cell is
    source = spec.model.get("path") or (spec.model.get("base") or {}).get("path")  # the weights, or the base's
    source = local_name(source) if source else None
    shown = " ".join(o for o in overrides if o.lstrip("+~").split("=")[0].split(".")[0] not in where) or "defaults"
    lines = [f"# sentgrid cell `{shown}`", "",
             f"Exported by sentgrid {__version__}: `python -m sentgrid export {shown}`. Load it with",
             "", "```python", *writer.LOAD, "vectors = model.encode([\"A sentence.\"])", "```", "",
             f"* model: {spec.model.name}{f' ({source})' if source else ''}, layers {check['layers']}, pooling "
             f"{spec.pooling.name}, post-processing {', '.join(map(str, spec.postproc.steps)) or 'none'}",
             f"* post-processing fitted on: {fit}"]
    lines += [f"* {note}" for note in check["notes"]]
    if seen_test:
        lines.append("* **this export has seen test data**: its post-processing was fitted on sentences the cell is "
                     "scored on, so its scores there are not held-out scores")
    lines.append(f"* checked on {check['sentences']} sentences against the cell: {check['summary']}")
    if scores:
        lines += ["", "## The cell's scores (x100)", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {v:.2f} |" for k, v in scores.items()]
        if not spec.postproc.fit_on_corpus and spec.postproc.steps:
            lines.append("\nThe cell fitted its post-processing on each dataset; this export on the set above.")
    else:
        lines += ["", f"The cell has not been run: `python -m sentgrid {shown}` scores it."]
    return "\n".join(lines) + "\n"


def remove_stale_exports(out: Path) -> None:
    """The temporary folders of exports to `out` that were killed before they finished (SIGKILL: ~87 MB each),
    whose writer is gone; a running export's is left alone."""
    from ..store.entries import owner_gone

    for stale in out.parent.glob(f".{out.name}.tmp-*"):
        if stale.is_dir() and not stale.is_symlink() and owner_gone(stale.name, stale.stat().st_mtime):
            shutil.rmtree(stale, ignore_errors=True)


def readable(folder: Path) -> None:
    """Every file and folder of an export with the modes of the user's umask: libraries write some files
    (safetensors' weights) as private 0600 temporaries, and an export is made to be shared."""
    import os

    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)
    for path in folder.rglob("*"):
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def local_name(path) -> str:
    """A local path as its last part (a card travels with the model; the exporter's folders do not)."""
    text = str(path)
    return Path(text).name if Path(text).is_absolute() else text


def headline_scores(record: dict) -> dict:
    """Each family's averages and each dataset's objective (its family's first headline metric)."""
    from ..tasks import FAMILIES

    def headline(key: str) -> bool:
        name, _, metric = key.partition("/")
        return name in FAMILIES and ("/avg/" in key or metric.rpartition("/")[2] == FAMILIES[name].headline[0])
    return {k: v for k, v in record.get("metrics", {}).items() if headline(k)}


def writer_for(encoder):
    """The library a cell's encoder exports to (its module, named by the encoder's `exports_to`), or one
    sentence why there is none."""
    import importlib

    target = getattr(encoder, "exports_to", None)
    if target is None:
        raise refuse(f"model={encoder.label} is {what_it_is(encoder, encoder.kind)}; neither sentence-transformers nor "
                     f"Model2Vec has a module for that.")
    writer = importlib.import_module(f"{__name__}.{target}")
    try:
        __import__(writer.PACKAGE)
    except ImportError:
        raise SentgridError(f"export writes a {writer.LIBRARY} folder: pip install 'sentgrid[{writer.EXTRA}]'.") from None
    return writer


def overrides_of(cell: str, cache_dir) -> list[str]:
    """The overrides a finished cell ran with, from its id (or an unambiguous start of it: the `cell_id`
    tag in MLflow, `cell_id` in its result.json) and the job folder Hydra wrote them to."""
    from omegaconf import OmegaConf

    from ..cells import FinishedCells, stored_record

    found = [e for e in FinishedCells(cache_dir).all() if str(e.get("cell_id", "")).startswith(cell)]
    if len(found) != 1:
        what = "no finished cell" if not found else f"{len(found)} finished cells"
        raise SentgridError(f"--cell {cell}: {what} in the cache {cache_dir} with that id; give the id a cell's result "
                            f"records (its MLflow tag cell_id), or the cell's overrides.")
    tags = stored_record(found[0]).get("tags", {})
    path = Path(tags.get("job_dir", "")) / ".hydra" / "overrides.yaml"
    if not path.is_file():
        raise SentgridError(f"--cell {cell}: its job folder {tags.get('job_dir')} is gone; export it by its overrides "
                            f"({tags.get('cell')}).")
    return [str(o) for o in OmegaConf.load(path)]


def export(overrides: list[str], out: Path, fit_on: str | None = None, cell: str | None = None) -> dict:
    from ..cells import FinishedCells, cell_id, stored_record
    from ..embed import embed
    from ..paths import register_resolvers
    from ..plan import compose_cell
    from ..postproc import build
    from ..reading import reading
    from ..requests import requests_for
    from ..spec import CellSpec
    from ..workspace import Workspace

    if out.exists() and not out.is_dir():
        raise SentgridError(f"--out {out} is a file; give a folder (new or empty).")
    if out.exists() and any(out.iterdir()):
        raise SentgridError(f"--out {out} exists and is not empty; choose another folder or remove it.")
    remove_stale_exports(out)
    register_resolvers()
    if cell is not None:  # the finished cell's own overrides, then those given here (cache.dir, data.root)
        overrides = [*overrides_of(cell, compose_cell(overrides).cache.dir), *overrides]
    cfg = compose_cell(overrides)
    spec = CellSpec.from_config(cfg)
    workspace = Workspace.shared(spec.cache)
    encoder = workspace.encoder(spec)
    read = reading(encoder, spec)
    layers = read.layers
    writer = writer_for(encoder)
    plan = writer.check(spec, encoder, layers)
    corpus = workspace.corpus(spec.corpus)
    requests = requests_for(spec, corpus)
    fit_sentences, fit, seen_test = fit_set(spec, requests, fit_on, corpus)
    if seen_test:
        print(f"sentgrid export: warning: the post-processing is fitted on {fit}, test data the cell is scored on; "
              f"the export has seen it (the card says so).", file=sys.stderr)
    check_sentences = (fit_sentences or requests.datasets[0].data.sentences)[:CHECK_SENTENCES]
    wanted = {"check": check_sentences, **({"fit": fit_sentences} if fit_sentences else {})}
    print(f"sentgrid export: the cell's vectors of {'the fit set, ' + fit + ', and ' if fit_sentences else ''}"
          f"{len(check_sentences)} sentences to check the export against (cached ones are read)", file=sys.stderr,
          flush=True)
    vectors = embed(workspace, encoder, spec, wanted, read).vectors
    pipeline = build(list(spec.postproc.steps))
    if pipeline is not None:
        pipeline.fit(vectors["fit"])

    folder = out.parent / temporary_name(out.name)  # owner-tagged: a killed export's is removed by the next
    try:
        writer.write(folder, spec, encoder, layers, plan, pipeline, workspace)
        check = {"sentences": len(check_sentences), "layers": layers,
                 **writer.compare(folder, check_sentences, vectors["check"], pipeline, spec, plan)}
        if check["relative"] > TOLERANCE:
            raise SentgridError(f"the exported model differs from the cell ({check['summary']}: more than "
                                f"{TOLERANCE} relative); nothing was written.")
        done = FinishedCells(cfg.cache.dir).get(cell_id(cfg))
        scores = headline_scores(stored_record(done)) if done else None
        (folder / "README.md").write_text(card(overrides, spec, scores, fit, seen_test, check, writer))
        (folder / "sentgrid_cell.json").write_text(json.dumps(
            {"overrides": overrides, "fit": fit, "seen_test": seen_test, "check": check, "scores": scores}, indent=1))
        readable(folder)
        if out.exists():
            out.rmdir()  # empty (checked above)
        folder.rename(out)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"out": str(out), "check": check, "fit": fit, "scores": scores, "seen_test": seen_test,
            "library": writer.LIBRARY}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m sentgrid export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("overrides", nargs="*", help="the cell, as on the command line (model=minilm layer=...)")
    parser.add_argument("--out", required=True, type=Path, help="the folder to write (new or empty)")
    parser.add_argument("--fit-on", help="with postproc.fit_on=task: a dataset of the cell, `corpus`, or a text file")
    parser.add_argument("--cell", help="a finished cell's id (or its start) instead of its overrides")
    args = parser.parse_args(argv)
    try:
        report = export(args.overrides, args.out, args.fit_on, args.cell)
    except SentgridError as exc:
        print(f"sentgrid export: error: {exc}", file=sys.stderr)
        return 2
    check = report["check"]
    print(f"wrote {report['out']} ({report['library']}): checked on {check['sentences']} sentences against the "
          f"cell: {check['summary']}; post-processing fitted on {report['fit']}.")
    return 0
