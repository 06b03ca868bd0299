"""InboundDelivery against in-memory services: one commit, queue, Sent copy, stages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from tests.unit.delivery.fakes import (
    FakeBlobs,
    FakeMail,
    FakeQueue,
    as_blobs,
    as_mail,
    as_queue,
)
from tidings.delivery.inbound import DeliveryRequest, InboundDelivery, RecipientEntry
from tidings.delivery.received import ReceivedInfo
from tidings.delivery.recipients import LocalTarget, ResolvedRecipient
from tidings.delivery.stages import (
    Accept,
    AddHeaders,
    DeliveryStage,
    FileInto,
    Reject,
    StageInput,
    TempFail,
    Verdict,
)
from tidings.model.directory import Principal, PrincipalKind
from tidings.model.errors import PolicyRejection, QuotaExceeded
from tidings.model.ids import AccountId, DomainId, PrincipalId
from tidings.model.mail import SEEN, MailboxRole

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
CONTENT = b"From: a@example.test\r\nSubject: s\r\n\r\nbody\r\n"


def user(pid: int, name: str) -> Principal:
    return Principal(PrincipalId(pid), PrincipalKind.USER, name, DomainId(1))


BOB, CAROL, ALICE = user(1, "bob@example.test"), user(2, "carol@example.test"), user(3, "a@x")


def local(address: str, *targets: tuple[Principal, str | None]) -> RecipientEntry:
    return RecipientEntry(ResolvedRecipient(address, tuple(
        LocalTarget(AccountId(p.id), p, folder) for p, folder in targets)))


def remote(address: str, notify: str | None = None) -> RecipientEntry:
    return RecipientEntry(ResolvedRecipient(address, is_remote=True), notify)


@dataclass
class Fixed:
    verdict: Verdict
    name: str = "fixed"

    async def evaluate(self, message: StageInput) -> Verdict:
        assert message.raw.startswith(b"Received: ")
        return self.verdict


def make(*stages: DeliveryStage) -> tuple[InboundDelivery, FakeMail, FakeQueue, FakeBlobs]:
    queue, blobs = FakeQueue(), FakeBlobs()
    mail = FakeMail(blob_store=blobs)
    inbound = InboundDelivery(mail=as_mail(mail), queue=as_queue(queue), blobs=as_blobs(blobs),
                              hostname="mx.example.test", stages=stages, clock=lambda: NOW)
    return inbound, mail, queue, blobs


def request(*entries: RecipientEntry, by: Principal | None = None) -> DeliveryRequest:
    return DeliveryRequest("s@remote.example", entries, CONTENT,
                           ReceivedInfo("c.example", "192.0.2.1", "ESMTP"), submitted_by=by,
                           message_id="ID1")


async def test_one_commit_for_all_local_accounts_deduplicated() -> None:
    inbound, mail, queue, blobs = make()
    receipt = await inbound.deliver(request(
        local("bob@example.test", (BOB, None)), local("robert@example.test", (BOB, None)),
        local("team@example.test", (BOB, None), (CAROL, None)),
        local("carol+lists@example.test", (CAROL, "lists")),
    ))
    ((accounts, blob),) = mail.deliveries
    assert accounts == [(AccountId(1), MailboxRole.INBOX), (AccountId(2), MailboxRole.INBOX)]
    stored = blobs.data[blob.id]
    assert stored.endswith(CONTENT) and stored.startswith(b"Received: from c.example")
    assert b"for <" not in stored  # several recipients: no "for" clause
    assert receipt.id == "ID1" and len(receipt.delivered) == 2
    assert queue.enqueued == [] and mail.appended == []


async def test_plus_folder_is_used_and_a_file_into_stage_overrides_it() -> None:
    inbound, mail, _, _ = make()
    await inbound.deliver(request(local("bob+lists@example.test", (BOB, "lists"))))
    assert mail.deliveries[-1][0] == [(AccountId(1), "lists")]
    inbound, mail, _, _ = make(Fixed(FileInto("Junk")))
    await inbound.deliver(request(local("bob+lists@example.test", (BOB, "lists"))))
    assert mail.deliveries[-1][0] == [(AccountId(1), "Junk")]


async def test_remote_recipients_are_queued_with_dsn_and_sent_copy_filed() -> None:
    inbound, mail, queue, _ = make()
    receipt = await inbound.deliver(request(
        local("bob@example.test", (BOB, None)), remote("x@remote.example", "FAILURE"), by=ALICE))
    (queued,) = queue.enqueued
    assert [r.address for r in queued.recipients] == ["x@remote.example"]
    assert queued.recipients[0].notify == "FAILURE" and queued.submitted_by == ALICE.id
    assert queued.blob_id == receipt.blob.id
    ((actor, sent),) = mail.appended
    assert actor == ALICE and sent.blob == receipt.blob and sent.keywords == {SEEN}


async def test_remote_recipient_without_submission_is_relay_denied() -> None:
    inbound, mail, _, blobs = make()
    with pytest.raises(PolicyRejection) as refused:
        await inbound.deliver(request(remote("x@remote.example")))
    assert refused.value.enhanced_code == "5.7.1"
    assert blobs.data == {} and mail.deliveries == []


async def test_reject_and_tempfail_verdicts_store_nothing() -> None:
    for stage, permanent in ((Fixed(Reject(550, "5.7.1", "spam")), True),
                             (Fixed(TempFail("greylisted", "4.7.1")), False)):
        inbound, mail, _, blobs = make(Fixed(Accept()), stage)
        with pytest.raises(PolicyRejection) as refused:
            await inbound.deliver(request(local("bob@example.test", (BOB, None))))
        assert refused.value.permanent is permanent
        assert blobs.data == {} and mail.deliveries == []


async def test_add_headers_verdicts_go_on_top_in_order() -> None:
    inbound, _, _, blobs = make(Fixed(AddHeaders((("X-Spam-Score", "1.0"), ("X-A", "b")))))
    receipt = await inbound.deliver(request(local("bob@example.test", (BOB, None))))
    assert blobs.data[receipt.blob.id].startswith(b"X-Spam-Score: 1.0\r\nX-A: b\r\nReceived: ")


async def test_nothing_stored_because_every_mailbox_is_full_is_refused() -> None:
    inbound, mail, _, _ = make()
    mail.refuse_accounts = {AccountId(1)}
    with pytest.raises(QuotaExceeded):
        await inbound.deliver(request(local("bob@example.test", (BOB, None))))
    receipt = await inbound.deliver(request(
        local("bob@example.test", (BOB, None)), local("carol@example.test", (CAROL, None))))
    assert receipt.undelivered == (AccountId(1),)
