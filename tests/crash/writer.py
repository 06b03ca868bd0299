"""Crash-test writer: delivers messages into one mailbox in a loop until killed.

Usage: python -m tests.crash.writer DATA_DIR [CONCURRENCY]
Prints "<email_id> <blob_id>" for each delivery once `deliver` has returned (the
commit is durable), flushed at once, so the test knows what was acknowledged.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
from pathlib import Path

from tidings.model.directory import PrincipalKind
from tidings.model.errors import Conflict, NotFound
from tidings.model.ids import AccountId
from tidings.model.mail import MailboxRole
from tidings.store import SQLStore, open_store
from tidings.store.services import ParsedHeaders

DOMAIN = "crash.example"
USER = f"writer@{DOMAIN}"


def store_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'tidings.db'}"


async def ensure_user(store: SQLStore) -> AccountId:
    """The user, created on the first run (a kill between the steps is harmless)."""
    try:
        return AccountId((await store.directory.find_principal(USER)).id)
    except NotFound:
        pass
    try:
        await store.directory.create_domain(DOMAIN)
    except Conflict:
        pass
    return AccountId((await store.directory.create_principal(PrincipalKind.USER, USER)).id)


def message(serial: str, index: int) -> tuple[bytes, ParsedHeaders]:
    # Every third message is large enough to be a blob file rather than inline.
    filler = "x" * (9000 if index % 3 == 0 else 100)
    subject = f"crash {serial}"
    raw = (
        f"Message-ID: <{serial}@crash.example>\r\nFrom: a@crash.example\r\n"
        f"To: {USER}\r\nSubject: {subject}\r\n\r\n{filler}\r\n"
    ).encode()
    headers = ParsedHeaders(
        date=None,
        subject=subject,
        from_="a@crash.example",
        sender="",
        reply_to="",
        to=USER,
        cc="",
        bcc="",
        message_id=f"<{serial}@crash.example>",
        in_reply_to="",
        references="",
        text=filler,
    )
    return raw, headers


async def deliver_forever(store: SQLStore, account: AccountId, concurrency: int) -> None:
    counter = itertools.count()
    pid = os.getpid()

    async def worker() -> None:
        while True:
            index = next(counter)
            raw, headers = message(f"{pid}.{index}", index)
            blob = await store.blobs.put(raw)
            delivered = await store.mail.deliver([(account, MailboxRole.INBOX)], blob, headers)
            sys.stdout.write(f"{delivered[0].appended.email_id} {blob.id}\n")
            sys.stdout.flush()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def main(data_dir: Path, concurrency: int) -> None:
    store = await open_store(store_url(data_dir), data_dir / "blobs", durability="full")
    account = await ensure_user(store)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    await deliver_forever(store, account, concurrency)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 8))
