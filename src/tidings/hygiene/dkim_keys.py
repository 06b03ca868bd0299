"""DKIM signing keys per domain under the data directory: RSA-2048 (RFC 6376) and
Ed25519 (RFC 8463), the DNS TXT record to publish, and rotation with two selectors.

Layout: `<dkim_dir>/keys.json` lists each domain's keys, oldest first (the newest
signs); `<dkim_dir>/<domain>.<selector>.key` holds the private key, mode 0600.
"""

from __future__ import annotations

import base64
import enum
import json
import os
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from tidings.model.errors import Conflict, InvalidInput, NotFound

MANIFEST = "keys.json"
RSA_BITS = 2048
_SELECTOR = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}\Z")


class Algorithm(enum.StrEnum):
    RSA = "rsa"
    ED25519 = "ed25519"

    @property
    def signature_algorithm(self) -> bytes:
        return b"rsa-sha256" if self is Algorithm.RSA else b"ed25519-sha256"


@dataclass(frozen=True, slots=True)
class DKIMKey:
    domain: str
    selector: str
    algorithm: Algorithm
    created: str  # ISO 8601
    public: str  # base64 for the p= tag

    def dns_name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"

    def txt_record(self) -> str:
        """The TXT value to publish (RFC 6376 §3.6.1, RFC 8463 §4)."""
        return f"v=DKIM1; k={self.algorithm.value}; p={self.public}"


def _new_key(algorithm: Algorithm) -> tuple[bytes, str]:
    """(private key file bytes as dkimpy reads them, public key base64)."""
    if algorithm is Algorithm.RSA:
        key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
        private = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
        public = key.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
        return private, base64.b64encode(public).decode()
    ed = ed25519.Ed25519PrivateKey.generate()
    seed = ed.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    raw_public = ed.public_key().public_bytes(serialization.Encoding.Raw,
                                              serialization.PublicFormat.Raw)
    # dkimpy reads an Ed25519 private key as the base64 of its 32-byte seed.
    return base64.b64encode(seed) + b"\n", base64.b64encode(raw_public).decode()


class DKIMKeyStore:
    """The keys in one directory; every change rewrites the manifest atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _manifest(self) -> dict[str, list[dict[str, str]]]:
        path = self.directory / MANIFEST
        if not path.exists():
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}

    def _save(self, manifest: dict[str, list[dict[str, str]]]) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        temp = self.directory / (MANIFEST + ".tmp")
        temp.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(temp, self.directory / MANIFEST)

    def keys(self, domain: str | None = None) -> list[DKIMKey]:
        """Every key (of one domain), oldest first."""
        manifest = self._manifest()
        domains = [domain.lower()] if domain else sorted(manifest)
        return [
            DKIMKey(d, e["selector"], Algorithm(e["algorithm"]), e["created"], e["public"])
            for d in domains for e in manifest.get(d, [])
        ]

    def signing_key(self, domain: str) -> DKIMKey | None:
        """The newest key of `domain`: the one that signs."""
        keys = self.keys(domain)
        return keys[-1] if keys else None

    def private_key(self, key: DKIMKey) -> bytes:
        return self.key_path(key.domain, key.selector).read_bytes()

    def key_path(self, domain: str, selector: str) -> Path:
        return self.directory / f"{domain.lower()}.{selector}.key"

    def generate(self, domain: str, algorithm: Algorithm, selector: str | None = None,
                 *, now: datetime | None = None) -> DKIMKey:
        """Create a key for `domain`. Raises InvalidInput, Conflict (selector in use)."""
        domain = domain.lower().rstrip(".")
        if not re.fullmatch(r"[a-z0-9.-]+\.[a-z0-9-]+", domain):
            raise InvalidInput(f"not a domain name: {domain!r}")
        stamp = now or datetime.now(UTC)
        selector = (selector or f"t{stamp:%Y%m%d}{algorithm.value[:1]}").lower()
        if not _SELECTOR.match(selector):
            raise InvalidInput(f"not a valid selector: {selector!r}")
        if any(k.selector == selector for k in self.keys(domain)):
            raise Conflict(f"selector {selector} already exists for {domain}")
        private, public = _new_key(algorithm)
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.key_path(domain, selector)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(private)
        key = DKIMKey(domain, selector, algorithm, stamp.isoformat(timespec="seconds"), public)
        manifest = self._manifest()
        entry = asdict(key)
        entry.pop("domain")
        entry["algorithm"] = algorithm.value
        manifest.setdefault(domain, []).append(entry)
        self._save(manifest)
        return key

    def rotate(self, domain: str, algorithm: Algorithm | None = None,
               selector: str | None = None, *, now: datetime | None = None) -> DKIMKey:
        """A second selector that signs from now on; the old one stays published until
        `retire`. Raises NotFound (no key yet), Conflict, InvalidInput."""
        current = self.signing_key(domain)
        if current is None:
            raise NotFound(f"no DKIM key for {domain}; use generate first")
        stamp = now or datetime.now(UTC)
        if selector is None:
            selector = f"t{stamp:%Y%m%d%H%M%S}"
        return self.generate(domain, algorithm or current.algorithm, selector, now=stamp)

    def retire(self, domain: str, selector: str) -> None:
        """Delete an old key (after its DNS record has been removed). Raises NotFound."""
        domain = domain.lower()
        manifest = self._manifest()
        entries = manifest.get(domain, [])
        kept = [e for e in entries if e["selector"] != selector]
        if len(kept) == len(entries):
            raise NotFound(f"no selector {selector} for {domain}")
        manifest[domain] = kept
        self._save(manifest)
        self.key_path(domain, selector).unlink(missing_ok=True)
