"""DKIM verification (RFC 6376 §6) of every signature with dkimpy, and ARC chain
validation (RFC 8617 §5.2) with dkimpy's ARC verifier.

dkimpy looks keys up synchronously; we prefetch each selector's TXT record through
the async DNS layer, then run dkimpy in a thread with a `dnsfunc` answering from
that prefetched dict, so the event loop never blocks on DNS.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import dkim  # type: ignore[import-untyped]

from tidings.hygiene.dns import DNSLookup, DNSTempError
from tidings.hygiene.headers import tag_list, values

log = logging.getLogger(__name__)

MIN_RSA_KEY_BITS = 1024  # RFC 8301 §3.2
# Verifying costs a key lookup and a hash of the message each: bound the work a
# message can ask for (RFC 6376 §6.1 lets a verifier limit the signatures it checks).
MAX_SIGNATURES = 8


class DKIMResult(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NONE = "none"
    NEUTRAL = "neutral"
    TEMPERROR = "temperror"
    PERMERROR = "permerror"


@dataclass(frozen=True, slots=True)
class SignatureResult:
    """The outcome of one DKIM-Signature field (RFC 8601 §2.7.1 properties)."""

    result: DKIMResult
    domain: str  # header.d
    selector: str  # header.s
    header_b: str  # the first characters of b=, to tell signatures apart
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ARCOutcome:
    result: str  # "pass", "fail", "none" (RFC 8617 §4.4 cv values)
    reason: str = ""


_TEMP = object()  # marks a selector whose lookup failed for now


def key_name(selector: str, domain: str) -> str:
    return f"{selector}._domainkey.{domain}".lower()


async def _prefetch(dns: DNSLookup, names: Iterable[str]) -> dict[str, object]:
    """name -> TXT text (or None when absent, _TEMP on temporary failure)."""
    found: dict[str, object] = {}
    for name in set(names):
        try:
            texts = await dns.query(name, "TXT")
        except DNSTempError:
            found[name] = _TEMP
            continue
        found[name] = texts[0] if texts else None
    return found


class _Answers:
    """The `dnsfunc` dkimpy calls, answering only from the prefetched records."""

    def __init__(self, records: dict[str, object]) -> None:
        self.records = records

    def __call__(self, name: bytes | str, timeout: float = 5) -> bytes | None:
        text = name.decode("ascii", "replace") if isinstance(name, bytes) else name
        value = self.records.get(text.rstrip(".").lower())
        if value is _TEMP:
            raise dkim.DnsTimeoutError(f"temporary DNS failure for {text}")
        return value.encode("utf-8") if isinstance(value, str) else None


def _verify_one(raw: bytes, index: int, tags: dict[str, str], answers: _Answers) -> tuple[
        DKIMResult, str]:
    # dkimpy turns key and DNS problems into a plain False; tell them apart first.
    key = answers.records.get(key_name(tags.get("s", ""), tags.get("d", "")))
    if key is _TEMP:
        return DKIMResult.TEMPERROR, "key lookup failed"
    if key is None:
        return DKIMResult.PERMERROR, "no key published for the selector"
    verifier = dkim.DKIM(raw, minkey=MIN_RSA_KEY_BITS)
    try:
        ok = verifier.verify(idx=index, dnsfunc=answers)
    except dkim.ValidationError as exc:
        if "body hash mismatch" in str(exc):
            return DKIMResult.FAIL, "body hash did not verify"
        return DKIMResult.PERMERROR, str(exc)[:200]
    except (dkim.DKIMException, ValueError, IndexError, KeyError) as exc:
        return DKIMResult.PERMERROR, str(exc)[:200]
    return (DKIMResult.PASS, "") if ok else (DKIMResult.FAIL, "signature did not verify")


def _verify_all(raw: bytes, signatures: list[dict[str, str]], answers: _Answers) -> list[
        SignatureResult]:
    results: list[SignatureResult] = []
    for index, tags in enumerate(signatures):
        result, reason = _verify_one(raw, index, tags, answers)
        results.append(SignatureResult(result, tags.get("d", "").lower(), tags.get("s", ""),
                                       tags.get("b", "")[:8], reason))
    return results


async def verify_dkim(dns: DNSLookup, raw: bytes) -> list[SignatureResult]:
    """One result per DKIM-Signature field, top to bottom; [] when there is none."""
    signatures = [tag_list(v) for v in values(raw, "DKIM-Signature")][:MAX_SIGNATURES]
    if not signatures:
        return []
    names = [key_name(t.get("s", ""), t.get("d", "")) for t in signatures if "s" in t and "d" in t]
    answers = _Answers(await _prefetch(dns, names))
    results = await asyncio.to_thread(_verify_all, raw, signatures, answers)
    for r in results:
        log.info("hygiene.dkim result=%s d=%s s=%s", r.result, r.domain, r.selector)
    return results


def _arc_verify(raw: bytes, answers: _Answers) -> ARCOutcome:
    try:
        cv, _results, comment = dkim.arc_verify(raw, dnsfunc=answers, minkey=MIN_RSA_KEY_BITS)
    except dkim.DKIMException as exc:
        return ARCOutcome("fail", str(exc)[:200])
    verdict = cv.decode("ascii", "replace") if isinstance(cv, bytes) else str(cv)
    return ARCOutcome(verdict.lower(), str(comment)[:200])


async def verify_arc(dns: DNSLookup, raw: bytes) -> ARCOutcome:
    """The chain validation status of the ARC sets in `raw` (RFC 8617 §5.2)."""
    sets = [tag_list(v) for v in (*values(raw, "ARC-Seal"),
                                  *values(raw, "ARC-Message-Signature"))]
    if not sets:
        return ARCOutcome("none")
    names = [key_name(t.get("s", ""), t.get("d", "")) for t in sets if "s" in t and "d" in t]
    answers = _Answers(await _prefetch(dns, names))
    outcome = await asyncio.to_thread(_arc_verify, raw, answers)
    log.info("hygiene.arc result=%s", outcome.result)
    return outcome
