"""Sentence vectors -> scores: per dataset, fit the post-processing on its fit set and evaluate it
with its family's scorer; then the family averages (only over complete families)."""
import math
import time

import numpy as np

from . import postproc
from .errors import SentgridError
from .requests import Requests
from .spec import CellSpec
from .tasks import family


def rows_of(sentences: list[str], wanted: list[str]) -> list[int]:
    row = {s: i for i, s in enumerate(sentences)}
    return [row[s] for s in wanted]


def score(spec: CellSpec, requests: Requests, vectors: dict, timings: dict) -> tuple[dict, dict]:
    """(metrics, post-processing reports by dataset); `vectors` get their post-processed values."""
    steps = list(spec.postproc.steps)
    sentences = requests.sentences()
    metrics, reports = {}, {}
    for dataset in requests.datasets:
        key, scorer = dataset.key, family(dataset.family).scorer
        started = time.perf_counter()
        if spec.postproc.fit_on_corpus:
            fit_set = vectors["corpus"]
        else:
            fit_set = vectors[key][rows_of(sentences[key], scorer.fit_sentences(dataset.data))]
        vectors[key], reports[key] = postproc.fit_transform(postproc.build(steps), fit_set, vectors[key])
        timings[f"postproc/{key}"] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()
        settings = spec.task.settings[dataset.family]
        for metric, value in scorer.evaluate(dataset.data, vectors[key], sentences[key], settings).items():
            metrics[f"{key}/{metric}"] = value
        timings[f"evaluate/{key}"] = round(time.perf_counter() - started, 3)
    metrics.update(family_averages(spec.task.families, requests, metrics))
    broken = [name for name, value in metrics.items() if not math.isfinite(value)]
    if broken:  # never recorded as an ok result
        raise SentgridError(f"{broken[0]} came out {metrics[broken[0]]} ({len(broken)} metric(s) not finite): the "
                            f"vectors or the gold labels are degenerate (all similarities equal? all labels equal?).")
    return metrics, reports


def family_averages(families, requests: Requests, metrics: dict) -> dict:
    out = {}
    for name in families:
        keys = [d.key for d in requests.datasets if d.family == name]
        for metric in family(name).averaged:
            values = [metrics[f"{key}/{metric}"] for key in keys if f"{key}/{metric}" in metrics]
            if values and len(values) == len(keys):
                out[f"{name}/avg/{metric}"] = float(np.mean(values))
    return out
