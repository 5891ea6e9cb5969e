"""What a cell was scored on, as one label: full data or which slice (light: the sweep summary imports it)."""
FULL, SLICE_PREFIX, NESTED_PREFIX = "full", "slice-", "nested-"


def data_label(task: dict) -> str:
    """What a cell was scored on (its task node): `full` data, `slice-N` (task.max_items=N, evenly spaced items),
    or `nested-N` (task.slice=nested; `nested-N-seed-S` for another task.slice_seed). Slices and full data never
    share a table, a figure or a "best"."""
    max_items = task.get("max_items")
    if max_items is None:
        return FULL
    if task.get("slice", "evenly") == "evenly":
        return f"{SLICE_PREFIX}{max_items}"
    seed = int(task.get("slice_seed", 0))
    return f"{NESTED_PREFIX}{max_items}" + (f"-seed-{seed}" if seed else "")


def slice_items(label: str) -> str:
    """N of a slice's data label."""
    return label.split("-")[1]


def slice_settings(label: str) -> str:
    """The overrides that score on a slice's data label: `task.max_items=N[ task.slice=nested[ task.slice_seed=S]]`."""
    parts = label.split("-")
    nested = " task.slice=nested" if label.startswith(NESTED_PREFIX) else ""
    seed = f" task.slice_seed={parts[3]}" if len(parts) == 4 else ""
    return f"task.max_items={parts[1]}{nested}{seed}"


def slice_phrase(label: str) -> str:
    """How a report names a slice's settings: `task.max_items` (evenly spaced, as reports always said), or the
    nested slice's own settings."""
    return "task.max_items" if label.startswith(SLICE_PREFIX) else slice_settings(label)
