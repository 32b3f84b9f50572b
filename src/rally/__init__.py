"""Rally: league-data platform for racquet-sport leagues."""

__version__ = "0.1.0"
