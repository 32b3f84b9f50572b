"""Alembic migrations of the Rally schema (run through `rally db`)."""

from __future__ import annotations

#: Objects a revision creates with raw SQL that the models cannot describe on both backends
#: (0005/0007, PostgreSQL only: the folded player names, kept by a trigger, and their trigram
#: index).
UNMODELLED = frozenset({"ix_players_search_name", "search_name"})


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Leave UNMODELLED objects out of autogenerate's comparison (`alembic check`)."""
    return not (type_ in {"index", "column"} and reflected and name in UNMODELLED)
