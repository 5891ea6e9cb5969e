"""`python -m sentgrid plan -m <overrides>`: what a sweep will cost, before it runs.

Expands the sweep the way Hydra's basic sweeper does (command line plus an experiment's
`hydra.sweeper.params`), composes every cell, and reports: cells, cells already finished, the
cache entries the cells need (one per dataset and encoder), how many are cached and in how many forward
passes the rest are encoded (one per encoder identity: its entries' sentences together), the sentences left
to encode per model, the static tables left to build, the disk they will take beside the space free,
and a time estimate from measured throughput, table builds and cell times. A sweep that cannot fit on
its cache's disk is refused at its start.
"""
import json
import shutil
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hydra.errors import HydraException
from omegaconf import OmegaConf
from tqdm.auto import tqdm

from . import throughput
from .cells import FinishedCells, cell_id, profile, result_versions, seconds_besides_encoding
from .data.corpus import Corpora
from .encoders import Produces, build
from .errors import SentgridError
from .paths import CONF_DIR, register_resolvers
from .pooling.primitives import names as primitive_names
from .reading import reading
from .requests import load_datasets, requests_for
from .spec import CellSpec
from .store import TOKENS, Encoding, EntryStore
from .store.entries import table_key
from .store.kept_layers import group as kept_group
from .store.kept_layers import to_keep
from .tasks import FAMILIES

# Characters per second on a 2-core CPU when nothing was measured on this machine yet: REFERENCE.md §5's
# sentences per second (MiniLM 400, bert-base 45) times 57, the mean characters of an STS sentence.
DEFAULT_THROUGHPUT = {384: 400.0 * 57, 768: 45.0 * 57}
START_SECONDS, SKIP_SECONDS = 6.0, 0.2  # a sweep's start (imports, model load); one finished cell's skip


def _config_dir():
    """Hydra's config search path: the running app's (a sweep's callback plans) or our conf/ folder."""
    from contextlib import nullcontext

    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        return nullcontext()
    return initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3")


def expand(arguments: list[str]) -> list[list[str]]:
    """Every cell's override list, as `python -m sentgrid -m <arguments>` would launch them."""
    from hydra import compose
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from .overrides import check_choices

    check_choices(arguments)

    parser = OverridesParser.create()
    parsed = parser.parse_overrides(arguments)
    fixed = [o.input_line for o in parsed if not o.is_sweep_override()]
    with _config_dir():
        cfg = compose("config", overrides=fixed, return_hydra_config=True)
    params = cfg.hydra.sweeper.get("params") or {}
    preset = [f"{key}={value}" for key, value in params.items()]
    given = {o.get_key_element() for o in parsed}
    merged = [p for p in parser.parse_overrides(preset) if p.get_key_element() not in given] + parsed
    return [cell for batch in BasicSweeper.split_arguments(merged, None) for cell in batch]


def compose_cell(overrides: list[str]):
    from hydra import compose

    with _config_dir():
        return compose("config", overrides=overrides)


class _Memo:
    """Datasets and corpora read once for the whole plan (most cells share them)."""

    def __init__(self):
        self.datasets, self.corpora = {}, Corpora()

    def datasets_for(self, spec: CellSpec, cfg):
        key = json.dumps([OmegaConf.to_container(cfg.task, resolve=True), str(spec.data_root)], sort_keys=True,
                         default=str)
        if key not in self.datasets:
            self.datasets[key] = load_datasets(spec, spec.root())
        return self.datasets[key]

    def corpus(self, corpus_cfg):
        return self.corpora.loader(corpus_cfg)


@dataclass
class Pass:
    """A cache entry a cell reads or writes: what `run_cell` asks the store for."""
    encoding: Encoding
    encoder: object        # the forward model
    kind: str              # TOKENS or a primitive
    label: str             # the model, as throughput is measured
    sentences: list[str]
    layers: list[int] | None  # the layers the cell reads; None: a table's source (keeps every layer)
    setting: str           # cache.layers

    def keep(self, sweep_layers: dict) -> list[int] | None:
        return None if self.layers is None else to_keep(self.setting, self.encoder, self.layers, sweep_layers)


@dataclass
class TableBuild:
    kind: str              # the table's kind (bert_avg reads the avg table)
    base: str              # the base model, as its speed is measured
    work: float            # the encoder's `table_work`
    default_rate: float    # work per second until a build is measured here

    def seconds(self, cache_dir: Path) -> tuple[float, str]:
        measured = throughput.read(cache_dir).get(throughput.table_label(self.kind, self.base), {})
        if measured.get("work_per_s"):
            return self.work / measured["work_per_s"], "measured"
        return self.work / self.default_rate, "default"


def forward_passes(cfg, memo: _Memo) -> tuple[list[Pass], dict]:
    """Every cache entry the cell reads or writes: the same requests `run_cell` builds, read through the
    encoder's declared contract; and {table key: TableBuild} of the static table it reads, if any."""
    spec = CellSpec.from_config(cfg)
    corpus = memo.corpus(spec.corpus)
    encoding = Encoding(EntryStore(spec.cache.dir), spec.cache.dtype, spec.cache.token_dtype)
    encoder = build(spec.model, spec.template, corpus, Path(spec.cache.dir) / "fingerprints")
    sentences = requests_for(spec, corpus, memo.datasets_for(spec, cfg)).sentences()
    out = []
    base, corpus_sentences = encoder.table_source() if Produces.TABLE in encoder.produces else (None, [])
    if corpus_sentences:  # the corpus through the base model, once per table (Model2Vec passes its vocabulary)
        out.append(Pass(encoding, base, TOKENS, throughput.label(base.speed_label, True), corpus_sentences, None, "all"))
    read = reading(encoder, spec)
    if read.forward is not None:
        model = throughput.label(read.forward.speed_label, read.kind == TOKENS)
        out += [Pass(encoding, read.forward, read.kind, model, s, read.layers, spec.cache.layers)
                for s in sentences.values()]
    tables = {}
    if base is not None:
        identity = encoder.table_identity()
        tables[table_key(identity, encoding.store_dtype)] = TableBuild(identity["kind"], base.speed_label,
                                                                       encoder.table_work(), encoder.TABLE_WORK_PER_S)
    return out, tables


def sweep_layers(passes: list[Pass]) -> dict:
    """{group: layers}: what the sweep's cells ask of each model, kept together under cache.layers=requested."""
    asked = defaultdict(set)
    for p in passes:
        if p.layers is not None and to_keep(p.setting, p.encoder, p.layers, {}) is not None:
            asked[kept_group(p.encoder)].update(p.layers)
    return {name: sorted(layers) for name, layers in asked.items()}


def measured_throughput(cache_dir: Path, label: str, width: int) -> tuple[float, str]:
    table = throughput.read(cache_dir)
    measured = table.get(label)
    if measured and "characters_per_s" in measured:
        return measured["characters_per_s"], "measured"
    plain = table.get(label.removesuffix(throughput.label("", True)))
    if plain and "characters_per_s" in plain:  # token states never measured here: the nearest measurement
        return plain["characters_per_s"], "measured without token states"
    return DEFAULT_THROUGHPUT.get(width, 45.0 * 57 * 768 / max(width, 1)), "default"


# Sub-word tokens per character of English text (WordPiece), for token entries' size before tokenising.
TOKENS_PER_CHARACTER = 0.25


def entry_bytes(encoder, sentences: list[str], tokens: bool, cache, keep: list[int] | None = None) -> float:
    """What an entry to encode will take on disk: every kept layer (all when `keep` is None) of the primitives
    (pooling/primitives.py; one more with a template's [MASK]) per sentence, or, for a token entry, every token's state too
    (estimated from the characters)."""
    layers, width = len(keep) if keep else encoder.num_layers + 1, encoder.hidden_size
    primitives = len(primitive_names(getattr(encoder, "template", None) is not None and encoder.template.has_mask))
    size = len(sentences) * layers * width * primitives * np.dtype(cache.dtype).itemsize
    if tokens:
        count = sum(len(s) for s in sentences) * TOKENS_PER_CHARACTER + 2 * len(sentences)
        size += count * layers * width * np.dtype(cache.token_dtype).itemsize
    return size


def free_bytes(folder: Path) -> int:
    """Free space on the disk that holds (or will hold) `folder`."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free


def size(count: float) -> str:
    """Bytes in the unit that shows them: 1.50 GiB, 38.2 MiB, 512 KiB."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20)):
        if count >= scale:
            return f"{count / scale:.{2 if unit == 'GiB' else 1}f} {unit}"
    return f"{count / 2**10:.0f} KiB"


def too_big(report: dict) -> str | None:
    """One sentence when a sweep would store more than its cache's disk holds (and cache.check_space is on)."""
    for disk in report.get("disk", []):
        if disk["check_space"] and disk["bytes"] > disk["free"]:
            return (f"this sweep would store about {size(disk['bytes'])} in cache.dir={disk['cache_dir']}, "
                    f"but only {size(disk['free'])} are free there; free space (python -m sentgrid cache du), "
                    f"set cache.dir elsewhere or cache.dtype=float16 (half the primitives' size), or start it anyway "
                    f"with cache.check_space=false.")
    return None


def cell_seconds(cell_profile: list, finished: list[dict]) -> float:
    """What a cell costs besides encoding (reading the cache, pooling, post-processing, evaluation): the
    median of finished cells with the same profile (families, model, token-level pooling, diagnostics),
    else of the same families, else the defaults. Older index entries lack the split: their total counts."""
    def cost(entry):
        if "evaluate_seconds" in entry:
            return entry["evaluate_seconds"]
        return seconds_besides_encoding(entry["record"]) if "record" in entry else entry["seconds"]

    def cached(entry):  # a cell that encoded nothing: its time is exactly what is estimated here
        return entry.get("record", {}).get("encode", {}).get("sentences_computed", 1) == 0

    same = [e for e in finished if e.get("profile") == cell_profile]
    if same:
        return statistics.median([cost(e) for e in ([e for e in same if cached(e)] or same)])
    families = cell_profile[0]
    similar = [cost(e) for e in finished if e.get("families") == families]
    return statistics.median(similar) if similar else sum(FAMILIES[f].cell_seconds for f in families if f in FAMILIES)


def plan(arguments: list[str], throughput_override: float | None = None) -> dict:
    register_resolvers()
    cells = expand(arguments)
    memo = _Memo()
    versions = result_versions()
    finished, seen_cells = [], set()
    entries = {}  # key -> (Pass, cache_dir, the layers it keeps: None for every layer)
    cell_profiles, listing, cache_specs, cell_passes, tables = [], [], {}, [], {}
    # A preset's cells read every dataset of their tasks once (26 with task=all): a minute or more to show
    progress = tqdm(cells, desc="plan: reading datasets, composing cells", unit="cell", file=sys.stderr, delay=3,
                    leave=False)
    for overrides in progress:
        cfg = compose_cell(overrides)
        identity = cell_id(cfg, versions)
        index = FinishedCells(cfg.cache.dir)
        if identity in seen_cells or (index.get(identity) and not cfg.get("force", False)):
            finished.append(overrides)  # done before, or the same cell twice (a layer sweep over RE)
            listing.append({"cell": overrides, "state": "finished", "keys": []})
            continue
        seen_cells.add(identity)
        cell_profiles.append((profile(OmegaConf.to_container(cfg, resolve=True)), Path(cfg.cache.dir)))
        cache_specs.setdefault(Path(cfg.cache.dir), CellSpec.from_config(cfg).cache)
        passes, cell_tables = forward_passes(cfg, memo)
        cell_passes.append(passes)
        tables.update({(key, Path(cfg.cache.dir)): build_ for key, build_ in cell_tables.items()})
        listing.append({"cell": overrides, "state": None, "keys": [], "profile": cell_profiles[-1],
                        "tables": [(key, Path(cfg.cache.dir)) for key in cell_tables]})
    kept = sweep_layers([p for passes in cell_passes for p in passes])
    for item, passes in zip([i for i in listing if i["state"] is None], cell_passes):
        for p in passes:
            keep = p.keep(kept)
            key = p.encoding.key_for(p.encoder.identity(), p.sentences, p.kind, keep)
            if key not in entries and keep is not None:
                # an entry that keeps every layer serves any cell: one stored by an earlier `all` sweep
                whole = p.encoding.key_for(p.encoder.identity(), p.sentences, p.kind)
                if EntryStore(p.encoding.entries.root).exists(whole):
                    key, keep = whole, None
            entries.setdefault(key, (p, p.encoding.entries.root, keep))
            item["keys"].append(key)
    to_encode, identities, disk = defaultdict(set), {}, defaultdict(float)
    later = defaultdict(lambda: (set(), set()))  # kept layers and sentences a later layer sweep encodes again
    cached, pass_groups = 0, set()
    for key, (p, cache_dir, keep) in entries.items():
        identity = identities.setdefault(id(p.encoder), json.dumps(p.encoder.identity(), sort_keys=True, default=str))
        if keep is not None:
            layers, sentences = later[(p.label, p.encoder.hidden_size, cache_dir)]
            layers.update(keep)
            sentences.update((identity, s) for s in p.sentences)
        if EntryStore(cache_dir).exists(key):
            cached += 1
        else:
            # a forward pass per encoder identity and kind: all of its missing entries are encoded together
            pass_groups.add((identity, p.kind == TOKENS, cache_dir))
            disk[cache_dir] += entry_bytes(p.encoder, p.sentences, p.kind == TOKENS, cache_specs[cache_dir], keep)
            # each encoder identity (a template is another one) is its own pass over the sentences
            to_encode[(p.label, p.encoder.hidden_size, cache_dir)].update((identity, s) for s in p.sentences)
    def rate_of(label, width, cache_dir):
        return (throughput_override, "given") if throughput_override else measured_throughput(cache_dir, label, width)

    encode_seconds, models, passes = 0.0, {}, defaultdict(float)
    for (label, width, cache_dir), sentences in to_encode.items():
        rate, source = rate_of(label, width, cache_dir)
        characters = sum(len(s) for _, s in sentences)
        encode_seconds += characters / rate
        for identity, sentence in sentences:  # one pass per identity: the longest bounds a cluster's wall time
            passes[identity] += len(sentence) / rate
        models[label] = {"sentences": len(sentences), "characters": characters, "characters_per_s": round(rate),
                         "throughput": source}
    builds = []  # tables no cell of the sweep finds stored: each built once, by one job
    for (key, cache_dir), build_ in tables.items():
        if not EntryStore(cache_dir).exists(key):
            seconds, source = build_.seconds(cache_dir)
            passes[key] += seconds
            builds.append({"table": f"{build_.kind} from {build_.base}", "seconds": round(seconds, 1), "speed": source})
    table_seconds = sum(b["seconds"] for b in builds)
    finished_by_cache = {d: FinishedCells(d).all() for d in {d for _, d in cell_profiles}}
    per_cell = sum(cell_seconds(p, finished_by_cache[d]) for p, d in cell_profiles)
    # Starting the sweep (Python, torch, the model) and recognising each finished cell cost time too.
    per_cell += (START_SECONDS if cell_profiles else 0.0) + SKIP_SECONDS * len(finished)
    claimed = set()  # a cell "needs encode" for the entries no earlier cell of the sweep encodes
    for item in listing:
        if item["state"] == "finished":
            continue
        missing = [k for k in item["keys"] if not EntryStore(entries[k][1]).exists(k) and k not in claimed]
        to_build = [k for k, d in item.pop("tables") if not EntryStore(d).exists(k) and k not in claimed]
        claimed.update(missing + to_build)
        states = [f"needs encode ({len(missing)} entries)"] * bool(missing) + ["table"] * bool(to_build)
        item["state"] = " + ".join(states) or "cached"
        profile_, cache_dir = item.pop("profile")
        item["estimate_seconds"] = round(cell_seconds(profile_, finished_by_cache[cache_dir]), 1)
    return {"cells": len(cells), "listing": listing, "finished": len(finished), "to_run": len(cells) - len(finished),
            "entries": len(entries), "cached": cached, "to_encode": len(entries) - cached,
            "forward_passes": len(pass_groups),
            "models": models, "tables": builds, "estimate_seconds": round(encode_seconds + table_seconds + per_cell, 1),
            "estimate_encode_seconds": round(encode_seconds, 1), "estimate_table_seconds": round(table_seconds, 1),
            "estimate_cells_seconds": round(per_cell, 1),
            "longest_pass_seconds": round(max(passes.values(), default=0.0), 1), "kept_layers": kept,
            "later_layers": [{"model": label, "kept": sorted(layers), "sentences": len(sentences),
                              "seconds": round(sum(len(s) for _, s in sentences) / rate_of(label, width, d)[0], 1)}
                             for (label, width, d), (layers, sentences) in later.items()],
            "disk": [{"cache_dir": str(d), "bytes": round(b), "free": free_bytes(d),
                      "max_gb": cache_specs[d].max_gb, "check_space": bool(cache_specs[d].check_space)}
                     for d, b in disk.items()]}


def on_workers(report: dict, workers: int) -> float:
    """The sweep's wall time on `workers` workers like the measured one: passes of different encoders and
    cells run side by side, but one pass (or table build) is done by one worker (the others wait for its lock)."""
    work = report["estimate_encode_seconds"] + report["estimate_table_seconds"]
    encode = max(work / workers, report["longest_pass_seconds"])
    cells = max(report["estimate_cells_seconds"] - START_SECONDS, 0.0) / workers + START_SECONDS
    return encode + cells


def passes_phrase(passes: int, lead: str = "") -> str:
    """'2 forward passes' (after `lead`), or nothing when no entry is left to encode. A forward pass encodes
    every missing entry (one per dataset) of one encoder identity together."""
    return f"{lead}{passes} forward pass{'es' * (passes != 1)}" if passes else ""


def format_plan(report: dict, cells: bool = False) -> str:
    lines = []
    if cells:
        for item in report["listing"]:
            estimate = f"{item['estimate_seconds']:>7.1f} s" if "estimate_seconds" in item else f"{'':>9}"
            lines.append(f"  {item['state']:<34}{estimate}  {' '.join(item['cell']) or 'defaults'}")
        lines.append("  (seconds besides encoding; encoding is estimated for the sweep as a whole below)\n")
    lines += [f"cells            {report['cells']} ({report['finished']} already finished, {report['to_run']} to run)",
             f"cache entries    {report['entries']} ({report['cached']} cached, {report['to_encode']} to encode"
             f"{passes_phrase(report['forward_passes'], ' in ')})"]
    for label, model in report["models"].items():
        lines.append(f"  {label:<22} {model['sentences']:,} sentences ({model['characters'] / 1e6:.1f} M characters) to "
                     f"encode at {model['characters_per_s']:,} characters/s ({model['throughput']})")
    for build_ in report["tables"]:
        lines.append(f"table            {build_['table']}: ~{build_['seconds']:.0f} s to build ({build_['speed']} speed)")
    for disk in report["disk"]:
        budget = f"; cache.max_gb={disk['max_gb']}: least recently used entries are evicted beyond it" \
            if disk["max_gb"] is not None and disk["bytes"] > disk["max_gb"] * 2**30 else ""
        fits = "" if disk["bytes"] <= disk["free"] else " -- does not fit"
        lines.append(f"disk             about {size(disk['bytes'])} to store in {disk['cache_dir']} "
                     f"({size(disk['free'])} free{fits}{budget})")
    for later in report.get("later_layers", []):
        lines.append(f"cache.layers     requested: {later['model']} entries keep layers {later['kept']}; a later sweep "
                     f"over other layers encodes their {later['sentences']:,} sentences again "
                     f"(~{later['seconds'] / 60:.1f} min)")
    minutes = report["estimate_seconds"] / 60
    tables = f"{report['estimate_table_seconds']:.0f} s building tables, " if report["tables"] else ""
    lines.append(f"estimate         {minutes:.1f} min ({report['estimate_encode_seconds']:.0f} s encoding, {tables}"
                 f"{report['estimate_cells_seconds']:.0f} s start, cache reads, pooling, post-processing and evaluation)")
    return "\n".join(lines)


def _option(arguments: list[str], name: str) -> tuple[str | None, list[str]]:
    """The value of `--name=VALUE` (or `--name VALUE`) and the arguments without it."""
    for i, argument in enumerate(arguments):
        if argument == name and i + 1 < len(arguments):
            return arguments[i + 1], arguments[:i] + arguments[i + 2:]
        if argument.startswith(name + "="):
            return argument.split("=", 1)[1], arguments[:i] + arguments[i + 1:]
    return None, arguments


def main(arguments: list[str]) -> int:
    if any(a in ("-h", "--help") for a in arguments):
        print("usage: python -m sentgrid plan [--cells] [--workers 1,8,64] [--throughput CHARS_PER_S] -m SWEEP\n"
              "       (the sweep's overrides, presets too; --cells lists every cell with its state, finished /\n"
              "       cached / needs encode, and its estimate; --workers estimates the sweep on that many workers\n"
              "       (Ray, SLURM), each as fast as this machine measured, or as --throughput says, e.g. a GPU's)\n\n"
              + __doc__.split("\n", 1)[1].strip()
              + "\n\nexample: python -m sentgrid plan -m pooling=avg,max postproc=none,whiten")
        return 0
    show_cells = "--cells" in arguments
    workers, arguments = _option(arguments, "--workers")
    rate, arguments = _option(arguments, "--throughput")
    arguments = [a for a in arguments if a not in ("-m", "--multirun", "--cells")]
    started = time.perf_counter()
    try:
        counts = [int(w) for w in workers.split(",")] if workers else []
        if any(w < 1 for w in counts) or (rate is not None and float(rate) <= 0):
            raise ValueError
    except ValueError:
        print("sentgrid plan: error: --workers takes whole numbers >= 1 (e.g. 1,8,64) and --throughput a positive "
              "number of characters per second.", file=sys.stderr)
        return 2
    try:
        report = plan(arguments, float(rate) if rate else None)
    except (SentgridError, HydraException) as exc:
        print(f"sentgrid plan: error: {exc}", file=sys.stderr)
        return 2
    print(format_plan(report, show_cells))
    refusal = too_big(report)
    if refusal:
        print(f"sentgrid plan: {refusal}", file=sys.stderr)
    for count in counts:
        print(f"on {count:>4} worker{'s' if count > 1 else ' '}  {on_workers(report, count) / 60:8.1f} min")
    command = f"python -m sentgrid -m {' '.join(arguments)}" if arguments else "python -m sentgrid"
    print(f"(planned in {time.perf_counter() - started:.1f} s; run it with: {command})")
    return 1 if refusal else 0
