"""The store of encoder output, in three rooms: `entries` (content-addressed arrays, integrity, atomic
writes, locks), `encoding` (what to encode, each distinct sentence once) and `tables` (Avg., B2S)."""
from .encoding import TOKENS, EncodeStats, Encoding
from .entries import CorruptEntry, EntryStore, entry_key
from .tables import Tables

__all__ = ["TOKENS", "CorruptEntry", "EncodeStats", "Encoding", "EntryStore", "Tables", "entry_key"]
