"""A synchronous driver for the pure SMTP session, with an in-memory command layer."""

from __future__ import annotations

from dataclasses import dataclass, field

from tidings.model.directory import Principal, PrincipalKind
from tidings.model.ids import DomainId, PrincipalId
from tidings.smtp import responses as r
from tidings.smtp.events import (
    Accepted,
    AuthChallenge,
    AuthResponse,
    AuthStart,
    AuthSucceeded,
    BeginTLS,
    CheckRecipient,
    CheckSender,
    DeliverMessage,
    Outcome,
    Refused,
    Request,
)
from tidings.smtp.options import SessionConfig
from tidings.smtp.parser import NEED_DATA
from tidings.smtp.responses import Reply, parse_reply_line
from tidings.smtp.session import SMTPSession

ALICE = Principal(PrincipalId(1), PrincipalKind.USER, "alice@example.test", DomainId(1))


@dataclass
class FakeCommands:
    """Decides outcomes the way a small, fixed directory would."""

    delivered: list[DeliverMessage] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    password: bytes = b"secret"

    def run(self, request: Request) -> Outcome:
        self.requests.append(request)
        match request:
            case CheckSender():
                return Accepted()
            case CheckRecipient():
                if request.recipient.local_part.startswith("unknown"):
                    return Refused(Reply.of(550, "5.1.1", "No such user here"))
                if request.recipient.local_part.startswith("full"):
                    return Refused(Reply.of(452, "4.2.2", "Mailbox full"))
                return Accepted(payload=str(request.recipient))
            case DeliverMessage():
                self.delivered.append(request)
                return Accepted(f"Queued as {len(self.delivered)}")
            case AuthStart():
                if request.mechanism == "LOGIN":
                    return AuthChallenge(b"Password:")
                return self._plain(request.initial_response)
            case AuthResponse():
                return self._plain(request.data)
            case BeginTLS():
                return Accepted()
        raise AssertionError(request)

    def _plain(self, data: bytes | None) -> Outcome:
        if data is None:
            return AuthChallenge(b"")
        if data.split(b"\x00")[-1] == self.password:
            return AuthSucceeded(ALICE)
        return Refused(r.AUTH_FAILED)


@dataclass
class Driver:
    """Feeds chunks to a session and collects every reply, as server.py would."""

    session: SMTPSession
    commands: FakeCommands = field(default_factory=FakeCommands)
    replies: list[Reply] = field(default_factory=list)
    tls_upgrades: int = 0

    def feed(self, *chunks: bytes) -> list[Reply]:
        start = len(self.replies)
        for chunk in chunks:
            self.session.receive_data(chunk)
            self._pump()
        return self.replies[start:]

    def close(self) -> list[Reply]:
        return self.feed(b"")

    def _pump(self) -> None:
        while not self.session.closed:
            step = self.session.next_step()
            if step is NEED_DATA:
                return
            if isinstance(step, Reply):
                self.replies.append(step)
                continue
            outcome = self.commands.run(step)
            self.replies.append(self.session.complete(step, outcome))
            if isinstance(step, BeginTLS):
                self.tls_upgrades += 1
                self.session.tls_established()

    @property
    def codes(self) -> list[int]:
        return [reply.code for reply in self.replies]


def make_driver(**config: object) -> Driver:
    options: dict[str, object] = {"hostname": "mx.example.test"}
    options.update(config)
    tls = bool(options.pop("tls", False))
    loopback = bool(options.pop("loopback", False))
    session = SMTPSession(
        SessionConfig(**options),  # type: ignore[arg-type]
        peer_host="192.0.2.1", tls=tls, loopback=loopback,
    )
    driver = Driver(session)
    driver.replies.append(session.greeting())
    return driver


def wire_codes(wire: bytes) -> list[int]:
    """Codes of the final lines of every reply in a wire transcript."""
    codes = []
    for line in wire.split(b"\r\n"):
        if line:
            code, last, _ = parse_reply_line(line)
            if last:
                codes.append(code)
    return codes
