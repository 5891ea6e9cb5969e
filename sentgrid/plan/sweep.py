"""A sweep's cells, as `python -m sentgrid -m <overrides>` launches them: the command line plus an
experiment's `hydra.sweeper.params`, every combination of the swept values (as Hydra's basic sweeper
makes them, through Hydra's public override parser)."""
import itertools

from ..paths import CONF_DIR


def _config_dir():
    """Hydra's config search path: the running app's (a sweep's callback plans) or our conf/ folder."""
    from contextlib import nullcontext

    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        return nullcontext()
    return initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3")



def expand(arguments: list[str]) -> list[list[str]]:
    """Every cell's override list, as `python -m sentgrid -m <arguments>` would launch them."""
    return grid(arguments)[0]


def grid(arguments: list[str]):
    """(every cell's override list, the sweeper's settings `hydra.sweeper`). Hydra's own settings (hydra.*,
    hydra/...) go to Hydra, not to the cells."""
    from hydra import compose
    from hydra.core.override_parser.overrides_parser import OverridesParser

    import hydra_plugins.sentgrid_halving_sweeper.halving_sweeper  # noqa: F401  (hydra/sweeper=halving)

    from ..overrides import check_choices

    check_choices(arguments)

    parser = OverridesParser.create()
    parsed = parser.parse_overrides(arguments)
    fixed = [o.input_line for o in parsed if not o.is_sweep_override()]
    with _config_dir():
        cfg = compose("config", overrides=fixed, return_hydra_config=True)
    params = cfg.hydra.sweeper.get("params") or {}
    preset = [f"{key}={value}" for key, value in params.items()]
    given = {o.get_key_element() for o in parsed}
    merged = [p for p in parser.parse_overrides(preset) if p.get_key_element() not in given] + parsed
    return combinations([o for o in merged if not o.is_hydra_override()]), cfg.hydra.sweeper


def combinations(overrides) -> list[list[str]]:
    """Every combination of the swept values, a later override of a key replacing an earlier one."""
    from hydra.errors import HydraException

    choices = {}
    for override in overrides:
        key = override.get_key_element()
        if not override.is_sweep_override():
            choices[key] = [f"{key}={override.get_value_element_as_str()}"]
        elif override.is_discrete_sweep():
            choices[key] = [f"{key}={value}" for value in override.sweep_string_iterator()]
        else:
            raise HydraException(f"{key}: a {override.value_type.name} sweep needs a sweeper that samples it "
                                 f"(Optuna), not a grid.")
    return [list(cell) for cell in itertools.product(*choices.values())]


def compose_cell(overrides: list[str]):
    from hydra import compose

    with _config_dir():
        return compose("config", overrides=overrides)

