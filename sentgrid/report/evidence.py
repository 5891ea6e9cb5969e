"""What the tables say about which differences are real: each cell's scores on the bootstrap resamples (from
the per-item outputs kept beside its record in its cache's finished-cell index), the set of cells tied with
the best (stats/paired.py), and intervals as text. Cells that finished before outputs were kept have none:
the tables mark them `?` and say how many there are."""
import numpy as np
import pandas as pd

from ..stats import Settings
from ..stats.paired import tied_with_best
from ..stats.resample import interval

NO_OUTPUTS = "?"


class Evidence:
    """Resampled scores of the cells of a results frame, loaded once per cell."""

    def __init__(self, frame: pd.DataFrame, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.rows = {row["cell_id"]: row for _, row in frame.iterrows()} if not frame.empty else {}
        self._values: dict[str, dict | None] = {}

    def values(self, cell: str) -> dict | None:
        """{metric name: its value on each resample} of a cell, or None when it has no (readable) outputs."""
        if cell not in self._values:
            self._values[cell] = self._load(cell)
        return self._values[cell]

    def _load(self, cell: str) -> dict | None:
        from ..cells import FinishedCells, stored_record
        from ..outputs import DamagedOutputs
        from ..stats.intervals import per_resample

        cache = self.rows.get(cell, {}).get("cache_dir")
        if not isinstance(cache, str):
            return None
        finished = FinishedCells(cache)
        entry = finished.get(cell)
        try:
            kept = finished.outputs(cell, stored_record(entry)) if entry else None
        except (DamagedOutputs, OSError, ValueError):
            return None
        return per_resample(kept, self.settings) if kept is not None else None

    def interval(self, cell: str, name: str) -> tuple[float, float]:
        """The cell's recorded interval of `name`, else one from its outputs, else (nan, nan)."""
        row = self.rows.get(cell, {})
        low, high = row.get(f"{name}/ci_low", np.nan), row.get(f"{name}/ci_high", np.nan)
        if low == low and high == high:
            return float(low), float(high)
        found = self.values(cell)
        return interval(found[name], self.settings.level) if found and name in found else (np.nan, np.nan)

    def lacking(self, cells) -> int:
        return sum(self.values(c) is None for c in cells)

    def tied(self, cells: list[str], points: list[float], name: str) -> dict[str, str]:
        """{cell: "*" the best, "=" tied with it, "" not, "?" no outputs} for the cells compared on `name`."""
        marks, scored, values = {}, {}, {}
        for cell, point in zip(cells, points):
            found = self.values(cell)
            if found is None or name not in found or point != point:
                marks[cell] = NO_OUTPUTS if point == point else ""
            else:
                scored[cell], values[cell] = point, found[name]
        if not scored:
            return marks
        best, tied, _ = tied_with_best(scored, values, self.settings.level) if len(scored) > 1 else \
            (next(iter(scored)), set(scored), {})
        return {**marks, **{c: "*" if c == best else "=" if c in tied else "" for c in scored}}


def interval_text(low, high) -> str:
    return f"[{low:.2f}, {high:.2f}]" if low == low and high == high else ""
