"""Run the `rally` command in-process, as the tests of several packages do."""

from __future__ import annotations

from typer.testing import CliRunner

runner = CliRunner()


def rally(*args: str) -> tuple[int, str]:
    """Run `rally ARGS`; return the exit code and what it printed.

    With --json, when the command printed a document, the result is stdout alone: a long
    command logs to stderr when it is not on a terminal (as under the test runner), and those
    lines are not part of the document. Otherwise (and when --json printed nothing, as when it
    refuses with a sentence) it is everything printed, stderr included.
    """
    from rally.cli import app

    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    document = "--json" in args and result.stdout.strip()
    return result.exit_code, result.stdout if document else result.output
