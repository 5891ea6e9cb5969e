"""`make bench`: sentgrid against its peer on the same data in the same run.

1. Encode throughput on the 8 STS datasets: sentgrid (all layers kept, cold cache, identical sentences
   encoded once) vs sentence-transformers `encode` of every pair's sentences, as MTEB does.
2. The full peer check: per-dataset Spearman of sentgrid's default cell vs sentence-transformers.
3. Cells per minute for cells served from the cache, the cache hit rate, and peak memory.
4. (--sweeps) A cold 16-cell sweep (4 poolings x 4 post-processings, STS) vs one cold cell, and the
   same sweep re-run, as users run them (`python -m sentgrid -m ...`, fresh cache).
5. (--static) Building Avg. and training B2S on WikiText-2 with MiniLM: time and size.
6. (--tasks) Clustering and classification cells on the persistent cache: seconds per dataset.
7. plan's estimate against the measured wall time of the last sweeps run here (multirun/).

    python -m sentgrid.bench [--max-items N] [--cells N] [--sweeps] [--static] [--tasks]
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from hydra import compose, initialize_config_dir
from scipy.stats import spearmanr

from .encoders.transformer import TransformerEncoder
from .paths import CONF_DIR, register_resolvers
from .pipeline import run_cell
from .spec import CacheSpec
from .templates import Template
from .workspace import Workspace


def config(cache_dir, max_items, *overrides):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=[f"cache.dir={cache_dir}", "tracking.enabled=false",
                                            f"task.max_items={max_items or 'null'}", *overrides])


def compose_default_cache() -> str:
    """The cache.dir a plain `python -m sentgrid` uses (so task encodings are shared with real runs)."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("config").cache.dir


def peak_memory_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-items", type=int, default=None, help="an evenly spaced slice per dataset (default: all)")
    parser.add_argument("--cells", type=int, default=12, help="cached cells to time (default: 12)")
    parser.add_argument("--tasks", action="store_true",
                        help="also time clustering and classification per dataset on the persistent cache "
                             "(cache.dir; the first time encodes ~250k sentences, ~15 min with MiniLM on 2 cores)")
    parser.add_argument("--sweeps", action="store_true", help="time a cold 16-cell sweep against one cold cell")
    parser.add_argument("--static", action="store_true", help="time building Avg. and training B2S")
    args = parser.parse_args()
    register_resolvers()

    from sentence_transformers import SentenceTransformer

    from .data import data_root, load_sts

    with tempfile.TemporaryDirectory(prefix="sentgrid-bench-") as cache_dir:
        cfg = config(cache_dir, args.max_items)
        root = data_root(cfg.data.root)
        datasets = {name: load_sts(name, root).take(args.max_items) for name in cfg.task.sts.datasets}
        slots = sum(2 * len(d) for d in datasets.values())
        print(f"STS: {len(datasets)} datasets, {slots} sentence slots, "
              f"{len({s for d in datasets.values() for s in d.sentences})} distinct sentences; torch threads "
              f"{__import__('torch').get_num_threads()}")

        # 1. Encode: sentence-transformers, as MTEB calls it (each dataset's two sides).
        peer = SentenceTransformer(cfg.model.path, device="cpu")
        started = time.perf_counter()
        peer_vectors = {name: (peer.encode(d.sentences1, batch_size=64), peer.encode(d.sentences2, batch_size=64))
                        for name, d in datasets.items()}
        peer_seconds = time.perf_counter() - started

        # ... and sentgrid, cold cache, every layer and primitive kept.
        encoder = TransformerEncoder(cfg.model, Template("none", None))
        _ = encoder.model  # load outside the timing, as for the peer
        started = time.perf_counter()
        _, stats = Workspace(CacheSpec(dir=cache_dir)).encoding.primitives(
            encoder, {n: d.sentences for n, d in datasets.items()}, "mean_all", [encoder.num_layers])
        stats = stats.as_dict()
        ours_seconds = time.perf_counter() - started
        cache_bytes = sum(f.stat().st_size for f in __import__("pathlib").Path(cache_dir).rglob("*.npy"))

        # 2. The peer check on the same data.
        record = run_cell(cfg)
        rows = []
        for name, (a, b) in peer_vectors.items():
            cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
            theirs = 100 * spearmanr(cos, datasets[name].scores).statistic
            ours = record["metrics"][f"sts/{name}/spearman"]
            rows.append((name, ours, theirs, ours - theirs))

        # 3. Cached cells.
        grid = [(p, q) for p in ("cls", "avg", "max") for q in ("none", "whiten", "quantile", "zscore")][:args.cells]
        hits = requested = 0
        started = time.perf_counter()
        for pooling, post in grid:
            cell = run_cell(config(cache_dir, args.max_items, f"pooling={pooling}", f"postproc={post}",
                                   "layer=first_last"))
            hits += cell["encode"]["cache_hits"]
            requested += cell["encode"]["sentences_requested"]
        cell_seconds = time.perf_counter() - started

    print("\n== encode: sentgrid (all layers kept) vs sentence-transformers encode, same sentences ==")
    print(f"sentence-transformers : {slots:6d} slots in {peer_seconds:7.1f} s = {slots / peer_seconds:7.1f} slots/s")
    print(f"sentgrid              : {slots:6d} slots in {ours_seconds:7.1f} s = {slots / ours_seconds:7.1f} slots/s "
          f"({stats['sentences_computed']} distinct sentences through the model, "
          f"{stats['sentences_computed'] / ours_seconds:.1f} sentences/s)")
    print(f"ratio sentgrid / peer : {peer_seconds / ours_seconds:.2f}x")
    print(f"cache size            : {cache_bytes / 2**20:.0f} MiB for {stats['sentences_requested']} cached sentences "
          f"= {cache_bytes / 2**20 / stats['sentences_requested'] * 1e4:.0f} MiB per 10k sentences "
          f"({encoder.num_layers + 1} layers x {encoder.config.hidden_size} dims x 5 primitives, float32)")
    print("\n== peer check: Spearman x100, minilm last-layer avg, no post-processing ==")
    print(f"{'dataset':<10}{'sentgrid':>10}{'s-t':>10}{'diff':>9}")
    for name, ours, theirs, diff in rows:
        print(f"{name:<10}{ours:>10.2f}{theirs:>10.2f}{diff:>+9.3f}")
    print(f"max |diff| = {max(abs(r[3]) for r in rows):.3f} points")
    print("\n== cells served from the cache (first+last layers, pooling x post-processing, in one process) ==")
    print(f"{len(grid)} cells in {cell_seconds:.1f} s = {60 * len(grid) / cell_seconds:.1f} cells/min; "
          f"cache hit rate {hits / max(requested, 1):.1%}")
    if args.sweeps:
        sweep_costs(args.max_items)
    if args.static:
        static_costs()
    if args.tasks:
        task_costs(args.max_items)
    plan_accuracy()
    print(f"\npeak memory (RSS) of this process: {peak_memory_mib():.0f} MiB")


SWEEP = ["pooling=cls,avg,avg_content,max", "postproc=none,zscore,whiten,quantile"]


def _cli(folder: Path, *args) -> tuple[float, str]:
    """Wall seconds of `python -m sentgrid <args>` with its own cache and output folders, as a user runs it."""
    command = [sys.executable, "-m", "sentgrid", *args, f"cache.dir={folder / 'cache'}", "tracking.enabled=false",
               f"hydra.sweep.dir={folder / 'sweep'}", f"hydra.run.dir={folder / 'run'}"]
    started = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"bench: {' '.join(command)} failed:\n{run.stderr[-2000:]}")
    return time.perf_counter() - started, run.stdout


def sweep_costs(max_items) -> None:
    slice_ = [f"task.max_items={max_items}"] if max_items else []
    with tempfile.TemporaryDirectory(prefix="sentgrid-bench-") as one, \
            tempfile.TemporaryDirectory(prefix="sentgrid-bench-") as many:
        cell, _ = _cli(Path(one), *slice_)
        cold, _ = _cli(Path(many), "-m", *SWEEP, *slice_)
        again, out = _cli(Path(many), "-m", *SWEEP, *slice_)
    print("\n== a cold 16-cell sweep (4 poolings x 4 post-processings, STS, MiniLM) vs one cold cell ==")
    print(f"one cold cell         : {cell:7.1f} s  (python -m sentgrid, fresh cache)")
    print(f"cold 16-cell sweep    : {cold:7.1f} s  = {cold / cell:.2f}x one cell (goal <= 1.3x)")
    print(f"same sweep re-run     : {again:7.1f} s  = {100 * again / cold:.1f} % of the cold sweep (goal <= 5 %); "
          f"{out.strip().splitlines()[-1]}")


def plan_accuracy(last: int = 10) -> None:
    """plan's estimate (made when each sweep started) against its measured wall time, for the last sweeps."""
    import json

    from .paths import home

    found = []
    for path in (home() / "multirun").rglob("summary.json"):
        try:
            seconds = json.loads(path.read_text()).get("seconds", {})
        except (OSError, ValueError):
            continue
        if seconds.get("planned") and seconds.get("measured"):
            found.append((path.stat().st_mtime, path.parent, seconds))
    print("\n== plan's estimate vs the measured wall time, last sweeps run here (goal: ratio within 0.67-1.5) ==")
    if not found:
        print("no sweep with an estimate yet: run one (python -m sentgrid -m ...) and bench again")
        return
    for _, folder, seconds in sorted(found)[-last:]:
        ratio = seconds["planned"] / seconds["measured"]
        print(f"planned {seconds['planned']:7.1f} s  measured {seconds['measured']:7.1f} s  ratio {ratio:5.2f}  "
              f"{folder.relative_to(home())}")


def static_costs() -> None:
    """Avg. (corpus forward pass + table) and B2S (training on the cached corpus states), fresh cache."""
    from .spec import CellSpec

    with tempfile.TemporaryDirectory(prefix="sentgrid-bench-") as cache_dir:
        cfg = config(cache_dir, None, "model=avg")
        workspace = Workspace(CacheSpec(dir=cache_dir))
        sentences = workspace.corpus(cfg.corpus)()
        started = time.perf_counter()
        workspace.encoder(CellSpec.from_config(cfg))  # builds the Avg. table
        avg_seconds = time.perf_counter() - started
        size = lambda pattern: sum(f.stat().st_size for f in Path(cache_dir).rglob(pattern))  # noqa: E731
        token_bytes = size("states.npy")
        table_bytes = size("table.npy")
        b2s_cfg = config(cache_dir, None, "model=b2s")
        started = time.perf_counter()
        b2s = workspace.encoder(CellSpec.from_config(b2s_cfg))  # trains the B2S table
        b2s_seconds = time.perf_counter() - started
        b2s_bytes = size("table.npy") - table_bytes
    print(f"\n== static tables from MiniLM on WikiText-2 ({len(sentences)} sentences) ==")
    print(f"Avg. table            : {avg_seconds:7.1f} s (corpus forward pass keeping token states + table), "
          f"table {table_bytes / 2**20:.0f} MiB, corpus token states {token_bytes / 2**20:.0f} MiB")
    print(f"B2S ({b2s_cfg.model.epochs} epochs, dim {b2s_cfg.model.dim}) : {b2s_seconds:7.1f} s on the cached corpus states, "
          f"table {b2s_bytes / 2**20:.0f} MiB; final loss {b2s.table_notes['final_loss']:.3f}")


def task_costs(max_items) -> None:
    """Wall time of each clustering and classification dataset's evaluation on cached encodings."""
    for family in ("clustering", "classification"):
        cell_cfg = config(compose_default_cache(), max_items, f"task={family}")
        started = time.perf_counter()
        record = run_cell(cell_cfg)
        wall = time.perf_counter() - started
        print(f"\n== {family} on the cache: {wall:.1f} s for the cell = {60 / wall:.1f} cells/min "
              f"(encode {record['timings']['encode']:.1f} s, {record['encode']['sentences_computed']} sentences computed) ==")
        print(f"{'dataset':<28}{'items':>8}{'seconds':>10}{'accuracy':>10}")
        for key, info in record["datasets"].items():
            seconds = record["timings"][f"evaluate/{key}"] + record["timings"][f"postproc/{key}"]
            print(f"{key.split('/', 1)[1]:<28}{info['items']:>8}{seconds:>10.1f}{record['metrics'][f'{key}/accuracy']:>10.2f}")


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
