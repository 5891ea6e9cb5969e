"""Sentence vectors -> scores: per dataset, fit the post-processing on its fit set, predict with its
family's scorer and score the predictions, on all items and on every bootstrap resample; then the family
averages (only over complete families) and the intervals of every headline score."""
import math
import sys
import threading
import time
import warnings
from typing import NamedTuple

import numpy as np

from .errors import SentgridError
from .outputs import CellOutputs
from .requests import Requests
from .spec import CellSpec
from .stats.resample import Settings, resampled
from .tasks import FAMILIES, family


class Scored(NamedTuple):
    """One dataset's scoring, as a worker sends it back."""
    report: dict                # what the post-processing fitted
    scores: dict
    outputs: dict               # per-item outputs (tasks/<family>.predict)
    resampled: dict | None      # headline scores per resample (None until resampled)
    postproc_seconds: float
    evaluate_seconds: float
    resample_seconds: float


def _score_dataset(dataset, own: np.ndarray, sentences: list[str], corpus, steps, settings, blas_threads: int,
                   stats: Settings):
    """Post-process one dataset's vectors (fitted on `corpus` when given, else on its fit sentences), predict and
    score, and resample its headline scores unless `stats` is None, with `blas_threads` BLAS threads: `Scored`, and
    the warnings raised (returned, not printed by a worker)."""
    from threadpoolctl import threadpool_limits

    from . import postproc  # scikit-learn: imported where datasets are scored, not by every cell's main process

    with threadpool_limits(blas_threads), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scorer = family(dataset.family).scorer
        started = time.perf_counter()
        fit = dataset.fit_sentences(on_corpus=corpus is not None)
        fit_set = corpus if fit is None else own[rows_of(sentences, fit)]
        processed, report = postproc.fit_transform(postproc.build(steps), fit_set, own)
        postproc_seconds = time.perf_counter() - started
        started = time.perf_counter()
        outputs = scorer.predict(dataset.data, processed, sentences, settings)
        scores = scorer.rescore(outputs)
        evaluate_seconds = time.perf_counter() - started
        per_resample, resample_seconds = _resampled(dataset, outputs, stats) if stats else (None, 0.0)
        # not the processed vectors: nothing reads them, and sending them back costs a task=all cell a second
        result = Scored(report, scores, outputs, per_resample, postproc_seconds, evaluate_seconds, resample_seconds)
    return result, [(w.message, w.category) for w in caught]


def _resampled(dataset, outputs: dict, stats: Settings) -> tuple[dict, float]:
    """The dataset's headline scores on every resample, and the seconds they took."""
    started = time.perf_counter()
    return resampled(family(dataset.family).scorer, dataset.key, outputs, stats), time.perf_counter() - started


def _ready() -> None:
    """Imports a worker needs before its first dataset (post-processing and scikit-learn, and the scorers):
    about a second."""
    from . import postproc  # noqa: F401

    for name in FAMILIES:
        family(name).scorer  # noqa: B018  (the import is the point)


class Workers:
    """The processes that score a cell's datasets side by side (joblib's reusable pool), started in the
    background as soon as the cell knows how many it needs, so their start-up (~1 s of imports each)
    overlaps the cell's cache reads instead of following them. One process: no pool at all."""

    def __init__(self, requests: Requests, jobs: int, postprocessed: bool = False):
        self.jobs = jobs
        # Worker processes only where a dataset takes seconds: evaluation that fits models, or post-processing
        # fitted per dataset (quantile on MPNet's STS: 9.6 s a cell). Starting them costs more than scoring
        # plain STS (cosines) takes. Where a dataset is scored changes nothing in its numbers.
        heavy = sum(postprocessed or family(d.family).heavy for d in requests.datasets)
        self.count = max(1, min(jobs, heavy))
        self._starting = threading.Thread(target=self._start, daemon=True) if self.count > 1 else None
        if self._starting is not None:
            self._starting.start()

    def _start(self) -> None:
        from joblib import Parallel, delayed

        try:
            Parallel(n_jobs=self.count)(delayed(_ready)() for _ in range(self.count))
        except Exception:  # only a head start: the real call below reports whatever is wrong
            pass

    def run(self, work) -> list:
        from joblib import Parallel

        if self._starting is not None:
            self._starting.join()
        return Parallel(n_jobs=self.count)(work)


def rows_of(sentences: list[str], wanted: list[str]) -> list[int]:
    row = {s: i for i, s in enumerate(sentences)}
    return [row[s] for s in wanted]


def score(spec: CellSpec, requests: Requests, vectors: dict, timings: dict, workers: Workers,
          blas_threads: int = 1, stats: Settings | None = None) -> tuple[dict, dict, CellOutputs]:
    """(metrics, post-processing reports by dataset, the outputs kept with the cell) of the cell's `vectors`.
    With several `workers` the datasets are scored side by side (each worker gets its own vectors only).

    Each dataset is scored with `blas_threads` BLAS threads (1 by default), however many jobs run: L-BFGS
    stops at a tolerance, and where it stops depends on the order of floating-point sums, which the BLAS
    thread count changes (up to 0.75 points of a classification F1 measured between 1 and 2 threads). A
    fixed count makes the numbers the same on every machine and for every `jobs`."""
    from joblib import delayed

    stats = stats or Settings()
    sentences = requests.sentences()
    steps, corpus = list(spec.postproc.steps), vectors.get("corpus") if spec.postproc.fit_on_corpus else None
    order = sorted(requests.datasets, key=lambda d: -len(sentences[d.key]))  # the largest first
    settings = spec.task.settings
    # Resampled in the worker processes where there are several; else here afterwards, datasets side by side in
    # threads (numpy's array work runs outside the GIL): a cached STS cell has no worker process
    in_process = workers.count == 1
    work = (delayed(_score_dataset)(d, vectors[d.key], sentences[d.key], corpus, steps, settings[d.family], blas_threads,
                                    None if in_process else stats)
            for d in order)
    results = {}
    for dataset, (result, caught) in zip(order, workers.run(work)):
        results[dataset.key] = result
        for message, category in caught:  # raised in a worker: raised again here, where the cell records them
            warnings.warn(message, category, stacklevel=1)
    if in_process:
        from concurrent.futures import ThreadPoolExecutor

        from threadpoolctl import threadpool_limits

        switch = sys.getswitchinterval()
        # numpy's work runs outside the GIL, but each of its ~20 calls per chunk takes it back; at Python's 5 ms
        # switch interval a thread importing MLflow beside them (the tracking store's preparation) held them up
        # for 0.6 s of a cached STS cell
        sys.setswitchinterval(0.0005)
        try:
            with threadpool_limits(blas_threads), ThreadPoolExecutor(min(workers.jobs, len(order))) as pool:
                for dataset, (per_resample, seconds) in zip(order, pool.map(
                        lambda d: _resampled(d, results[d.key].outputs, stats), order)):
                    results[dataset.key] = results[dataset.key]._replace(resampled=per_resample,
                                                                         resample_seconds=seconds)
        finally:
            sys.setswitchinterval(switch)
    metrics, reports = {}, {}
    kept = CellOutputs({}, {}, stats, {d.key: d.family for d in requests.datasets})
    for dataset in requests.datasets:  # in the requests' order, whatever order they finished in
        key = dataset.key
        scored = results[key]
        reports[key], kept.outputs[key], kept.resampled[key] = scored.report, scored.outputs, scored.resampled
        timings[f"postproc/{key}"] = round(scored.postproc_seconds, 3)
        for metric, value in scored.scores.items():
            metrics[f"{key}/{metric}"] = value
        timings[f"evaluate/{key}"] = round(scored.evaluate_seconds, 3)
        timings[f"resample/{key}"] = round(scored.resample_seconds, 3)
    metrics.update(family_averages(spec.task.families, requests, metrics))
    broken = [name for name, value in metrics.items() if not math.isfinite(value)]
    if broken:  # never recorded as an ok result
        raise SentgridError(f"{broken[0]} came out {metrics[broken[0]]} ({len(broken)} metric(s) not finite): the "
                            f"vectors or the gold labels are degenerate (all similarities equal? all labels equal?).")
    return metrics, reports, kept


def family_averages(families, requests: Requests, metrics: dict) -> dict:
    out = {}
    for name in families:
        keys = [d.key for d in requests.datasets if d.family == name]
        for metric in family(name).averaged:
            values = [metrics[f"{key}/{metric}"] for key in keys if f"{key}/{metric}" in metrics]
            if values and len(values) == len(keys):
                out[f"{name}/avg/{metric}"] = float(np.mean(values))
    return out
