"""`python -m sentgrid plan -m <overrides>`: what a sweep will cost, before it runs.

Expands the sweep the way Hydra's basic sweeper does (command line plus an experiment's
`hydra.sweeper.params`), composes every cell, and reports: cells, cells already finished, the
distinct forward passes (cache entries) the cells need and how many are cached, the sentences left
to encode per model, and a time estimate from measured throughput and measured cell times.
"""
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from hydra.errors import HydraException
from omegaconf import OmegaConf

from . import encoders, weighting
from .cache import TOKENS, EncodingCache
from .cells import FinishedCells, cell_id, profile, result_versions
from .data import corpus_sentences, data_root, load_sts
from .errors import SentgridError
from .paths import CONF_DIR, register_resolvers
from .pipeline import CORPUS_REQUEST, DIAGNOSTIC_CORPUS, DIAGNOSTIC_FIT, DIAGNOSTIC_STSB, _template, load_datasets

# Sentences per second on a 2-core CPU (REFERENCE.md §5) when nothing was measured on this machine yet.
DEFAULT_THROUGHPUT = {384: 400.0, 768: 45.0}
# Seconds per cell on cached encodings, by family (measured with MiniLM; bench.py --tasks), until measured here.
DEFAULT_CELL_SECONDS = {"sts": 2.0, "clustering": 10.0, "classification": 80.0}


def expand(arguments: list[str]) -> list[list[str]]:
    """Every cell's override list, as `python -m sentgrid -m <arguments>` would launch them."""
    from hydra import compose, initialize_config_dir
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    parsed = parser.parse_overrides(arguments)
    fixed = [o.input_line for o in parsed if not o.is_sweep_override()]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=fixed, return_hydra_config=True)
    params = cfg.hydra.sweeper.get("params") or {}
    preset = [f"{key}={value}" for key, value in params.items()]
    given = {o.get_key_element() for o in parsed}
    merged = [p for p in parser.parse_overrides(preset) if p.get_key_element() not in given] + parsed
    return [cell for batch in BasicSweeper.split_arguments(merged, None) for cell in batch]


def compose_cell(overrides: list[str]):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=overrides)


class _Datasets:
    """Datasets loaded once for the whole plan (most cells share them)."""

    def __init__(self):
        self.memo = {}

    def requests(self, cfg) -> dict[str, list[str]]:
        task = OmegaConf.to_container(cfg.task, resolve=True)
        key = json.dumps([task, str(cfg.data.root)], sort_keys=True, default=str)
        if key not in self.memo:
            hub_only = list(cfg.task.families) == ["sts"] and cfg.task.sts.source == "hub"
            root = None if hub_only else data_root(cfg.data.root)
            datasets = load_datasets(cfg.task, root)
            self.memo[key] = {name: data.sentences for name, (_, _, data) in datasets.items()}
        return self.memo[key]


def forward_passes(cfg, datasets: _Datasets, corpus_memo: dict) -> list[tuple[str, str, object, list[str]]]:
    """(cache key, model label, encoder, sentences) of every cache entry the cell reads or writes."""
    cache = EncodingCache(cfg.cache.dir, cfg.cache.dtype, cfg.cache.get("token_dtype", "float16"))
    corpus_key = json.dumps(OmegaConf.to_container(cfg.corpus, resolve=True), sort_keys=True)

    def corpus():
        if corpus_key not in corpus_memo:
            corpus_memo[corpus_key] = corpus_sentences(cfg.corpus)
        return corpus_memo[corpus_key]

    template = _template(cfg, {})
    encoder = encoders.build(cfg.model, template, cache, corpus, cfg.corpus)
    requests = dict(datasets.requests(cfg))
    if cfg.postproc.steps and cfg.postproc.fit_on == "wikitext":
        requests[CORPUS_REQUEST] = corpus()
    if cfg.get("diagnostics", {}).get("enabled", False):
        size = int(cfg.diagnostics.corpus_sentences)
        requests[DIAGNOSTIC_CORPUS] = corpus()[:size]
        requests[DIAGNOSTIC_FIT] = corpus()[size:2 * size] or corpus()[:size]
        requests[DIAGNOSTIC_STSB] = load_sts("STSB", data_root(cfg.data.root)).sentences
    out = []
    kind = cfg.model.get("kind", "transformer")
    if kind == "transformer":
        entry = TOKENS if not weighting.is_plain(cfg.pooling) else "primitives"
        identity = encoder.identity()
        out += [(cache.key_for(identity, s, entry), cfg.model.name, encoder, s) for s in requests.values()]
    if kind in ("avg", "bert_avg", "b2s"):
        base = encoder.base
        out.append((cache.key_for(base.identity(), corpus(), TOKENS), cfg.model.base.name, base, corpus()))
    if kind == "bert_avg":
        identity = encoder.base.identity()
        out += [(cache.key_for(identity, s, TOKENS), cfg.model.base.name, encoder.base, s) for s in requests.values()]
    return out


def throughput(cache_dir: Path, label: str, width: int) -> tuple[float, str]:
    measured = EncodingCache(cache_dir).throughput().get(label)
    if measured:
        return measured["sentences_per_s"], "measured"
    return DEFAULT_THROUGHPUT.get(width, 45.0 * 768 / max(width, 1)), "default"


def cell_seconds(cell_profile: list, finished: list[dict]) -> float:
    """The median time of finished cells with the same profile (families, model, token-level pooling,
    diagnostics), else of the same families, else the defaults."""
    same = [e["seconds"] for e in finished if e.get("profile") == cell_profile]
    if same:
        return statistics.median(same)
    families = cell_profile[0]
    similar = [e["seconds"] for e in finished if e.get("families") == families]
    return statistics.median(similar) if similar else sum(DEFAULT_CELL_SECONDS.get(f, 10.0) for f in families)


def plan(arguments: list[str]) -> dict:
    register_resolvers()
    cells = expand(arguments)
    datasets, corpus_memo = _Datasets(), {}
    versions = result_versions()
    finished, seen_cells = [], set()
    entries = {}  # key -> (label, encoder, sentences, cache_dir)
    cell_profiles = []
    for overrides in cells:
        cfg = compose_cell(overrides)
        identity = cell_id(cfg, versions)
        index = FinishedCells(cfg.cache.dir)
        if identity in seen_cells or (index.get(identity) and not cfg.get("force", False)):
            finished.append(overrides)  # done before, or the same cell twice (a layer sweep over RE)
            continue
        seen_cells.add(identity)
        cell_profiles.append((profile(OmegaConf.to_container(cfg, resolve=True)), Path(cfg.cache.dir)))
        for key, label, encoder, sentences in forward_passes(cfg, datasets, corpus_memo):
            entries.setdefault(key, (label, encoder, sentences, Path(cfg.cache.dir)))
    to_encode = defaultdict(set)
    cached = 0
    for key, (label, encoder, sentences, cache_dir) in entries.items():
        if EncodingCache(cache_dir).path(key).exists():
            cached += 1
        else:
            to_encode[(label, int(encoder.config.hidden_size), cache_dir)].update(sentences)
    encode_seconds, models = 0.0, {}
    for (label, width, cache_dir), sentences in to_encode.items():
        rate, source = throughput(cache_dir, label, width)
        encode_seconds += len(sentences) / rate
        models[label] = {"sentences": len(sentences), "sentences_per_s": round(rate, 1), "throughput": source}
    finished_by_cache = {d: FinishedCells(d).all() for d in {d for _, d in cell_profiles}}
    per_cell = sum(cell_seconds(p, finished_by_cache[d]) for p, d in cell_profiles)
    return {"cells": len(cells), "finished": len(finished), "to_run": len(cells) - len(finished),
            "forward_passes": len(entries), "cached": cached, "to_encode": len(entries) - cached,
            "models": models, "estimate_seconds": round(encode_seconds + per_cell, 1),
            "estimate_encode_seconds": round(encode_seconds, 1), "estimate_cells_seconds": round(per_cell, 1)}


def format_plan(report: dict) -> str:
    lines = [f"cells            {report['cells']} ({report['finished']} already finished, {report['to_run']} to run)",
             f"forward passes   {report['forward_passes']} cache entries ({report['cached']} cached, "
             f"{report['to_encode']} to encode)"]
    for label, model in report["models"].items():
        lines.append(f"  {label:<15}{model['sentences']} distinct sentences at {model['sentences_per_s']}/s "
                     f"({model['throughput']})")
    minutes = report["estimate_seconds"] / 60
    lines.append(f"estimate         {minutes:.1f} min ({report['estimate_encode_seconds']:.0f} s encoding, "
                 f"{report['estimate_cells_seconds']:.0f} s pooling, post-processing and evaluation)")
    return "\n".join(lines)


def main(arguments: list[str]) -> int:
    arguments = [a for a in arguments if a not in ("-m", "--multirun")]
    started = time.perf_counter()
    try:
        report = plan(arguments)
    except (SentgridError, HydraException) as exc:
        print(f"sentgrid plan: error: {exc}", file=sys.stderr)
        return 2
    print(format_plan(report))
    print(f"(planned in {time.perf_counter() - started:.1f} s; run it with: python -m sentgrid -m {' '.join(arguments)})")
    return 0
