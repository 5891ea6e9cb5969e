"""The fault-injection suite (`make faults`; part of `make test`): each test injects real faults and
adds a row to one ledger, printed as a table at the end of the session."""
from pathlib import Path

import pytest

LEDGER: list[dict] = []
FAULTS = Path(__file__).parent


def pytest_collection_modifyitems(items):
    for item in items:
        if FAULTS in Path(item.fspath).parents:
            item.add_marker(pytest.mark.faults)


@pytest.fixture
def ledger():
    """ledger(fault, injected, finished_correctly, lost, wrong): one row of the closing table."""
    def add(fault: str, injected: int, correct: int, lost: int = 0, wrong: int = 0):
        LEDGER.append({"fault": fault, "injected": injected, "correct": correct, "lost": lost, "wrong": wrong})
    return add


def pytest_terminal_summary(terminalreporter):
    if not LEDGER:
        return
    write = terminalreporter.write_line
    write("")
    write(f"{'fault':<48}{'injected':>9}{'finished correctly':>20}{'results lost':>14}{'wrong numbers':>15}")
    for row in LEDGER:
        write(f"{row['fault']:<48}{row['injected']:>9}{row['correct']:>20}{row['lost']:>14}{row['wrong']:>15}")
    totals = {k: sum(r[k] for r in LEDGER) for k in ("injected", "correct", "lost", "wrong")}
    write(f"{'total':<48}{totals['injected']:>9}{totals['correct']:>20}{totals['lost']:>14}{totals['wrong']:>15}")
