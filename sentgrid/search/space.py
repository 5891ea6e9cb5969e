"""A search space from Hydra's sweep syntax, as Optuna distributions: `a,b` or `choice(a,b)` a categorical,
`range(1,7)` the integers 1..6 (a step too), `interval(0,1)` a float range, `int(interval(1,300))` an integer
one, `tag(log, interval(1e-4,1))` on a log scale. Everything else is fixed: on every trial's cell."""
from dataclasses import dataclass

from ..errors import SentgridError


@dataclass(frozen=True)
class Space:
    fixed: tuple          # override strings every trial's cell has
    keys: tuple           # (parameter name, how the override writes its key) per searched setting
    distributions: dict   # parameter name -> optuna distribution

    def overrides(self, params: dict, unread: set[str] = frozenset()) -> list[str]:
        """A trial's parameters as the overrides of its cell, less the searched settings in `unread`."""
        return list(self.fixed) + [f"{key}={_written(params[name])}" for name, key in self.keys
                                   if name not in unread]

    def cell(self, params: dict) -> tuple[list[str], list[str]]:
        """(a trial's cell, the searched settings it leaves at their defaults because the cell does not read
        them: `pooling.sif_a` with `pooling.weighting=none` is the cell with the default `a`, which runs once).
        A cell that does not compose keeps every override: its job says what is wrong, in its record."""
        from ..plan.sweep import compose_cell
        from ..spec import CellSpec

        overrides = self.overrides(params)
        try:
            unread = CellSpec.from_config(compose_cell(overrides)).unread()
        except Exception:  # noqa: BLE001 - the job composes it again and records the one-sentence error
            return overrides, []
        left = sorted(name for name, _ in self.keys if name in unread)
        return self.overrides(params, set(left)), left


def _written(value) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def space_of(overrides) -> Space:
    """The Space of parsed Hydra overrides (hydra.core.override_parser)."""
    from hydra.core.override_parser.types import IntervalSweep, RangeSweep
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    fixed, keys, distributions = [], [], {}
    for override in overrides:
        if override.is_hydra_override():
            continue
        name = override.get_key_element()
        key = f"+{name}" if override.is_add() else name
        if not override.is_sweep_override():
            fixed.append(override.input_line)
            continue
        value = override.value()
        if isinstance(value, RangeSweep) and not value.shuffle:
            values = list(override.sweep_iterator())
            if all(isinstance(v, int) for v in values):
                distribution = IntDistribution(values[0], values[-1], step=int(value.step))
            else:
                distribution = FloatDistribution(float(values[0]), float(values[-1]), step=float(value.step))
        elif isinstance(value, IntervalSweep):
            log = "log" in value.tags
            if isinstance(value.start, int) and isinstance(value.end, int):
                distribution = IntDistribution(value.start, value.end, log=log)
            else:
                distribution = FloatDistribution(float(value.start), float(value.end), log=log)
        elif override.is_discrete_sweep():
            distribution = CategoricalDistribution(list(override.sweep_string_iterator()))
        else:
            raise SentgridError(f"{override.input_line}: not a sweep Optuna can sample (a,b / choice / range / "
                                f"interval).")
        keys.append((name, key))
        distributions[name] = distribution
    if not distributions:
        raise SentgridError("hydra/sweeper=optuna has nothing to search: give at least one setting a sweep "
                            "(pooling=avg,max, model.w=interval(0,1), ...).")
    return Space(tuple(fixed), tuple(keys), distributions)
