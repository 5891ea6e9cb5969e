"""The workspace of one process: the store (its three rooms) and the in-process memos (loaded models
and built tables, recently read slabs, the corpus). Cells of a sweep that run in one process (the
basic launcher) share it, so a model loads once and a slab is read once.
"""
import json
from collections import OrderedDict
from pathlib import Path

from omegaconf import OmegaConf

from . import throughput
from .data.corpus import Corpora
from .encoders import Produces, build
from .errors import SentgridError
from .spec import CacheSpec, CellSpec
from .store import Encoding, EntryStore, Tables, sharing
from .store.entries import temporary_name

KEEP_ENCODERS = 2  # a sweep alternates between few models; each may hold a model and a big table


class Workspace:
    _open: dict = {}  # cache settings -> the workspace of this process

    def __init__(self, cache: CacheSpec):
        self.root = Path(cache.dir)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            if cache.mode == "group":
                sharing.open_group_cache(self.root)
            probe = self.root / temporary_name("probe")
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise SentgridError(f"cache.dir={cache.dir} cannot be written ({exc.strerror or exc}); set cache.dir "
                                f"to a folder you can write (a shared cache needs group write access: cache.mode).") from None
        self.entries = EntryStore(self.root, int(float(cache.memory_gb) * 2**30), shared=cache.mode == "group",
                                  lock_timeout_s=float(cache.lock_timeout_s))
        budget = None if cache.max_gb is None else int(float(cache.max_gb) * 2**30)
        self.encoding = Encoding(self.entries, cache.dtype, cache.token_dtype, throughput.recorder(self.root),
                                 float(cache.commit_seconds), budget, int(float(cache.pass_memory_gb) * 2**30))
        self.tables = Tables(self.entries, self.encoding, throughput.table_recorder(self.root))
        self._encoders: OrderedDict = OrderedDict()
        self._corpora = Corpora()

    @classmethod
    def shared(cls, cache: CacheSpec) -> "Workspace":
        """This process's workspace for these cache settings (made on first use)."""
        key = (cache.dir, cache.dtype, cache.token_dtype, cache.memory_gb, cache.mode, cache.commit_seconds,
               cache.lock_timeout_s, cache.max_gb, cache.pass_memory_gb)
        if key not in cls._open:
            cls._open = {key: cls(cache)}  # one at a time: a new cache folder replaces the old memos
        return cls._open[key]

    def corpus(self, corpus_cfg):
        """A loader of the corpus a config names, read once per process."""
        return self._corpora.loader(corpus_cfg)

    def encoder(self, spec: CellSpec):
        """The cell's encoder, with its table handed over when it reads one; the last few are kept."""
        key = json.dumps([OmegaConf.to_container(spec.model, resolve=True), spec.template.describe(),
                          OmegaConf.to_container(spec.corpus, resolve=True)], sort_keys=True, default=str)
        if key in self._encoders:
            self._encoders.move_to_end(key)
            return self._encoders[key]
        encoder = self.prepared(build(spec.model, spec.template, self.corpus(spec.corpus), self.root / "fingerprints"))
        self._encoders[key] = encoder
        while len(self._encoders) > KEEP_ENCODERS:
            self._encoders.popitem(last=False)
        return encoder

    def prepared(self, encoder):
        """The encoder, with its table handed over (built now, once, when nobody built it yet)."""
        if Produces.TABLE in encoder.produces:
            encoder.use_table(*self.tables.get(encoder))
        return encoder
