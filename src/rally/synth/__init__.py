"""Synthetic leagues shaped like the scraped corpus, for demos, benchmarks and scale tests."""

from __future__ import annotations

from rally.synth.generator import (
    FILES,
    SYNTHETIC_KEY_PATTERN,
    GenerateResult,
    InvalidGenerateArgument,
    LeagueResult,
    MalformedRow,
    OutputDirNotUsable,
    generate,
    league_keys,
)

__all__ = [
    "FILES",
    "SYNTHETIC_KEY_PATTERN",
    "GenerateResult",
    "InvalidGenerateArgument",
    "LeagueResult",
    "MalformedRow",
    "OutputDirNotUsable",
    "generate",
    "league_keys",
]
