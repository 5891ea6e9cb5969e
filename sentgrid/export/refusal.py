"""The one sentence an export that cannot be exact stops with."""
from ..errors import SentgridError


def refuse(reason: str) -> SentgridError:
    return SentgridError(f"this cell cannot be exported exactly: {reason}")
