"""A file written front to back past the page cache (Linux O_DIRECT), or as a plain file where that is
not possible (another OS, a filesystem that refuses it, an I/O size it rejects).

Why: a cache entry is written once and read later. A buffered write copies every byte into the page
cache first, and on a machine whose memory is full of cache that copy is kernel time: 1.7 s per GB here
(0.6-1 GB/s, nearly all of it system time, measured), 10 s of a cold MPNet STS encode's 6 GB. Written
past the cache the same bytes went at 2.6 GB/s with almost no CPU. O_DIRECT asks for aligned memory,
sizes and offsets: bytes are gathered in an aligned buffer and written a whole buffer at a time; the
last, partial block is written padded and the file cut back to its length.
"""
import errno
import mmap
import os
from pathlib import Path

BLOCK = 4096  # the alignment O_DIRECT asks for (logical block size; 4096 covers 512-byte devices too)
BUFFER = 8 * 2**20  # bytes gathered per write (a multiple of BLOCK)


class DirectFile:
    def __init__(self, path: str | Path):
        self.path, self.length, self.fd, self.file = Path(path), 0, None, None
        flag = getattr(os, "O_DIRECT", 0)
        if flag:
            try:
                self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | flag, 0o666)
            except OSError as exc:
                if exc.errno != errno.EINVAL:  # EINVAL: this filesystem does not do O_DIRECT
                    raise
        if self.fd is None:
            self.file = open(self.path, "wb")
        else:
            self.buffer = mmap.mmap(-1, BUFFER)  # page-aligned, as O_DIRECT asks
            self.view, self.used = memoryview(self.buffer), 0

    @property
    def direct(self) -> bool:
        """Whether the bytes still go past the page cache."""
        return self.file is None

    def write(self, data) -> None:
        data = memoryview(data).cast("B")
        self.length += len(data)
        while len(data):
            if not self.direct:  # from the start, or since O_DIRECT was refused
                self.file.write(data)
                return
            take = min(len(data), BUFFER - self.used)
            self.view[self.used:self.used + take] = data[:take]
            self.used, data = self.used + take, data[take:]
            if self.used == BUFFER:
                self._flush(BUFFER)

    def _flush(self, size: int) -> None:
        """Write the buffer's first `size` bytes (a multiple of BLOCK)."""
        done, refused = 0, False
        try:
            while done < size:
                done += os.write(self.fd, self.view[done:size])
        except OSError as exc:
            if exc.errno != errno.EINVAL or done:
                raise
            refused = True
        if refused:  # the filesystem took the flag but refuses the I/O: write the rest plainly
            self._to_buffered()
        else:
            self.used = 0

    def _to_buffered(self) -> None:
        written = os.lseek(self.fd, 0, os.SEEK_CUR)
        self._release()
        self.file = open(self.path, "r+b")
        self.file.seek(written)
        self.file.write(self.view[:self.used])
        self.view = self.buffer = None  # freed with their last reference

    def _release(self) -> None:
        os.close(self.fd)
        self.fd = None

    def close(self) -> None:
        """Write what is left and close the file (at its exact length)."""
        try:
            if self.direct and self.used:
                padded = -(-self.used // BLOCK) * BLOCK
                self.view[self.used:padded] = bytes(padded - self.used)
                self._flush(padded)
            if self.direct:
                os.ftruncate(self.fd, self.length)
        finally:
            self.abandon()

    def abandon(self) -> None:
        """Close without writing what is left (the caller removes the file)."""
        if self.file is not None:
            self.file.close()
        elif self.fd is not None:
            self._release()
        self.view = self.buffer = None  # freed with their last reference

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        if kind is None:
            self.close()
        else:
            self.abandon()
