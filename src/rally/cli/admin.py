"""`rally admin`: the operator's commands for accounts, claims and captains (all audited)."""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from rally._lazy import lazy
from rally.cli._common import DatabaseUrlOption, JsonOption, console, handle_errors, open_engine
from rally.errors import UsageError

# SQLAlchemy and the services load when a command runs: `rally --help` stays fast.
if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from rally.config import Settings
    from rally.services import audit, claim_review, user_admin
    from rally.services import captains as captains_mod
    from rally.services import mail as mail_mod
    from rally.services.mail import Message
else:
    audit = lazy("rally.services.audit")
    claim_review = lazy("rally.services.claim_review")
    captains_mod = lazy("rally.services.captains")
    user_admin = lazy("rally.services.user_admin")
    mail_mod = lazy("rally.services.mail")

app = typer.Typer(
    help="Operator commands: accounts, claims, captains, audit log.", no_args_is_help=True
)
users = typer.Typer(
    help="List, find, disable and enable accounts; send a reset link.", no_args_is_help=True
)
claims = typer.Typer(
    help="Review claims: list pending/disputed, confirm, release, transfer.", no_args_is_help=True
)
captains = typer.Typer(help="Grant and revoke team captaincy.", no_args_is_help=True)
app.add_typer(users, name="users")
app.add_typer(claims, name="claims")
app.add_typer(captains, name="captains")

ActorOption = Annotated[
    str | None,
    typer.Option(
        "--actor", help="Who you are, for the audit log (default: operator <login name>)."
    ),
]
EmailArgument = Annotated[str, typer.Argument(help="The account's e-mail address.")]
ClaimArgument = Annotated[int, typer.Argument(help="Claim id (from `rally admin claims list`).")]


def _actor(actor: str | None) -> str:
    if actor and actor.strip():
        return actor.strip()
    try:
        return f"operator {getpass.getuser()}"
    except (KeyError, OSError):
        return "operator"


@contextmanager
def _session(database_url: str | None) -> Iterator[tuple[Settings, Session]]:
    from sqlalchemy.orm import Session

    settings, engine = open_engine(database_url)
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            yield settings, session
    finally:
        engine.dispose()


def _send(settings: Settings, messages: list[Message]) -> None:
    # After the commit: the action stands even when mail cannot go out.
    wanted = [m for m in messages if m.to]
    if not wanted:
        return
    sent = mail_mod.send_all(mail_mod.mailer_for(settings), wanted)
    where = (
        f"via {settings.mail.host}"
        if settings.mail.host
        else f"to {mail_mod.outbox_folder(settings)}"
    )
    console.print(
        f"{sent} of {len(wanted)} message(s) sent {where}.", highlight=False, soft_wrap=True
    )


def _print(
    rows: list[Any], as_json: bool, columns: list[str], cells: Callable[[Any], list[str]]
) -> None:
    if as_json:
        console.print_json(json.dumps([asdict(r) for r in rows], default=str))
        return
    table = Table(*columns)
    for row in rows:
        table.add_row(*cells(row))
    console.print(table)


@users.command("list")
@handle_errors
def users_list(
    find: Annotated[
        str | None, typer.Option("--find", help="Only addresses or names containing this.")
    ] = None,
    database_url: DatabaseUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """List accounts (or find them by address or name)."""
    with _session(database_url) as (_, session):
        rows = user_admin.find_users(session, text=find)
    _print(
        rows,
        as_json,
        ["id", "email", "name", "verified", "disabled", "claims", "captain of"],
        lambda r: [
            str(r.id),
            r.email,
            r.name,
            "yes" if r.verified else "no",
            "yes" if r.disabled else "",
            str(r.claims),
            str(r.captaincies),
        ],
    )


@users.command("disable")
@handle_errors
def users_disable(
    email: EmailArgument,
    reason: Annotated[str | None, typer.Option("--reason", help="Why, for the audit log.")] = None,
    actor: ActorOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Disable an account: no sign-in, every session ends."""
    with _session(database_url) as (_, session):
        user = user_admin.user_by_email(session, email=email)
        ended = user_admin.disable(session, user=user, actor=_actor(actor), reason=reason)
    console.print(f"Disabled {user.email}; {ended} session(s) ended.", highlight=False)


@users.command("enable")
@handle_errors
def users_enable(
    email: EmailArgument, actor: ActorOption = None, database_url: DatabaseUrlOption = None
) -> None:
    """Let a disabled account sign in again."""
    with _session(database_url) as (_, session):
        user = user_admin.user_by_email(session, email=email)
        user_admin.enable(session, user=user, actor=_actor(actor))
    console.print(f"Enabled {user.email}.", highlight=False)


@users.command("send-reset")
@handle_errors
def users_send_reset(
    email: EmailArgument, actor: ActorOption = None, database_url: DatabaseUrlOption = None
) -> None:
    """Mail the account a password reset link (needs RALLY_BASE_URL for the link)."""
    from rally.services import tokens
    from rally.web.app import secret_key

    with _session(database_url) as (settings, session):
        base = settings.security.base_url
        if not base:
            raise UsageError(
                "Set RALLY_BASE_URL (the site's public address) so the link can point to it."
            )
        user = user_admin.user_by_email(session, email=email)
        token = tokens.make_token(secret_key(settings), user, "reset")
        minutes = settings.security.reset_link_minutes
        message = mail_mod.Message(
            user.email,
            "Reset your Rally password",
            f"The operator sent you a link to choose a new password for {user.email}.\n"
            f"It works once, within {minutes:g} minutes:\n\n{base}/reset?token={token}\n",
        )
        audit.record(
            session,
            actor=_actor(actor),
            action="user.send_reset",
            subject=f"user {user.id} <{user.email}>",
        )
    _send(settings, [message])


@claims.command("list")
@handle_errors
def claims_list(
    state: Annotated[
        str,
        typer.Option(
            "--state", help="pending, disputed, confirmed, open (pending and disputed) or all."
        ),
    ] = "open",
    database_url: DatabaseUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """List claims waiting for a decision (or in another state)."""
    choices = {
        "open": ("pending", "disputed"),
        "pending": ("pending",),
        "disputed": ("disputed",),
        "confirmed": ("confirmed",),
        "all": ("pending", "disputed", "confirmed"),
    }
    if state not in choices:
        raise UsageError(f"--state must be one of {', '.join(choices)}, not {state!r}.")
    with _session(database_url) as (_, session):
        rows = claim_review.review_queue(session, states=choices[state])
    _print(
        rows,
        as_json,
        ["claim", "state", "claimed by", "record", "team", "disputes"],
        lambda c: [
            str(c.claim_id),
            c.status,
            c.email,
            f"{c.record.first_name} {c.record.last_name}",
            f"{c.record.team or c.record.club} ({c.record.league})",
            str(c.open_disputes),
        ],
    )


def _decide(
    database_url: str | None, action: Callable[[Session], list[Message]], done: str
) -> None:
    with _session(database_url) as (settings, session):
        messages = action(session)
    console.print(done, highlight=False)
    _send(settings, messages)


@claims.command("confirm")
@handle_errors
def claims_confirm(
    claim_id: ClaimArgument, actor: ActorOption = None, database_url: DatabaseUrlOption = None
) -> None:
    """Confirm a pending claim, or a disputed one for its holder (disputes rejected)."""
    _decide(
        database_url,
        lambda s: claim_review.confirm(s, claim_id=claim_id, actor=_actor(actor)),
        f"Claim {claim_id} confirmed.",
    )


@claims.command("release")
@handle_errors
def claims_release(
    claim_id: ClaimArgument, actor: ActorOption = None, database_url: DatabaseUrlOption = None
) -> None:
    """Release a claim: the record can be claimed again."""
    _decide(
        database_url,
        lambda s: claim_review.release(s, claim_id=claim_id, actor=_actor(actor)),
        f"Claim {claim_id} released.",
    )


@claims.command("transfer")
@handle_errors
def claims_transfer(
    claim_id: ClaimArgument,
    to: Annotated[str, typer.Option("--to", help="E-mail of the account that gets the record.")],
    actor: ActorOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Give a claimed record to another account (confirmed), e.g. the disputant."""

    def act(session: Session) -> list[Message]:
        target = user_admin.user_by_email(session, email=to)
        return claim_review.transfer(
            session, claim_id=claim_id, to_user=target, actor=_actor(actor)
        )

    _decide(database_url, act, f"Claim {claim_id} transferred to {to}.")


@captains.command("list")
@handle_errors
def captains_list(database_url: DatabaseUrlOption = None, as_json: JsonOption = False) -> None:
    """List captains and their teams."""
    with _session(database_url) as (_, session):
        rows = captains_mod.captains(session)
    _print(rows, as_json, ["email", "team id", "team"], lambda r: [r.email, str(r.team_id), r.team])


TeamArgument = Annotated[int, typer.Argument(help="Team id (as in /teams/<id>).")]


@captains.command("grant")
@handle_errors
def captains_grant(
    email: EmailArgument,
    team_id: TeamArgument,
    actor: ActorOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Make an account a captain of a team: it may confirm and release that team's claims."""
    with _session(database_url) as (_, session):
        user = user_admin.user_by_email(session, email=email)
        captains_mod.grant_captain(session, user=user, team_id=team_id, actor=_actor(actor))
    console.print(f"{user.email} is a captain of team {team_id}.", highlight=False)


@captains.command("revoke")
@handle_errors
def captains_revoke(
    email: EmailArgument,
    team_id: TeamArgument,
    actor: ActorOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Remove an account's captaincy of a team."""
    with _session(database_url) as (_, session):
        user = user_admin.user_by_email(session, email=email)
        was = captains_mod.revoke_captain(session, user=user, team_id=team_id, actor=_actor(actor))
    console.print(
        f"{user.email} {'is no longer' if was else 'was not'} a captain of team {team_id}.",
        highlight=False,
    )


@app.command("audit")
@handle_errors
def audit_log(
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000, help="How many entries.")] = 50,
    subject: Annotated[
        str | None, typer.Option("--subject", help="Only entries about this (e.g. an e-mail).")
    ] = None,
    database_url: DatabaseUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the audit log, newest first: who did what, when."""
    with _session(database_url) as (_, session):
        rows = audit.entries(session, limit=limit, subject=subject)
    _print(
        rows,
        as_json,
        ["when", "who", "what", "subject", "detail"],
        lambda e: [str(e.at), e.actor, e.action, e.subject, e.detail or ""],
    )
