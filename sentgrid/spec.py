"""CellSpec: one grid cell, typed and validated once, with every default and every allowed value here.

`CellSpec.from_config(cfg)` reads the composed Hydra config; any bad value stops with one sentence
before expensive work starts. Model settings stay a config node: each encoder class reads its own.
"""
from dataclasses import dataclass, field, fields
from pathlib import Path

from omegaconf import OmegaConf

from . import templates
from .data.records import SLICE_ORDERS
from .errors import SentgridError, choice_error
from .layers import LAYER_CHOICES
from .store.entries import STORE_DTYPES
from .store.kept_layers import CHOICES as KEPT_LAYERS

SPECIAL_TOKENS = ("include", "exclude")
WEIGHTINGS = ("none", "idf_task", "idf_corpus", "sif")
BIAS_REMOVALS = ("none", "frequent", "promptbert")
FIT_SETS = ("task", "wikitext")
CACHE_MODES = ("private", "group")


def from_node(cls, node, **extra):
    """A dataclass from a config node: each field from the node when it has it, else the default."""
    values = {f.name: node[f.name] for f in fields(cls) if node is not None and f.name in node and f.name not in extra}
    return cls(**{**values, **extra})


def _one_of(setting: str, value, valid):
    if value not in valid:
        raise choice_error(setting, value, valid)
    return value


@dataclass(frozen=True)
class LayerSpec:
    name: str = "last"
    index: int = -1
    layers: tuple = (1, -1)

    def __post_init__(self):
        _one_of("layer", self.name, LAYER_CHOICES)


@dataclass(frozen=True)
class PoolingSpec:
    name: str = "avg"
    special_tokens: str = "include"
    weighting: str = "none"
    sif_a: float = 1e-3
    bias_removal: str = "none"
    bias_top_k: int = 36

    def __post_init__(self):
        from .pooling import mode

        mode(self.name)
        _one_of("pooling.special_tokens", self.special_tokens, SPECIAL_TOKENS)
        _one_of("pooling.weighting", self.weighting, WEIGHTINGS)
        _one_of("pooling.bias_removal", self.bias_removal, BIAS_REMOVALS)
        if self.mode.one_token and not self.plain:
            raise SentgridError(f"pooling={self.name} reads one token, so pooling.weighting and "
                                f"pooling.bias_removal do not apply; use pooling=avg or pooling=max.")
        if self.weighting != "none" and not self.mode.weighted:
            raise SentgridError(f"pooling.weighting weights a mean; with pooling={self.name} use only "
                                f"pooling.bias_removal.")

    @property
    def mode(self):
        from .pooling import mode

        return mode(self.name)

    @property
    def plain(self) -> bool:
        return self.weighting == "none" and self.bias_removal == "none"

    @property
    def needs_corpus(self) -> bool:
        return self.weighting in ("idf_corpus", "sif") or self.bias_removal == "frequent"

    @property
    def primitive(self) -> str | None:
        """The cached primitive that serves this pooling, or None when it needs token states."""
        return self.mode.served_by(self.special_tokens) if self.plain else None


@dataclass(frozen=True)
class PostprocSpec:
    steps: tuple = ()
    fit_on: str = "task"

    def __post_init__(self):
        _one_of("postproc.fit_on", self.fit_on, FIT_SETS)
        if self.steps:  # a bad step or parameter fails now (postproc=none needs no scikit-learn here)
            from . import postproc

            postproc.build(list(self.steps))

    @property
    def names(self) -> list[str]:
        """The steps' names (a step is a name or a mapping with one)."""
        return [step if isinstance(step, str) else step.get("name") for step in self.steps]

    @property
    def fit_on_corpus(self) -> bool:
        return bool(self.steps) and self.fit_on == "wikitext"


def _number(setting: str, value, whole: bool, wanted: str) -> float:
    """`value` as a number, or one sentence naming the setting (`task.max_items=abc`)."""
    try:
        number = float(value) if not isinstance(value, bool) else float("nan")
    except (TypeError, ValueError):
        number = float("nan")
    if number != number or (whole and not number.is_integer()):
        raise SentgridError(f"{setting}={value!r} is not {'a whole number' if whole else 'a number'}; give {wanted}.")
    return number


def at_least(setting: str, value, minimum: float, whole: bool = False, unit: str = "") -> None:
    unit = f" ({unit})" if unit else ""
    wanted = f"{'a whole number' if whole else 'a number'} of at least {minimum}{unit}"
    if _number(setting, value, whole, wanted) < minimum:
        raise SentgridError(f"{setting}={value} must be at least {minimum}{unit}.")


def more_than(setting: str, value, minimum: float, unit: str) -> None:
    wanted = f"more than {minimum} ({unit})"
    if not _number(setting, value, False, f"a number {wanted}") > minimum:
        raise SentgridError(f"{setting}={value} must be {wanted}.")


@dataclass(frozen=True)
class TaskSpec:
    families: tuple = ("sts",)
    max_items: int | None = None
    slice: str = "evenly"         # which items max_items keeps: evenly | nested (data/records.Slicing)
    slice_seed: int = 0
    skip: tuple = ()
    settings: dict = field(default_factory=dict)  # family -> its config node (datasets, protocol, ...)

    def __post_init__(self):
        from .tasks import family

        for name in self.families:
            family(name)
            if name not in self.settings:
                raise SentgridError(f"task.families names {name!r} but the task has no `{name}` settings; "
                                    f"use task={name} or task=all.")
        if self.max_items is not None:
            at_least("task.max_items", self.max_items, 1, whole=True, unit="or null for all items")
        _one_of("task.slice", self.slice, SLICE_ORDERS)
        at_least("task.slice_seed", self.slice_seed, 0, whole=True)
        known = {d for name in self.families for d in self.settings[name].datasets}
        unknown = set(self.skip) - known
        if unknown:
            raise SentgridError(f"task.skip names {sorted(unknown)}, which the task does not have.")

    @property
    def hub_only(self) -> bool:
        """Only STS read from the hub: no data root is needed."""
        return list(self.families) == ["sts"] and self.settings["sts"].source == "hub"


@dataclass(frozen=True)
class DiagnosticsSpec:
    enabled: bool = False
    corpus_sentences: int = 3000
    positive_min_score: float = 4.0
    version: int = 2


@dataclass(frozen=True)
class CacheSpec:
    dir: str = "cache"
    dtype: str = "float32"
    token_dtype: str = "float16"
    memory_gb: float = 2.0
    mode: str = "private"  # group: files group-writable, so several users share one cache
    commit_seconds: float = 300.0  # a long encode commits what it finished this often (resumable)
    lock_timeout_s: float = 6 * 3600.0  # the longest wait for another job computing the same entry
    max_gb: float | None = None  # a size budget: least recently used entries are evicted beyond it
    check_space: bool = True     # refuse a sweep the disk cannot hold (plan's estimate)
    layers: str = "all"          # all | requested: the layers a new entry keeps (store/kept_layers.py)
    pass_memory_gb: float = 6.0  # one forward pass holds at most this much of primitives in memory

    def __post_init__(self):
        more_than("cache.lock_timeout_s", self.lock_timeout_s, 0, "seconds")
        at_least("cache.commit_seconds", self.commit_seconds, 0, unit="seconds")
        if self.max_gb is not None:
            more_than("cache.max_gb", self.max_gb, 0, "GiB, or null for no budget")
        more_than("cache.pass_memory_gb", self.pass_memory_gb, 0, "GiB")
        _one_of("cache.dtype", self.dtype, STORE_DTYPES)
        _one_of("cache.token_dtype", self.token_dtype, STORE_DTYPES)
        _one_of("cache.mode", self.mode, CACHE_MODES)
        _one_of("cache.layers", self.layers, KEPT_LAYERS)


@dataclass(frozen=True)
class CellSpec:
    model: object                 # the model's config node (its encoder class reads it)
    layer: LayerSpec
    pooling: PoolingSpec
    template: templates.Template
    postproc: PostprocSpec
    task: TaskSpec
    data_root: str | None
    corpus: object                # the corpus config node (see data/corpus.py)
    diagnostics: DiagnosticsSpec
    cache: CacheSpec
    notes: dict = field(default_factory=dict)

    @classmethod
    def from_config(cls, cfg) -> "CellSpec":
        notes = {}
        pooling = from_node(PoolingSpec, cfg.pooling)
        template = templates.from_config(cfg.template)
        if pooling.name == "template":
            if template.text is None:
                template = templates.PROMPTBERT
                notes["template"] = "pooling=template with template=none reads [MASK] of the promptbert template"
            template.require_mask()
        batch_size = cfg.model.get("batch_size")
        if batch_size is not None:
            at_least("model.batch_size", batch_size, 1, whole=True)
        task = cfg.task
        families = tuple(task.families)
        layer = cfg.layer
        return cls(
            model=cfg.model,
            layer=LayerSpec(name=layer.name, index=layer.get("index", -1), layers=tuple(layer.get("layers") or ())),
            pooling=pooling,
            template=template,
            postproc=PostprocSpec(steps=tuple(OmegaConf.to_container(cfg.postproc.steps) or ()),
                                  fit_on=cfg.postproc.get("fit_on", "task")),
            task=TaskSpec(families=families, max_items=task.get("max_items"), slice=task.get("slice", "evenly"),
                          slice_seed=task.get("slice_seed", 0), skip=tuple(task.get("skip") or ()),
                          settings={name: task[name] for name in families if name in task}),
            data_root=cfg.data.get("root"),
            corpus=cfg.corpus,
            diagnostics=from_node(DiagnosticsSpec, cfg.get("diagnostics")),
            cache=from_node(CacheSpec, cfg.cache, dir=str(cfg.cache.dir)),
            notes=notes,
        )

    def unread(self) -> set[str]:
        """The settings this cell does not read: SIF's `a` without SIF weighting, bias removal's k without
        bias_removal=frequent, the fit set without post-processing. A search leaves them at their defaults, so
        a trial that differs only there is a cell already run (a cell's identity still holds them: dropping them
        there would rename every finished cell)."""
        unread = set()
        if self.pooling.weighting != "sif":
            unread.add("pooling.sif_a")
        if self.pooling.bias_removal != "frequent":
            unread.add("pooling.bias_top_k")
        if not self.postproc.steps:
            unread.add("postproc.fit_on")
        return unread

    def root(self) -> Path | None:
        """The data root, checked; None when the cell reads nothing local (STS from the hub)."""
        from .data import data_root

        needs_local = not self.task.hub_only or self.diagnostics.enabled
        return data_root(self.data_root) if needs_local else None
