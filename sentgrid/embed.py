"""Sentences -> sentence vectors for one cell: read (or compute) what the encoder produces from the
store, then pool. Served from primitives when the pooling allows it; from token states otherwise."""
from dataclasses import dataclass

from .pooling import pool_primitive, pool_tokens
from .pooling.weighting import token_weights
from .reading import Reading
from .spec import CellSpec
from .store import EncodeStats
from .store.kept_layers import to_keep


@dataclass
class Embedded:
    vectors: dict       # name -> [n, dim]
    stats: dict         # encode statistics (numbers only: they are logged as metrics)
    keys: list          # the store entries the vectors came from
    notes: dict         # token-level pooling notes by name (fallbacks, removed tokens)
    source: str         # the primitive the vectors were pooled from, or "tokens"


def embed(workspace, encoder, spec: CellSpec, sentences: dict[str, list[str]], read: Reading,
          sweep_layers: dict | None = None) -> Embedded:
    """Vectors for every sentence list of the cell, pooled as the cell says, from what `read` names
    (reading.py). `sweep_layers`: the layers the sweep asks of each model (cache.layers=requested keeps those)."""
    pooling, layers, primitive = spec.pooling, read.layers, read.primitive
    if primitive is not None:
        keep = to_keep(spec.cache.layers, read.forward, layers, sweep_layers or {})
        arrays, stats = workspace.encoding.primitives(read.forward, sentences, primitive, layers, keep)
        derived = {}
        if encoder is not read.forward:  # built on the forward model (BERT + Avg.): its own primitives from the base's
            arrays, derived = encoder.from_primitives(arrays, sentences, primitive, layers)
        counts = {name: read.forward.token_counts(s, pooling.special_tokens) if pooling.mode.sqrt_length else None
                  for name, s in sentences.items()}
        vectors = {name: pool_primitive(array, pooling.mode, counts[name]) for name, array in arrays.items()}
        return Embedded(vectors, {**stats.as_dict(), **derived}, stats.keys, {}, primitive)

    tokens, stats, keys = token_states(workspace, encoder, sentences, layers, spec.cache.layers, sweep_layers or {})
    corpus = encoder.tokenize_corpus(workspace.corpus(spec.corpus)()) if pooling.needs_corpus else None
    vocabulary = None if pooling.plain else encoder.vocabulary()
    vectors, notes = {}, {}
    for name, (batch, states) in tokens.items():
        weights, weight_notes = token_weights(pooling, vocabulary, batch, corpus) if vocabulary else (None, {})
        vectors[name], pool_notes = pool_tokens(states, batch, pooling.mode, weights, pooling.special_tokens)
        notes[name] = {**weight_notes, **pool_notes}
    return Embedded(vectors, stats, keys, notes, "tokens")


def token_states(workspace, encoder, sentences: dict[str, list[str]], layers: list[int], kept: str = "all",
                 sweep_layers: dict | None = None) -> tuple[dict, dict, list]:
    """{name: (TokenBatch, states [len(layers), T, dim])}: the forward model's token entries from the
    store, passed through the encoder (as they are, mixed with or replaced by its table); statistics; and
    the entries read. `kept`: cache.layers."""
    forward = encoder.forward_model
    if forward is not None:
        keep = to_keep(kept, forward, layers, sweep_layers or {})
        computed, stats = workspace.encoding.tokens(forward, sentences, layers, keep)
    else:
        computed, stats = None, EncodeStats()
    tokens, lookup_stats = encoder.token_states(sentences, layers, computed)
    return tokens, {**stats.as_dict(), **lookup_stats}, stats.keys
