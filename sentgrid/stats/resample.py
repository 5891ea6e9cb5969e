"""Bootstrap resamples of a dataset's items, drawn from a seed, the dataset's name and its size: every cell
scored on the same items sees the same resamples, so two cells are compared resample by resample.

A resample is kept as counts (how often each item was drawn), not as indices: a statistic weighted by the
counts equals the statistic of the drawn items (ties and all), and needs no copy of the data per resample."""
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..errors import SentgridError

ITEMS_PER_CHUNK = 1_000_000  # draws scored at once: 100 resamples of 10k items, 8 MB per array of floats


@dataclass(frozen=True)
class Settings:
    """`stats.*`: how many resamples, the interval's level, the seed. They change intervals, never scores, so
    they are not part of a cell's identity (a finished cell's intervals are recomputed from its outputs)."""
    resamples: int = 1000
    level: float = 0.95
    seed: int = 0

    @classmethod
    def from_config(cls, node) -> "Settings":
        node = dict(node or {})
        resamples, level, seed = node.get("resamples", 1000), node.get("level", 0.95), node.get("seed", 0)
        if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 10:
            raise SentgridError(f"stats.resamples={resamples!r} must be a whole number >= 10 (bootstrap resamples).")
        if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
            raise SentgridError(f"stats.level={level!r} must be a number between 0 and 1 (e.g. 0.95).")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise SentgridError(f"stats.seed={seed!r} must be a whole number >= 0.")
        return cls(resamples, float(level), seed)

    def as_dict(self) -> dict:
        return {"resamples": self.resamples, "level": self.level, "seed": self.seed}


def counts(key: str, n: int, settings: Settings) -> Iterator[np.ndarray]:
    """The resamples of dataset `key`'s `n` items, about `ITEMS_PER_CHUNK` draws at a time: (resamples, n) draw
    counts, as floats (what the weighted sums multiply by)."""
    rng = np.random.default_rng([settings.seed, zlib.crc32(key.encode()), n])
    per_chunk = max(1, ITEMS_PER_CHUNK // n)
    done = 0
    while done < settings.resamples:
        m = min(per_chunk, settings.resamples - done)
        drawn = rng.integers(0, n, size=(m, n), dtype=np.int32)
        chunk = np.empty((m, n))
        for row, items in enumerate(drawn):
            chunk[row] = np.bincount(items, minlength=n)
        yield chunk
        done += m


def resampled(scorer, key: str, outputs: dict, settings: Settings) -> dict[str, np.ndarray]:
    """{metric: its value on each resample} for one dataset's stored outputs, from its family's scorer."""
    parts = [scorer.resampled(outputs, chunk) for chunk in counts(key, len(outputs["gold"]), settings)]
    return {metric: np.concatenate([part[metric] for part in parts]) for metric in parts[0]}


def interval(values: np.ndarray, level: float) -> tuple[float, float]:
    """The percentile interval; resamples on which the score is undefined (a tiny slice drawing one class only)
    are left out."""
    values = values[np.isfinite(values)]
    if not len(values):
        return float("nan"), float("nan")
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)
