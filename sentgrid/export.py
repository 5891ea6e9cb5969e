"""`python -m sentgrid export <overrides> --out DIR`: a transformer cell as a sentence-transformers model.

The folder is built from sentence-transformers' own modules only, so `SentenceTransformer(DIR)` loads it
with no custom code: the transformer (every hidden state out), `WeightedLayerPooling` picking the cell's
layers, `Pooling` in the cell's mode (a prefix-only template becomes the default prompt), then each fitted
post-processing step as the affine map it is (`Dense`: whitening, z-score, ABTT) or `Normalize`. What these
modules cannot say exactly is refused with one sentence (quantile, token weighting, bias removal, special
tokens left out, a mask-token template, max over several layers): an export never approximates a cell.

Post-processing is fitted once: on the corpus for `postproc.fit_on=wikitext` (as the cell), else on the set
`--fit-on` names (a dataset of the cell, `corpus`, or a text file, one sentence per line). The folder's
README records the cell, its scores, the fit set and the sentgrid version, and the export checks itself:
the loaded model's vectors against the cell's on the fit set's first sentences.
"""
import argparse
import json
import shutil
import sys
import uuid
from pathlib import Path

import numpy as np

from .errors import SentgridError

CHECK_SENTENCES = 256  # sentences compared between the loaded folder and the cell
TOLERANCE = 1e-4       # largest |difference| allowed, relative to the largest |value|

# sentgrid pooling mode -> sentence-transformers Pooling mode (special tokens included)
POOLING = {"avg": "mean", "cls": "cls", "max": "max", "lasttoken": "lasttoken",
           "mean_sqrt_len": "mean_sqrt_len_tokens", "weightedmean": "weightedmean"}


def refuse(reason: str) -> SentgridError:
    return SentgridError(f"this cell cannot be exported exactly: {reason}")


def check_exportable(spec, encoder, layers: list[int]) -> str | None:
    """Raises, in one sentence, what a sentence-transformers model cannot do exactly; returns the template's
    prefix as a prompt (None without a template)."""
    if encoder.kind != "transformer" or encoder.random_init:
        raise refuse(f"model={encoder.label} is not a pretrained transformer (static models export to Model2Vec, "
                     f"not built yet).")
    pooling = spec.pooling
    if pooling.name not in POOLING:
        raise refuse(f"pooling={pooling.name} reads the template's [MASK] state, which sentence-transformers' "
                     f"Pooling has no mode for.")
    if not pooling.plain:
        raise refuse("pooling.weighting / pooling.bias_removal weigh tokens by corpus statistics, which "
                     "sentence-transformers' Pooling does not take.")
    if pooling.special_tokens == "exclude" and not pooling.mode.one_token:
        raise refuse("pooling.special_tokens=exclude leaves [CLS]/[SEP] out, which sentence-transformers' Pooling "
                     "always includes.")
    if pooling.name == "max" and len(layers) > 1:
        raise refuse("pooling=max over several layers averages per-layer maxima; sentence-transformers averages "
                     "the layers first.")
    for step in spec.postproc.steps:
        if (step if isinstance(step, str) else step.get("name")) == "quantile":
            raise refuse("postproc step quantile maps each dimension through its empirical CDF, which is not an "
                         "affine map; sentence-transformers has no module for it.")
    template = spec.template
    if template.text is None and not template.punctuation:
        return None
    prefix = template.text.split("[X]")[0] if template.text else ""
    if template.punctuation or template.has_mask or not template.text.endswith("[X]"):
        raise refuse(f"template={template.name} wraps the sentence ({template.text!r}); a sentence-transformers "
                     f"prompt is a prefix only.")
    return prefix


def affine_modules(pipeline, width: int) -> list:
    """The fitted post-processing as sentence-transformers modules (affine maps as Dense, then Normalize)."""
    import torch
    from sentence_transformers.sentence_transformer.modules import Dense, Normalize

    from .postproc import ABTT, Whitener, ZScore

    def dense(weight, bias=None):
        return Dense(weight.shape[1], weight.shape[0], bias=bias is not None, activation_function=None,
                     init_weight=torch.tensor(weight, dtype=torch.float32),
                     init_bias=None if bias is None else torch.tensor(bias, dtype=torch.float32))

    out = []
    for _, step in ([] if pipeline is None else pipeline.steps):
        # Each affine step as the fitted steps compute it: centre, then map. Folding the mean into one
        # bias (W x - W mu) would cancel catastrophically in float32 where W is large (a z-score of a
        # near-constant dimension, whitening's smallest directions).
        if isinstance(step, Whitener):
            mean, weight = step.mean_, step.projection_.T
        elif isinstance(step, ZScore):
            mean = step.mean_ if step.mean_ is not None else np.zeros(width)
            weight = np.diag(1.0 / (step.scale_ if step.scale_ is not None else np.ones(width)))
        elif isinstance(step, ABTT):
            mean, weight = step.mean_, np.eye(width) - step.components_.T @ step.components_
        else:  # sklearn's Normalizer (quantile was refused before)
            out.append(Normalize())
            continue
        out += [dense(np.eye(width), -mean), dense(weight)]
        width = weight.shape[0]
    return out


def st_model(encoder, layers: list[int], spec, prompt: str | None, pipeline):
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer, WeightedLayerPooling

    width, last = int(encoder.config.hidden_size), encoder.num_layers
    tokenizer = {} if encoder.tokenizer_folder == encoder.folder else \
        {"tokenizer_name_or_path": str(encoder.tokenizer_folder)}
    modules = [Transformer(str(encoder.folder), max_seq_length=int(spec.model.max_length), **tokenizer,
                           config_kwargs={"output_hidden_states": True} if layers != [last] else None)]
    if layers != [last]:  # the mean of the chosen layers' token states (pooling is linear in them, max: one layer)
        start = min(layers)
        weights = torch.tensor([float(i in layers) for i in range(start, last + 1)])
        modules.append(WeightedLayerPooling(width, num_hidden_layers=last, layer_start=start,
                                            layer_weights=torch.nn.Parameter(weights, requires_grad=False)))
    modules.append(Pooling(width, pooling_mode=POOLING[spec.pooling.name]))
    modules += affine_modules(pipeline, width)
    prompts = {"sentgrid": prompt} if prompt else None
    return SentenceTransformer(modules=modules, device="cpu", prompts=prompts,
                               default_prompt_name="sentgrid" if prompt else None)


def fit_set(spec, requests, fit_on: str | None) -> tuple[list[str] | None, str, bool]:
    """(fit sentences, what they are, whether they include test data the cell is scored on)."""
    from .tasks import family

    if not spec.postproc.steps:
        return None, "none (no post-processing)", False
    if spec.postproc.fit_on_corpus:
        return requests.corpus, f"the corpus ({spec.corpus.path})", False
    if fit_on is None:
        names = ", ".join(d.name for d in requests.datasets)
        raise SentgridError(f"postproc.fit_on=task fits the post-processing per dataset, but one model has one fit: "
                            f"name it with --fit-on (one of {names}; corpus; or a text file, one sentence a line).")
    if fit_on == "corpus":
        from .data.corpus import Corpora

        return Corpora().loader(spec.corpus)(), f"the corpus ({spec.corpus.path})", False
    for dataset in requests.datasets:
        if dataset.name == fit_on:
            scorer = family(dataset.family).scorer
            sentences = scorer.fit_sentences(dataset.data)
            test = set(sentences) & set(dataset.data.sentences) if dataset.family == "sts" else \
                set() if "test" in dataset.data.splits else set(sentences)  # no test split: cross-validated
            return sentences, f"{dataset.key} ({len(sentences):,} sentences)", bool(test)
    path = Path(fit_on)
    if not path.is_file():
        raise SentgridError(f"--fit-on {fit_on!r} is neither a dataset of the cell, `corpus`, nor a file.")
    sentences = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(sentences) < 2:
        raise SentgridError(f"--fit-on {path}: the post-processing needs at least 2 sentences, one a line.")
    return sentences, f"{path} ({len(sentences):,} sentences)", False


def card(overrides: list[str], spec, scores: dict | None, fit: str, seen_test: bool, check: dict, prompt) -> str:
    from . import __version__
    from .cells import RUN_ONLY

    where = (*RUN_ONLY, "cache")  # where things are, not what the cell is
    shown = " ".join(o for o in overrides if o.lstrip("+~").split("=")[0].split(".")[0] not in where) or "defaults"
    lines = [f"# sentgrid cell `{shown}`", "",
             f"Exported by sentgrid {__version__}: `python -m sentgrid export {shown}`. Load it with",
             "", "```python", "from sentence_transformers import SentenceTransformer",
             "model = SentenceTransformer(\"<this folder>\")", "vectors = model.encode([\"A sentence.\"])", "```", "",
             f"* model: {spec.model.name} ({spec.model.path}), layers {check['layers']}, pooling "
             f"{spec.pooling.name}, post-processing {', '.join(map(str, spec.postproc.steps)) or 'none'}",
             f"* post-processing fitted on: {fit}"]
    if prompt:
        lines.append(f"* template as the default prompt: {prompt!r}")
    if seen_test:
        lines.append("* **this export has seen test data**: its post-processing was fitted on sentences the cell is "
                     "scored on, so its scores there are not held-out scores")
    lines.append(f"* checked on {check['sentences']} sentences against the cell: transformer and pooling differ by "
                 f"at most {check['max_abs_diff']:.1e}, the post-processing modules by {check['postproc_max_abs_diff']:.1e} "
                 f"on the same inputs; end to end {check['end_to_end_max_abs_diff']:.1e}")
    if scores:
        lines += ["", "## The cell's scores (x100)", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {v:.2f} |" for k, v in scores.items()]
        if not spec.postproc.fit_on_corpus and spec.postproc.steps:
            lines.append("\nThe cell fitted its post-processing on each dataset; this export on the set above.")
    else:
        lines += ["", f"The cell has not been run: `python -m sentgrid {shown}` scores it."]
    return "\n".join(lines) + "\n"


def compare(folder: Path, sentences: list[str], pooled: np.ndarray, pipeline, batch_size: int) -> dict:
    """The loaded folder against the cell, in two parts: its transformer and pooling against the cell's
    pooled vectors, and its post-processing modules against the fitted steps on those same vectors.
    (End to end, a step that divides by a small spread, z-score of a near-constant dimension, would blow
    float noise up and hide whether the maps agree.) Differences relative to the largest |value|."""
    import torch
    from sentence_transformers import SentenceTransformer

    loaded = SentenceTransformer(str(folder), device="cpu")
    modules = list(loaded)
    split = next(i for i, m in enumerate(modules) if type(m).__name__ == "Pooling") + 1
    head = SentenceTransformer(modules=modules[:split], device="cpu", prompts=loaded.prompts,
                               default_prompt_name=loaded.default_prompt_name)
    got = head.encode(sentences, batch_size=batch_size, convert_to_numpy=True)
    features = {"sentence_embedding": torch.tensor(pooled)}
    with torch.no_grad():
        for module in modules[split:]:
            features = module(features)
    mapped = features["sentence_embedding"].numpy()
    expected = pooled if pipeline is None else pipeline.transform(pooled)
    model_diff, postproc_diff = float(np.abs(got - pooled).max()), float(np.abs(mapped - expected).max())
    end_to_end = float(np.abs(loaded.encode(sentences, batch_size=batch_size) - expected).max())
    return {"max_abs_diff": model_diff, "model_relative": model_diff / max(float(np.abs(pooled).max()), 1e-12),
            "postproc_max_abs_diff": postproc_diff,
            "postproc_relative": postproc_diff / max(float(np.abs(expected).max()), 1e-12),
            "end_to_end_max_abs_diff": end_to_end}


def headline_scores(record: dict) -> dict:
    metrics = record.get("metrics", {})
    return {k: v for k, v in metrics.items() if "/avg/" in k or k.endswith(("/spearman", "/v_measure", "/accuracy"))}


def export(overrides: list[str], out: Path, fit_on: str | None = None) -> dict:
    from .cells import FinishedCells, cell_id, stored_record
    from .embed import embed
    from .layers import resolve
    from .paths import register_resolvers
    from .plan import compose_cell
    from .postproc import build
    from .requests import requests_for
    from .spec import CellSpec
    from .workspace import Workspace

    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        raise SentgridError("export writes a sentence-transformers folder: pip install 'sentgrid[export]'.") from None
    if out.exists() and any(out.iterdir()):
        raise SentgridError(f"--out {out} exists and is not empty; choose another folder or remove it.")
    register_resolvers()
    cfg = compose_cell(overrides)
    spec = CellSpec.from_config(cfg)
    workspace = Workspace.shared(spec.cache)
    encoder = workspace.encoder(spec)
    layers = resolve(spec.layer, encoder.num_layers) if encoder.layered else [0]
    prompt = check_exportable(spec, encoder, layers)
    requests = requests_for(spec, workspace.corpus(spec.corpus))
    fit_sentences, fit, seen_test = fit_set(spec, requests, fit_on)
    if seen_test:
        print(f"sentgrid export: warning: the post-processing is fitted on {fit}, test data the cell is scored on; "
              f"the export has seen it (the card says so).", file=sys.stderr)
    check_sentences = (fit_sentences or requests.datasets[0].data.sentences)[:CHECK_SENTENCES]
    wanted = {"check": check_sentences, **({"fit": fit_sentences} if fit_sentences else {})}
    vectors = embed(workspace, encoder, spec, wanted, layers).vectors
    pipeline = build(list(spec.postproc.steps))
    if pipeline is not None:
        pipeline.fit(vectors["fit"])

    model = st_model(encoder, layers, spec, prompt, pipeline)
    folder = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        model.save(str(folder))
        check = {"sentences": len(check_sentences), "layers": layers,
                 **compare(folder, check_sentences, vectors["check"], pipeline, int(spec.model.batch_size))}
        if max(check["model_relative"], check["postproc_relative"]) > TOLERANCE:
            raise SentgridError(f"the exported model differs from the cell (relative {check['model_relative']:.1e} "
                                f"before post-processing, {check['postproc_relative']:.1e} in it; more than "
                                f"{TOLERANCE}); nothing was written.")
        done = FinishedCells(cfg.cache.dir).get(cell_id(cfg))
        scores = headline_scores(stored_record(done)) if done else None
        (folder / "README.md").write_text(card(overrides, spec, scores, fit, seen_test, check, prompt))
        (folder / "sentgrid_cell.json").write_text(json.dumps(
            {"overrides": overrides, "fit": fit, "seen_test": seen_test, "check": check, "scores": scores}, indent=1))
        if out.exists():
            out.rmdir()  # empty (checked above)
        folder.rename(out)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"out": str(out), "check": check, "fit": fit, "scores": scores, "seen_test": seen_test}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m sentgrid export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("overrides", nargs="*", help="the cell, as on the command line (model=minilm layer=...)")
    parser.add_argument("--out", required=True, type=Path, help="the folder to write (new or empty)")
    parser.add_argument("--fit-on", help="with postproc.fit_on=task: a dataset of the cell, `corpus`, or a text file")
    args = parser.parse_args(argv)
    try:
        report = export(args.overrides, args.out, args.fit_on)
    except SentgridError as exc:
        print(f"sentgrid export: error: {exc}", file=sys.stderr)
        return 2
    check = report["check"]
    print(f"wrote {report['out']}: checked on {check['sentences']} sentences, largest |difference| to the cell "
          f"{check['max_abs_diff']:.1e} before post-processing, {check['postproc_max_abs_diff']:.1e} in it, "
          f"{check['end_to_end_max_abs_diff']:.1e} end to end; post-processing fitted on {report['fit']}.\n"
          f"load it: SentenceTransformer({report['out']!r})")
    return 0
