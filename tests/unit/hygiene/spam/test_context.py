"""The shared message context: one per message, shared by the stages of one run."""

from __future__ import annotations

from tidings.delivery.stages import Accept, StageInput, Verdict, run_pipeline
from tidings.hygiene.context import AuthStatus, context_for, peek_context


def message(raw: bytes = b"Subject: x\r\n\r\nbody") -> StageInput:
    return StageInput("a@example.test", (), raw, None, "192.0.2.1")


class Writer:
    name = "writer"

    async def evaluate(self, message: StageInput) -> Verdict:
        context_for(message).spf = AuthStatus.FAIL
        return Accept()


class Reader:
    name = "reader"
    seen: AuthStatus | None = None

    async def evaluate(self, message: StageInput) -> Verdict:
        context = peek_context(message)
        Reader.seen = context.spf if context is not None else None
        return Accept()


async def test_a_later_stage_reads_what_an_earlier_one_wrote() -> None:
    await run_pipeline([Writer(), Reader()], message())
    assert Reader.seen is AuthStatus.FAIL


async def test_another_message_gets_a_fresh_context() -> None:
    first = message()
    context_for(first).spf = AuthStatus.PASS
    second = message()  # equal fields, another object: another message
    assert peek_context(second) is None
    assert context_for(second).spf is None
    assert context_for(second) is context_for(second)
