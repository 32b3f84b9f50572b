"""The legacy production schema's DDL: the baseline revision and legacy test fixtures use it."""

from __future__ import annotations

import re

# The legacy DDL (../shared/legacy/schema.sql without its comments), PostgreSQL dialect.
LEGACY_DDL = """
CREATE TABLE leagues (
    id            serial PRIMARY KEY,
    league_id     varchar(255) NOT NULL,
    league_name   varchar(255) NOT NULL,
    league_url    varchar(512),
    created_at    timestamptz DEFAULT CURRENT_TIMESTAMP,
    updated_at    timestamptz DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT leagues_league_id_key UNIQUE (league_id)
);
CREATE TABLE clubs (
    id            serial PRIMARY KEY,
    name          varchar(255) NOT NULL,
    club_address  varchar(500),
    logo_filename varchar(500),
    updated_at    timestamptz DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT clubs_name_key UNIQUE (name)
);
CREATE TABLE club_leagues (
    id         serial PRIMARY KEY,
    club_id    integer NOT NULL REFERENCES clubs(id),
    league_id  integer NOT NULL REFERENCES leagues(id),
    created_at timestamptz DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT unique_club_league UNIQUE (club_id, league_id)
);
CREATE TABLE series (
    id           serial PRIMARY KEY,
    name         varchar(255) NOT NULL,
    display_name varchar(255) NOT NULL,
    updated_at   timestamptz DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT series_name_key UNIQUE (name)
);
CREATE INDEX idx_series_display_name ON series (display_name);
CREATE TABLE series_leagues (
    id         serial PRIMARY KEY,
    series_id  integer NOT NULL REFERENCES series(id),
    league_id  integer NOT NULL REFERENCES leagues(id),
    created_at timestamptz DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT unique_series_league UNIQUE (series_id, league_id)
);
CREATE TABLE teams (
    id               serial PRIMARY KEY,
    club_id          integer NOT NULL REFERENCES clubs(id),
    series_id        integer NOT NULL REFERENCES series(id),
    league_id        integer NOT NULL REFERENCES leagues(id),
    team_name        varchar(255) NOT NULL,
    display_name     varchar(255) NOT NULL,
    team_alias       varchar(255),
    external_team_id varchar(255),
    is_active        boolean DEFAULT true,
    created_at       timestamptz DEFAULT CURRENT_TIMESTAMP,
    updated_at       timestamptz DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT unique_team_club_series_league UNIQUE (club_id, series_id, league_id),
    CONSTRAINT unique_team_name_per_league UNIQUE (team_name, league_id)
);
CREATE TABLE players (
    id                    serial PRIMARY KEY,
    tenniscores_player_id varchar(255) NOT NULL,
    first_name            varchar(255) NOT NULL,
    last_name             varchar(255) NOT NULL,
    email                 varchar(255),
    league_id             integer NOT NULL REFERENCES leagues(id),
    club_id               integer NOT NULL REFERENCES clubs(id),
    series_id             integer NOT NULL REFERENCES series(id),
    team_id               integer REFERENCES teams(id),
    pti                   numeric(10,2),
    wins                  integer DEFAULT 0,
    losses                integer DEFAULT 0,
    win_percentage        numeric(5,2) DEFAULT 0.00,
    captain_status        varchar(50),
    career_wins           integer DEFAULT 0,
    career_losses         integer DEFAULT 0,
    career_matches        integer DEFAULT 0,
    career_win_percentage numeric(5,2) DEFAULT 0.00,
    is_active             boolean DEFAULT true,
    created_at            timestamptz DEFAULT CURRENT_TIMESTAMP,
    updated_at            timestamptz DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT unique_player_in_league_club_series
        UNIQUE (tenniscores_player_id, league_id, club_id, series_id)
);
CREATE TABLE users (
    id             serial PRIMARY KEY,
    email          varchar(255) NOT NULL,
    password_hash  varchar(255) NOT NULL,
    first_name     varchar(255),
    last_name      varchar(255),
    is_admin       boolean NOT NULL DEFAULT false,
    league_context integer REFERENCES leagues(id),
    created_at     timestamptz DEFAULT CURRENT_TIMESTAMP,
    last_login     timestamptz,
    CONSTRAINT users_email_key UNIQUE (email)
);
CREATE TABLE user_player_associations (
    user_id               integer NOT NULL REFERENCES users(id),
    tenniscores_player_id varchar(255) NOT NULL,
    is_primary            boolean DEFAULT false,
    created_at            timestamptz DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (user_id, tenniscores_player_id)
);
CREATE TABLE user_contexts (
    user_id      integer PRIMARY KEY REFERENCES users(id),
    league_id    integer REFERENCES leagues(id),
    team_id      integer REFERENCES teams(id),
    last_updated timestamptz DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE series_stats (
    id           serial PRIMARY KEY,
    league_id    integer REFERENCES leagues(id),
    series       varchar(255),
    team         varchar(255),
    series_id    integer REFERENCES series(id),
    team_id      integer REFERENCES teams(id),
    points       integer,
    matches_won  integer,
    matches_lost integer,
    matches_tied integer,
    lines_won    integer,
    lines_lost   integer,
    lines_for    integer,
    lines_ret    integer,
    sets_won     integer,
    sets_lost    integer,
    games_won    integer,
    games_lost   integer,
    created_at   timestamptz DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_series_stats_series_id ON series_stats (series_id);
CREATE TABLE schedule (
    id           serial PRIMARY KEY,
    league_id    integer REFERENCES leagues(id),
    match_date   date,
    match_time   time,
    home_team    text,
    away_team    text,
    home_team_id integer REFERENCES teams(id),
    away_team_id integer REFERENCES teams(id),
    location     text,
    created_at   timestamptz DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE match_scores (
    id                   serial PRIMARY KEY,
    league_id            integer REFERENCES leagues(id),
    match_date           date,
    home_team            text,
    away_team            text,
    home_team_id         integer REFERENCES teams(id),
    away_team_id         integer REFERENCES teams(id),
    home_player_1_id     text,
    home_player_2_id     text,
    away_player_1_id     text,
    away_player_2_id     text,
    scores               text,
    winner               text,
    tenniscores_match_id text,
    created_at           timestamptz DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT match_scores_tenniscores_match_id_key UNIQUE (tenniscores_match_id)
);
CREATE TABLE player_history (
    id         serial PRIMARY KEY,
    player_id  integer REFERENCES players(id),
    league_id  integer REFERENCES leagues(id),
    series     varchar(255),
    date       date,
    end_pti    numeric(10,2),
    created_at timestamptz DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE player_availability (
    id                  serial PRIMARY KEY,
    player_name         varchar(255) NOT NULL,
    player_id           integer REFERENCES players(id),
    user_id             integer REFERENCES users(id),
    match_date          timestamptz NOT NULL,
    availability_status integer NOT NULL DEFAULT 3,
    series_id           integer NOT NULL REFERENCES series(id),
    notes               text,
    updated_at          timestamptz DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT valid_availability_status CHECK (availability_status IN (1, 2, 3))
);
CREATE TABLE user_instructions (
    id          serial PRIMARY KEY,
    user_email  varchar(255) NOT NULL,
    instruction text NOT NULL,
    series_id   integer REFERENCES series(id),
    team_id     integer REFERENCES teams(id),
    is_active   boolean DEFAULT true,
    created_at  timestamptz DEFAULT CURRENT_TIMESTAMP
);
"""

# Tables in dependency order, for dropping.
LEGACY_TABLES = (
    "user_instructions",
    "player_availability",
    "player_history",
    "match_scores",
    "schedule",
    "series_stats",
    "user_contexts",
    "user_player_associations",
    "users",
    "players",
    "teams",
    "series_leagues",
    "series",
    "club_leagues",
    "clubs",
    "leagues",
)


def statements(dialect: str) -> list[str]:
    """Return the legacy DDL as statements for `dialect` (SQLite gets the same shape)."""
    ddl = LEGACY_DDL
    if dialect == "sqlite":
        ddl = ddl.replace("serial PRIMARY KEY", "INTEGER PRIMARY KEY")
        ddl = re.sub(r"\btimestamptz\b", "TIMESTAMP", ddl)
    return [s.strip() for s in ddl.split(";") if s.strip()]
