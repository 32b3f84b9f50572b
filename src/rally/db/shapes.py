"""Which legacy shape a database is in, read from its schema alone.

Production databases did not all stay pristine: the original project's
`scripts/migrate_series_league_isolation.py --live` ran on some, and on some of those its
Alembic revision `series_one_league_refactor` ran later. Each leaves a recognisable schema:

- ``pristine``: no ``series.league_id``; ``series_leagues`` present;
- ``after-script``: ``series.league_id`` nullable with a foreign key to ``leagues``, a unique
  constraint over (name, league_id) instead of one on name alone, ``series_leagues`` present,
  usually a ``series_backup_migration`` table; ``alembic_version`` untouched;
- ``after-script-and-revision``: ``series.league_id`` NOT NULL, ``series_leagues`` gone,
  ``alembic_version`` = ``series_one_league_refactor``.

A shape is recognised by its *core* features (the league column, the link table, the
revision id, no Rally-only column, every legacy table); the constraints are compared too, and
differences there are reported but tolerated (the script's constraint steps could fail on a
production database whose constraint names were not the DDL's, and it carried on). A
database that matches no shape is described by what differs from the nearest one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Inspector

from rally.db.migrations.legacy_ddl import LEGACY_TABLES

PRISTINE = "pristine"
AFTER_SCRIPT = "after-script"
AFTER_REVISION = "after-script-and-revision"
EARLIER_REVISION = "series_one_league_refactor"
SCRIPT_BACKUP_TABLE = "series_backup_migration"

DESCRIPTIONS = {
    PRISTINE: "series shared across leagues",
    AFTER_SCRIPT: "after the earlier scripts/migrate_series_league_isolation.py",
    AFTER_REVISION: f"after the earlier script and its revision {EARLIER_REVISION}",
}
# Columns only Rally's own revisions add (series.league_id is told apart by the shapes).
_RALLY_COLUMNS = (
    ("user_contexts", "series_id"),
    ("player_availability", "league_id"),
    ("user_instructions", "league_id"),
    ("match_scores", "line"),
)

# feature, core?, value expected in the shapes (pristine, after-script, after-revision).
_TABLE: tuple[tuple[str, bool, str, str, str], ...] = (
    ("series.league_id", True, "absent", "nullable", "NOT NULL"),
    ("table series_leagues", True, "present", "present", "absent"),
    ("alembic_version", True, "any", "any", EARLIER_REVISION),
    ("Rally-only columns", True, "none", "none", "none"),
    ("missing legacy tables", True, "none", "none", "none"),
    ("series UNIQUE (name)", False, "present", "absent", "absent"),
    ("series UNIQUE (name, league_id)", False, "absent", "present", "present"),
    ("series.league_id foreign key to leagues", False, "absent", "present", "present"),
)
_EXPECTED: dict[str, tuple[bool, dict[str, str]]] = {
    name: (core, dict(zip(DESCRIPTIONS, values, strict=True))) for name, core, *values in _TABLE
}


@dataclass(frozen=True)
class ShapeMatch:
    """The legacy shape found (None when none matches) and how the schema deviates from it."""

    shape: str | None
    nearest: str
    differences: tuple[str, ...]  # core differences (empty when `shape` is set)
    tolerated: tuple[str, ...]  # non-core differences from `nearest`

    def explain(self) -> str:
        """Say, in one sentence, what differs from the nearest known shape."""
        return (
            f"the nearest known shape is the legacy schema {DESCRIPTIONS[self.nearest]} "
            f"({self.nearest}), from which it differs in: "
            + "; ".join((*self.differences, *self.tolerated))
        )


def _has_unique(inspector: Inspector, columns: set[str]) -> bool:
    uniques = [set(u["column_names"]) for u in inspector.get_unique_constraints("series")]
    uniques += [
        set(i["column_names"])  # type: ignore[arg-type]
        for i in inspector.get_indexes("series")
        if i.get("unique")
    ]
    return columns in uniques


def features(inspector: Inspector, tables: frozenset[str], version: str | None) -> dict[str, str]:
    """Read the features that tell the legacy shapes apart."""
    found: dict[str, str] = {}
    series_columns = (
        {c["name"]: c for c in inspector.get_columns("series")} if "series" in tables else {}
    )
    league = series_columns.get("league_id")
    found["series.league_id"] = (
        "absent" if league is None else "nullable" if league["nullable"] else "NOT NULL"
    )
    found["table series_leagues"] = "present" if "series_leagues" in tables else "absent"
    found["alembic_version"] = version or "none"
    rally = [
        f"{t}.{c}"
        for t, c in _RALLY_COLUMNS
        if t in tables and any(col["name"] == c for col in inspector.get_columns(t))
    ]
    found["Rally-only columns"] = ", ".join(rally) or "none"
    missing = sorted(set(LEGACY_TABLES) - {"series_leagues"} - tables)
    found["missing legacy tables"] = ", ".join(missing) or "none"
    if "series" in tables:
        found["series UNIQUE (name)"] = "present" if _has_unique(inspector, {"name"}) else "absent"
        found["series UNIQUE (name, league_id)"] = (
            "present" if _has_unique(inspector, {"name", "league_id"}) else "absent"
        )
        fks = [
            fk
            for fk in inspector.get_foreign_keys("series")
            if fk["constrained_columns"] == ["league_id"] and fk["referred_table"] == "leagues"
        ]
        found["series.league_id foreign key to leagues"] = "present" if fks else "absent"
    return found


def _differences(found: dict[str, str], shape: str, *, core: bool) -> list[str]:
    out = []
    for name, (is_core, expected) in _EXPECTED.items():
        if is_core != core or name not in found:
            continue
        want, got = str(expected[shape]), found[name]
        if want == "any" and got != EARLIER_REVISION:
            continue
        if want == "any":
            want = f"not {EARLIER_REVISION}"
        if got != want:
            out.append(f"{name} is {got} (expected {want})")
    return out


def match(inspector: Inspector, tables: frozenset[str], version: str | None) -> ShapeMatch:
    """Return the legacy shape of the database, or the nearest one and what differs."""
    found = features(inspector, tables, version)
    scored = []
    for shape in DESCRIPTIONS:
        core = _differences(found, shape, core=True)
        loose = _differences(found, shape, core=False)
        scored.append((len(core), len(loose), shape, core, loose))
    _, _, nearest, core, loose = min(scored, key=lambda s: (s[0], s[1]))
    return ShapeMatch(None if core else nearest, nearest, tuple(core), tuple(loose))
