"""The shrink guard: a snapshot may not deactivate more than a share of a league at once.

A scrape that stopped early still parses: a players file of 8 rows would mark 800 players
inactive. The guard fails such a league (its transaction rolls back, other leagues load)
with the numbers, unless the operator accepts it (`--allow-shrink`).
"""

from __future__ import annotations

from dataclasses import dataclass

from rally.errors import RallyError


@dataclass(frozen=True)
class ShrinkGuard:
    """How much of a league's active players or teams one snapshot may deactivate."""

    max_share: float = 0.2
    allow: bool = False


class ShrinkRefused(RallyError):
    """A snapshot would deactivate more of a league than the guard allows."""


def check_shrink(guard: ShrinkGuard, league: str, what: str, active: int, retiring: int) -> None:
    """Raise ShrinkRefused when ``retiring`` of ``active`` rows is more than the guard allows."""
    if guard.allow or not active or not retiring or retiring / active <= guard.max_share:
        return
    raise ShrinkRefused(
        f"{league}: this snapshot would mark {retiring:,} of {active:,} active {what} "
        f"({retiring / active:.0%}) inactive, more than the {guard.max_share:.0%} allowed; "
        "check the files, or pass --allow-shrink to accept it (--max-shrink to change the share)"
    )
