"""The one table from domain errors to SMTP replies."""

from __future__ import annotations

import pytest

from tidings.model.errors import (
    AuthenticationFailed,
    InvalidInput,
    NotFound,
    PermissionDenied,
    PolicyRejection,
    QuotaExceeded,
    TemporaryFailure,
    TidingsError,
)
from tidings.smtp.errors import Stage, reply_for


@pytest.mark.parametrize(
    ("error", "stage", "expected"),
    [
        (NotFound("x"), Stage.RCPT, (550, "5.1.1")),
        (PermissionDenied("x"), Stage.RCPT, (550, "5.2.1")),
        (QuotaExceeded("x"), Stage.RCPT, (452, "4.2.2")),
        (QuotaExceeded("x"), Stage.DATA, (552, "5.2.2")),
        (PolicyRejection("no", "5.7.60"), Stage.MAIL, (550, "5.7.60")),
        (PolicyRejection("big", "5.2.2"), Stage.RCPT, (552, "5.2.2")),
        (PolicyRejection("grey", "4.7.1", permanent=False), Stage.DATA, (451, "4.7.1")),
        (PolicyRejection("odd", "2.0.0", permanent=False), Stage.DATA, (451, "4.7.0")),
        (PolicyRejection("odd", "4.0.0"), Stage.DATA, (550, "5.7.1")),
        (AuthenticationFailed(), Stage.AUTH, (535, "5.7.8")),
        (AuthenticationFailed(throttled=True), Stage.AUTH, (454, "4.7.0")),
        (InvalidInput("mech"), Stage.AUTH, (504, "5.5.4")),
        (TemporaryFailure("db"), Stage.DATA, (451, "4.3.0")),
        (TidingsError("?"), Stage.DATA, (451, "4.3.0")),
    ],
)
def test_errors_map_to_codes(error: TidingsError, stage: Stage, expected: tuple[int, str]) -> None:
    reply = reply_for(error, stage, "bob@example.test")
    assert (reply.code, reply.enhanced) == expected
    assert reply.text
