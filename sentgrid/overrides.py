"""No silent no-ops: a value added with `+GROUP.KEY=VALUE` that the chosen option of GROUP does not
read is refused with one sentence naming the options that would read it."""
from pathlib import Path

from omegaconf import OmegaConf

from .errors import SentgridError
from .paths import CONF_DIR


def option_keys(group: str, choice: str) -> set[str]:
    """The top-level keys an option's YAML sets (following its own `defaults`, as b2s-100 extends b2s)."""
    path = Path(CONF_DIR) / group / f"{choice}.yaml"
    if not path.is_file():
        return set()
    node = OmegaConf.load(path)
    keys = {k for k in node.keys() if k != "defaults"}
    for parent in node.get("defaults", []) or []:
        if isinstance(parent, str) and parent != "_self_":
            keys |= option_keys(group, parent)
    return keys


def check_added_keys(overrides: list[str], choices: dict) -> None:
    for override in overrides:
        if not override.startswith("+") or "=" not in override:
            continue
        path, value = override.lstrip("+").split("=", 1)
        group, _, key = path.partition(".")
        key = key.split(".")[0]
        choice = choices.get(group)
        if not key or choice is None or not (Path(CONF_DIR) / group).is_dir():
            continue
        if key in option_keys(group, choice):
            continue
        readers = sorted(p.stem for p in (Path(CONF_DIR) / group).glob("*.yaml") if key in option_keys(group, p.stem))
        hint = (f"it is read by {group}={', '.join(readers)}: for example {group}={readers[0]} {path}={value}"
                if readers else f"no {group} option reads it")
        raise SentgridError(f"{path} is not read by {group}={choice}, so +{path}={value} would change nothing; {hint}.")


def check_choices(arguments: list[str]) -> None:
    """A config group given an option it does not have (`pooling=avgg`) is refused in one sentence with
    the nearest option and the list, before Hydra's own message (the config search path) is reached.
    Overrides Hydra cannot parse, and sweep forms other than a comma list, are left to Hydra."""
    from difflib import get_close_matches

    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides([a for a in arguments if not a.startswith("-")])
    except HydraException:
        return
    for override in parsed:
        group = override.key_or_group.split("@")[0]
        folder = Path(CONF_DIR) / group
        if group.startswith("hydra") or override.is_delete() or not folder.is_dir():
            continue
        if override.is_sweep_override():
            if not override.is_discrete_sweep():
                continue
            values = list(override.sweep_string_iterator())
        else:
            values = [override.value()]
        options = sorted(p.stem for p in folder.glob("*.yaml"))
        for value in values:
            if not isinstance(value, str) or value in options:
                continue
            near = get_close_matches(value, options, n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            raise SentgridError(f"{group}={value} is not an option of {group}{hint}; choose one of: {', '.join(options)}.")
