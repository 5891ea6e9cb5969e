"""`python -m sentgrid --help`: what sentgrid does, its config groups and choices (read from conf/), the
presets and the subcommands. Hydra's own help stays one flag away (`--hydra-help`)."""
from pathlib import Path

from .paths import CONF_DIR

USAGE = """sentgrid: sentence embeddings extracted from pretrained transformers, evaluated as a Hydra grid.

usage:
  python -m sentgrid [GROUP=CHOICE ...] [KEY=VALUE ...]   run one cell (defaults below)
  python -m sentgrid -m pooling=avg,max postproc=none,whiten   sweep a grid (Hydra multirun)
  python -m sentgrid -m +experiment=NAME                    run a preset (a paper table or figure)

subcommands:
  python -m sentgrid plan -m SWEEP            what a sweep costs (cells, forward passes, time) without running it
  python -m sentgrid export CELL --out DIR     the cell as a sentence-transformers or Model2Vec folder
  python -m sentgrid compare A B [C ...]      finished cells on the same items: intervals, differences, p-values
  python -m sentgrid paper [model=NAME]       the paper's experiments as sweeps, laid out as the paper (reports/paper/)
  python -m sentgrid cache verify [--fix]     check every cache entry and finished cell
  python -m sentgrid cache gc                 remove temporaries and unused entries
  python -m sentgrid cache du                 what the cache stores per model, kind and dataset; free space
  python -m sentgrid.data check               are the datasets there, with the expected rows and checksums?
  python -m sentgrid.tracking replay FOLDER   log result records MLflow lacks
  python -m sentgrid.report tables|figures    paper tables and figures (make tables, make figures)
  python -m sentgrid.tracking_server start|stop   MLflow on PostgreSQL on 127.0.0.1 (make tracking-server)
  python -m sentgrid.local_cluster            a local Ray head + tracking server and a sweep on it (make cluster-demo)

engines (-m hydra/launcher=NAME): joblib (processes here), ray (hydra.launcher.address=auto|host:port),
  slurm (hydra.launcher.partition=..., gpus_per_task=...); docs/scale-out.md
searches (-m hydra/sweeper=NAME): halving (hydra.sweeper.rungs=[100,400,null], eta, keep=top|tied),
  optuna (hydra.sweeper.n_trials=40, 'model.w=interval(0,1)', rungs to prune); docs/search.md
"""


def groups() -> dict[str, list[str]]:
    """Config group -> its choices, as conf/ holds them."""
    return {folder.name: sorted(p.stem for p in folder.glob("*.yaml"))
            for folder in sorted(Path(CONF_DIR).iterdir()) if folder.is_dir()}


def text() -> str:
    from omegaconf import OmegaConf

    defaults = {}
    for item in OmegaConf.load(Path(CONF_DIR) / "config.yaml").defaults:
        if isinstance(item, dict) or OmegaConf.is_dict(item):
            defaults.update(dict(item))
    lines = [USAGE, "config groups (GROUP=CHOICE; default marked *; GROUP.KEY=VALUE sets a value):"]
    for group, choices in groups().items():
        if group in ("experiment", "hydra"):  # presets and engines are listed apart
            continue
        marked = [f"{c}*" if defaults.get(group) == c else c for c in choices]
        lines.append(f"  {group:<10}{', '.join(marked)}")
    lines.append(f"\npresets (-m +experiment=NAME): {', '.join(groups().get('experiment', []))}")
    lines.append("other settings: data.root, cache.dir, cache.dtype, cache.layers, cache.max_gb, tracking.uri,\n"
                 "  tracking.experiment, corpus.*, diagnostics.enabled, stats.resamples, stats.level, force, fail_fast\n"
                 "  (see docs/running.md); every value: python -m sentgrid --cfg job"
)
    lines.append("Hydra's own help: python -m sentgrid --hydra-help")
    return "\n".join(lines)
