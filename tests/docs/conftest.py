"""The guide runner's tally, printed at the end of every pytest run that ran the guides."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest


@dataclass
class GuideTally:
    guides: set[str] = field(default_factory=set)
    blocks_ran: int = 0
    blocks_compiled_only: int = 0
    commands_parsed: int = 0


TALLY = pytest.StashKey[GuideTally]()


@pytest.fixture
def guide_tally(request: pytest.FixtureRequest) -> GuideTally:
    """Where the guide tests record what they ran (one tally per pytest session)."""
    return request.config.stash.setdefault(TALLY, GuideTally())


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    tally = config.stash.get(TALLY, None)
    if tally is None or not (tally.guides or tally.commands_parsed):
        return
    terminalreporter.write_line(
        f"guides: {tally.blocks_ran} code blocks ran in {len(tally.guides)} guides"
        f" ({tally.blocks_compiled_only} no-run compiled only);"
        f" {tally.commands_parsed} d2lkit command lines parsed"
    )
