"""The leagues Rally knows, by stable key: light enough for `rally --help` to import."""

from __future__ import annotations

import re
from collections.abc import Iterable

#: The leagues Rally knows, by stable key, with their display names.
LEAGUES: dict[str, str] = {
    "APTA_CHICAGO": "APTA Chicago",
    "CNSWPL": "Chicago North Shore Women's Platform Tennis League",
    "NSTF": "North Shore Tennis Foundation",
    "CITA": "Chicagoland Indoor Tennis Association",
}

#: Keys reserved for generated leagues (`rally generate --leagues N` past the fourth).
SYNTHETIC_LEAGUE = re.compile(r"^SYN_\d{2,}$")


def league_name(key: str) -> str | None:
    """Return the display name of a league key Rally imports, None for an unknown key."""
    if key in LEAGUES:
        return LEAGUES[key]
    if SYNTHETIC_LEAGUE.match(key):
        return f"Synthetic league {key[4:]}"
    return None


def league_order(keys: Iterable[str]) -> list[str]:
    """Order league keys: the real leagues as in LEAGUES, then synthetic ones by key."""
    wanted = set(keys)
    return [k for k in LEAGUES if k in wanted] + sorted(wanted - LEAGUES.keys())
