"""The one exception type for user mistakes: its message is shown alone, without a traceback."""


class SentgridError(Exception):
    """A problem the user can fix (bad config, missing data, unloadable model); the message says how."""


def choice_error(setting: str, value, valid) -> SentgridError:
    """The standard sentence for a value outside its allowed set."""
    return SentgridError(f"{setting}={value!r} is not valid; choose one of: {', '.join(map(str, valid))}.")


def what_it_is(plugin, fallback: str) -> str:
    """A plug-in's class docstring's first line, to name it inside a sentence (`fallback` without one)."""
    first = (type(plugin).__doc__ or fallback).strip().splitlines()[0].rstrip(".")
    return first[0].lower() + first[1:]


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or a kill) during a cell; the message says what was kept for the next run."""
