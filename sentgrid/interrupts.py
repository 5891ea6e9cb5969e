"""Ctrl-C and kills, remembered as well as raised. Python drops an exception raised while a finaliser runs
("Exception ignored in: <function Group.__del__ ...>": the `regex` package's compiled groups have one, and a
garbage collection can run it at any moment), so a KeyboardInterrupt can vanish in the middle of an encode,
which then runs on for minutes. The handler records the request too; the encode checks it after each batch."""
import signal
import threading
from contextlib import contextmanager

_requested = threading.Event()


def _interrupt(signum, frame):
    _requested.set()
    raise KeyboardInterrupt


def check() -> None:
    """Raise KeyboardInterrupt when one was asked for while `catching` (even if a finaliser swallowed it)."""
    if _requested.is_set():
        raise KeyboardInterrupt


@contextmanager
def catching():
    """Ctrl-C and a kill (SIGTERM: `kill`, scancel, a cluster's time limit) stop the cell alike, so the encode
    keeps what it finished. Signals are left alone outside the main thread."""
    try:
        previous = {number: signal.signal(number, _interrupt) for number in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread
        yield
        return
    _requested.clear()
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        _requested.clear()
