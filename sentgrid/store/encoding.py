"""Encoding: what to encode, and each distinct sentence once.

For a set of requests (name -> sentences) and an encoder, return each request's primitive (or token
states) at the asked layers: hits are read from entries; the misses are locked, checked again (another
job may have written them while we waited), and the sentences of all still-missing entries are encoded
together in one forward pass, each distinct sentence once, and written.

Two kinds of entry share one forward pass: *primitive* entries (the pooled per-layer primitives) and
*token* entries (every token's state at every layer, for token-level pooling). Computing a token entry
writes the primitive entry of the same sentences too.

A pass first takes the rows that earlier entries of the same encoder already hold (donors.py: a larger
nested slice reuses a smaller one's sentences) and encodes only the rest: a primitive pass the rows of
primitive entries; a token pass the sentences both a primitive and a token entry hold.
"""
import errno
import logging
import os
import shutil
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .. import interrupts
from ..errors import Interrupted, SentgridError, choice_error
from ..pooling.primitives import MOST_PRIMITIVES, PRIMITIVES
from ..pooling.tokens import TokenBatch
from . import budget
from .donors import HASHES, OVER_LENGTH, Donors, TokenReuse, covered_by, sentence_hashes
from .entries import STORE_DTYPES, CorruptEntry, EntryStore, entry_key, owner_tag
from .partial import PartialEncode

log = logging.getLogger(__name__)

TOKENS = "tokens"  # the entry kind holding per-token states
PIECE_SENTENCES = 1024  # a primitive pass encodes this many at a time (fixed: the same pieces on every run)
SMALL_PASS = 256  # no progress bar below this many sentences


@dataclass
class EncodeStats:
    sentences_requested: int = 0
    cache_hits: int = 0
    sentences_computed: int = 0
    sentences_reused: int = 0  # rows read from earlier entries of other sentence lists (donors.py)
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
    """Rows `positions` of layers `layers` (all when None) of a [layers, rows, dim] array, one layer at a
    time (no full copy)."""

    def __init__(self, array, positions: np.ndarray, layers: list[int] | None = None):
        self.array, self.positions = array, positions
        self.layers = list(range(array.shape[0])) if layers is None else layers
        self.shape = (len(self.layers), len(positions), array.shape[2])
        self.ndim, self.dtype = 3, array.dtype

    def __getitem__(self, index: int) -> np.ndarray:
        return np.asarray(self.array[self.layers[index]][self.positions])


class Rows:
    """The primitives of a pass's n rows, filled piece by piece (allocated when the first piece shows
    their shapes), and which rows were over the length limit."""

    def __init__(self, n: int):
        self.n, self.arrays, self.over_length = n, None, np.zeros(n, dtype=bool)

    def place(self, start: int, piece: dict) -> int:
        """Put a piece ({name: [layers, rows, dim]}, `over_length`) at row `start`; the row after it."""
        piece = dict(piece)
        over_length = piece.pop("over_length")
        if self.arrays is None:
            self.arrays = {name: np.empty((a.shape[0], self.n, a.shape[2]), dtype=np.float32) for name, a in piece.items()}
        end = start + len(over_length)
        for name, array in piece.items():
            self.arrays[name][:, start:end] = array
        self.over_length[start:end] = over_length
        return end

    def slice(self, start: int, end: int) -> tuple[dict, np.ndarray]:
        return {name: a[:, start:end] for name, a in self.arrays.items()}, self.over_length[start:end]


class Progress(tqdm):
    """The encode's progress bar, advanced after each batch: where a Ctrl-C that a finaliser swallowed still stops
    the pass (interrupts.py)."""

    def update(self, n=1):
        interrupts.check()
        return super().update(n)

    def __del__(self):
        if hasattr(self, "pos"):  # a Ctrl-C inside tqdm's own __init__ leaves it half made: nothing to close
            super().__del__()


def _kept(primitives: dict, keep: list[int] | None) -> dict:
    """The primitives at the layers an entry keeps (cache.layers=requested); all of them when None."""
    return primitives if keep is None else {name: a[keep] for name, a in primitives.items()}


def _positions(layers: list[int], keep: list[int] | None) -> list[int]:
    """Where `layers` sit in an entry that keeps `keep` (every layer when None)."""
    return list(layers) if keep is None else [keep.index(layer) for layer in layers]


def scratch_states(scratch: Path):
    """The token-state array a token pass fills, allocated by the store in its scratch folder: a memory map of
    [layers, tokens, dim] float32 whose disk is reserved at once (a memory map over a full disk dies by SIGBUS;
    a reservation fails cleanly, as an OSError)."""
    def allocate(layers: int, tokens: int, dim: int) -> np.ndarray:
        scratch.mkdir(parents=True, exist_ok=True)
        path = scratch / "states.npy"
        states = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(layers, tokens, dim))
        with open(path, "r+b") as f:
            os.posix_fallocate(f.fileno(), 0, os.fstat(f.fileno()).st_size)
        return states
    return allocate


class KeptLayers:
    """What the encoder fills as every layer's token states ([layers, tokens, dim], written `[:, tokens] = ...`),
    holding only the layers the entries keep (cache.layers=requested): the scratch of a MiniLM pass over the
    paper's 285k sentences is 8 GiB for the last layer, 57 GiB for all seven."""

    def __init__(self, array: np.ndarray, keep: list[int]):
        self.array, self.keep = array, keep

    def __setitem__(self, index, value) -> None:
        layers, *rest = index if isinstance(index, tuple) else (index,)
        if layers != slice(None):
            raise IndexError("token states are written for every layer at once")
        self.array[(slice(None), *rest)] = np.asarray(value)[self.keep]

    def flush(self) -> None:
        self.array.flush()


def _grown(primitives: dict | None, rows: int) -> dict | None:
    """The arrays with room for `rows` rows, the first ones theirs (None stays None)."""
    if primitives is None:
        return None
    out = {}
    for name, a in primitives.items():
        out[name] = np.empty((a.shape[0], rows, a.shape[2]), dtype=np.float32)
        out[name][:, :a.shape[1]] = a
    return out


def _check_rows(encoder, primitives: dict, expected: int) -> None:
    short = {name: a.shape[1] for name, a in primitives.items() if a.shape[1] != expected}
    if short:  # an entry is written only when every row was computed
        raise SentgridError(f"{encoder.label} returned {short} rows for {expected} sentences; nothing was stored.")


class Encoding:
    """`store_dtype` float16 halves the disk size of primitive entries (cosines move by ~1e-4). Token
    entries (`token_dtype`) are float16 by default: they hold every token's state at every layer (~11 kB
    per token for MiniLM in float32), and token-level pooling averages them anyway.

    `keep` (cache.layers=requested, see kept_layers.py) lists the layers new entries keep; an entry that
    keeps every layer is read first, so one stored by an earlier `all` sweep serves any cell.

    `on_encoded(label, sentences, characters, seconds, tokens)` is told of every forward pass (plan's
    throughput telemetry; `seconds` without loading the model; `tokens`: the pass kept every token's
    state, which is slower).

    `pass_bytes` bounds the memory of one forward pass (see `_groups`).

    A primitive pass runs in pieces of PIECE_SENTENCES and commits what it finished every
    `commit_seconds` and when interrupted (see partial.py), so the next run computes only the rest."""

    def __init__(self, entries: EntryStore, store_dtype: str = "float32", token_dtype: str = "float16",
                 on_encoded=None, commit_seconds: float = 300.0, max_bytes: int | None = None,
                 pass_bytes: int = 6 * 2**30):
        for setting, value in (("cache.dtype", store_dtype), ("cache.token_dtype", token_dtype)):
            if value not in STORE_DTYPES:
                raise choice_error(setting, value, STORE_DTYPES)
        self.entries, self.store_dtype, self.token_dtype = entries, store_dtype, token_dtype
        self.on_encoded, self.commit_seconds, self.max_bytes = on_encoded, commit_seconds, max_bytes
        self.pass_bytes = pass_bytes

    def keep_budget(self, keep: set[str]) -> None:
        """cache.max_gb: evict least recently used entries, never those in `keep` (the caller's)."""
        if self.max_bytes is not None:
            budget.enforce(self.entries, self.max_bytes, keep)

    def key_for(self, identity: dict, sentences: list[str], kind: str, keep: list[int] | None = None) -> str:
        """The entry key of `sentences` for an encoder `identity`; `kind` is TOKENS or any primitive;
        `keep`: the layers the entry keeps (None: every layer)."""
        if keep is not None:
            identity = {**identity, "kept_layers": list(keep)}
        if kind == TOKENS:
            return entry_key({**identity, "entry": TOKENS}, sentences, self.token_dtype)
        return entry_key(identity, sentences, self.store_dtype)

    def primitives(self, encoder, requests: dict[str, list[str]], primitive: str, layers: list[int],
                   keep: list[int] | None = None):
        """{name: [len(layers), n, dim]} of `primitive` for each request's sentences, and EncodeStats."""
        return self._fetch(encoder, requests, primitive, layers, keep)

    def tokens(self, encoder, requests: dict[str, list[str]], layers: list[int], keep: list[int] | None = None):
        """{name: (TokenBatch, token states [len(layers), T, dim])} for each request, and EncodeStats."""
        return self._fetch(encoder, requests, TOKENS, layers, keep)

    # -- hits, then misses under their locks ---------------------------------------------------------
    def _fetch(self, encoder, requests, kind, layers, keep):
        identity = encoder.identity()
        # `keys`: where each request's entry is written; an entry keeping every layer is read first
        keys = {name: self.key_for(identity, sentences, kind, keep) for name, sentences in requests.items()}
        sentences_of = {key: requests[name] for name, key in keys.items()}
        whole = {key: self.key_for(identity, sentences, kind) for key, sentences in sentences_of.items()} \
            if keep is not None else {}
        stats = EncodeStats()
        used = set()  # the entries read or written

        def lookup(key):
            for candidate, kept in ((whole.get(key), None), (key, keep)):
                if candidate is not None:
                    hit = self._try_read(candidate, kind, layers, stats, kept, len(sentences_of[key]))
                    if hit is not None:
                        used.add(candidate)
                        return hit
            return None

        found = {}
        for key, sentences in sentences_of.items():
            stats.sentences_requested += len(sentences)
            hit = lookup(key)
            if hit is not None:
                found[key] = hit
        named = {key: name for name, key in reversed(keys.items())}  # what `cache du` lists an entry as
        missing = sorted(set(sentences_of) - set(found))
        if missing:
            # A token entry's forward pass writes the primitive entry of the same sentences too: holding its
            # lock as well makes a parallel plain cell wait and read it instead of encoding them again.
            companions = [self.key_for(identity, sentences_of[key], "primitives", keep) for key in missing] \
                if kind == TOKENS else []
            locks = []
            try:
                for key in sorted(set(missing + companions)):  # one order: no deadlock
                    locks.append(self.entries.acquire(key))
                for key in missing:  # another job may have written it while we waited
                    hit = lookup(key)
                    if hit is not None:
                        found[key] = hit
                still_missing = {key: sentences_of[key] for key in missing if key not in found}
                for group in self._groups(encoder, still_missing, keep):
                    found.update(self._compute(encoder, identity, group, kind, layers, stats, named, keep))
                    used.update(group)
            finally:
                for lock in locks:
                    lock.release()
            self.keep_budget(used)
        stats.keys = sorted(used)
        return {name: found[key] for name, key in keys.items()}, stats

    def _read(self, key, kind, layers):
        """`layers`: positions in the entry's layer axis."""
        if kind != TOKENS:
            return self.entries.read_layers(key, kind, layers)
        hit = self.entries.read_layers(key, "states", layers)
        if hit is None:
            return None
        states, meta = hit
        small = self.entries.read_whole(key, ["ids", "offsets", "special", "mask_index"])
        return (TokenBatch.from_arrays(small), states), meta

    def _try_read(self, key, kind, layers, stats: EncodeStats, keep=None, rows: int | None = None):
        """The entry's arrays, or None when it is missing or damaged (set aside, counted). `rows`: the number
        of sentences asked for; an entry of another size is not theirs (one copied under another key)."""
        try:
            hit = self._read(key, kind, _positions(layers, keep))
            if hit is not None and rows is not None and hit[1].get("sentences") != rows:
                raise CorruptEntry(f"it holds {hit[1].get('sentences')} sentences, {rows} were asked for")
        except CorruptEntry as exc:
            if not self.entries.exists(key):  # evicted (or removed by gc) while it was read: a miss, not damage
                return None
            log.warning("cache entry %s is corrupt (%s); recomputing it", key[:12], exc)
            stats.entries_corrupt += 1
            self.entries.set_aside(key)  # a rename: safe without the key's lock, and gc removes it later
            return None
        if hit is None:
            return None
        value, meta = hit
        self.entries.touch(key)
        stats.entries_hit += 1
        stats.cache_hits += meta["sentences"]
        stats.truncated += meta.get("truncated", 0)
        return value

    # -- one forward pass for the missing entries -------------------------------------------------------
    def _groups(self, encoder, missing: dict[str, list[str]], keep) -> list[dict[str, list[str]]]:
        """The missing entries, in groups that each take one forward pass. A pass holds its sentences'
        primitives in memory until it writes their entries, so a pass is cut at `pass_bytes`
        (cache.pass_memory_gb); a sentence that two groups share is encoded once (the later group reads it from the
        earlier group's entries, donors.py). An entry is never split."""
        try:
            layers = len(keep) if keep is not None else encoder.num_layers + 1
            row = layers * encoder.hidden_size * MOST_PRIMITIVES * 4  # float32
        except AttributeError:  # an encoder without a transformer config: one pass
            return [missing] if missing else []
        limit = max(1, self.pass_bytes // row)
        groups, current, seen = [], {}, set()
        for key in sorted(missing):
            fresh = set(missing[key]) - seen
            if current and len(seen) + len(fresh) > limit:
                groups.append(current)
                current, seen, fresh = {}, set(), set(missing[key])
            current[key] = missing[key]
            seen |= fresh
        return groups + [current] if current else groups

    def _compute(self, encoder, identity, missing: dict[str, list[str]], kind, layers, stats: EncodeStats, named,
                 keep):
        # Longest first, as sentence-transformers orders a call: a piece of like lengths pads less (MPNet on
        # the STS union: 3.4 % fewer tokens than pieces in request order).
        union = sorted(dict.fromkeys(s for sentences in missing.values() for s in sentences), key=len, reverse=True)
        group = identity if keep is None else {**identity, "kept_layers": keep}
        donors = Donors(self.entries, group, self.store_dtype), Donors(self.entries, {**group, "entry": TOKENS},
                                                                       self.token_dtype)
        hashes, tokens = sentence_hashes(union), None
        if kind == TOKENS:  # a token entry's pass writes the primitive entry too: reuse what both kinds hold
            held = donors[0].candidates(hashes)  # hashes only: no primitive is read for a sentence without tokens
            tokens = TokenReuse.find(donors[1], hashes, covered_by(held, len(union)))
            reuse = donors[0].rows(hashes, PRIMITIVES[0], tokens.covered, held)
            tokens.keep_only(reuse.covered)
        else:
            reuse = donors[0].rows(hashes, kind)
        if reuse.count:
            # the pass encodes the sentences no donor holds; the donors' rows go after them
            where = np.empty(len(union), dtype=np.int64)
            where[~reuse.covered] = np.arange(len(union) - reuse.count)
            where[reuse.covered] = np.arange(len(union) - reuse.count, len(union))
            order = np.argsort(where)
            union, hashes = [union[i] for i in order], hashes[order]
            reuse.move(where)
            if tokens is not None:
                tokens.move(where)
            log.info("%s of %s sentences are read from earlier entries", f"{reuse.count:,}", f"{len(union):,}")
        fresh = union[:len(union) - reuse.count]
        row = {sentence: i for i, sentence in enumerate(union)}
        self.entries.remove_stale_temporaries()  # leftovers of killed writers hold disk space
        partial = None
        scratch = self.entries.root / f".scratch-{owner_tag()}-{uuid.uuid4().hex[:8]}" if kind == TOKENS else None
        try:
            started = time.perf_counter()
            if kind == TOKENS:
                primitives, encoded, over_length = self._token_pass(encoder, fresh, scratch, keep, tokens)
                over_length = np.concatenate([over_length, np.zeros(reuse.count, dtype=bool)])
                primitives = reuse.place(_grown(primitives, len(union)), over_length)
                computed = len(fresh)
            else:
                kept = identity if keep is None else {**identity, "kept_layers": keep}
                partial = PartialEncode(self.entries, kept, fresh, self.store_dtype)
                primitives, encoded, over_length, computed = self._resumable_pass(encoder, fresh, partial, keep,
                                                                                  len(union))
                primitives = reuse.place(primitives, over_length)
            stats.sentences_reused += reuse.count
            seconds = time.perf_counter() - started
            stats.encode_seconds += seconds
            stats.sentences_computed += computed
            stats.tokens += encoded["tokens"]
            stats.mask_truncated += encoded.get("mask_truncated", 0)
            if self.on_encoded is not None and computed:
                characters = sum(map(len, fresh[len(fresh) - computed:]))  # a resumed pass computed the tail
                self.on_encoded(encoder.speed_label, computed, characters, seconds - encoded.get("load_seconds", 0.0),
                                kind == TOKENS)
            stats.truncated += int(over_length.sum())
            out = {}
            for key, sentences in missing.items():
                index = np.fromiter((row[s] for s in sentences), dtype=np.int64, count=len(sentences))
                meta = {"sentences": len(sentences), "truncated": int(over_length[index].sum()), "encoder": identity,
                        "model": encoder.label, "request": named[key], "kept_layers": keep or "all"}
                subset = {name: LayerGather(array, index) for name, array in primitives.items()}
                subset.update({HASHES: hashes[index], OVER_LENGTH: over_length[index].astype(np.uint8)})
                out[key] = self._write(key, kind, layers, identity, sentences, subset, meta, encoded, index, keep,
                                       donors)
                stats.entries_computed += 1
            if partial is not None:
                partial.discard()
            return out
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES):
                raise self._disk_error(exc, len(union)) from exc
            raise
        finally:
            if scratch is not None:  # after the writes: the token states are read from it
                shutil.rmtree(scratch, ignore_errors=True)

    def _bar(self, encoder, total: int, resumed: int = 0):
        # In a log file (no terminal) a bar redrawn every 0.1 s buries everything else.
        return Progress(total=total, initial=resumed, desc=f"{encoder.label}: encode {total:,} sentences", unit="sent",
                    disable=total - resumed < SMALL_PASS, mininterval=0.1 if sys.stderr.isatty() else 30,
                    delay=2)  # shown once the model has loaded (its log line would land inside the bar)

    def _token_pass(self, encoder, union, scratch, keep, reused: TokenReuse):
        """One pass keeping every token's state (in a memory map in `scratch`); it keeps nothing until done.
        The tokens of the `reused` sentences (after `union` in the pass) are read from their entries into the
        same memory map, after the tokens the pass encodes."""
        block, sources = reused.block(len(union)) if reused.count else (None, [])
        extra = len(block.ids) if block is not None else 0
        allocate, held = scratch_states(scratch), {}

        def with_room(layers: int, count: int, dim: int):
            held["states"] = allocate(layers if keep is None else len(keep), count + extra, dim)
            return held["states"][:, :count] if keep is None else KeptLayers(held["states"][:, :count], keep)

        primitives, encoded, over_length = None, {"tokens": 0}, np.zeros(0, dtype=bool)
        try:
            if union or block is None:
                with self._bar(encoder, len(union)) as bar:
                    primitives, encoded = encoder.encode(union, progress=bar, token_states=with_room)
                encoded["token_states"].flush()
                _check_rows(encoder, primitives, len(union))
                primitives, over_length = _kept(primitives, keep), encoded["lengths"] > encoded["max_length"]
            else:  # every sentence is held: no forward pass
                with_room(encoder.num_layers + 1, 0, encoder.hidden_size)
            if block is not None:
                self._fill_tokens(held["states"], extra, sources)
                fresh = encoded.get("token_batch")
                encoded["token_batch"] = block if fresh is None else fresh.joined(block)
            encoded["token_states"] = held["states"]  # the layers the entries keep, in their order
        except KeyboardInterrupt as exc:
            raise Interrupted(f"a token pass keeps nothing until it completes: its {len(union):,} sentences are "
                              f"encoded again by the next run") from exc
        return primitives, encoded, over_length

    def _fill_tokens(self, states, extra: int, sources: list) -> None:
        """Copy the reused sentences' token states, layer by layer, into the last `extra` tokens of `states` (the
        layers the donors keep, as the new entries do)."""
        start = states.shape[1] - extra
        for position in range(states.shape[0]):
            for key, mine, theirs in sources:
                try:
                    slab, why = self.entries.read_layers(key, "states", [position]), "went away"
                except CorruptEntry as exc:
                    self.entries.set_aside(key)
                    slab, why = None, f"is damaged ({exc}; set aside)"
                if slab is None:
                    raise SentgridError(f"cache entry {key[:12]} {why} while its token states were read; nothing was "
                                        f"stored: run the same command again.")
                states[position, start + mine] = slab[0][0][theirs]
        states.flush()

    def _resumable_pass(self, encoder, union, partial: PartialEncode, keep, total: int):
        """Primitives of `union`, encoded piece by piece from where an interrupted pass stopped; what is
        finished is committed every `commit_seconds` and when interrupted. Returns (primitives in arrays of
        `total` rows, the first len(union) filled (None when union is empty), encode stats, rows over the
        length limit, sentences computed now)."""
        n = len(union)
        rows = Rows(total)
        done = 0
        for segment in partial.resume():
            done = rows.place(done, segment)
        if done:
            log.info("resuming an interrupted encode: %s of %s sentences were kept", f"{done:,}", f"{n:,}")
        committed = filled = done
        tokens = mask_truncated = load_seconds = 0
        last_commit = time.monotonic()
        with self._bar(encoder, n, done) as bar:
            try:
                for start in range(done, n, PIECE_SENTENCES):
                    piece = union[start:start + PIECE_SENTENCES]
                    primitives, encoded = encoder.encode(piece, progress=bar)
                    _check_rows(encoder, primitives, len(piece))
                    filled = rows.place(start, {**_kept(primitives, keep),
                                                "over_length": encoded["lengths"] > encoded["max_length"]})
                    tokens += encoded["tokens"]
                    mask_truncated += encoded.get("mask_truncated", 0)
                    load_seconds += encoded.get("load_seconds", 0.0)
                    if time.monotonic() - last_commit >= self.commit_seconds and filled < n:
                        partial.commit(committed, *rows.slice(committed, filled))
                        committed, last_commit = filled, time.monotonic()
            except KeyboardInterrupt as exc:
                try:
                    if filled > committed:  # before the first piece is done there is nothing to keep
                        partial.commit(committed, *rows.slice(committed, filled))
                        committed = filled
                except OSError:
                    pass
                raise Interrupted(f"kept {committed:,} of {n:,} encoded sentences in the cache; the next run encodes "
                                  f"only the other {n - committed:,}") from exc
        stats = {"tokens": tokens, "mask_truncated": mask_truncated, "load_seconds": load_seconds}
        return rows.arrays, stats, rows.over_length, n - done

    def _write(self, key, kind, layers, identity, sentences, subset, meta, encoded, index, keep, donors: tuple):
        """Write one computed entry (and, for a token entry, the primitive entry of the same pass), each listed as
        a donor of its kind; return what the caller asked for, as it reads back from the store's dtype."""
        primitive_key = self.key_for(identity, sentences, "primitives", keep)
        primitive_meta, meta = {**meta, "kind": "primitives"}, {**meta, "kind": "tokens"}
        positions = _positions(layers, keep)
        if kind != TOKENS:
            self.entries.write(primitive_key, subset, primitive_meta, self.store_dtype)
            donors[0].add(primitive_key)
            return np.stack([subset[kind][p] for p in positions]).astype(self.store_dtype).astype(np.float32)
        if not self.entries.exists(primitive_key):
            try:  # a bonus of the same forward pass; another job may be writing it right now
                self.entries.write(primitive_key, subset, primitive_meta, self.store_dtype)
                donors[0].add(primitive_key)
            except OSError:
                pass
        batch, rows = encoded["token_batch"].select(index)
        states = LayerGather(encoded["token_states"], rows)  # the scratch holds the kept layers alone
        self.entries.write(key, {"states": states, **batch.arrays(), HASHES: subset[HASHES],
                                 OVER_LENGTH: subset[OVER_LENGTH]}, meta, self.token_dtype)
        donors[1].add(key)
        return batch, np.stack([states[p] for p in positions]).astype(self.token_dtype).astype(np.float32)

    def _disk_error(self, exc: OSError, sentences: int) -> SentgridError:
        root = self.entries.root
        if exc.errno in (errno.EROFS, errno.EACCES):
            return SentgridError(f"the cache folder {root} is not writable ({exc.strerror}); set cache.dir to a "
                                 f"folder you can write, or ask its owner for group write access.")
        free = shutil.disk_usage(root).free if root.exists() else 0
        return SentgridError(f"the cache folder {root} is full while storing {sentences} encoded sentences "
                             f"({free / 2**20:.0f} MiB free; MiniLM needs about 52 MiB per 1,000 sentences, token "
                             f"entries more): free space, set cache.dir elsewhere, or use cache.dtype=float16.")
