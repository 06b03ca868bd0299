"""DKIM verification, ARC chains and DMARC evaluation against dict-served DNS."""

from __future__ import annotations

from tidings.hygiene.dkim_keys import Algorithm
from tidings.hygiene.dkim_verify import DKIMResult, verify_arc, verify_dkim
from tidings.hygiene.dmarc import (
    Disposition,
    DMARCResult,
    evaluate,
    is_aligned,
    organizational_domain,
)

from .dns_fake import DictLookup, Zone
from .keys import arc_sealed, dkim_key, message, publish, signed


def signer_zone() -> Zone:
    zone = Zone()
    publish(zone, dkim_key("signer.test"))
    publish(zone, dkim_key("ed.test", Algorithm.ED25519))
    return zone


async def test_a_valid_rsa_signature_passes() -> None:
    raw = signed(message("signer.test"), dkim_key("signer.test"))
    [result] = await verify_dkim(DictLookup(signer_zone()), raw)
    assert (result.result, result.domain, result.selector) == (DKIMResult.PASS, "signer.test",
                                                               "s1")


async def test_a_valid_ed25519_signature_passes() -> None:
    raw = signed(message("ed.test"), dkim_key("ed.test", Algorithm.ED25519))
    [result] = await verify_dkim(DictLookup(signer_zone()), raw)
    assert result.result is DKIMResult.PASS


async def test_a_changed_body_fails() -> None:
    raw = signed(message("signer.test"), dkim_key("signer.test")).replace(b"Hi there", b"Hi thief")
    [result] = await verify_dkim(DictLookup(signer_zone()), raw)
    assert result.result is DKIMResult.FAIL


async def test_a_missing_key_is_a_permerror() -> None:
    raw = signed(message("signer.test"), dkim_key("signer.test"))
    [result] = await verify_dkim(DictLookup(Zone()), raw)
    assert result.result is DKIMResult.PERMERROR


async def test_an_unsigned_message_has_no_results() -> None:
    assert await verify_dkim(DictLookup(signer_zone()), message("signer.test")) == []


async def test_a_dns_failure_is_a_temperror() -> None:
    zone = signer_zone()
    zone.servfail.add("s1._domainkey.signer.test")
    raw = signed(message("signer.test"), dkim_key("signer.test"))
    [result] = await verify_dkim(DictLookup(zone), raw)
    assert result.result is DKIMResult.TEMPERROR


async def test_every_signature_is_verified() -> None:
    raw = signed(signed(message("signer.test"), dkim_key("signer.test")),
                 dkim_key("ed.test", Algorithm.ED25519))
    results = await verify_dkim(DictLookup(signer_zone()), raw)
    assert [(r.domain, r.result) for r in results] == [
        ("ed.test", DKIMResult.PASS), ("signer.test", DKIMResult.PASS)]


async def test_an_intact_arc_chain_passes() -> None:
    zone = signer_zone()
    publish(zone, dkim_key("forwarder.test"))
    raw = arc_sealed(message("signer.test"), "forwarder.test")
    assert (await verify_arc(DictLookup(zone), raw)).result == "pass"


async def test_a_broken_arc_chain_fails() -> None:
    zone = signer_zone()
    publish(zone, dkim_key("forwarder.test"))
    raw = arc_sealed(message("signer.test"), "forwarder.test").replace(b"Hi there", b"Hi THERE")
    assert (await verify_arc(DictLookup(zone), raw)).result == "fail"


async def test_no_arc_headers_is_none() -> None:
    assert (await verify_arc(DictLookup(Zone()), message("x.test"))).result == "none"


def test_organizational_domain_uses_the_bundled_public_suffix_list() -> None:
    assert organizational_domain("a.b.example.co.uk") == "example.co.uk"
    assert organizational_domain("mail.example.com") == "example.com"
    assert is_aligned("mail.example.com", "example.com", strict=False)
    assert not is_aligned("mail.example.com", "example.com", strict=True)
    assert not is_aligned("example.org", "example.com", strict=False)


def dmarc_zone() -> Zone:
    zone = Zone()
    zone.add("_dmarc.reject.test", "TXT", "v=DMARC1; p=reject")
    zone.add("_dmarc.quar.test", "TXT", "v=DMARC1; p=quarantine; pct=50")
    zone.add("_dmarc.strict.test", "TXT", "v=DMARC1; p=reject; adkim=s; aspf=s")
    zone.add("_dmarc.org.test", "TXT", "v=DMARC1; p=none; sp=reject")
    return zone


async def test_dmarc_passes_with_aligned_dkim() -> None:
    outcome = await evaluate(DictLookup(dmarc_zone()), message("reject.test"),
                             spf_pass_domain=None, dkim_pass_domains=["reject.test"])
    assert outcome.result is DMARCResult.PASS


async def test_dmarc_passes_with_relaxed_spf_alignment() -> None:
    outcome = await evaluate(DictLookup(dmarc_zone()), message("reject.test"),
                             spf_pass_domain="bounces.reject.test", dkim_pass_domains=[])
    assert outcome.result is DMARCResult.PASS


async def test_dmarc_fails_unaligned_and_asks_for_reject() -> None:
    outcome = await evaluate(DictLookup(dmarc_zone()), message("reject.test"),
                             spf_pass_domain="other.test", dkim_pass_domains=["other.test"])
    assert (outcome.result, outcome.disposition) == (DMARCResult.FAIL, Disposition.REJECT)


async def test_strict_alignment_refuses_a_subdomain() -> None:
    outcome = await evaluate(DictLookup(dmarc_zone()), message("strict.test"),
                             spf_pass_domain="mail.strict.test", dkim_pass_domains=[])
    assert outcome.result is DMARCResult.FAIL


async def test_a_subdomain_uses_sp_of_the_organizational_record() -> None:
    outcome = await evaluate(DictLookup(dmarc_zone()), message("sub.org.test"),
                             spf_pass_domain=None, dkim_pass_domains=[])
    assert (outcome.result, outcome.disposition) == (DMARCResult.FAIL, Disposition.REJECT)


async def test_pct_sampling_lowers_the_policy_outside_the_sample() -> None:
    zone = DictLookup(dmarc_zone())
    inside = await evaluate(zone, message("quar.test"), spf_pass_domain=None,
                            dkim_pass_domains=[], sample=lambda: 0.1)
    outside = await evaluate(zone, message("quar.test"), spf_pass_domain=None,
                             dkim_pass_domains=[], sample=lambda: 0.9)
    assert inside.disposition is Disposition.QUARANTINE
    assert outside.disposition is Disposition.NONE


async def test_no_record_is_none() -> None:
    outcome = await evaluate(DictLookup(dmarc_zone()), message("nodmarc.test"),
                             spf_pass_domain=None, dkim_pass_domains=[])
    assert outcome.result is DMARCResult.NONE


async def test_two_from_fields_are_a_permerror() -> None:
    raw = b"From: a@reject.test\r\n" + message("reject.test")
    outcome = await evaluate(DictLookup(dmarc_zone()), raw, spf_pass_domain=None,
                             dkim_pass_domains=[])
    assert outcome.result is DMARCResult.PERMERROR
