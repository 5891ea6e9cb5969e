"""run_cell(cfg): one grid cell, top to bottom.

config -> task data -> encode (cached) -> pool -> post-process -> evaluate -> record
"""
import functools
import logging
import platform
import time
from contextlib import contextmanager

import numpy as np
from omegaconf import OmegaConf

from . import layers as layer_spec
from . import diagnostics, encoders, pooling, postproc, templates, weighting
from .cache import EncodingCache
from .data import corpus_sentences, data_root, load, load_sts
from .errors import SentgridError, choice_error
from .tasks import classification, clustering, sts

log = logging.getLogger(__name__)

FAMILIES = {"sts": sts, "clustering": clustering, "classification": classification}
FIT_SETS = ("task", "wikitext")
CORPUS_REQUEST = "corpus:wikitext"
DIAGNOSTIC_CORPUS = "diagnostics:corpus"
DIAGNOSTIC_STSB = "diagnostics:STSB"
DIAGNOSTIC_FIT = "diagnostics:corpus-fit"


@contextmanager
def _timed(timings: dict, name: str):
    started = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - started, 3)


def _template(cfg, notes: dict) -> templates.Template:
    template = templates.from_config(cfg.template)
    if cfg.pooling.name == "template":
        if template.text is None:
            template = templates.PROMPTBERT
            notes["template"] = "pooling=template with template=none reads [MASK] of the promptbert template"
        template.require_mask()
    return template


def versions() -> dict:
    import hydra
    import mlflow
    import scipy
    import sklearn
    import torch
    import transformers

    from . import __version__
    return {"sentgrid": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__, "mlflow": mlflow.__version__, "hydra": hydra.__version__}


def load_datasets(task, root) -> dict[str, tuple[str, str, object]]:
    """request name -> (family, dataset name, record) for every dataset of the task not skipped."""
    skip = set(task.skip or [])
    datasets = {}
    for family in task.families:
        if family not in FAMILIES:
            raise choice_error("task family", family, FAMILIES)
        for name in task[family].datasets:
            if name not in skip:
                datasets[f"{family}/{name}"] = (family, name, load(family, name, root, task[family]).take(task.max_items))
    unknown = skip - {name for family in task.families for name in task[family].datasets}
    if unknown:
        raise SentgridError(f"task.skip names {sorted(unknown)}, which the task does not have.")
    return datasets


def _pool_tokens(pooling_cfg, encoder, tokens: dict, corpus) -> tuple[dict, dict]:
    """Token-level pooling of every request, with the cell's token weights; and what to record."""
    corpus_batch = encoder.tokenize_corpus(corpus()) if weighting.needs_corpus(pooling_cfg) else None
    vocabulary = None if weighting.is_plain(pooling_cfg) else encoder.vocabulary()
    vectors, notes = {}, {}
    for key, (batch, states) in tokens.items():
        weights, weight_notes = weighting.token_weights(pooling_cfg, vocabulary, batch, corpus_batch) \
            if vocabulary is not None else (None, {})
        vectors[key], pool_notes = pooling.pool_tokens(states, batch, pooling_cfg.name, weights,
                                                       pooling_cfg.special_tokens)
        notes[key] = {**weight_notes, **pool_notes}
    return vectors, notes


def _diagnostics(cfg, steps, vectors, requests, stsb, fit_on_corpus) -> dict:
    """IsoScore and average cosine of corpus sentences, alignment and uniformity on STS-B, on the cell's
    vectors after its post-processing: for the corpus fitted on held-out corpus sentences, for STS-B
    fitted like the task (STS-B itself, or the corpus with fit_on=wikitext)."""
    out = {}
    vectors[DIAGNOSTIC_CORPUS], _ = postproc.fit_transform(postproc.build(steps), vectors[DIAGNOSTIC_FIT],
                                                           vectors[DIAGNOSTIC_CORPUS])
    fit_set = vectors[CORPUS_REQUEST] if fit_on_corpus else vectors[DIAGNOSTIC_STSB]
    vectors[DIAGNOSTIC_STSB], _ = postproc.fit_transform(postproc.build(steps), fit_set, vectors[DIAGNOSTIC_STSB])
    out["diagnostics/isoscore"] = diagnostics.isoscore(vectors[DIAGNOSTIC_CORPUS])
    out["diagnostics/avg_cosine"] = diagnostics.average_cosine(vectors[DIAGNOSTIC_CORPUS])
    row = {s: i for i, s in enumerate(requests[DIAGNOSTIC_STSB])}
    positive = np.asarray(stsb.scores) >= float(cfg.diagnostics.positive_min_score)
    first = vectors[DIAGNOSTIC_STSB][[row[s] for s, p in zip(stsb.sentences1, positive) if p]]
    second = vectors[DIAGNOSTIC_STSB][[row[s] for s, p in zip(stsb.sentences2, positive) if p]]
    out["diagnostics/alignment"] = diagnostics.alignment(first, second)
    out["diagnostics/uniformity"] = diagnostics.uniformity(vectors[DIAGNOSTIC_STSB])
    out["diagnostics/positive_pairs"] = float(positive.sum())
    return out


def run_cell(cfg) -> dict:
    """Run one cell and return its result record (config, resolved choices, encode stats, metrics)."""
    timings, notes = {}, {}
    started = time.perf_counter()
    if cfg.postproc.fit_on not in FIT_SETS:
        raise choice_error("postproc.fit_on", cfg.postproc.fit_on, FIT_SETS)

    # Resolve every choice before any expensive work, so a bad value fails in a second.
    template = _template(cfg, notes)
    primitive = pooling.primitive_for(cfg.pooling)
    weighting.validate(cfg.pooling)
    steps = OmegaConf.to_container(cfg.postproc.steps) if cfg.postproc.steps else []
    postproc.build(steps)
    cache = EncodingCache(cfg.cache.dir, cfg.cache.dtype, cfg.cache.get("token_dtype", "float16"))
    corpus = functools.cache(lambda: corpus_sentences(cfg.corpus))
    encoder = encoders.build(cfg.model, template, cache, corpus, cfg.corpus)
    # Static tables without layers (RE, GloVe, B2S) read their one table; `layer` is recorded as n/a.
    layers = layer_spec.resolve(cfg.layer, encoder.num_layers) if encoder.layered else [0]
    token_level = not encoder.has_primitives or not weighting.is_plain(cfg.pooling)
    hub_only = list(cfg.task.families) == ["sts"] and cfg.task.sts.source == "hub"
    root = None if hub_only else data_root(cfg.data.root)

    with _timed(timings, "load_data"):
        datasets = load_datasets(cfg.task, root)
        requests = {key: data.sentences for key, (_, _, data) in datasets.items()}
        fit_on_corpus = bool(steps) and cfg.postproc.fit_on == "wikitext"
        if fit_on_corpus:
            requests[CORPUS_REQUEST] = corpus()
        diagnosing = bool(cfg.get("diagnostics", {}).get("enabled", False))
        if diagnosing:
            stsb = load_sts("STSB", data_root(cfg.data.root))
            size = int(cfg.diagnostics.corpus_sentences)
            requests[DIAGNOSTIC_CORPUS] = corpus()[:size]
            # Post-processing for the corpus diagnostics is fitted on the next `size` sentences: fitted on
            # the measured set itself, whitening would make every IsoScore exactly 1.
            requests[DIAGNOSTIC_FIT] = corpus()[size:2 * size] or corpus()[:size]
            requests[DIAGNOSTIC_STSB] = stsb.sentences

    with _timed(timings, "encode"):
        if token_level:
            tokens, encode_stats = encoder.token_states(requests, layers, cache)
        else:
            per_layer, encode_stats = cache.fetch(encoder, requests, primitive, layers)

    with _timed(timings, "pool"):
        if token_level:
            vectors, pooling_notes = _pool_tokens(cfg.pooling, encoder, tokens, corpus)
        else:
            vectors, pooling_notes = {key: pooling.pool(array) for key, array in per_layer.items()}, {}

    reports, metrics = {}, {}
    for key, (family, name, data) in datasets.items():
        evaluator = FAMILIES[family]
        with _timed(timings, f"postproc/{key}"):
            if fit_on_corpus:
                fit_set = vectors[CORPUS_REQUEST]
            else:
                row = {s: i for i, s in enumerate(requests[key])}
                fit_set = vectors[key][[row[s] for s in evaluator.fit_sentences(data)]]
            vectors[key], reports[key] = postproc.fit_transform(postproc.build(steps), fit_set, vectors[key])
        with _timed(timings, f"evaluate/{key}"):
            for metric, value in evaluator.evaluate(data, vectors[key], requests[key], cfg.task.get(family)).items():
                metrics[f"{key}/{metric}"] = value
    if diagnosing:
        with _timed(timings, "diagnostics"):
            metrics.update(_diagnostics(cfg, steps, vectors, requests, stsb, fit_on_corpus))
    for family in cfg.task.families:
        names = [name for f, name, _ in datasets.values() if f == family]
        for metric in FAMILIES[family].AVERAGED:
            values = [metrics[f"{family}/{n}/{metric}"] for n in names if f"{family}/{n}/{metric}" in metrics]
            if values and len(values) == len(names):
                metrics[f"{family}/avg/{metric}"] = float(np.mean(values))
    timings["total"] = round(time.perf_counter() - started, 3)

    return {
        "status": "ok",
        "config": OmegaConf.to_container(cfg, resolve=True),
        "resolved": {
            "layers": layers if encoder.layered else "n/a",
            "template": template.describe(),
            "pooling_primitive": "tokens" if token_level else primitive,
            "pooling": pooling_notes,
            "postproc_fit_on": cfg.postproc.fit_on if steps else "n/a",
            "model": encoder.describe(),
            "skipped": list(cfg.task.skip or []),
        },
        "postproc": reports,
        "datasets": {key: {"family": family, "items": len(d), "sentences": len(requests[key]), "source": d.source,
                           **d.notes} for key, (family, _, d) in datasets.items()},
        "encode": encode_stats,
        "metrics": metrics,
        "timings": timings,
        "versions": versions(),
        "notes": notes,
    }


HEADLINE = {"sts": ("spearman", "pearson"), "clustering": ("accuracy", "nmi"), "classification": ("accuracy", "f1")}


def summary_table(record: dict) -> str:
    """Per-dataset scores as a small text table, one block per family (x100)."""
    metrics = record["metrics"]
    lines = []
    for family in record["config"]["task"]["families"]:
        first, second = HEADLINE[family]
        lines.append(f"{family:<26}{first:>10}{second:>10}{'items':>8}")
        keys = [k for k, d in record["datasets"].items() if d["family"] == family] + [f"{family}/avg"]
        for key in keys:
            items = record["datasets"].get(key, {}).get("items", "")
            cells = [f"{metrics[f'{key}/{m}']:>10.2f}" if f"{key}/{m}" in metrics else f"{'-':>10}" for m in (first, second)]
            lines.append(f"  {key.split('/', 1)[1]:<24}{''.join(cells)}{items:>8}")
    return "\n".join(lines)


__all__ = ["run_cell", "summary_table", "SentgridError"]
