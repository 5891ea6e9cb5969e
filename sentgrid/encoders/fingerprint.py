"""A content fingerprint of a local Hugging Face model folder, so the cache key changes with the weights.

Hashing a weight file is memoised on disk by (path, size, mtime), so only the first cell pays for it.
"""
import hashlib
import json
from pathlib import Path

from ..store.entries import temporary_name

# Files that change what the encoder outputs: its config, tokenizer and weights.
FINGERPRINT_PATTERNS = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                        "vocab.txt", "vocab.json", "merges.txt", "*.model", "*.safetensors", "pytorch_model*.bin")


def file_sha256(path: Path, memo_dir: Path | None) -> str:
    """sha256 of a file, memoised in `memo_dir` by its path, size and mtime."""
    stat = path.stat()
    memo = None
    if memo_dir is not None:
        tag = hashlib.sha1(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
        memo = memo_dir / tag
        if memo.exists():
            return memo.read_text().strip()
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    if memo is not None:
        try:
            memo_dir.mkdir(parents=True, exist_ok=True)
            tmp = memo_dir / temporary_name(tag)  # unique: parallel jobs hash the same files at once
            tmp.write_text(digest.hexdigest())
            tmp.replace(memo)
        except OSError:  # a read-only cache: hash again next time
            pass
    return digest.hexdigest()


def folder_fingerprint(folder: str | Path, memo_dir: Path | None = None) -> str:
    folder = Path(folder)
    files = sorted({p for pattern in FINGERPRINT_PATTERNS for p in folder.glob(pattern) if p.is_file()})
    listing = {p.name: file_sha256(p, memo_dir) for p in files}
    return hashlib.sha256(json.dumps(listing, sort_keys=True).encode()).hexdigest()
