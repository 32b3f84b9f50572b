"""Person-name matching for claims: exact, then normalised, then common nicknames."""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from functools import lru_cache

#: Each group holds the names one person may go by. A name may sit in several groups
#: ("Chris" is Christopher or Christine); two first names match when they share a group.
NICKNAME_GROUPS: tuple[frozenset[str], ...] = tuple(
    frozenset(group.split())
    for group in (
        "robert bob bobby rob robby robbie bert",
        "william bill billy will willy liam",
        "michael mike mikey mick",
        "james jim jimmy jamie",
        "richard rick ricky rich richie dick",
        "thomas tom tommy",
        "charles charlie chuck chas",
        "edward ed eddie ted ned",
        "theodore ted teddy theo",
        "joseph joe joey",
        "daniel dan danny",
        "christopher chris topher",
        "christine christina kristin kristen chris chrissy tina",
        "anthony tony",
        "andrew andy drew",
        "benjamin ben benny",
        "jonathan jon jonny",
        "john jack johnny jon",
        "matthew matt matty",
        "nicholas nick nicky",
        "patrick pat patty",
        "patricia pat patty trish tricia",
        "peter pete",
        "stephen steven steve stevie",
        "timothy tim timmy",
        "gregory greg",
        "kenneth ken kenny",
        "david dave davey",
        "douglas doug",
        "samuel sam sammy",
        "samantha sam sammy",
        "alexander alex al xander",
        "alexandra alex alexa ali",
        "albert al bert",
        "elizabeth liz lizzie beth betsy libby eliza",
        "katherine catherine kathryn katharine kate katie kathy cathy kat",
        "margaret maggie meg peggy",
        "jennifer jen jenny",
        "susan sue suzy susie",
        "deborah debra debbie deb",
        "rebecca becky becca",
        "victoria vicky tori",
        "kimberly kim",
        "jeffrey jeff",
        "jeremy jerry",
        "gerald jerry gerry",
        "lawrence larry",
        "leonard leo len lenny",
        "frederick fred freddie",
        "francis frank frankie",
        "henry hank harry",
        "harold harry hal",
        "raymond ray",
        "ronald ron ronnie",
        "donald don donnie",
        "philip phillip phil",
        "zachary zach zack",
        "nathaniel nathan nate",
        "joshua josh",
        "jacob jake",
        "abigail abby",
        "allison alison ali allie",
        "jessica jess jessie",
        "cynthia cindy",
        "pamela pam",
        "barbara barb barbie",
        "dorothy dot dottie",
    )
)

_PUNCT = re.compile(r"[.'’`]")
_SEPARATORS = re.compile(r"[\s\-_,]+")


@lru_cache(maxsize=65536)
def normalize(name: str) -> str:
    """Fold case, accents, punctuation and runs of whitespace: " José  O'Neil " -> "jose oneil"."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = _PUNCT.sub("", plain.casefold())
    return _SEPARATORS.sub(" ", plain).strip()


@lru_cache(maxsize=4096)
def first_name_forms(first_name: str) -> frozenset[str]:
    """Return the normalised first name plus every nickname-equivalent form."""
    key = normalize(first_name)
    forms = {key}
    for group in NICKNAME_GROUPS:
        if key in group:
            forms |= group
    return frozenset(forms)


def same_name(first_a: str, last_a: str, first_b: str, last_b: str) -> bool:
    """Tell whether two names match ignoring case, accents and whitespace."""
    return normalize(first_a) == normalize(first_b) and normalize(last_a) == normalize(last_b)


def nickname_match(first_a: str, last_a: str, first_b: str, last_b: str) -> bool:
    """Tell whether two names match with a common nickname (the last names must agree)."""
    if normalize(last_a) != normalize(last_b):
        return False
    return bool(first_name_forms(first_a) & first_name_forms(first_b))


def similarity(first_a: str, last_a: str, first_b: str, last_b: str) -> float:
    """Score how close two full names are, from 0 to 1 (for "closest candidates")."""
    a = f"{normalize(first_a)} {normalize(last_a)}"
    b = f"{normalize(first_b)} {normalize(last_b)}"
    score = SequenceMatcher(None, a, b).ratio()
    if nickname_match(first_a, last_a, first_b, last_b):
        score = max(score, 0.95)
    return score
