"""A real SMTP server for the tests (aiosmtpd on 127.0.0.1 and a free port) and its mailbox."""

from __future__ import annotations

import email
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

from rally.config import MailSettings


@dataclass
class Mailbox:
    """Messages the server received, in order."""

    port: int = 0
    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def settings(self, operator: str | None = "operator@example.com") -> MailSettings:
        """MailSettings that send to this server (plain SMTP: it is local)."""
        return MailSettings(host="127.0.0.1", port=self.port, tls="none", operator=operator)

    def to(self, address: str) -> list[Message]:
        """Messages addressed to `address`."""
        return [m for m in self.messages if m["To"] == address]

    def wait_for(self, address: str, subject: str, timeout: float = 10) -> Message:
        """Return the newest message to `address` whose subject contains `subject`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.to(address) if subject in str(m["Subject"])]
            if found:
                return found[-1]
            time.sleep(0.05)
        raise AssertionError(
            f"no mail {subject!r} to {address}: {[m['Subject'] for m in self.messages]}"
        )

    def link(self, address: str, subject: str, path: str) -> str:
        """Return the link to `path` in the newest such message."""
        body = str(self.wait_for(address, subject).get_payload(decode=True).decode())
        match = re.search(rf"https?://\S+{re.escape(path)}\?token=\S+", body)
        assert match, body
        return match.group(0)


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    """Run an SMTP server on 127.0.0.1 and a free port while the block runs."""
    box = Mailbox()
    with socket.socket() as sock:  # aiosmtpd cannot report a port 0 choice: pick one first
        sock.bind(("127.0.0.1", 0))
        box.port = int(sock.getsockname()[1])
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
