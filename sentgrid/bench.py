"""`make bench`: sentgrid against its peer on the same data in the same run.

1. Encode throughput on the 8 STS datasets: sentgrid (all layers kept, cold cache, identical sentences
   encoded once) vs sentence-transformers `encode` of every pair's sentences, as MTEB does, at each
   compute precision asked for (--dtypes float32,bfloat16), on --device, for --model minilm | mpnet.
2. The full peer check: per-dataset Spearman of sentgrid's default cell vs sentence-transformers, and how
   far each precision moves it from float32.
3. Cells per minute for cells served from the cache, the cache hit rate, and peak memory.
4. (--sweeps) A cold 16-cell sweep (4 poolings x 4 post-processings, STS) vs one cold cell, and the
   same sweep re-run, as users run them (`python -m sentgrid -m ...`, fresh cache).
5. (--static) Building Avg. and training B2S on WikiText-2 with MiniLM: time and size.
4. What evidence costs: a cached STS cell with 1,000 resamples against 10 (intervals on against nearly off),
   and `make tables` (intervals, tied sets, effects) on a 100-cell sweep made from that cell's outputs.
6. (--tasks) A cached task=all cell as users run it (wall, time per family, resampling), `compare` of two
   finished task=all cells, and classification with sentgrid's float32 solver against scikit-learn's, per
   dataset, on the persistent cache.
7. plan's estimate against the measured wall time of the last sweeps run here (multirun/).

    python -m sentgrid.bench [--model mpnet] [--device cuda] [--dtypes float32,bfloat16] [--max-items N]
                             [--cells N] [--sweeps] [--static] [--tasks]
"""
import argparse
import contextlib
import json
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
    parser.add_argument("--model", default="minilm", help="a transformer config of conf/model (minilm, mpnet, ...)")
    parser.add_argument("--model-path", default=None, help="a local model folder instead of the config's path")
    parser.add_argument("--device", default="cpu", help="cpu | cuda | auto (default: cpu)")
    parser.add_argument("--dtypes", default="float32",
                        help="compute precisions to compare, comma-separated: float32,bfloat16,float16 (default: float32)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a config override for every cell timed, e.g. --set model.batch_size=256 (repeatable)")
    parser.add_argument("--max-items", type=int, default=None, help="an evenly spaced slice per dataset (default: all)")
    parser.add_argument("--cells", type=int, default=12, help="cached cells to time (default: 12)")
    parser.add_argument("--tasks", action="store_true",
                        help="also time clustering and classification per dataset on the persistent cache "
                             "(cache.dir; the first time encodes ~250k sentences, ~15 min with MiniLM on 2 cores)")
    parser.add_argument("--sweeps", action="store_true", help="time a cold 16-cell sweep against one cold cell")
    parser.add_argument("--static", action="store_true", help="time building Avg. and training B2S")
    args = parser.parse_args()
    register_resolvers()
    model = [f"model={args.model}", f"model.device={args.device}"]
    model += ([f"model.path={args.model_path}"] if args.model_path else []) + args.set
    with tempfile.TemporaryDirectory(prefix="sentgrid-bench-") as cache_dir:
        peer_check(cache_dir, model, args.dtypes.split(","), args.max_items)
        if args.cells:
            cached_cells(cache_dir, model, args.max_items, args.cells)
        evidence_costs(cache_dir, model, args.max_items)
    if args.sweeps:
        sweep_costs(args.max_items, model)
    if args.static:
        static_costs()
    if args.tasks:
        task_costs(args.max_items, model)
    plan_accuracy()
    print(f"\npeak memory (RSS) of this process: {peak_memory_mib():.0f} MiB")


def _since(started: float) -> float:
    """Seconds since `started`, once the GPU (if any) has finished its queued work."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - started


def peer_check(cache_dir, model: list[str], dtypes: list[str], max_items) -> None:
    """Encode throughput and Spearman, sentgrid against sentence-transformers `encode`, per precision."""
    import torch
    from sentence_transformers import SentenceTransformer

    from .data import data_root, load_sts
    from .encoders.transformer import resolve_device

    cfg = config(cache_dir, max_items, *model)
    root = data_root(cfg.data.root)
    datasets = {name: load_sts(name, root).take(max_items) for name in cfg.task.sts.datasets}
    slots = sum(2 * len(d) for d in datasets.values())
    distinct = sorted({s for d in datasets.values() for s in d.sentences})
    device = resolve_device(cfg.model.device)
    print(f"STS: {len(datasets)} datasets, {slots} sentence slots, {len(distinct)} distinct sentences "
          f"({sum(map(len, distinct))} characters); {cfg.model.name} on {device} "
          f"({torch.cuda.get_device_name() if device.type == 'cuda' else f'{torch.get_num_threads()} torch threads'})")
    peer = SentenceTransformer(cfg.model.path, device=str(device))
    peer.max_seq_length = int(cfg.model.max_length)
    results, cache_bytes, layers = {}, 0, None
    for dtype in dtypes:
        precision = (torch.autocast(device.type, dtype=getattr(torch, dtype)) if dtype != "float32"
                     else contextlib.nullcontext())
        batch_size = int(cfg.model.batch_size)
        started = time.perf_counter()
        with precision:  # the peer at the same precision: sentence-transformers as MTEB calls it, each side
            peer_vectors = {name: (peer.encode(d.sentences1, batch_size=batch_size),
                                   peer.encode(d.sentences2, batch_size=batch_size)) for name, d in datasets.items()}
        peer_seconds = _since(started)
        cell = config(cache_dir, max_items, *model, f"model.dtype={dtype}")
        encoder = TransformerEncoder(cell.model, Template("none", None))
        _ = encoder.model  # loaded outside the timing, as for the peer
        layers = encoder.num_layers + 1
        before = sum(f.stat().st_size for f in Path(cache_dir).rglob("*.npy"))
        started = time.perf_counter()
        _, stats = Workspace(CacheSpec(dir=cache_dir, dtype=cell.cache.dtype)).encoding.primitives(
            encoder, {n: d.sentences for n, d in datasets.items()}, "mean_all", [encoder.num_layers])
        seconds = _since(started)
        cache_bytes = sum(f.stat().st_size for f in Path(cache_dir).rglob("*.npy")) - before
        record = run_cell(cell)  # served by the entries just written
        spearman = {}
        for name, (a, b) in peer_vectors.items():
            cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
            spearman[name] = (record["metrics"][f"sts/{name}/spearman"], 100 * spearmanr(cos, datasets[name].scores).statistic)
        results[dtype] = {"seconds": seconds, "peer_seconds": peer_seconds, "spearman": spearman,
                          "computed": stats.as_dict()["sentences_computed"]}
        del encoder
    chars = sum(map(len, distinct))
    print(f"\n== encode: sentgrid (all {layers} layers x 5 primitives kept, cold) vs sentence-transformers encode ==")
    print(f"{'precision':<10}{'sentgrid s':>11}{'sent/s':>9}{'chars/s':>10}{'peer s':>9}{'ours/peer':>10}{'vs fp32':>9}")
    for dtype, r in results.items():
        speedup = results[dtypes[0]]["seconds"] / r["seconds"]
        print(f"{dtype:<10}{r['seconds']:>11.1f}{r['computed'] / r['seconds']:>9.0f}{chars / r['seconds']:>10.0f}"
              f"{r['peer_seconds']:>9.1f}{r['peer_seconds'] / r['seconds']:>9.2f}x{speedup:>8.2f}x")
    print(f"cache: {cache_bytes / 2**20:.0f} MiB for {len(distinct)} sentences = "
          f"{cache_bytes / 2**20 / len(distinct) * 1e4:.0f} MiB per 10k sentences ({layers} layers x 5 primitives, "
          f"{cfg.cache.dtype})")
    print(f"\n== Spearman x100, {cfg.model.name} last layer, mean pooling: sentgrid vs sentence-transformers, per precision ==")
    first = dtypes[0]
    header = "".join(f"{d:>12}{'s-t':>8}" for d in dtypes) + "".join(f"{d + '-' + first:>20}" for d in dtypes[1:])
    print(f"{'dataset':<10}{header}")
    for name in datasets:
        ours = {d: results[d]["spearman"][name] for d in dtypes}
        line = "".join(f"{ours[d][0]:>12.2f}{ours[d][1]:>8.2f}" for d in dtypes)
        line += "".join(f"{ours[d][0] - ours[first][0]:>+20.3f}" for d in dtypes[1:])
        print(f"{name:<10}{line}")
    for dtype, r in results.items():
        gap = max(abs(ours - theirs) for ours, theirs in r["spearman"].values())
        moved = max(abs(r["spearman"][n][0] - results[dtypes[0]]["spearman"][n][0]) for n in datasets)
        print(f"{dtype}: max |sentgrid - s-t| = {gap:.3f} points; max move from {dtypes[0]} = {moved:.3f} points")


def cached_cells(cache_dir, model: list[str], max_items, count: int) -> None:
    grid = [(p, q) for p in ("cls", "avg", "max") for q in ("none", "whiten", "quantile", "zscore")][:count]
    hits = requested = 0
    started = time.perf_counter()
    for pooling, post in grid:
        cell = run_cell(config(cache_dir, max_items, *model, f"pooling={pooling}", f"postproc={post}", "layer=first_last"))
        hits += cell["encode"]["cache_hits"]
        requested += cell["encode"]["sentences_requested"]
    seconds = time.perf_counter() - started
    print("\n== cells served from the cache (first+last layers, pooling x post-processing, in one process) ==")
    print(f"{len(grid)} cells in {seconds:.1f} s = {60 * len(grid) / seconds:.1f} cells/min; "
          f"cache hit rate {hits / max(requested, 1):.1%}")


def evidence_costs(cache_dir, model: list[str], max_items) -> None:
    """Intervals on a cached STS cell as users run it (`python -m sentgrid`, tracking on; 1,000 resamples vs 10,
    alternated so that the machine's drift falls on both), then the tables of a 100-cell sweep whose cells are
    that cell's outputs with noise added."""
    from .cells import FinishedCells

    slice_ = [f"task.max_items={max_items}"] if max_items else []
    walls: dict[int, list[float]] = {10: [], 1000: []}
    with tempfile.TemporaryDirectory(prefix="sentgrid-bench-") as folder:
        for resamples in (10, 1000) * 3:
            command = [sys.executable, "-m", "sentgrid", *model, *slice_, "force=true", f"cache.dir={cache_dir}",
                       f"stats.resamples={resamples}", f"tracking.uri=sqlite:///{folder}/mlflow.db",
                       f"hydra.run.dir={folder}/run"]
            started = time.perf_counter()
            run = subprocess.run(command, capture_output=True, text=True)
            walls[resamples].append(time.perf_counter() - started)
            if run.returncode != 0:
                raise SystemExit(f"bench: {' '.join(command)} failed:\n{run.stderr[-2000:]}")
        record = json.loads((Path(folder) / "run" / "result.json").read_text())
    resampling = sum(v for k, v in record["timings"].items() if k.startswith("resample/"))
    low, high = min(walls[10]), min(walls[1000])
    print("\n== intervals on a cached STS cell (python -m sentgrid, tracking on; best of 3 each) ==")
    print(f"1,000 resamples: {high:.2f} s; 10 resamples: {low:.2f} s; intervals add {high - low:+.2f} s = "
          f"{100 * (high - low) / low:+.1f} % (goal: <= +10 % and <= +2 s); resampling, summed over its threads: "
          f"{resampling:.2f} s")
    outputs = FinishedCells(cache_dir).outputs(record["cell_id"], record)
    with tempfile.TemporaryDirectory(prefix="sentgrid-bench-") as folder:
        seconds, cells = sweep_tables(Path(folder), record, outputs)
    print(f"make tables on a {cells}-cell STS sweep (intervals, tied sets, effects of 3 axes, from kept outputs): "
          f"{seconds:.1f} s (goal <= 30 s)")


def sweep_tables(folder: Path, record: dict, outputs, cells: int = 100) -> tuple[float, int]:
    """Seconds of `write_tables` on a synthetic sweep: `cells` copies of one cell (5 poolings x 4 post-processings
    x 5 layers as labels), each with the similarities moved by its own noise, outputs kept and indexed as a
    finished cell's are."""
    import copy

    from .cells import FinishedCells
    from .outputs import CellOutputs, checksum
    from .report.results import load
    from .report.tables import write_tables
    from .stats.intervals import cell_intervals
    from .stats.resample import resampled
    from .tasks import family

    finished, rng = FinishedCells(folder / "cache"), np.random.default_rng(0)
    grid = [(p, q, layer) for p in ("avg", "cls", "max", "weightedmean", "mean_sqrt_len")
            for q in ("none", "zscore", "whiten", "quantile") for layer in range(2, 7)][:cells]
    for job, (pooling, post, layer) in enumerate(grid):
        kept = CellOutputs({}, {}, outputs.settings, dict(outputs.families))
        metrics = {}
        for key, named in outputs.outputs.items():
            moved = {**named, "similarity": named["similarity"] + rng.normal(0, 0.02 * (job % 7), len(named["similarity"]))}
            kept.outputs[key] = moved
            kept.resampled[key] = resampled(family(kept.families[key]).scorer, key, moved, kept.settings)
            metrics.update({f"{key}/{m}": v for m, v in family(kept.families[key]).scorer.rescore(moved).items()})
        keys = list(outputs.outputs)
        metrics["sts/avg/spearman"] = float(np.mean([metrics[f"{k}/spearman"] for k in keys]))
        cell = copy.deepcopy(record)
        cell["config"]["pooling"]["name"], cell["config"]["postproc"]["name"] = pooling, post
        cell["config"]["cache"]["dir"] = str(folder / "cache")
        cell["resolved"]["layers"] = [layer]
        identity = f"{job:064x}"
        packed = kept.pack()
        cell.update(cell_id=identity, metrics=metrics, intervals=cell_intervals(kept),
                    outputs={"sha256": checksum(packed)}, tags={"cell": f"job{job}", "started_at": "", "sweep_dir": ""})
        (folder / "sweep" / str(job)).mkdir(parents=True)
        (folder / "sweep" / str(job) / "result.json").write_text(json.dumps(cell))
        finished.mark(identity, folder / "sweep" / str(job) / "result.json", cell, packed)
    started = time.perf_counter()
    write_tables(load("records", sweeps=[str(folder / "sweep")]), folder / "tables")
    return time.perf_counter() - started, len(grid)


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


def sweep_costs(max_items, model: list[str]) -> None:
    slice_ = [f"task.max_items={max_items}"] if max_items else []
    with tempfile.TemporaryDirectory(prefix="sentgrid-bench-") as one, \
            tempfile.TemporaryDirectory(prefix="sentgrid-bench-") as many:
        cell, _ = _cli(Path(one), *model, *slice_)
        cold, _ = _cli(Path(many), "-m", *SWEEP, *model, *slice_)
        again, out = _cli(Path(many), "-m", *SWEEP, *model, *slice_)
    print(f"\n== a cold 16-cell sweep (4 poolings x 4 post-processings, STS, {' '.join(model)}) vs one cold cell ==")
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


def task_costs(max_items, model: list[str]) -> None:
    """A cached task=all cell as users run it (wall time, time per family), then classification with each
    solver side by side: sentgrid's float32 L-BFGS against scikit-learn's, per dataset, on the same vectors."""
    import json

    slice_ = [f"task.max_items={max_items}"] if max_items else []
    with tempfile.TemporaryDirectory(prefix="sentgrid-bench-") as folder:
        command = [sys.executable, "-m", "sentgrid", "task=all", *model, *slice_, f"hydra.run.dir={folder}/run",
                   f"tracking.uri=sqlite:///{folder}/mlflow.db"]
        for attempt in (command, [*command, "force=true"]):  # the first encodes what the persistent cache lacks
            started = time.perf_counter()
            run = subprocess.run(attempt, capture_output=True, text=True)
            if run.returncode != 0:
                raise SystemExit(f"bench: {' '.join(attempt)} failed:\n{run.stderr[-2000:]}")
        wall = time.perf_counter() - started
        record = json.loads((Path(folder) / "run" / "result.json").read_text())
    families, resampling = {}, {}
    for key, seconds in record["timings"].items():
        if key.startswith("evaluate/"):
            families[key.split("/")[1]] = families.get(key.split("/")[1], 0.0) + seconds
        if key.startswith("resample/"):
            resampling[key.split("/")[1]] = resampling.get(key.split("/")[1], 0.0) + seconds
    print(f"\n== a cached task=all cell ({' '.join(model)}; force=true on a warm cache, as users run it) ==")
    print(f"wall {wall:.1f} s (goal <= 20 s with MiniLM); in the cell: reading the cache {record['timings']['encode']:.1f} s, "
          f"total {record['timings']['total']:.1f} s; evaluation summed over datasets (side by side in workers): "
          + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in families.items()))
    print("resampling (1,000 resamples) summed over datasets: " + ", ".join(f"{name} {seconds:.1f} s"
                                                                         for name, seconds in resampling.items()))
    headline = {k: v for k, v in record["metrics"].items() if "/avg/" in k and "_" not in k.rsplit("/", 1)[1]}
    print("averages: " + ", ".join(f"{k} {v:.2f}" for k, v in headline.items()))
    other = subprocess.run([*command, "pooling=max"], capture_output=True, text=True)  # a second finished task=all cell
    if other.returncode == 0:
        started = time.perf_counter()
        other_cell = " ".join(["task=all", *model, *slice_, "pooling=max"])
        compared = subprocess.run([sys.executable, "-m", "sentgrid", "compare", record["cell_id"], other_cell],
                                  capture_output=True, text=True)
        print(f"compare of two finished task=all cells: {time.perf_counter() - started:.1f} s (goal <= 5 s)"
              + ("" if compared.returncode == 0 else f"; failed: {compared.stderr.strip()}"))
    runs = {solver: run_cell(config(compose_default_cache(), max_items, *model, "task=classification",
                                    f"task.classification.senteval.solver={solver}"))
            for solver in ("float32", "sklearn")}
    print("\n== classification on the cache: sentgrid's float32 solver vs scikit-learn's (same vectors, protocol) ==")
    print(f"{'dataset':<26}{'items':>7}{'s float32':>10}{'s sklearn':>10}{'acc f32':>9}{'acc sk':>8}{'f1 f32':>8}{'f1 sk':>8}")
    seconds = {solver: 0.0 for solver in runs}
    for key, info in runs["float32"]["datasets"].items():
        row = {solver: (run["timings"][f"evaluate/{key}"], run["metrics"][f"{key}/accuracy"], run["metrics"][f"{key}/f1"])
               for solver, run in runs.items()}
        for solver in runs:
            seconds[solver] += row[solver][0]
        print(f"{key.split('/', 1)[1]:<26}{info['items']:>7}{row['float32'][0]:>10.1f}{row['sklearn'][0]:>10.1f}"
              f"{row['float32'][1]:>9.2f}{row['sklearn'][1]:>8.2f}{row['float32'][2]:>8.2f}{row['sklearn'][2]:>8.2f}")
    averages = {solver: (run["metrics"]["classification/avg/accuracy"], run["metrics"]["classification/avg/f1"])
                for solver, run in runs.items()}
    print(f"{'average':<33}{seconds['float32']:>10.1f}{seconds['sklearn']:>10.1f}{averages['float32'][0]:>9.2f}"
          f"{averages['sklearn'][0]:>8.2f}{averages['float32'][1]:>8.2f}{averages['sklearn'][1]:>8.2f}")
    moved = [averages["float32"][i] - averages["sklearn"][i] for i in (0, 1)]
    print(f"float32 is {seconds['sklearn'] / seconds['float32']:.1f}x faster; its averages differ by {moved[0]:+.3f} "
          f"accuracy, {moved[1]:+.3f} F1 (goal: within 0.1)")


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
