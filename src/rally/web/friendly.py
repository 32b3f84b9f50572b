"""Error sentences for pages, in a player's words (the JSON API keeps its field names)."""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError

#: Path parameters: what the number in the address names.
_THINGS = {
    "series_id": "series",
    "team_id": "team",
    "player_id": "player",
    "club_id": "club",
    "league_key": "league",
}
#: Query and form fields, as a player would call them.
_LABELS = {
    "q": "name to search for",
    "league": "league",
    "name": "club name",
    "email": "email address",
    "first_name": "first name",
    "last_name": "last name",
    "next": "return address",
}


def page_sentence(exc: RequestValidationError) -> str:
    """Say what was wrong with a page's address or form, without developer terms."""
    errors = list(exc.errors())
    if not errors:
        return "This page could not be opened: the address or form is incomplete."
    first = errors[0]
    loc: tuple[Any, ...] = tuple(first.get("loc", ()))
    source = loc[0] if loc else ""
    name = str(loc[-1]) if loc else ""
    value = first.get("input")
    kind = str(first.get("type", ""))
    context = first.get("ctx") or {}
    if source == "path":
        thing = _THINGS.get(name, "page")
        if kind.startswith("int") or kind in {"greater_than_equal", "less_than_equal"}:
            return (
                f"“{value}” is not a {thing} number, so there is no such {thing}. "
                f"Check the address, or find the {thing} from the leagues page or the search."
            )
        return f"There is no {thing} “{value}”. Check the address."
    label = _LABELS.get(name, name.replace("_", " ") or "form")
    if kind == "missing":
        return f"Please fill in the {label}."
    if kind == "string_too_long":
        return f"The {label} is too long: at most {context.get('max_length')} characters."
    if kind == "string_too_short":
        return f"The {label} is too short: type at least {context.get('min_length')} characters."
    if kind.startswith("int") or kind.startswith("greater") or kind.startswith("less"):
        return f"The {label} must be a whole number in range, not “{value}”."
    return f"The {label} “{value}” is not valid."
