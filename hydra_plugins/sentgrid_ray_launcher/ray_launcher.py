"""`hydra/launcher=ray`: each cell of a sweep as a Ray task on an existing cluster.

A thin launcher on Ray's public API (`ray.init`, `ray.remote`, `ray.get`) and Hydra's own `run_job`, as
the joblib launcher does with local processes. Each job's config is composed here, in the driver, and
sent whole, so workers need sentgrid installed (its configs travel in the package) but not this folder.
Workers get the driver's environment variables named in `env` and `SENTGRID_HOME` (so relative default
places resolve as in the driver); a task's resources are `num_cpus` and `num_gpus` (a GPU task encodes
on its GPU: `model.device=auto`).
"""
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, configure_log, filter_overrides, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict

log = logging.getLogger(__name__)

PASSED_ENV = ["SENTGRID_DATA", "SENTGRID_CACHE", "SENTGRID_MODELS", "SENTGRID_MEMORY_CACHE_GB", "MLFLOW_TRACKING_URI",
              "RAY_AUTH_MODE", "RAY_AUTH_TOKEN_PATH",
              "MLFLOW_DISABLE_TELEMETRY", "HF_HOME", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"]


@dataclass
class RayLauncherConf:
    _target_: str = "hydra_plugins.sentgrid_ray_launcher.ray_launcher.RayLauncher"
    # auto: the running cluster (RAY_ADDRESS, or the one started on this machine); local: a new one in
    # this process; host:port or ray://host:port: that cluster
    address: str = "auto"
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    env: list = field(default_factory=lambda: list(PASSED_ENV))
    runtime_env: dict = field(default_factory=dict)  # merged into Ray's runtime environment (pip, env_vars, ...)
    log_to_driver: bool = False  # each job's log is in its job folder; true streams every worker's output here
    # a cell whose worker dies (a node lost, preempted, out of memory) runs again this many times (Ray's own
    # retry); after that it is recorded as failed, with the reason, and the sweep goes on
    max_retries: int = 1


ConfigStore.instance().store(group="hydra/launcher", name="ray", node=RayLauncherConf, provider="sentgrid")


def run_cell(config: DictConfig, hydra_context: HydraContext, task_function: TaskFunction, state: dict) -> JobReturn:
    """One Hydra job inside a Ray worker."""
    from sentgrid.paths import register_resolvers

    register_resolvers()  # the config's ${sentgrid_home:} and ${minilm_path:} resolve here, on the worker
    setup_globals()
    Singleton.set_state(state)
    HydraConfig.instance().set_config(config)
    return run_job(hydra_context=hydra_context, config=config, task_function=task_function,
                   job_dir_key="hydra.sweep.dir", job_subdir_key="hydra.sweep.subdir")


class RayLauncher(Launcher):
    def __init__(self, address: str = "auto", num_cpus: float = 1.0, num_gpus: float = 0.0, env: Sequence[str] = (),
                 runtime_env: dict | None = None, log_to_driver: bool = False, max_retries: int = 1) -> None:
        self.address, self.num_cpus, self.num_gpus = str(address), float(num_cpus), float(num_gpus)
        self.max_retries = int(max_retries)
        self.env, self.log_to_driver = list(env), bool(log_to_driver)
        self.runtime_env = OmegaConf.to_container(runtime_env, resolve=True) if isinstance(runtime_env, DictConfig) \
            else dict(runtime_env or {})
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.task_function: TaskFunction | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function

    def _connect(self) -> None:
        import ray

        from sentgrid.paths import home

        env = {name: os.environ[name] for name in self.env if name in os.environ}
        for name in ("SENTGRID_DATA", "SENTGRID_CACHE", "SENTGRID_MODELS"):  # folders: absolute wherever a worker runs
            if env.get(name):
                env[name] = os.path.abspath(env[name])
        env["SENTGRID_HOME"] = str(home())
        runtime_env = {**self.runtime_env, "env_vars": {**self.runtime_env.get("env_vars", {}), **env}}
        if not ray.is_initialized():
            ray.init(address=None if self.address == "local" else self.address, runtime_env=runtime_env,
                     include_dashboard=False, log_to_driver=self.log_to_driver)
        addresses = sorted({node["NodeManagerAddress"] for node in ray.nodes() if node.get("Alive")})
        if os.environ.get("RAY_AUTH_MODE") != "token" and any(not a.startswith("127.") for a in addresses):
            log.warning(f"the Ray cluster ({', '.join(addresses)}) runs without token authentication on addresses "
                        f"beyond this machine: anyone who reaches its ports can run code on it. Start it with "
                        f"RAY_AUTH_MODE=token (docs/scale-out.md), on a trusted network only.")

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        import ray

        setup_globals()
        assert self.config is not None and self.hydra_context is not None and self.task_function is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        self._connect()
        log.info(f"Ray launcher: {len(job_overrides)} jobs on a cluster with {ray.cluster_resources().get('CPU', 0):g} "
                 f"CPUs and {ray.cluster_resources().get('GPU', 0):g} GPUs ({self.num_cpus:g} CPU, {self.num_gpus:g} GPU "
                 f"per job)")
        # Ray retries a task whose worker died (not one whose cell raised: sentgrid records those itself)
        task = ray.remote(run_cell).options(num_cpus=self.num_cpus, num_gpus=self.num_gpus,
                                            max_retries=self.max_retries, retry_exceptions=False)
        state = Singleton.get_state()
        pending = []
        for number, overrides in enumerate(job_overrides, start=initial_job_idx):
            log.info(f"\t#{number} : {' '.join(filter_overrides(overrides))}")
            config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
            with open_dict(config):
                config.hydra.job.id, config.hydra.job.num = f"ray_{number}", number
            pending.append((config, overrides, task.remote(config, self.hydra_context, self.task_function, state)))
        return [self._result(ray, config, overrides, ref) for config, overrides, ref in pending]

    def _result(self, ray, config: DictConfig, overrides: Sequence[str], ref) -> JobReturn:
        """The job's return; for a job whose worker died on every try (a crashed process or node, out of memory),
        a failed record in its job folder with the reason, as a cell that fails records itself, and a return
        the sweep goes on from (the other cells finish; the summary and exit code say it failed)."""
        try:
            return ray.get(ref)
        except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError, ray.exceptions.OutOfMemoryError,
                ray.exceptions.TaskUnschedulableError, ray.exceptions.RayActorError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        from sentgrid import tracking

        job_dir = Path(str(config.hydra.sweep.dir)) / str(config.hydra.sweep.subdir)
        job_dir.mkdir(parents=True, exist_ok=True)
        cell = ",".join(filter_overrides(overrides)) or "defaults"
        error = (f"the Ray worker running it died on each of its {self.max_retries + 1} tries "
                 f"(hydra.launcher.max_retries={self.max_retries}): {reason}")
        tracking.write_record({"status": "failed", "error": error, "tags": {
            "cell": cell, "job_dir": str(job_dir), "sweep_dir": str(config.hydra.sweep.dir)}}, job_dir)
        log.error(f"cell {cell} failed: {error}")
        result = JobReturn()
        result.overrides, result.working_dir, result.status = list(overrides), str(job_dir), JobStatus.COMPLETED
        result.return_value = None
        return result


__all__: list[Any] = ["RayLauncher", "RayLauncherConf"]
