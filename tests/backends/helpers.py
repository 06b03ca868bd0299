"""Small builders for the mail contract tests: principals, headers, messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tidings.model.directory import Principal, PrincipalKind
from tidings.model.errors import NotFound
from tidings.model.ids import AccountId, MailboxId
from tidings.model.mail import Appended, Keyword, MailboxRole
from tidings.store import SQLStore
from tidings.store.services import NewMessage, ParsedHeaders

DOMAIN = "example.test"


async def make_principal(
    store: SQLStore,
    local: str,
    kind: PrincipalKind = PrincipalKind.USER,
    *,
    quota_bytes: int | None = None,
) -> Principal:
    """A principal (with its account unless it is a group) in DOMAIN."""
    try:
        await store.directory.get_domain(DOMAIN)
    except NotFound:
        await store.directory.create_domain(DOMAIN)
    return await store.directory.create_principal(
        kind, f"{local}@{DOMAIN}", quota_bytes=quota_bytes
    )


def account(principal: Principal) -> AccountId:
    return AccountId(principal.id)


def headers(
    subject: str = "Hello",
    *,
    text: str = "body text",
    from_: str = "Alice <alice@example.org>",
    to: str = "bob@example.test",
    message_id: str = "",
    in_reply_to: str = "",
    references: str = "",
) -> ParsedHeaders:
    return ParsedHeaders(
        date=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        subject=subject,
        from_=from_,
        sender="",
        reply_to="",
        to=to,
        cc="",
        bcc="",
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        text=text,
        base_subject=subject,
    )


@dataclass
class Mailer:
    """Appends messages with unique bytes into one store."""

    store: SQLStore
    counter: int = 0

    async def new_message(
        self,
        mailbox: MailboxId,
        parsed: ParsedHeaders | None = None,
        keywords: frozenset[Keyword] = frozenset(),
        size: int = 0,
    ) -> NewMessage:
        self.counter += 1
        parsed = parsed or headers(f"Message {self.counter}")
        raw = (
            f"Subject: {parsed.subject}\r\nMessage-ID: {parsed.message_id}\r\n\r\n"
            f"{parsed.text} #{self.counter}\r\n"
        ).encode()
        if size:
            raw = raw + b"x" * max(0, size - len(raw))
        blob = await self.store.blobs.put(raw)
        return NewMessage(mailbox, blob, parsed, keywords)

    async def append(
        self,
        actor: Principal,
        mailbox: MailboxId,
        parsed: ParsedHeaders | None = None,
        keywords: frozenset[Keyword] = frozenset(),
        size: int = 0,
    ) -> Appended:
        message = await self.new_message(mailbox, parsed, keywords, size)
        return await self.store.mail.append(actor, message)


async def inbox(store: SQLStore, owner: Principal) -> MailboxId:
    return (await store.mail.mailbox_by_role(owner, account(owner), MailboxRole.INBOX)).id


__all__ = ["DOMAIN", "Mailer", "account", "headers", "inbox", "make_principal"]
