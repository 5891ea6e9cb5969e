"""`python -m sentgrid` runs one grid cell; `python -m sentgrid -m ...` sweeps (Hydra multirun)."""
import logging
import sys
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig
from omegaconf.errors import MissingMandatoryValue

from .errors import SentgridError
from .paths import register_resolvers

log = logging.getLogger("sentgrid")
register_resolvers()


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> float:
    from . import pipeline, tracking  # heavy imports after Hydra has parsed the command line

    hydra_cfg = HydraConfig.get()
    job_dir = Path(hydra_cfg.runtime.output_dir)
    tags = {"cell": hydra_cfg.job.override_dirname or "defaults", "job_dir": str(job_dir),
            "sweep_dir": hydra_cfg.sweep.dir if hydra_cfg.mode.name == "MULTIRUN" else hydra_cfg.run.dir,
            "git_commit": tracking.git_commit(), "started_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    try:
        try:
            record = pipeline.run_cell(cfg)
        except MissingMandatoryValue as exc:
            raise SentgridError(f"{exc.full_key} has no value; set it on the command line ({exc.full_key}=...).")
    except SentgridError as exc:
        tracking.write_record({"status": "failed", "error": str(exc), "tags": tags}, job_dir)
        print(f"sentgrid: error: {exc}", file=sys.stderr)
        sys.exit(2)
    record["tags"] = tags
    tracking.write_record(record, job_dir)  # before anything else can fail
    log.info("encode: %s", record["encode"])
    print(f"\n{tags['cell']}\n{pipeline.summary_table(record)}\n", flush=True)
    if cfg.tracking.enabled:
        tracking.track(record, job_dir, cfg.tracking.uri, cfg.tracking.experiment)
    family = cfg.task.families[0]
    return record["metrics"].get(f"{family}/avg/{pipeline.HEADLINE[family][0]}")


if __name__ == "__main__":
    main()
