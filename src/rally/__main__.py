"""`python -m rally` is the `rally` command."""

from rally.cli import main

main()
