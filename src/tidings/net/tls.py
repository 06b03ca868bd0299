"""Server TLS: SSL contexts from PEM files and a self-signed certificate for first runs.

TLS 1.2 is the floor (RFC 8996 deprecates 1.0/1.1; RFC 8314 §4.1 for mail).
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import os
import ssl
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

log = logging.getLogger(__name__)

SELF_SIGNED_DAYS = 825  # the longest validity Apple clients accept for a server cert


class TLSError(Exception):
    """The certificate or key could not be loaded; the message says which file."""


def server_context(cert: Path, key: Path, *, alpn: Sequence[str] | None = None) -> ssl.SSLContext:
    """A server-side context (TLS 1.2+) loaded from PEM files. Raises TLSError."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    # Session tickets do not survive restarts and weaken forward secrecy.
    context.options |= ssl.OP_NO_TICKET
    try:
        context.load_cert_chain(certfile=str(cert), keyfile=str(key))
    except FileNotFoundError as exc:
        raise TLSError(f"tls: missing file {exc.filename or cert}") from None
    except (ssl.SSLError, OSError) as exc:
        raise TLSError(f"tls: cannot load {cert} / {key}: {exc}") from None
    if alpn:
        context.set_alpn_protocols(list(alpn))
    return context


def subject_alt_names(hostname: str) -> list[x509.GeneralName]:
    """The names a self-signed cert covers: hostname, localhost and both loopbacks."""
    names: list[x509.GeneralName] = []
    for dns in dict.fromkeys([hostname.lower(), "localhost"]):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(dns)))
        except ValueError:
            names.append(x509.DNSName(dns))
    for ip in ("127.0.0.1", "::1"):
        candidate = x509.IPAddress(ipaddress.ip_address(ip))
        if candidate not in names:
            names.append(candidate)
    return names


def generate_self_signed(hostname: str, cert_path: Path, key_path: Path) -> None:
    """Write a new EC P-256 key and a self-signed certificate for `hostname`.

    The key file is created with mode 0600; parent folders are created as needed.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=SELF_SIGNED_DAYS))
        .add_extension(x509.SubjectAlternativeName(subject_alt_names(hostname)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write(key_path, key_pem, 0o600)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    log.info("tls.self_signed hostname=%s cert=%s", hostname, cert_path)


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write atomically (temp file, fsync, rename) with the given permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
