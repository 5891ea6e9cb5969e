"""A cell's headline scores on every resample, and their intervals: each dataset's, and each family
average's, whose resample b averages resample b of every dataset of the family (all resampled at once)."""
import numpy as np

from ..tasks import family
from .resample import Settings, interval


def per_resample(kept, settings: Settings | None = None) -> dict[str, np.ndarray]:
    """{metric name as recorded (`sts/STSB/spearman`, `sts/avg/spearman`): its value on each resample}."""
    settings = settings or kept.settings
    out = {}
    by_family: dict[str, list[str]] = {}
    for key, name in kept.families.items():
        by_family.setdefault(name, []).append(key)
        for metric, values in kept.resamples(key, settings).items():
            out[f"{key}/{metric}"] = values
    for name, keys in by_family.items():
        for metric in family(name).headline:
            if metric in family(name).averaged and all(f"{key}/{metric}" in out for key in keys):
                out[f"{name}/avg/{metric}"] = np.mean([out[f"{key}/{metric}"] for key in keys], axis=0)
    return out


def cell_intervals(kept, settings: Settings | None = None) -> dict[str, list[float]]:
    """{metric name: [low, high]} at the settings' level, rounded to 4 decimals (x100 scores)."""
    settings = settings or kept.settings
    return {name: [round(v, 4) for v in interval(values, settings.level)]
            for name, values in per_resample(kept, settings).items()}


RESAMPLED = ("STS and pair classification: the pairs of a dataset; classification: the evaluated items (each "
             "fold's or experiment's predictions kept, as the score averages them); clustering: the texts, with "
             "every seed's clusters kept (the score averages the seeds). A family average resamples each of its "
             "datasets at once. Percentile intervals.")
