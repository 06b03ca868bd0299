"""Self-signed certificates and server TLS contexts."""

from __future__ import annotations

import ipaddress
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509

from tidings.net.tls import TLSError, generate_self_signed, server_context


def test_self_signed_cert_names_the_host_localhost_and_both_loopbacks(tmp_path: Path) -> None:
    cert_path, key_path = tmp_path / "tls" / "cert.pem", tmp_path / "tls" / "key.pem"
    generate_self_signed("mail.example.org", cert_path, key_path)
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["mail.example.org", "localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_generated_cert_loads_into_a_context_that_refuses_tls_1_1(tmp_path: Path) -> None:
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    generate_self_signed("localhost", cert_path, key_path)
    context = server_context(cert_path, key_path)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


def test_a_client_that_trusts_the_cert_verifies_it_for_localhost(tmp_path: Path) -> None:
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    generate_self_signed("mail.example.org", cert_path, key_path)
    client = ssl.create_default_context(cafile=str(cert_path))
    server = server_context(cert_path, key_path)
    for name in ("localhost", "mail.example.org", "127.0.0.1"):
        assert _handshake(client, server, name) is None


def test_a_client_rejects_the_cert_for_a_name_it_does_not_cover(tmp_path: Path) -> None:
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    generate_self_signed("mail.example.org", cert_path, key_path)
    client = ssl.create_default_context(cafile=str(cert_path))
    error = _handshake(client, server_context(cert_path, key_path), "other.example.org")
    assert isinstance(error, ssl.SSLCertVerificationError)


def test_missing_files_raise_tls_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(TLSError, match=r"cert\.pem"):
        server_context(tmp_path / "cert.pem", tmp_path / "key.pem")


def _handshake(client: ssl.SSLContext, server: ssl.SSLContext, name: str) -> Exception | None:
    """Run a TLS handshake in memory; return the client's error, if any."""
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    c = client.wrap_bio(c_in, c_out, server_hostname=name)
    s = server.wrap_bio(s_in, s_out, server_side=True)
    done_c = done_s = False
    for _ in range(20):
        try:
            if not done_c:
                c.do_handshake()
                done_c = True
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLError as exc:
            return exc
        s_in.write(c_out.read())
        try:
            if not done_s:
                s.do_handshake()
                done_s = True
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLError:
            pass
        c_in.write(s_out.read())
        if done_c and done_s:
            return None
    return RuntimeError("handshake did not finish")
