"""Test keys made once per run: DKIM keys for signer domains and their DNS records."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import dkim  # type: ignore[import-untyped]

from tidings.hygiene.dkim_keys import Algorithm, DKIMKey, DKIMKeyStore
from tidings.hygiene.dkim_sign import sign

from .dns_fake import Zone


@functools.cache
def key_store() -> DKIMKeyStore:
    # One RSA key generation per run keeps the suite fast.
    return DKIMKeyStore(Path(tempfile.mkdtemp(prefix="tidings-dkim-test-")))


@functools.cache
def dkim_key(domain: str, algorithm: Algorithm = Algorithm.RSA, selector: str = "s1") -> DKIMKey:
    return key_store().generate(domain, algorithm, selector)


def publish(zone: Zone, key: DKIMKey) -> None:
    zone.add(key.dns_name(), "TXT", key.txt_record())


def signed(raw: bytes, key: DKIMKey) -> bytes:
    return sign(raw, key, key_store().private_key(key))


def message(from_domain: str, *, subject: str = "Hello", body: str = "Hi there.\r\n") -> bytes:
    return (f"From: Alice <alice@{from_domain}>\r\nTo: bob@tidings.test\r\n"
            f"Subject: {subject}\r\nMessage-ID: <1@{from_domain}>\r\n"
            f"Date: Thu, 26 Nov 2026 10:00:00 +0000\r\n\r\n{body}").encode()


def arc_sealed(raw: bytes, domain: str) -> bytes:
    """`raw` as forwarded by `domain`: its results, then one ARC set (RFC 8617)."""
    key = dkim_key(domain)
    with_results = f"Authentication-Results: mx.{domain}; dkim=pass\r\n".encode() + raw
    headers = dkim.arc_sign(with_results, key.selector.encode(), domain.encode(),
                            key_store().private_key(key), f"mx.{domain}".encode())
    return b"".join(headers) + with_results
