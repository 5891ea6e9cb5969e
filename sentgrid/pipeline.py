"""run_cell(cfg): one grid cell, top to bottom.

config -> task data -> encode (cached) -> pool -> post-process -> evaluate -> record
"""
import logging
import platform
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from . import layers as layer_spec
from . import pooling, postproc, templates
from .cache import EncodingCache
from .data import data_root, load_sts, wikitext_sentences
from .encoders import TransformerEncoder
from .errors import SentgridError, choice_error
from .tasks import sts

log = logging.getLogger(__name__)

FAMILIES = ("sts",)
FIT_SETS = ("task", "wikitext")
CORPUS_REQUEST = "corpus:wikitext"


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


def run_cell(cfg) -> dict:
    """Run one cell and return its result record (config, resolved choices, encode stats, metrics)."""
    timings, notes = {}, {}
    started = time.perf_counter()
    if cfg.task.family not in FAMILIES:
        raise choice_error("task", cfg.task.family, FAMILIES)
    if cfg.postproc.fit_on not in FIT_SETS:
        raise choice_error("postproc.fit_on", cfg.postproc.fit_on, FIT_SETS)

    # Resolve every choice before any expensive work, so a bad value fails in a second.
    template = _template(cfg, notes)
    primitive = pooling.primitive_for(cfg.pooling)
    steps = OmegaConf.to_container(cfg.postproc.steps) if cfg.postproc.steps else []
    postproc.build(steps)
    cache = EncodingCache(cfg.cache.dir, cfg.cache.dtype)
    encoder = TransformerEncoder(cfg.model, template, memo_dir=Path(cfg.cache.dir) / "fingerprints")
    layers = layer_spec.resolve(cfg.layer, encoder.num_layers)
    root = data_root(cfg.data.root) if cfg.task.source == "local" else None

    with _timed(timings, "load_data"):
        datasets = {name: load_sts(name, root, cfg.task.text_variant, cfg.task.sick_split, cfg.task.source)
                    .take(cfg.task.max_pairs) for name in cfg.task.datasets}
        requests = {name: data.sentences for name, data in datasets.items()}
        fit_on_corpus = bool(steps) and cfg.postproc.fit_on == "wikitext"
        if fit_on_corpus:
            requests[CORPUS_REQUEST] = wikitext_sentences(cfg.corpus.path, cfg.corpus.max_sentences)

    with _timed(timings, "encode"):
        per_layer, encode_stats = cache.fetch(encoder, requests, primitive, layers)

    with _timed(timings, "pool"):
        vectors = {name: pooling.pool(array) for name, array in per_layer.items()}

    with _timed(timings, "postproc"):
        reports = {}
        for name in datasets:
            fit_set = vectors[CORPUS_REQUEST] if fit_on_corpus else vectors[name]
            vectors[name], reports[name] = postproc.fit_transform(postproc.build(steps), fit_set, vectors[name])

    with _timed(timings, "evaluate"):
        metrics = {}
        for name, data in datasets.items():
            for metric, value in sts.evaluate(data, vectors[name], requests[name]).items():
                metrics[f"sts/{name}/{metric}"] = value
        for metric in ("spearman", "pearson", "spearman_mean", "spearman_wmean", "pearson_mean", "pearson_wmean"):
            metrics[f"sts/avg/{metric}"] = float(np.mean([metrics[f"sts/{n}/{metric}"] for n in datasets]))
    timings["total"] = round(time.perf_counter() - started, 3)

    return {
        "status": "ok",
        "config": OmegaConf.to_container(cfg, resolve=True),
        "resolved": {
            "layers": layers,
            "template": template.describe(),
            "pooling_primitive": primitive,
            "postproc_fit_on": cfg.postproc.fit_on if steps else "n/a",
            "model": encoder.describe(),
        },
        "postproc": reports,
        "datasets": {name: {"pairs": len(d), "sentences": len(requests[name]), "source": d.source, **d.notes}
                     for name, d in datasets.items()},
        "encode": encode_stats,
        "metrics": metrics,
        "timings": timings,
        "versions": versions(),
        "notes": notes,
    }


def summary_table(record: dict) -> str:
    """Per-dataset scores as a small text table (Spearman and Pearson x100)."""
    metrics = record["metrics"]
    names = list(record["datasets"]) + ["avg"]
    lines = [f"{'dataset':<10}{'spearman':>10}{'pearson':>10}{'pairs':>8}"]
    for name in names:
        pairs = record["datasets"].get(name, {}).get("pairs", "")
        lines.append(f"{name:<10}{metrics[f'sts/{name}/spearman']:>10.2f}{metrics[f'sts/{name}/pearson']:>10.2f}{pairs:>8}")
    return "\n".join(lines)


__all__ = ["run_cell", "summary_table", "SentgridError"]
