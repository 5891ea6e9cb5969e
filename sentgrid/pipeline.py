"""run_cell(cfg): one grid cell, top to bottom.

config -> spec -> requests -> embed (store + pooling) -> post-process and score -> record
"""
import os
import time
import warnings
from contextlib import contextmanager

from omegaconf import OmegaConf

from . import diagnostics
from .embed import embed
from .errors import SentgridError
from .outputs import CellOutputs
from .reading import reading
from .requests import requests_for
from .scoring import Workers, score
from .spec import CellSpec
from .stats.intervals import RESAMPLED, cell_intervals
from .stats.resample import Settings
from .store import kept_layers
from .versions import recorded as recorded_versions
from .workspace import Workspace


@contextmanager
def _timed(timings: dict, name: str):
    started = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - started, 3)


@contextmanager
def _warnings_kept(kept: list):
    """Library warnings (scikit-learn on a small slice, ...) go into the record, once each, not the terminal."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        yield
    for warning in caught:
        where = f"{warning.filename.rsplit('site-packages/', 1)[-1]}:{warning.lineno}"
        if where.startswith(("mlflow/", "sqlalchemy/", "alembic/")):
            continue  # the tracking store's, from its preparation beside the cell: nothing about the cell's numbers
        text = f"{warning.category.__name__}: {warning.message} ({where})"
        if text not in kept:
            kept.append(text)


def run_cell(cfg, while_scoring=None) -> dict:
    """Run one cell and return its result record (config, resolved choices, encode stats, metrics and their
    intervals, and the library warnings it raised)."""
    return run(cfg, while_scoring)[0]


def run(cfg, while_scoring=None) -> tuple[dict, CellOutputs]:
    """Run one cell: its record, and the per-item outputs kept beside it. `while_scoring`: started when the
    datasets' scoring starts (the caller's own work, done while this process waits for its workers)."""
    kept = []
    with _warnings_kept(kept):
        record, outputs = _run(cfg, while_scoring)
    record["warnings"] = kept
    return record, outputs


def evaluation_jobs(setting) -> int:
    """`jobs`: datasets scored side by side; auto = this process's CPU cores."""
    if setting == "auto":
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        if int(setting) >= 1:
            return int(setting)
    except (TypeError, ValueError):
        pass
    raise SentgridError(f"jobs={setting!r} must be auto or a whole number >= 1 (datasets scored side by side).")


def blas_threads(setting) -> int:
    if isinstance(setting, int) and not isinstance(setting, bool) and setting >= 1:
        return setting
    raise SentgridError(f"blas_threads={setting!r} must be a whole number >= 1 (BLAS threads per dataset's evaluation).")


def _run(cfg, while_scoring=None) -> dict:
    timings, started = {}, time.perf_counter()
    spec = CellSpec.from_config(cfg)  # every choice checked before any expensive work
    stats = Settings.from_config(cfg.get("stats"))
    workspace = Workspace.shared(spec.cache)
    encoder = workspace.encoder(spec)
    # Static tables without layers (RE, GloVe, B2S) read their one table; `layer` is recorded as n/a.
    read = reading(encoder, spec)
    layers = read.layers
    with _timed(timings, "load_data"):
        requests = requests_for(spec, workspace.corpus(spec.corpus))
    # they start while the vectors are read
    workers = Workers(requests, evaluation_jobs(cfg.get("jobs", 1)), postprocessed=bool(spec.postproc.steps))
    with _timed(timings, "encode"):
        embedded = embed(workspace, encoder, spec, requests.sentences(), read, kept_layers.of_sweep())
    if while_scoring is not None:
        while_scoring()
    metrics, reports, outputs = score(spec, requests, embedded.vectors, timings, workers,
                                      blas_threads(cfg.get("blas_threads", 1)), stats)
    if spec.diagnostics.enabled:
        with _timed(timings, "diagnostics"):
            metrics.update(diagnostics.measure(spec, requests, embedded.vectors))
    with _timed(timings, "intervals"):
        found = cell_intervals(outputs)
    timings["total"] = round(time.perf_counter() - started, 3)
    out = record(cfg, spec, encoder, layers, requests, embedded, metrics, reports, timings)
    out["intervals"] = found
    out["stats"] = {**stats.as_dict(), "resampled": RESAMPLED}
    return out, outputs


def record(cfg, spec, encoder, layers, requests, embedded, metrics, reports, timings) -> dict:
    sentences = requests.sentences()
    return {
        "status": "ok",
        "config": OmegaConf.to_container(cfg, resolve=True),
        "resolved": {
            "layers": layers if encoder.layered else "n/a",
            "template": spec.template.describe(),
            "pooling_primitive": embedded.source,
            "pooling": embedded.notes,
            "postproc_fit_on": spec.postproc.fit_on if spec.postproc.steps else "n/a",
            "model": encoder.describe(),
            "cache_entries": embedded.keys,
            "skipped": list(spec.task.skip),
        },
        "postproc": reports,
        "datasets": {d.key: {"family": d.family, "items": len(d.data), "sentences": len(sentences[d.key]),
                             "source": d.data.source, **d.data.notes} for d in requests.datasets},
        "encode": embedded.stats,
        "metrics": metrics,
        "timings": timings,
        "versions": recorded_versions(),
        "notes": spec.notes,
    }


__all__ = ["run_cell", "SentgridError"]
