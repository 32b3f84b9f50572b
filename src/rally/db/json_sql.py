"""JSON documents built by the database, written once in SQLAlchemy Core for both backends.

Each construct compiles to PostgreSQL's function (`json_build_object`, `json_agg`, ...) or to
SQLite's JSON1 one (`json_object`, `json_group_array`, ...). SQLite needs two things spelled
out that PostgreSQL infers from types: a JSON value read from a column or a subquery is text
again (`doc` re-marks it as JSON), and a boolean is an integer (`boolean` makes it true/false).
Ordered arrays are window aggregates (`array_agg`): a window's ORDER BY fixes the order on
both, where SQLite before 3.44 has no ORDER BY inside an aggregate.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, Text, case, cast, func, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement, Over
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import JSON


class _Json(FunctionElement[Any]):
    type = JSON()
    inherit_cache = True


class object_(_Json):
    """A JSON object of alternating keys and values (keys in their order). The keys are
    written into the statement, not bound: a document has dozens."""

    name = "json_object"
    inherit_cache = True

    def __init__(self, *pairs: Any) -> None:
        super().__init__(
            *(
                sql_literal(x) if i % 2 == 0 and isinstance(x, str) else x
                for i, x in enumerate(pairs)
            )
        )


class array(_Json):
    """A JSON array of the values, NULLs included."""

    name = "json_array"
    inherit_cache = True


class array_agg_(_Json):
    """The rows' values as a JSON array: use `array_agg`, which orders it."""

    name = "json_group_array"
    inherit_cache = True


class doc(_Json):
    """A JSON document read back from a column or subquery, as JSON (not as a string)."""

    name = "json"
    inherit_cache = True


class boolean(_Json):
    """A boolean as JSON true/false (NULL stays NULL)."""

    name = "json_bool"
    inherit_cache = True


class league_day(FunctionElement[Any]):
    """The league's calendar day of a timestamp (PostgreSQL: in `tz`; SQLite keeps the wall
    time it was given, so its date part)."""

    type = Date()
    inherit_cache = True


class weekday(FunctionElement[Any]):
    """The English name of a date's weekday ("Tuesday"), as Python's %A in the C locale."""

    type = Text()
    inherit_cache = True


class iso_time(FunctionElement[Any]):
    """A time of day as JSON writes it: HH:MM:SS (SQLite stores HH:MM:SS.ffffff)."""

    type = Text()
    inherit_cache = True


class as_date(FunctionElement[Any]):
    """A bound date parameter, typed for PostgreSQL (SQLite compares dates as text)."""

    type = Date()
    inherit_cache = True


_WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_PG_NAMES = {
    "object_": "json_build_object",
    "array": "json_build_array",
    "array_agg_": "json_agg",
}


@compiles(object_)
@compiles(array)
@compiles(array_agg_)
@compiles(doc)
def _sqlite_json(element: FunctionElement[Any], compiler: Any, **kw: Any) -> str:
    return f"{element.name}({compiler.process(element.clauses, **kw)})"


@compiles(object_, "postgresql")
@compiles(array, "postgresql")
@compiles(array_agg_, "postgresql")
def _pg_json(element: FunctionElement[Any], compiler: Any, **kw: Any) -> str:
    return f"{_PG_NAMES[type(element).__name__]}({compiler.process(element.clauses, **kw)})"


@compiles(doc, "postgresql")
@compiles(boolean, "postgresql")
def _pg_same(element: FunctionElement[Any], compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(boolean)
def _sqlite_boolean(element: boolean, compiler: Any, **kw: Any) -> str:
    (value,) = element.clauses
    spelled = case((value, "true"), (~value, "false"))
    return f"json({compiler.process(spelled, **kw)})"


@compiles(league_day, "postgresql")
def _pg_league_day(element: league_day, compiler: Any, **kw: Any) -> str:
    value, tz = element.clauses
    return f"(({compiler.process(value, **kw)}) AT TIME ZONE {compiler.process(tz, **kw)})::date"


@compiles(league_day)
def _sqlite_league_day(element: league_day, compiler: Any, **kw: Any) -> str:
    value, _ = element.clauses
    return f"substr({compiler.process(value, **kw)}, 1, 10)"


@compiles(weekday, "postgresql")
def _pg_weekday(element: weekday, compiler: Any, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'FMDay')"


@compiles(weekday)
def _sqlite_weekday(element: weekday, compiler: Any, **kw: Any) -> str:
    number = f"strftime('%w', {compiler.process(element.clauses, **kw)})"
    whens = " ".join(f"WHEN '{i}' THEN '{name}'" for i, name in enumerate(_WEEKDAYS))
    return f"CASE {number} {whens} END"


@compiles(iso_time, "postgresql")
def _pg_iso_time(element: iso_time, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(iso_time)
def _sqlite_iso_time(element: iso_time, compiler: Any, **kw: Any) -> str:
    value = compiler.process(element.clauses, **kw)
    return f"CASE WHEN substr({value}, 9) IN ('', '.000000') THEN substr({value}, 1, 8) ELSE {value} END"


@compiles(as_date, "postgresql")
def _pg_as_date(element: as_date, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS DATE)"


@compiles(as_date)
def _sqlite_as_date(element: as_date, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


def array_agg(
    value: Any,
    *,
    order_by: list[Any],
    partition_by: list[Any] | None = None,
    running: bool = False,
) -> Over[Any]:
    """The JSON array of `value` over the rows of the partition, in `order_by` order (a window
    aggregate): on every row the whole partition's, or with `running` the rows up to this
    one (whole on the partition's last row, each element serialised once)."""
    return array_agg_(value).over(
        partition_by=partition_by, order_by=order_by, rows=(None, 0 if running else None)
    )


def or_empty(value: Any) -> ColumnElement[Any]:
    """A JSON array from a subquery, `[]` when it found no row."""
    return doc(func.coalesce(value, array()))


def text(value: Any) -> ColumnElement[str]:
    """A JSON document as text (what the server sends)."""
    return cast(value, Text)


def sql_literal(value: str) -> ColumnElement[str]:
    """A constant string written into the statement (quotes doubled)."""
    return literal_column("'" + value.replace("'", "''") + "'", Text)
