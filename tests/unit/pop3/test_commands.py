"""The POP3 command layer against an in-memory MailService and the real Authenticator."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

import pytest

if TYPE_CHECKING:
    from tidings.store.services import MailService

from tests.unit.pop3.helpers import FakeMail, ScramClient, principal
from tidings.directory.auth import Authenticator
from tidings.directory.passwords import HashParameters, PasswordHasher
from tidings.directory.scram import derive_credential
from tidings.model.directory import Credential, Principal
from tidings.model.errors import NotFound
from tidings.model.ids import UID, AccountId, MailboxId, PrincipalId
from tidings.model.mail import Message
from tidings.pop3 import session as s
from tidings.pop3.commands import LocalMaildropLocks, POP3Commands
from tidings.pop3.responses import ResponseCode

HASHER = PasswordHasher(HashParameters.fast_for_tests())
ALICE = principal(7, "alice@example.test")


@dataclass
class FakeDirectory:
    credentials: dict[str, Credential] = field(default_factory=dict)

    def add(self, who: Principal, password: str) -> None:
        scram = derive_credential(password, iterations=4096).serialize()
        self.credentials[who.name] = Credential(who, HASHER.hash_sync(password), scram)

    async def credential(self, login: str) -> Credential:
        if login.lower() not in self.credentials:
            raise NotFound(login)
        return self.credentials[login.lower()]

    async def touch_app_password(self, app_password_id: int) -> None: ...

    async def set_password(
        self, principal_id: PrincipalId, password_hash: str, scram: str | None
    ) -> None: ...

    async def find_principal(self, address: str) -> Principal:
        return (await self.credential(address)).principal


@pytest.fixture
def mail() -> FakeMail:
    fake = FakeMail()
    fake.add(7, b"Subject: one\r\n\r\nfirst\r\n")
    fake.add(7, b"Subject: two\n\nsecond\n")
    return fake


@pytest.fixture
def authenticator() -> Authenticator:
    directory = FakeDirectory()
    directory.add(ALICE, "correct horse")
    return Authenticator(directory, hasher=HASHER, scram_iterations=4096)  # type: ignore[arg-type]


def commands(
    mail: FakeMail, auth: Authenticator, locks: LocalMaildropLocks | None = None
) -> POP3Commands:
    return POP3Commands(
        cast("MailService", mail), auth, locks or LocalMaildropLocks(), remote_ip="192.0.2.1"
    )


async def test_login_opens_the_inbox_with_uidl_from_uidvalidity(
    mail: FakeMail, authenticator: Authenticator
) -> None:
    outcome = await commands(mail, authenticator).run(
        s.Login("alice@example.test", "correct horse")
    )
    assert isinstance(outcome, s.Opened)
    assert [e.unique_id for e in outcome.entries] == ["1700000000.1", "1700000000.2"]
    assert [e.size for e in outcome.entries] == [23, 21]


async def test_wrong_password_is_refused_with_auth_code(
    mail: FakeMail, authenticator: Authenticator
) -> None:
    outcome = await commands(mail, authenticator).run(s.Login("alice@example.test", "nope"))
    assert outcome == s.Refused("authentication failed", ResponseCode.AUTH)


async def test_second_session_gets_in_use_until_the_first_closes(
    mail: FakeMail, authenticator: Authenticator
) -> None:
    locks = LocalMaildropLocks()
    first, second = commands(mail, authenticator, locks), commands(mail, authenticator, locks)
    assert isinstance(await first.run(s.Login("alice@example.test", "correct horse")), s.Opened)
    refused = await second.run(s.Login("alice@example.test", "correct horse"))
    assert isinstance(refused, s.Refused) and refused.code is ResponseCode.IN_USE
    await first.close()
    assert not locks.is_locked(AccountId(7))
    assert isinstance(await second.run(s.Login("alice@example.test", "correct horse")), s.Opened)


async def test_update_flags_then_expunges_only_the_deleted_and_releases_the_lock(
    mail: FakeMail, authenticator: Authenticator
) -> None:
    locks = LocalMaildropLocks()
    cmd = commands(mail, authenticator, locks)
    opened = await cmd.run(s.Login("alice@example.test", "correct horse"))
    assert isinstance(opened, s.Opened)
    one, two = opened.entries
    content = await cmd.run(s.Fetch(2, two))
    assert content == s.Content(b"Subject: two\n\nsecond\n")
    assert await cmd.run(s.Update((one,), (two,))) == s.Updated(1)
    assert mail.calls == ["store ['\\\\Seen'] [2]", "store ['\\\\Deleted'] [1]", "expunge [1]"]
    assert [m.uid for m in mail.inbox[7]] == [2]
    assert not locks.is_locked(AccountId(7))


async def test_close_without_update_deletes_nothing(
    mail: FakeMail, authenticator: Authenticator
) -> None:
    cmd = commands(mail, authenticator)
    assert isinstance(await cmd.run(s.Login("alice@example.test", "correct horse")), s.Opened)
    await cmd.close()
    assert mail.calls == [] and len(mail.inbox[7]) == 2


async def test_fetch_of_a_vanished_blob_is_a_refusal(
    mail: FakeMail, authenticator: Authenticator
) -> None:
    cmd = commands(mail, authenticator)
    opened = await cmd.run(s.Login("alice@example.test", "correct horse"))
    assert isinstance(opened, s.Opened)
    mail.blobs.clear()
    outcome = await cmd.run(s.Fetch(1, opened.entries[0]))
    assert isinstance(outcome, s.Refused) and outcome.code is None


async def test_sasl_plain_with_initial_response(
    mail: FakeMail, authenticator: Authenticator
) -> None:
    cmd = commands(mail, authenticator)
    outcome = await cmd.run(s.SASLStart("PLAIN", b"\x00alice@example.test\x00correct horse"))
    assert isinstance(outcome, s.Opened)


async def test_sasl_plain_without_initial_response_gets_empty_challenge(
    mail: FakeMail, authenticator: Authenticator
) -> None:
    cmd = commands(mail, authenticator)
    assert await cmd.run(s.SASLStart("PLAIN", None)) == s.Challenge(b"")
    bad = await cmd.run(s.SASLResponse(b"\x00alice@example.test\x00wrong"))
    assert bad == s.Refused("authentication failed", ResponseCode.AUTH)


async def test_sasl_scram_sends_server_final_as_challenge_then_opens(
    mail: FakeMail, authenticator: Authenticator
) -> None:
    cmd = commands(mail, authenticator)
    client = ScramClient("alice@example.test", "correct horse")
    server_first = await cmd.run(s.SASLStart("SCRAM-SHA-256", client.first()))
    assert isinstance(server_first, s.Challenge)
    server_final = await cmd.run(s.SASLResponse(client.final(server_first.data)))
    assert server_final == s.Challenge(b"v=" + base64.b64encode(client.server_signature))
    assert isinstance(await cmd.run(s.SASLResponse(b"")), s.Opened)


async def test_sasl_scram_wrong_password_fails(
    mail: FakeMail, authenticator: Authenticator
) -> None:
    cmd = commands(mail, authenticator)
    client = ScramClient("alice@example.test", "wrong")
    first = await cmd.run(s.SASLStart("SCRAM-SHA-256", client.first()))
    assert isinstance(first, s.Challenge)
    outcome = await cmd.run(s.SASLResponse(client.final(first.data)))
    assert isinstance(outcome, s.Refused) and outcome.code is ResponseCode.AUTH


async def test_sasl_cancel_drops_the_exchange(mail: FakeMail, authenticator: Authenticator) -> None:
    cmd = commands(mail, authenticator)
    assert isinstance(await cmd.run(s.SASLStart("PLAIN", None)), s.Challenge)
    assert await cmd.run(s.SASLCancel("cancelled")) == s.Refused("cancelled")
    assert await cmd.run(s.SASLResponse(b"x")) == s.Refused("no authentication in progress")


async def test_unknown_mechanism_is_refused(mail: FakeMail, authenticator: Authenticator) -> None:
    outcome = await commands(mail, authenticator).run(s.SASLStart("CRAM-MD5", None))
    assert outcome == s.Refused("unsupported SASL mechanism")


async def test_unexpected_errors_become_a_closing_sys_temp(
    authenticator: Authenticator,
) -> None:
    class Broken(FakeMail):
        async def messages(
            self, actor: Principal, mailbox: MailboxId, *, since_uid: UID | None = None
        ) -> Sequence[Message]:
            raise RuntimeError("boom")

    locks = LocalMaildropLocks()
    cmd = commands(Broken(), authenticator, locks)
    outcome = await cmd.run(s.Login("alice@example.test", "correct horse"))
    assert outcome == s.Refused("internal server error", ResponseCode.SYS_TEMP, closes=True)
    assert not locks.is_locked(AccountId(7))
