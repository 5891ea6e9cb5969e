"""What a search maximises: one recorded metric (`sts/avg/spearman`), or a weighted mean of several
(`sts/avg/spearman+clustering/avg/accuracy`, `0.7*sts/avg/spearman+0.3*clustering/avg/accuracy`)."""
import re
from dataclasses import dataclass

import numpy as np

from ..errors import SentgridError

TERM = re.compile(r"^(?:(?P<weight>\d+(?:\.\d*)?|\.\d+)\*)?(?P<metric>[\w.-]+(?:/[\w.-]+)+)$")


@dataclass(frozen=True)
class Objective:
    terms: tuple  # ((weight, metric), ...)
    setting: str = "hydra.sweeper.objective"

    @classmethod
    def parse(cls, text, families: list[str], setting: str = "hydra.sweeper.objective") -> "Objective":
        """`text` as an objective; empty: the first family's headline average (what every cell returns to Hydra)."""
        from ..tasks import family

        if not text:
            first = family(families[0])
            return cls(((1.0, f"{first.name}/avg/{first.headline[0]}"),), setting)
        terms = []
        for part in str(text).replace(" ", "").split("+"):
            match = TERM.match(part)
            if not match or float(match["weight"] or 1) <= 0:
                raise SentgridError(f"{setting}={text!r}: {part!r} is not a metric (e.g. sts/avg/spearman) or a "
                                    f"positive weight times one (0.7*sts/avg/spearman); join terms with +.")
            name = match["metric"].split("/")[0]
            if name not in families:
                raise SentgridError(f"{setting}={text!r} names {name!r}, which the cells do not score (task.families: "
                                    f"{', '.join(families)}).")
            terms.append((float(match["weight"] or 1), match["metric"]))
        return cls(tuple(terms), setting)

    @property
    def label(self) -> str:
        if len({weight for weight, _ in self.terms}) == 1:  # one metric, or the plain mean of several
            return " + ".join(metric for _, metric in self.terms)
        return " + ".join(f"{weight:g}*{metric}" for weight, metric in self.terms)

    @property
    def metrics(self) -> list[str]:
        return [metric for _, metric in self.terms]

    def of(self, metrics: dict) -> float:
        """The weighted mean of the terms in a record's metrics; NaN when one is missing or not finite."""
        values = [metrics.get(metric, float("nan")) for _, metric in self.terms]
        total = sum(weight for weight, _ in self.terms)
        value = sum(weight * float(v) for (weight, _), v in zip(self.terms, values)) / total
        return value if np.isfinite(value) else float("nan")

    def resampled(self, per_resample: dict) -> np.ndarray | None:
        """The objective on each bootstrap resample (stats/intervals.per_resample), or None when a term has none
        (the tied set is judged on family averages of headline metrics)."""
        if any(metric not in per_resample for metric in self.metrics):
            return None
        total = sum(weight for weight, _ in self.terms)
        return sum(weight * per_resample[metric] for weight, metric in self.terms) / total
