"""The fault-injection suite (`make faults`; part of `make test`): each test injects real faults and
adds a row to one ledger (the `ledger` fixture in tests/conftest.py), printed as a table at the end."""
from pathlib import Path

import pytest

FAULTS = Path(__file__).parent


def pytest_collection_modifyitems(items):
    for item in items:
        if FAULTS in Path(item.fspath).parents:
            item.add_marker(pytest.mark.faults)
