"""SPF check_host() (RFC 7208) against zones served from a dict and over loopback DNS."""

from __future__ import annotations

import pytest

from tidings.hygiene.dns import Resolver
from tidings.hygiene.spf import SPFResult, check_host
from tidings.hygiene.spf_macros import MacroContext, MacroError, expand

from .dns_fake import DictLookup, DNSServer, Zone

IP = "192.0.2.10"


def zone() -> Zone:
    z = Zone()
    z.add("pass.test", "TXT", "v=spf1 ip4:192.0.2.0/24 -all")
    z.add("fail.test", "TXT", "v=spf1 ip4:198.51.100.1 -all")
    z.add("soft.test", "TXT", "v=spf1 ~all")
    z.add("neutral.test", "TXT", "v=spf1 ?all")
    z.add("nospf.test", "TXT", "some other text")
    z.add("two.test", "TXT", "v=spf1 -all", "v=spf1 +all")
    z.add("bad.test", "TXT", "v=spf1 foo:bar -all")
    z.add("a.test", "TXT", "v=spf1 a -all").add("a.test", "A", IP)
    z.add("acidr.test", "TXT", "v=spf1 a:host.acidr.test/24 -all")
    z.add("host.acidr.test", "A", "192.0.2.99")
    z.add("mx.test", "TXT", "v=spf1 mx -all").add("mx.test", "MX", "10 mail.mx.test")
    z.add("mail.mx.test", "A", IP)
    z.add("inc.test", "TXT", "v=spf1 include:pass.test -all")
    z.add("incnone.test", "TXT", "v=spf1 include:nospf.test -all")
    z.add("redir.test", "TXT", "v=spf1 redirect=fail.test")
    z.add("redirnone.test", "TXT", "v=spf1 redirect=nospf.test")
    z.add("exists.test", "TXT", "v=spf1 exists:%{i}.ok.exists.test -all")
    z.add(f"{IP}.ok.exists.test", "A", "127.0.0.2")
    z.add("ptr.test", "TXT", "v=spf1 ptr -all")
    z.add("10.2.0.192.in-addr.arpa", "PTR", "mail.ptr.test")
    z.add("mail.ptr.test", "A", IP)
    z.add("ip6.test", "TXT", "v=spf1 ip6:2001:db8::/32 -all")
    z.add("exp.test", "TXT", "v=spf1 -all exp=why.exp.test")
    z.add("why.exp.test", "TXT", "%{i} is not one of %{d}'s servers")
    z.add("temp.test", "TXT", "v=spf1 include:broken.test -all")
    z.servfail.add("broken.test")
    # 11 includes: one over the 10 DNS-lookup limit (RFC 7208 §4.6.4).
    z.add("many.test", "TXT", "v=spf1 " + " ".join(f"include:l{i}.test" for i in range(11))
          + " -all")
    for i in range(11):
        z.add(f"l{i}.test", "TXT", "v=spf1 ip4:203.0.113.1 ?all")
    z.add("ten.test", "TXT", "v=spf1 " + " ".join(f"include:l{i}.test" for i in range(10))
          + " ip4:192.0.2.0/24 -all")
    z.add("void.test", "TXT", "v=spf1 a:v1.void.test a:v2.void.test a:v3.void.test -all")
    z.add("v1.void.test", "TXT", "x")
    z.add("v2.void.test", "TXT", "x")
    z.add("v3.void.test", "TXT", "x")
    return z


@pytest.mark.parametrize(("domain", "ip", "expected"), [
    ("pass.test", IP, SPFResult.PASS),
    ("fail.test", IP, SPFResult.FAIL),
    ("soft.test", IP, SPFResult.SOFTFAIL),
    ("neutral.test", IP, SPFResult.NEUTRAL),
    ("nospf.test", IP, SPFResult.NONE),
    ("nowhere.test", IP, SPFResult.NONE),
    ("two.test", IP, SPFResult.PERMERROR),
    ("bad.test", IP, SPFResult.PERMERROR),
    ("a.test", IP, SPFResult.PASS),
    ("a.test", "192.0.2.11", SPFResult.FAIL),
    ("acidr.test", IP, SPFResult.PASS),
    ("mx.test", IP, SPFResult.PASS),
    ("inc.test", IP, SPFResult.PASS),
    ("inc.test", "198.51.100.7", SPFResult.FAIL),
    ("incnone.test", IP, SPFResult.PERMERROR),
    ("redir.test", IP, SPFResult.FAIL),
    ("redirnone.test", IP, SPFResult.PERMERROR),
    ("exists.test", IP, SPFResult.PASS),
    ("exists.test", "192.0.2.11", SPFResult.FAIL),
    ("ptr.test", IP, SPFResult.PASS),
    ("ip6.test", "2001:db8::25", SPFResult.PASS),
    ("ip6.test", IP, SPFResult.FAIL),
    ("temp.test", IP, SPFResult.TEMPERROR),
    ("many.test", IP, SPFResult.PERMERROR),
    ("ten.test", IP, SPFResult.PASS),
    ("void.test", IP, SPFResult.PERMERROR),
])
async def test_check_host_gives_the_rfc_result(domain: str, ip: str, expected: SPFResult) -> None:
    outcome = await check_host(DictLookup(zone()), ip, f"alice@{domain}", "helo.test")
    assert outcome.result is expected, outcome.reason
    assert outcome.domain == domain


async def test_more_than_ten_lookups_is_a_permerror_naming_the_limit() -> None:
    outcome = await check_host(DictLookup(zone()), IP, "a@many.test", "h.test")
    assert outcome.result is SPFResult.PERMERROR
    assert "10" in outcome.reason


async def test_null_sender_checks_the_helo_identity() -> None:
    outcome = await check_host(DictLookup(zone()), IP, "", "pass.test")
    assert (outcome.result, outcome.domain) == (SPFResult.PASS, "pass.test")


async def test_fail_carries_the_expanded_explanation() -> None:
    outcome = await check_host(DictLookup(zone()), IP, "a@exp.test", "h.test")
    assert outcome.result is SPFResult.FAIL
    assert outcome.explanation == f"{IP} is not one of exp.test's servers"


def test_macros_expand_as_in_rfc_7208_section_7_4() -> None:
    ctx = MacroContext(sender="strong-bad@email.example.com", domain="email.example.com",
                       ip="192.0.2.3", helo="mx.example.org")
    assert expand("%{s}", ctx) == "strong-bad@email.example.com"
    assert expand("%{o}", ctx) == "email.example.com"
    assert expand("%{d4}", ctx) == "email.example.com"
    assert expand("%{d2}", ctx) == "example.com"
    assert expand("%{d1}", ctx) == "com"
    assert expand("%{dr}", ctx) == "com.example.email"
    assert expand("%{d2r}", ctx) == "example.email"
    assert expand("%{l}", ctx) == "strong-bad"
    assert expand("%{l-}", ctx) == "strong.bad"
    assert expand("%{lr-}", ctx) == "bad.strong"
    assert expand("%{l1r-}", ctx) == "strong"
    assert expand("%{ir}.%{v}._spf.%{d2}", ctx) == "3.2.0.192.in-addr._spf.example.com"
    assert expand("%{lr-}.lp._spf.%{d2}", ctx) == "bad.strong.lp._spf.example.com"
    ctx6 = MacroContext(sender="a@b.c", domain="b.c", ip="2001:db8::cb01", helo="h")
    assert expand("%{ir}.%{v}._spf.%{d2}", ctx6) == (
        "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.b.c")


def test_a_bad_macro_is_rejected() -> None:
    ctx = MacroContext(sender="a@b.c", domain="b.c", ip="192.0.2.1", helo="h")
    with pytest.raises(MacroError):
        expand("%{x}", ctx)
    with pytest.raises(MacroError):
        expand("%{c}", ctx)  # only allowed in explanations


async def test_check_host_over_loopback_dns_with_the_real_resolver() -> None:
    server = await DNSServer(zone()).start()
    try:
        resolver = Resolver(("127.0.0.1", server.port), timeout_seconds=2)
        results = [
            (await check_host(resolver, IP, f"a@{d}", "h.test")).result
            for d in ("pass.test", "fail.test", "soft.test", "many.test")
        ]
    finally:
        server.close()
    assert results == [SPFResult.PASS, SPFResult.FAIL, SPFResult.SOFTFAIL, SPFResult.PERMERROR]
