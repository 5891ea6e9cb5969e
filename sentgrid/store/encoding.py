"""Encoding: what to encode, and each distinct sentence once.

For a set of requests (name -> sentences) and an encoder, return each request's primitive (or token
states) at the asked layers: hits are read from entries; the misses are locked, checked again (another
job may have written them while we waited), and the sentences of all still-missing entries are encoded
together in one forward pass, each distinct sentence once, and written.

Two kinds of entry share one forward pass: *primitive* entries (the pooled per-layer primitives) and
*token* entries (every token's state at every layer, for token-level pooling). Computing a token entry
writes the primitive entry of the same sentences too.
"""
import errno
import logging
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import SentgridError, choice_error
from ..pooling.tokens import TokenBatch
from .entries import STORE_DTYPES, CorruptEntry, EntryStore, entry_key, owner_tag

log = logging.getLogger(__name__)

TOKENS = "tokens"  # the entry kind holding per-token states


@dataclass
class EncodeStats:
    sentences_requested: int = 0
    cache_hits: int = 0
    sentences_computed: int = 0
    entries_hit: int = 0
    entries_computed: int = 0
    entries_corrupt: int = 0
    truncated: int = 0
    encode_seconds: float = 0.0
    tokens: int = 0
    mask_truncated: int = 0
    keys: list = field(default_factory=list)  # the entries read or written (recorded, kept by `cache gc`)

    def as_dict(self) -> dict:
        """The counts (numbers only: they are logged as metrics)."""
        return {k: v for k, v in asdict(self).items() if k != "keys"}


class LayerGather:
    """Rows `positions` of a [layers, rows, dim] array, one layer at a time (no full copy)."""

    def __init__(self, array, positions: np.ndarray):
        self.array, self.positions = array, positions
        self.shape = (array.shape[0], len(positions), array.shape[2])
        self.ndim, self.dtype = 3, array.dtype

    def __getitem__(self, layer: int) -> np.ndarray:
        return np.asarray(self.array[layer][self.positions])


class Encoding:
    """`store_dtype` float16 halves the disk size of primitive entries (cosines move by ~1e-4). Token
    entries (`token_dtype`) are float16 by default: they hold every token's state at every layer (~11 kB
    per token for MiniLM in float32), and token-level pooling averages them anyway.

    `on_encoded(label, sentences, seconds, tokens)` is told of every forward pass (plan's throughput
    telemetry; `tokens`: the pass kept every token's state, which is slower)."""

    def __init__(self, entries: EntryStore, store_dtype: str = "float32", token_dtype: str = "float16",
                 on_encoded=None):
        for setting, value in (("cache.dtype", store_dtype), ("cache.token_dtype", token_dtype)):
            if value not in STORE_DTYPES:
                raise choice_error(setting, value, STORE_DTYPES)
        self.entries, self.store_dtype, self.token_dtype = entries, store_dtype, token_dtype
        self.on_encoded = on_encoded

    def key_for(self, identity: dict, sentences: list[str], kind: str) -> str:
        """The entry key of `sentences` for an encoder `identity`; `kind` is TOKENS or any primitive."""
        if kind == TOKENS:
            return entry_key({**identity, "entry": TOKENS}, sentences, self.token_dtype)
        return entry_key(identity, sentences, self.store_dtype)

    def primitives(self, encoder, requests: dict[str, list[str]], primitive: str, layers: list[int]):
        """{name: [len(layers), n, dim]} of `primitive` for each request's sentences, and EncodeStats."""
        return self._fetch(encoder, requests, primitive, layers)

    def tokens(self, encoder, requests: dict[str, list[str]], layers: list[int]):
        """{name: (TokenBatch, token states [len(layers), T, dim])} for each request, and EncodeStats."""
        return self._fetch(encoder, requests, TOKENS, layers)

    # -- hits, then misses under their locks ---------------------------------------------------------
    def _fetch(self, encoder, requests, kind, layers):
        identity = encoder.identity()
        keys = {name: self.key_for(identity, sentences, kind) for name, sentences in requests.items()}
        sentences_of = {key: requests[name] for name, key in keys.items()}
        stats = EncodeStats(keys=sorted(sentences_of))
        found = {}
        for key, sentences in sentences_of.items():
            stats.sentences_requested += len(sentences)
            hit = self._try_read(key, kind, layers, stats)
            if hit is not None:
                found[key] = hit
        missing = sorted(set(sentences_of) - set(found))
        if missing:
            # A token entry's forward pass writes the primitive entry of the same sentences too: holding its
            # lock as well makes a parallel plain cell wait and read it instead of encoding them again.
            companions = [self.key_for(identity, sentences_of[key], "primitives") for key in missing] \
                if kind == TOKENS else []
            locks = [self.entries.lock(key) for key in sorted(set(missing + companions))]  # one order: no deadlock
            for lock in locks:
                lock.acquire()
            try:
                for key in missing:  # another job may have written it while we waited
                    hit = self._try_read(key, kind, layers, stats)
                    if hit is not None:
                        found[key] = hit
                still_missing = {key: sentences_of[key] for key in missing if key not in found}
                if still_missing:
                    found.update(self._compute(encoder, identity, still_missing, kind, layers, stats))
            finally:
                for lock in locks:
                    lock.release()
        return {name: found[key] for name, key in keys.items()}, stats

    def _read(self, key, kind, layers):
        if kind != TOKENS:
            return self.entries.read_layers(key, kind, layers)
        hit = self.entries.read_layers(key, "states", layers)
        if hit is None:
            return None
        states, meta = hit
        small = self.entries.read_whole(key, ["ids", "offsets", "special", "mask_index"])
        return (TokenBatch.from_arrays(small), states), meta

    def _try_read(self, key, kind, layers, stats: EncodeStats):
        try:
            hit = self._read(key, kind, layers)
        except CorruptEntry as exc:
            log.warning("cache entry %s is corrupt (%s); recomputing it", key[:12], exc)
            stats.entries_corrupt += 1
            self.entries.remove(key)
            return None
        if hit is None:
            return None
        value, meta = hit
        stats.entries_hit += 1
        stats.cache_hits += meta["sentences"]
        stats.truncated += meta.get("truncated", 0)
        return value

    # -- one forward pass for every missing entry ------------------------------------------------------
    def _compute(self, encoder, identity, missing: dict[str, list[str]], kind, layers, stats: EncodeStats):
        union = list(dict.fromkeys(s for sentences in missing.values() for s in sentences))
        row = {sentence: i for i, sentence in enumerate(union)}
        self.entries.remove_stale_temporaries()  # leftovers of killed writers hold disk space
        scratch = self.entries.root / f".scratch-{owner_tag()}-{uuid.uuid4().hex[:8]}" if kind == TOKENS else None
        try:
            started = time.perf_counter()
            primitives, encoded = encoder.encode(union, desc=f"encode {len(union)} sentences", token_dir=scratch)
            short = {name: a.shape[1] for name, a in primitives.items() if a.shape[1] != len(union)}
            if short:  # an entry is written only when every row was computed
                raise SentgridError(f"{encoder.label} returned {short} rows for {len(union)} sentences; nothing "
                                    f"was stored.")
            seconds = time.perf_counter() - started
            stats.encode_seconds += seconds
            stats.sentences_computed += len(union)
            stats.tokens += encoded["tokens"]
            stats.mask_truncated += encoded.get("mask_truncated", 0)
            if self.on_encoded is not None:
                self.on_encoded(encoder.label, len(union), seconds, kind == TOKENS)
            over_length = encoded["lengths"] > encoded["max_length"]
            stats.truncated += int(over_length.sum())
            out = {}
            for key, sentences in missing.items():
                index = np.fromiter((row[s] for s in sentences), dtype=np.int64, count=len(sentences))
                meta = {"sentences": len(sentences), "truncated": int(over_length[index].sum()), "encoder": identity}
                subset = {name: array[:, index] for name, array in primitives.items()}
                out[key] = self._write(key, kind, layers, identity, sentences, subset, meta, encoded, index)
                stats.entries_computed += 1
            return out
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES):
                raise self._disk_error(exc, len(union)) from exc
            raise
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)

    def _write(self, key, kind, layers, identity, sentences, subset, meta, encoded, index):
        """Write one computed entry (and, for a token entry, the primitive entry of the same pass);
        return what the caller asked for, as it reads back from the store's dtype."""
        primitive_key = self.key_for(identity, sentences, "primitives")
        if kind != TOKENS:
            self.entries.write(primitive_key, subset, meta, self.store_dtype)
            return subset[kind][layers].astype(self.store_dtype).astype(np.float32)
        if not self.entries.exists(primitive_key):
            try:  # a bonus of the same forward pass; another job may be writing it right now
                self.entries.write(primitive_key, subset, meta, self.store_dtype)
            except OSError:
                pass
        batch, positions = encoded["token_batch"].select(index)
        states = LayerGather(encoded["token_states"], positions)
        self.entries.write(key, {"states": states, **batch.arrays()}, meta, self.token_dtype)
        return batch, np.stack([states[layer] for layer in layers]).astype(self.token_dtype).astype(np.float32)

    def _disk_error(self, exc: OSError, sentences: int) -> SentgridError:
        root = self.entries.root
        if exc.errno in (errno.EROFS, errno.EACCES):
            return SentgridError(f"the cache folder {root} is not writable ({exc.strerror}); set cache.dir to a "
                                 f"folder you can write, or ask its owner for group write access.")
        free = shutil.disk_usage(root).free if root.exists() else 0
        return SentgridError(f"the cache folder {root} is full while storing {sentences} encoded sentences "
                             f"({free / 2**20:.0f} MiB free; MiniLM needs about 52 MiB per 1,000 sentences, token "
                             f"entries more): free space, set cache.dir elsewhere, or use cache.dtype=float16.")
