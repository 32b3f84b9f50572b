"""Alembic migrations of the Rally schema (run through `rally db`)."""

from __future__ import annotations

#: Objects a revision creates with raw SQL that the models cannot describe on both backends
#: (0003: the trigram expression index of player names, PostgreSQL only).
UNMODELLED = frozenset({"ix_players_name_trgm"})


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Leave UNMODELLED objects out of autogenerate's comparison (`alembic check`)."""
    return not (type_ == "index" and reflected and name in UNMODELLED)
