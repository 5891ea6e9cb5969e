"""How long a sweep takes and how much it stores: from the entries its cells need, measured (or
default) throughput, table builds and finished cells' times."""
import json
import shutil
import statistics
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf
from tqdm.auto import tqdm

from .. import throughput
from ..cells import FinishedCells, cell_id, profile, result_versions, seconds_besides_encoding
from ..paths import register_resolvers
from ..pooling.primitives import names as primitive_names
from ..spec import CellSpec
from ..store import TOKENS, EntryStore
from ..tasks import FAMILIES
from .passes import Memo, forward_passes, sweep_layers
from .sweep import compose_cell, expand

# Characters per second on a 2-core CPU when nothing was measured on this machine yet: REFERENCE.md §5's
# sentences per second (MiniLM 400, bert-base 45) times 57, the mean characters of an STS sentence.
DEFAULT_THROUGHPUT = {384: 400.0 * 57, 768: 45.0 * 57}
START_SECONDS, SKIP_SECONDS = 6.0, 0.2  # a sweep's start (imports, model load); one finished cell's skip


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


def scratch_bytes(encoder, sentences, keep: list[int] | None = None) -> float:
    """The scratch a token pass over `sentences` reserves while it runs (store/encoding.py: every token's state
    at the kept layers, float32), freed once its entries are written."""
    layers = len(keep) if keep else encoder.num_layers + 1
    count = sum(len(s) for s in sentences) * TOKENS_PER_CHARACTER + 2 * len(sentences)
    return count * layers * encoder.hidden_size * np.dtype(np.float32).itemsize


def free_bytes(folder: Path) -> int:
    """Free space on the disk that holds (or will hold) `folder`."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free


def cell_seconds(cell_profile: list, finished: list[dict]) -> float:
    """What a cell costs besides encoding (reading the cache, pooling, post-processing, evaluation): the
    median of finished cells with the same profile (families, model, token-level pooling, diagnostics, slice),
    else of the same families on the same slice, else the defaults (scaled down for a slice). Older index
    entries lack the split: their total counts."""
    def cost(entry):
        if "evaluate_seconds" in entry:
            return entry["evaluate_seconds"]
        return seconds_besides_encoding(entry["record"]) if "record" in entry else entry["seconds"]

    def cached(entry):  # a cell that encoded nothing: its time is exactly what is estimated here
        return entry.get("record", {}).get("encode", {}).get("sentences_computed", 1) == 0

    same = [e for e in finished if e.get("profile") == cell_profile]
    if same:
        return statistics.median([cost(e) for e in ([e for e in same if cached(e)] or same)])
    families, token_level, items = cell_profile[0], cell_profile[2], cell_profile[4]
    similar = [cost(e) for e in finished if e.get("families") == families and slice_of(e) == items]
    if similar:
        return statistics.median(similar)
    default = sum(FAMILIES[f].cell_seconds + FAMILIES[f].token_seconds * bool(token_level)  # full-data cells
                  for f in families if f in FAMILIES)
    return default if items is None else default * min(1.0, items / TYPICAL_ITEMS) + SLICE_FIXED_SECONDS


# A slice's cell, until one is measured: the full-data default scaled by its share of a typical dataset, plus
# what every cell pays whatever its size (reading the data, the cache, the record). Measured here: a task=all
# cell on 200 items per dataset 3-5 s (the default says 92 s for full data).
TYPICAL_ITEMS, SLICE_FIXED_SECONDS = 5000, 1.0


def slice_of(entry: dict):
    """The task.max_items a finished cell ran on (entries from before profiles held it: full data)."""
    found = entry.get("profile") or []
    return found[4] if len(found) > 4 else None


@dataclass
class Sweep:
    """The sweep's cells composed: each cell's listing row, and for the cells to run their entries and tables."""
    listing: list = field(default_factory=list)     # {"cell", "state", "keys", ...} per cell, in order
    finished: list = field(default_factory=list)    # the overrides of cells finished before (or twice in it)
    profiles: list = field(default_factory=list)    # (profile, cache dir) of each cell to run
    cache_specs: dict = field(default_factory=dict)  # cache dir -> its CacheSpec
    passes: list = field(default_factory=list)      # each cell to run: its Passes
    groups: list = field(default_factory=list)      # each cell to run: the sweep it belongs to (0 unless several)
    tables: dict = field(default_factory=dict)      # (table key, cache dir) -> TableBuild


def compose_sweep(cells: list[list[str]], groups: list[int] | None = None) -> Sweep:
    """`groups`: each cell's sweep, when several sweeps are planned as one (each keeps its own layers)."""
    memo, versions, seen, sweep = Memo(), result_versions(), set(), Sweep()
    groups = groups or [0] * len(cells)
    # A preset's cells read every dataset of their tasks once (26 with task=all): a minute or more to show
    progress = tqdm(cells, desc="plan: reading datasets, composing cells", unit="cell", file=sys.stderr, delay=3,
                    leave=False)
    for overrides, group in zip(progress, groups):
        cfg = compose_cell(overrides)
        identity = cell_id(cfg, versions)
        if identity in seen or (FinishedCells(cfg.cache.dir).get(identity) and not cfg.get("force", False)):
            sweep.finished.append(overrides)  # done before, or the same cell twice (a layer sweep over RE)
            sweep.listing.append({"cell": overrides, "state": "finished", "keys": []})
            continue
        seen.add(identity)
        cache_dir = Path(cfg.cache.dir)
        sweep.profiles.append((profile(OmegaConf.to_container(cfg, resolve=True)), cache_dir))
        sweep.cache_specs.setdefault(cache_dir, CellSpec.from_config(cfg).cache)
        passes, cell_tables = forward_passes(cfg, memo)
        sweep.passes.append(passes)
        sweep.groups.append(group)
        sweep.tables.update({(key, cache_dir): build_ for key, build_ in cell_tables.items()})
        sweep.listing.append({"cell": overrides, "state": None, "keys": [], "profile": sweep.profiles[-1],
                              "tables": [(key, cache_dir) for key in cell_tables]})
    return sweep


def entries_of(sweep: Sweep) -> tuple[dict, dict]:
    """{key: (Pass, cache dir, the layers it keeps: None for every layer)} of every entry the cells read, each
    cell's listing row given its keys; and the layers kept per model under cache.layers=requested."""
    entries = {}
    kept = {group: sweep_layers([p for passes, g in zip(sweep.passes, sweep.groups) if g == group for p in passes])
            for group in set(sweep.groups)}  # cache.layers=requested: each sweep keeps the layers its own cells read
    for item, passes, group in zip([i for i in sweep.listing if i["state"] is None], sweep.passes, sweep.groups):
        for p in passes:
            keep = p.keep(kept[group])
            key = p.encoding.key_for(p.encoder.identity(), p.sentences, p.kind, keep)
            if key not in entries and keep is not None:
                # an entry that keeps every layer serves any cell: one stored by an earlier `all` sweep, or one an
                # earlier sweep of this plan writes (a sweep over every layer, run before one over the last)
                whole = p.encoding.key_for(p.encoder.identity(), p.sentences, p.kind)
                if whole in entries or EntryStore(p.encoding.entries.root).exists(whole):
                    key, keep = whole, None
            entries.setdefault(key, (p, p.encoding.entries.root, keep))
            item["keys"].append(key)
    return entries, kept.get(0, {}) if len(kept) <= 1 else {}


def missing_work(entries: dict, cache_specs: dict, encoded_before: frozenset | None = None) -> dict:
    """What the entries not stored yet take: sentences to encode per (model, width, cache dir), forward passes
    (one per encoder identity and kind: its missing entries together), disk per cache dir; how many are
    cached; and, for entries keeping only the asked layers, what a later layer sweep would encode again.
    `encoded_before`: what earlier work's entries hold (a halving sweep's smaller rungs; `held` of their plans):
    a pass reads those sentences' rows from them (store/donors.py: same encoder, kept layers and cache) instead of
    encoding them. Given (empty for the first), `held` says what these entries hold, for the next."""
    to_encode, identities, disk, sizes = defaultdict(set), {}, defaultdict(float), {}
    later = defaultdict(lambda: (set(), set()))  # kept layers and sentences a later layer sweep encodes again
    cached, pass_groups, token_passes, pass_of = 0, set(), {}, {}
    chained, held = encoded_before is not None, set()
    encoded_before = encoded_before or frozenset()
    for key, (p, cache_dir, keep) in entries.items():
        identity = identities.setdefault(id(p.encoder), json.dumps(p.encoder.identity(), sort_keys=True, default=str))
        donor = (p.label, identity, tuple(keep or ()), str(cache_dir))
        if chained:
            held.update((*donor, s) for s in p.sentences)
        if keep is not None:
            layers, sentences = later[(p.label, p.encoder.hidden_size, cache_dir)]
            layers.update(keep)
            sentences.update((identity, s) for s in p.sentences)
        if EntryStore(cache_dir).exists(key):
            cached += 1
        else:
            pass_groups.add((identity, p.kind == TOKENS, cache_dir))
            if p.kind == TOKENS:  # one pass per encoder and kept layers: its scratch holds their sentences
                pass_of[key] = (identity, tuple(keep or ()), cache_dir)
                token_passes.setdefault(pass_of[key], (p.encoder, set()))[1].update(p.sentences)
            sizes[key] = entry_bytes(p.encoder, p.sentences, p.kind == TOKENS, cache_specs[cache_dir], keep)
            disk[cache_dir] += sizes[key]
            # each encoder identity (a template is another one) is its own pass over the sentences
            to_encode[(p.label, p.encoder.hidden_size, cache_dir)].update(
                (identity, s) for s in p.sentences if (*donor, s) not in encoded_before)
    passes = {group: scratch_bytes(encoder, sentences, list(group[1]) or None)
              for group, (encoder, sentences) in token_passes.items()}
    scratch = defaultdict(float)  # the largest token pass's scratch per cache dir: one pass at a time per job
    for group, size in passes.items():
        scratch[group[2]] = max(scratch[group[2]], size)
    return {"to_encode": to_encode, "disk": disk, "sizes": sizes, "scratch": scratch,
            "scratch_of": {key: passes[group] for key, group in pass_of.items()}, "later": later, "cached": cached,
            "passes": len(pass_groups), "held": frozenset(held)}


def plan(arguments: list[str], throughput_override: float | None = None, cells: list[list[str]] | None = None,
         groups: list[int] | None = None, encoded_before: frozenset | None = None) -> dict:
    """What a sweep (`-m` arguments) costs, or a list of cells' overrides (several sweeps planned as one: a pass
    they share counted once; `groups` gives each cell's sweep). `encoded_before`: as missing_work's (the
    report's `held` then says what this sweep's entries hold, for the next)."""
    register_resolvers()
    cells = expand(arguments) if cells is None else cells
    sweep = compose_sweep(cells, groups)
    finished, listing, cell_profiles, cache_specs, tables = (sweep.finished, sweep.listing, sweep.profiles,
                                                             sweep.cache_specs, sweep.tables)
    entries, kept = entries_of(sweep)
    work = missing_work(entries, cache_specs, encoded_before)
    to_encode, disk, later, cached = work["to_encode"], work["disk"], work["later"], work["cached"]

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
            "forward_passes": work["passes"],
            "models": models, "tables": builds, "estimate_seconds": round(encode_seconds + table_seconds + per_cell, 1),
            "estimate_encode_seconds": round(encode_seconds, 1), "estimate_table_seconds": round(table_seconds, 1),
            "estimate_cells_seconds": round(per_cell, 1),
            "longest_pass_seconds": round(max(passes.values(), default=0.0), 1), "kept_layers": kept,
            "entry_bytes": work["sizes"],  # the entries to store, by key
            "held": work["held"],
            "scratch_bytes": work["scratch_of"],  # a token entry to store: the scratch of the pass that writes it
            "later_layers": [{"model": label, "kept": sorted(layers), "sentences": len(sentences),
                              "seconds": round(sum(len(s) for _, s in sentences) / rate_of(label, width, d)[0], 1)}
                             for (label, width, d), (layers, sentences) in later.items()],
            "disk": [{"cache_dir": str(d), "bytes": round(b), "scratch": round(work["scratch"][d]),
                      "free": free_bytes(d), "max_gb": cache_specs[d].max_gb, "check_space": bool(cache_specs[d].check_space)}
                     for d, b in disk.items()]}


def on_workers(report: dict, workers: int) -> float:
    """The sweep's wall time on `workers` workers like the measured one: passes of different encoders and
    cells run side by side, but one pass (or table build) is done by one worker (the others wait for its lock)."""
    work = report["estimate_encode_seconds"] + report["estimate_table_seconds"]
    encode = max(work / workers, report["longest_pass_seconds"])
    cells = max(report["estimate_cells_seconds"] - START_SECONDS, 0.0) / workers + START_SECONDS
    return encode + cells
