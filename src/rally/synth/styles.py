"""League styles: the shape of each real league that generated leagues imitate."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Style:
    """Sizes, naming habits and file formats of one real league."""

    name: str
    real_key: str
    real_teams: int  # teams in the real corpus: scale 1 reproduces this
    women: bool
    clubs: int
    series_size: tuple[int, int]
    double_share: float  # share of series where one club fields two teams
    roster: int
    multi_league_share: float
    two_team_share: float
    pti_na: float
    career_share: float
    id_prefix: str
    legs: int
    played_share: float
    season_start: dt.date
    times: tuple[str, ...]
    lines: int
    extra_line_share: float
    tie_share: float
    sub_share: float
    null_id_share: float


APTA = Style(
    name="apta",
    real_key="APTA_CHICAGO",
    real_teams=534,
    women=False,
    clubs=50,
    series_size=(8, 12),
    double_share=0.15,
    roster=9,
    multi_league_share=0.0,
    two_team_share=0.07,
    pti_na=0.16,
    career_share=0.76,
    id_prefix="nndz-",
    legs=2,
    played_share=0.34,
    season_start=dt.date(2024, 9, 24),
    times=("06:30 pm",),
    lines=4,
    extra_line_share=0.0,
    tie_share=0.0,
    sub_share=0.0,
    null_id_share=0.08,
)

CNSWPL = Style(
    name="cnswpl",
    real_key="CNSWPL",
    real_teams=247,
    women=True,
    clubs=40,
    series_size=(9, 11),
    double_share=0.2,
    roster=10,
    multi_league_share=0.03,
    two_team_share=0.0,
    pti_na=1.0,
    career_share=1.0,
    id_prefix="cnswpl_",
    legs=1,
    played_share=0.6,
    season_start=dt.date(2025, 1, 9),
    times=("09:00 am", "07:00 pm", "12:00 pm", "06:30 pm"),
    lines=4,
    extra_line_share=0.0,
    tie_share=0.0,
    sub_share=0.03,
    null_id_share=0.0,
)

NSTF = Style(
    name="nstf",
    real_key="NSTF",
    real_teams=26,
    women=False,
    clubs=12,
    series_size=(6, 6),
    double_share=0.25,
    roster=28,
    multi_league_share=0.08,
    two_team_share=0.08,
    pti_na=1.0,
    career_share=0.0,
    id_prefix="nndz-",
    legs=2,
    played_share=1.0,
    season_start=dt.date(2025, 5, 29),
    times=("06:00 pm",),
    lines=4,
    extra_line_share=0.4,
    tie_share=0.09,
    sub_share=0.04,
    null_id_share=0.0,
)

CITA = Style(
    name="cita",
    real_key="CITA",
    real_teams=142,
    women=False,
    clubs=16,
    series_size=(5, 9),
    double_share=0.15,
    roster=9,
    multi_league_share=0.05,
    two_team_share=0.0,
    pti_na=1.0,
    career_share=1.0,
    id_prefix="nndz-",
    legs=2,
    played_share=1.0,
    season_start=dt.date(2024, 9, 8),
    times=("", "", "", "", "06:00 pm", "05:00 pm", "10:00 am"),
    lines=4,
    extra_line_share=0.35,
    tie_share=0.0,
    sub_share=0.01,
    null_id_share=1.0,
)

STYLES: tuple[Style, ...] = (APTA, CNSWPL, NSTF, CITA)
