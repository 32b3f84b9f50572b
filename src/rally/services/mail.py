"""Outgoing mail: SMTP when configured, else an outbox folder of .eml files in the data dir.

Sending is slow and may fail; callers send only after their transaction committed (never
while holding the database's write lock), and a failure to send is logged, not raised into
the request: the action the mail reports has already happened.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol

from rally.config import MailSettings, Settings

log = logging.getLogger("rally.mail")


@dataclass(frozen=True)
class Message:
    """One plain-text e-mail to one address."""

    to: str
    subject: str
    body: str


class Mailer(Protocol):
    """Something that delivers messages."""

    def send(self, message: Message) -> None:
        """Deliver one message (raises OSError or smtplib.SMTPException on failure)."""


def _email(settings: MailSettings, message: Message) -> EmailMessage:
    email = EmailMessage()
    email["From"] = settings.sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(domain="rally.invalid")
    email.set_content(message.body)
    return email


class SmtpMailer:
    """Send through the SMTP server of RALLY_SMTP_* (STARTTLS, implicit TLS or plain)."""

    def __init__(self, settings: MailSettings, timeout: float = 10.0) -> None:
        assert settings.host
        self.settings = settings
        self.timeout = timeout

    def send(self, message: Message) -> None:
        s = self.settings
        assert s.host
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.tls == "ssl":
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
        with smtp:
            if s.tls == "starttls":
                smtp.starttls(context=context)
            if s.username:
                smtp.login(s.username, s.password or "")
            smtp.send_message(_email(s, message))


class OutboxMailer:
    """Write each message as an .eml file into a folder (development, the demo)."""

    def __init__(self, settings: MailSettings, folder: Path) -> None:
        self.settings = settings
        self.folder = folder

    def send(self, message: Message) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        path = self.folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        path.write_bytes(bytes(_email(self.settings, message)))
        log.warning("no SMTP configured: mail to %s written to %s", message.to, path)


def outbox_folder(settings: Settings) -> Path:
    """Return where messages go when RALLY_SMTP_HOST is not set."""
    return settings.data_dir / "outbox"


def mailer_for(settings: Settings) -> Mailer:
    """Return the SMTP mailer when a host is configured, else the outbox mailer."""
    if settings.mail.host:
        return SmtpMailer(settings.mail)
    return OutboxMailer(settings.mail, outbox_folder(settings))


def send_all(mailer: Mailer, messages: list[Message]) -> int:
    """Send each message; log (never raise) failures; return how many were sent."""
    sent = 0
    for message in messages:
        try:
            mailer.send(message)
            sent += 1
        except (OSError, smtplib.SMTPException) as exc:
            log.error("could not send mail to %s: %s", message.to, exc)
    return sent
