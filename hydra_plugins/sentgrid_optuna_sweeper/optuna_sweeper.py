"""`hydra/sweeper=optuna`: a search on a current Optuna through its ask/tell API (Hydra's own Optuna sweeper pins
optuna<3 and has no pruning).

    python -m sentgrid -m hydra/sweeper=optuna hydra.sweeper.n_trials=40 model=bert_avg \\
        'model.w=interval(0,1)' layer=index 'layer.index=range(0,7)' postproc=none,whiten,quantile \\
        'hydra.sweeper.rungs=[100,400,null]'

Each trial is an ordinary cell (recorded, skipped when finished, logged to MLflow with its trial number and rung
as tags, on any launcher), so a trial that asks for a cell some earlier sweep finished costs nothing. With
`rungs`, a trial's cell runs on each rung's nested slice in turn, its objective reported to Optuna at each, and
the pruner (median by default) stops the trials that fall behind. The study lives beside the tracking store
(`optuna.db` beside an SQLite MLflow store; `hydra.sweeper.storage` names any other, a PostgreSQL URL too) and is
resumed by its name (`hydra.sweeper.study_name`; by default one made from the search space, rungs and objective,
so the same command resumes it): `n_trials` counts the study's finished trials, and a trial an interrupted run left running
is asked again (its cell, if it finished, is then skipped). A searched setting the trial's cell does not read
(SIF's `a` without SIF weighting) is left at its default, so such trials are one cell, run once.
"""
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

SAMPLERS = ("tpe", "random")
PRUNERS = ("median", "halving", "none")


@dataclass
class OptunaSweeperConf:
    _target_: str = "hydra_plugins.sentgrid_optuna_sweeper.optuna_sweeper.OptunaSweeper"
    study_name: str | None = None   # default: search-<hash of the space, rungs and objective>: the same command resumes
    storage: str | None = None   # default: optuna.db beside an SQLite tracking store, else in the home folder
    n_trials: int = 20              # the study's size: a resumed study runs what is missing
    n_jobs: int = 1                 # trials asked at once: one launcher batch (parallel on joblib, Ray, SLURM)
    sampler: str = "tpe"            # tpe | random
    seed: int = 0
    pruner: str = "median"          # median | halving | none (with rungs)
    rungs: list[Any] | None = None  # items per dataset on each rung, e.g. [100,400,null]; none: one run each
    objective: str | None = None  # as hydra/sweeper=halving's
    params: dict[str, str] | None = None  # a preset's search space


ConfigStore.instance().store(group="hydra/sweeper", name="optuna", node=OptunaSweeperConf, provider="sentgrid")


def default_storage(tracking_uri: str) -> str:
    """optuna.db beside an SQLite MLflow store; in the home folder otherwise."""
    from sentgrid.paths import home

    if str(tracking_uri).startswith("sqlite:///"):
        return f"sqlite:///{Path(str(tracking_uri).removeprefix('sqlite:///')).parent / 'optuna.db'}"
    return f"sqlite:///{home() / 'optuna.db'}"


class OptunaSweeper(Sweeper):
    def __init__(self, study_name=None, storage=None, n_trials=20, n_jobs=1, sampler="tpe", seed=0,
                 pruner="median", rungs=None, objective=None, params=None) -> None:
        self.study_name, self.storage, self.seed = study_name, storage, int(seed)
        self.n_trials, self.n_jobs = int(n_trials), int(n_jobs)
        self.sampler, self.pruner, self.objective = str(sampler), str(pruner), objective
        self.rungs = list(rungs) if rungs is not None else None
        self.params = dict(params or {})
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.launcher = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        from hydra.core.plugins import Plugins

        self.config, self.hydra_context = config, hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(hydra_context=hydra_context,
                                                                task_function=task_function, config=config)

    def _settings(self, arguments):
        """(space, halving settings or None, objective), each setting checked: one sentence naming it."""
        from sentgrid.errors import SentgridError
        from sentgrid.search.halving import Halving, refuse_owned
        from sentgrid.search.objective import Objective
        from sentgrid.search.space import space_of

        for setting, value, choices in (("sampler", self.sampler, SAMPLERS), ("pruner", self.pruner, PRUNERS)):
            if value not in choices:
                raise SentgridError(f"hydra.sweeper.{setting}={value!r}: choose one of {', '.join(choices)}.")
        if self.n_trials < 1 or self.n_jobs < 1:
            raise SentgridError(f"hydra.sweeper.n_trials={self.n_trials} and hydra.sweeper.n_jobs={self.n_jobs} "
                                f"must be whole numbers >= 1.")
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        space = space_of(parser.parse_overrides([f"{k}={v}" for k, v in self.params.items()] + list(arguments)))
        families = list(self.config.task.families)
        rungs = None
        if self.rungs is not None:
            refuse_owned([list(space.fixed) + [key for _, key in space.keys]])
            rungs = Halving.from_config(OmegaConf.create({"rungs": self.rungs, "eta": 3, "keep": "top",
                                                          "objective": self.objective}), families)
        objective = Objective.parse(self.objective, families)
        if self.study_name is None:  # the same search (space, rungs, objective) finds its study again
            what = json.dumps([list(space.fixed), {k: repr(d) for k, d in space.distributions.items()}, self.rungs,
                               objective.label], sort_keys=True, default=str)
            self.study_name = f"search-{hashlib.sha256(what.encode()).hexdigest()[:10]}"
        return space, rungs, objective

    def _study(self):
        import optuna

        storage = self.storage or default_storage(self.config.tracking.uri)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        # A resumed study's sampler is seeded on from its trials so far: the same seed would ask the same points again
        seed = self.seed + len(optuna.load_study(study_name=self.study_name, storage=storage).trials) \
            if self.study_name in {s.study_name for s in optuna.get_all_study_summaries(storage)} else self.seed
        samplers = {"tpe": lambda: optuna.samplers.TPESampler(seed=seed),
                    "random": lambda: optuna.samplers.RandomSampler(seed=seed)}
        pruners = {"median": lambda: optuna.pruners.MedianPruner(n_startup_trials=2),
                   "halving": optuna.pruners.SuccessiveHalvingPruner, "none": optuna.pruners.NopPruner}
        study = optuna.create_study(study_name=self.study_name, storage=storage, direction="maximize",
                                    sampler=samplers[self.sampler](), pruner=pruners[self.pruner](),
                                    load_if_exists=True)
        for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            if trial.params:  # cut short last time: asked again (one killed while it was asked has no params yet)
                study.enqueue_trial(trial.params, skip_if_exists=False)
            cut = Path(trial.user_attrs.get("job_dir", "")) / "result.json"
            if trial.user_attrs.get("job_dir") and cut.is_file():  # kept, but no longer this sweep's failure
                cut.rename(cut.with_name("result.interrupted.json"))
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
            study.set_user_attr(f"requeued_{trial.number}", True)
        return study, storage

    def sweep(self, arguments: list[str]) -> Any:
        import optuna

        from sentgrid.errors import SentgridError

        try:
            space, rungs, objective = self._settings(arguments)
            study, storage = self._study()
        except SentgridError as exc:
            print(f"sentgrid: error: {exc}", file=sys.stderr, flush=True)
            sys.exit(2)
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL)
        requeued = {int(k.split("_")[1]) for k in study.user_attrs if k.startswith("requeued_")}
        done = sum(t.number not in requeued for t in study.get_trials(deepcopy=False, states=states))
        print(f"optuna: study {self.study_name!r} in {storage}: {done} of {self.n_trials} trials finished; "
              f"objective {objective.label}" + (f"; rungs {self.rungs}, pruner {self.pruner}" if rungs else ""),
              flush=True)
        job = 1 + max((int(p.name) for p in sweep_dir.iterdir() if p.name.isdigit()), default=-1)
        returns, started = [], time.time()
        while done < self.n_trials:
            trials = [study.ask(space.distributions) for _ in range(min(self.n_jobs, self.n_trials - done))]
            job = self._run(trials, space, rungs, objective, study, sweep_dir, job, returns)
            done += len(trials)
            self._write(study, sweep_dir, objective, time.time() - started)
        print("\n" + self._table(study, objective), flush=True)
        return returns

    def _run(self, trials, space, rungs, objective, study, sweep_dir: Path, job: int, returns: list) -> int:
        """Run a batch of trials through the rungs (one launcher batch per rung); tell Optuna each outcome."""
        import optuna

        from sentgrid.search.scored import job_dir_of, score

        steps = range(len(rungs.rungs)) if rungs else [None]
        alive = list(trials)
        for step in steps:
            if not alive:
                break
            extra = rungs.overrides(step) if rungs else []
            cells, notes = [], []
            for trial in alive:
                cell, unread = space.cell(trial.params)
                cells.append(cell + extra + [f"+tracking.tags.trial={trial.number}"])
                if unread and step in (None, 0):
                    trial.set_user_attr("unread", unread)
                    notes.append(f"optuna: trial {trial.number}'s cell does not read {', '.join(unread)}: left at "
                                 f"the default, it is the cell any other value would give")
            where = "" if step is None else f" on rung {step} ({rungs.rungs[step] or 'all'} items)"
            print(f"\n== optuna: trial{'s' * (len(alive) > 1)} {', '.join(str(t.number) for t in alive)}{where} ==",
                  *notes, sep="\n", flush=True)
            for i, trial in enumerate(alive):  # where a cut trial's record is, when the study is resumed
                trial.set_user_attr("job_dir", str(sweep_dir / str(job + i)))
            results = self.launcher.launch(cells, initial_job_idx=job)
            returns.append(results)
            last = step is None or step == len(rungs.rungs) - 1
            going_on = []
            for i, (trial, result) in enumerate(zip(alive, results)):
                scored = score(cells[i], job_dir_of(result, sweep_dir, job + i), objective)
                trial.set_user_attr("job_dir", str(scored.job_dir))
                if not scored.ok:
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                elif last:
                    study.tell(trial, scored.value)
                else:
                    trial.report(scored.value, step)
                    if trial.should_prune():
                        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                    else:
                        going_on.append(trial)
            job += len(cells)
            alive = going_on
        return job

    def _write(self, study, sweep_dir: Path, objective, seconds: float) -> None:
        """optuna.json: every trial of the study (this run's and earlier ones), rewritten after each batch."""
        trials = [{"number": t.number, "state": t.state.name, "value": t.value, "params": t.params,
                   "steps": {str(k): v for k, v in t.intermediate_values.items()},
                   "job_dir": t.user_attrs.get("job_dir"), "unread": t.user_attrs.get("unread", [])}
                  for t in study.get_trials(deepcopy=False)]
        path = sweep_dir / "optuna.json"
        path.with_suffix(".tmp").write_text(json.dumps({"study": self.study_name, "objective": objective.label,
                                                        "seconds": round(seconds, 1), "trials": trials}, indent=1))
        path.with_suffix(".tmp").replace(path)

    def _table(self, study, objective) -> str:
        import optuna

        trials = study.get_trials(deepcopy=False)
        complete = sorted((t for t in trials if t.state == optuna.trial.TrialState.COMPLETE), key=lambda t: -t.value)
        counts = {s.name.lower(): sum(t.state == s for t in trials) for s in optuna.trial.TrialState}
        lines = [f"optuna: study {self.study_name!r}, {objective.label}: "
                 + ", ".join(f"{n} {s}" for s, n in counts.items() if n)]
        for trial in complete[:10]:
            params = " ".join(f"{k}={_short(v)}" for k, v in trial.params.items())
            lines.append(f"  {'*' if trial is complete[0] else ' '} trial {trial.number:>4}  {trial.value:8.2f}  {params}")
        return "\n".join(lines)


def _short(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
