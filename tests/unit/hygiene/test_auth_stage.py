"""The auth stages in the delivery pipeline: one Authentication-Results field, forged
ones stripped, DMARC dispositions, and header helpers."""

from __future__ import annotations

from tidings.delivery.recipients import ResolvedRecipient
from tidings.delivery.stages import StageInput, remove_fields, run_pipeline
from tidings.hygiene.auth_stage import AuthStage, DMARCPolicyStage
from tidings.hygiene.context import AuthStatus, context_for
from tidings.hygiene.headers import tag_list
from tidings.model.errors import PolicyRejection
from tidings.model.mail import MailboxRole

from .dns_fake import DictLookup, Zone
from .keys import dkim_key, message, publish, signed

IP = "192.0.2.10"
US = "mx.tidings.test"


def zone() -> Zone:
    z = Zone()
    z.add("good.test", "TXT", f"v=spf1 ip4:{IP} -all")
    z.add("_dmarc.good.test", "TXT", "v=DMARC1; p=reject")
    z.add("_dmarc.bad.test", "TXT", "v=DMARC1; p=reject; pct=100")
    z.add("_dmarc.junk.test", "TXT", "v=DMARC1; p=quarantine")
    publish(z, dkim_key("good.test"))
    return z


def stage_input(raw: bytes, sender: str = "a@good.test") -> StageInput:
    return StageInput(sender, (ResolvedRecipient("bob@tidings.test"),), raw, None, IP,
                      "client.good.test")


def stages() -> list[AuthStage | DMARCPolicyStage]:
    return [AuthStage(DictLookup(zone()), US), DMARCPolicyStage()]


async def test_a_passing_message_gets_one_results_field_and_context() -> None:
    message_in = stage_input(signed(message("good.test"), dkim_key("good.test")))
    result = await run_pipeline(stages(), message_in)
    [(name, value)] = result.added_fields
    assert name == "Authentication-Results"
    assert value.startswith(f"{US}; spf=pass smtp.mailfrom=good.test; dkim=pass header.d=good.test")
    assert "dmarc=pass" in value and "arc=none" in value
    context = context_for(message_in)
    assert (context.spf, context.dkim, context.dmarc) == (AuthStatus.PASS,) * 3
    assert context.dkim_domains == ("good.test",)
    assert result.folder is None
    assert result.removed_fields == (("Authentication-Results", US),)


async def test_dmarc_reject_raises_a_permanent_policy_rejection() -> None:
    try:
        await run_pipeline(stages(), stage_input(message("bad.test")))
    except PolicyRejection as rejection:
        assert rejection.permanent and rejection.enhanced_code == "5.7.1"
    else:
        raise AssertionError("DMARC p=reject did not reject")


async def test_dmarc_quarantine_files_into_junk() -> None:
    result = await run_pipeline(stages(), stage_input(message("junk.test")))
    assert result.folder == MailboxRole.JUNK


async def test_without_enforcement_a_failure_only_adds_headers() -> None:
    result = await run_pipeline([AuthStage(DictLookup(zone()), US)],
                                stage_input(message("bad.test")))
    assert "dmarc=fail" in result.added_fields[0][1]


async def test_submitted_mail_is_not_checked_but_forged_results_still_go() -> None:
    from tidings.model.directory import Principal, PrincipalKind
    from tidings.model.ids import DomainId, PrincipalId

    user = Principal(PrincipalId(1), PrincipalKind.USER, "alice", DomainId(1))
    message_in = StageInput("a@good.test", (), message("bad.test"), user, IP, "h")
    zone_used = zone()
    result = await run_pipeline([AuthStage(DictLookup(zone_used), US)], message_in)
    assert result.added_fields == ()
    assert result.removed_fields == (("Authentication-Results", US),)
    assert zone_used.queries == []


def test_remove_fields_drops_only_our_authserv_id_including_folded_lines() -> None:
    raw = (f"Authentication-Results: {US};\r\n\tspf=pass\r\n"
           "Authentication-Results: other.test; spf=pass\r\n"
           f"Authentication-Results: {US.upper()} 1; dkim=pass\r\n"
           "Subject: x\r\n\r\nAuthentication-Results: mx.tidings.test; body\r\n").encode()
    cleaned = remove_fields(raw, [("Authentication-Results", US)])
    assert cleaned == (b"Authentication-Results: other.test; spf=pass\r\nSubject: x\r\n\r\n"
                       b"Authentication-Results: mx.tidings.test; body\r\n")


def test_header_helpers() -> None:
    assert tag_list("v=1; a=rsa-sha256; b=ab c\r\n\tde;") == {
        "v": "1", "a": "rsa-sha256", "b": "abcde"}
