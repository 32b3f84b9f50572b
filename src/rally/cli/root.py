"""The `rally` command's Typer application: every command group (see rally.cli for main)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from rally.cli import admin, config, db, demo, etl, generate, serve


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"rally {version('rally')}")
        raise typer.Exit()


app = typer.Typer(
    name="rally",
    help="Rally: league-isolated data for racquet-sport leagues.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print Rally's version and exit."
        ),
    ] = False,
) -> None:
    """Rally: league-isolated data for racquet-sport leagues."""


app.add_typer(db.app, name="db")
app.add_typer(admin.app, name="admin")
app.add_typer(etl.app, name="etl")
app.command("generate")(generate.generate_command)
app.command("serve")(serve.serve)
app.command("demo")(demo.demo)
app.command("config")(config.config)


def _value_name(param: Any) -> str:
    """What an option's or argument's value is called in help: FILE or DIR for paths, else
    the last word of its name (--database-url URL, --port PORT, --league LEAGUE)."""
    names = [n for n in getattr(param, "opts", []) if n.startswith("--")] or [param.name or ""]
    word = max(names, key=len).lstrip("-").replace("_", "-").split("-")[-1].upper()
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None and descriptor.is_path and word not in {"DIR", "FILE", "PATHS"}:
        return "FILE"
    return word or "VALUE"


def _quiet_flags(command: Any) -> None:
    # Typer shows a value type such as <bool> after options that take no value, and <str>,
    # <list[Path]> or <int range> after the others: a flag has none to show, a value its
    # name (as --database-url URL). (Typer bundles its own click, hence no isinstance checks.)
    for param in command.params:
        if getattr(param, "is_flag", False):
            param.metavar = ""
        elif param.metavar is None:
            param.metavar = _value_name(param)
        if not getattr(param, "opts", [""])[0].startswith("-"):  # an argument: its name says it
            param.display_type_rich = lambda ctx=None: None
    make_help_option = command.get_help_option

    def get_help_option(ctx: Any) -> Any:
        option = make_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = get_help_option
    for sub in getattr(command, "commands", {}).values():
        _quiet_flags(sub)


def command() -> Any:
    """Return the click command behind `rally`, as the console script runs it."""
    built = typer.main.get_command(app)
    _quiet_flags(built)
    return built
