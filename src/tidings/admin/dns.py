"""The DNS records an admin publishes for a mail domain (pure).

MX (RFC 5321 §5), SPF (RFC 7208), DKIM (RFC 6376 §3.6.1, key placeholder until
signing keys exist), DMARC (RFC 7489 §6.3), client configuration SRV records
(RFC 6186, RFC 8314 §5.1) and autodiscover, and MTA-STS (RFC 8461 §3.1) with TLS-RPT
(RFC 8460 §3).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DNSRecord:
    name: str  # fully qualified, with the trailing dot
    type: str
    value: str
    purpose: str
    ttl: int = 3600


def dns_records(domain: str, hostname: str, *, policy_id: str = "1") -> list[DNSRecord]:
    """Records for `domain` whose mail is served by `hostname`."""
    d, h = domain.rstrip(".") + ".", hostname.rstrip(".") + "."
    return [
        DNSRecord(d, "MX", f"10 {h}", "inbound mail goes to this server"),
        DNSRecord(d, "TXT", "v=spf1 mx -all", "SPF: only the MX hosts send for the domain"),
        DNSRecord(
            f"tidings._domainkey.{d}",
            "TXT",
            "v=DKIM1; k=rsa; p=<public key: run `tidings dkim show` once signing is set up>",
            "DKIM public key (placeholder)",
        ),
        DNSRecord(
            f"_dmarc.{d}",
            "TXT",
            f"v=DMARC1; p=quarantine; rua=mailto:postmaster@{domain}",
            "DMARC policy and aggregate reports",
        ),
        DNSRecord(f"_submissions._tcp.{d}", "SRV", f"0 1 465 {h}", "RFC 8314 submission"),
        DNSRecord(f"_submission._tcp.{d}", "SRV", f"10 1 587 {h}", "RFC 6186 submission"),
        DNSRecord(f"_imaps._tcp.{d}", "SRV", f"0 1 993 {h}", "RFC 6186 IMAP over TLS"),
        DNSRecord(f"_imap._tcp.{d}", "SRV", f"10 1 143 {h}", "RFC 6186 IMAP"),
        DNSRecord(f"_pop3s._tcp.{d}", "SRV", f"20 1 995 {h}", "RFC 6186 POP3 over TLS"),
        DNSRecord(f"_autodiscover._tcp.{d}", "SRV", f"0 1 443 {h}", "Outlook autodiscover"),
        DNSRecord(f"autoconfig.{d}", "CNAME", h, "Thunderbird autoconfig"),
        DNSRecord(f"autodiscover.{d}", "CNAME", h, "Outlook autodiscover"),
        DNSRecord(f"_mta-sts.{d}", "TXT", f"v=STSv1; id={policy_id}", "MTA-STS policy id"),
        DNSRecord(f"mta-sts.{d}", "CNAME", h, "serves /.well-known/mta-sts.txt"),
        DNSRecord(
            f"_smtp._tls.{d}",
            "TXT",
            f"v=TLSRPTv1; rua=mailto:postmaster@{domain}",
            "TLS-RPT reports",
        ),
    ]
