"""SPF macro expansion (RFC 7208 §7): %{letter digits r delimiters}, %%, %_ and %-."""

from __future__ import annotations

import ipaddress
import re
import time
import urllib.parse
from dataclasses import dataclass

_MACRO = re.compile(r"%\{([slodiphcrtvSLODIPHCRTV])(\d*)(r?)([.\-+,/_=]*)\}|%%|%_|%-|%")
_EXP_ONLY = frozenset("crt")  # RFC 7208 §7.2: only allowed in exp= explanations


class MacroError(ValueError):
    """The macro-string is malformed: a permerror (RFC 7208 §7.1)."""


@dataclass(frozen=True, slots=True)
class MacroContext:
    """The values the letters stand for during one check_host() evaluation."""

    sender: str  # <sender>: "postmaster@<helo>" when MAIL FROM is empty (§2.4)
    domain: str  # <domain> currently evaluated
    ip: str
    helo: str
    receiver: str = "unknown"  # our host name, for %{r}
    validated_name: str = "unknown"  # %{p}, filled by the evaluator when asked for


def _ip_value(ip: str) -> str:
    address = ipaddress.ip_address(ip)
    if address.version == 4:
        return str(address)
    # RFC 7208 §7.3: IPv6 "i" is dot-separated nibbles.
    return ".".join(address.exploded.replace(":", ""))


def _letter_value(letter: str, ctx: MacroContext) -> str:
    local, _, sender_domain = ctx.sender.rpartition("@")
    match letter:
        case "s":
            return ctx.sender
        case "l":
            return local or "postmaster"
        case "o":
            return sender_domain
        case "d":
            return ctx.domain
        case "i":
            return _ip_value(ctx.ip)
        case "p":
            return ctx.validated_name
        case "v":
            return "in-addr" if ipaddress.ip_address(ctx.ip).version == 4 else "ip6"
        case "h":
            return ctx.helo
        case "c":
            return str(ipaddress.ip_address(ctx.ip))
        case "r":
            return ctx.receiver
        case "t":
            return str(int(time.time()))
    raise MacroError(f"unknown macro letter {letter!r}")


def _transform(value: str, digits: str, reverse: str, delimiters: str) -> str:
    parts = re.split("[" + re.escape(delimiters or ".") + "]", value)
    if reverse:
        parts.reverse()
    if digits:
        keep = int(digits)
        if keep == 0:
            raise MacroError("a macro transformer may not keep zero labels")
        parts = parts[-keep:]
    return ".".join(parts)


def needs_validated_name(spec: str) -> bool:
    """True when expanding `spec` needs %{p} (a PTR lookup)."""
    return any(m.group(1) in ("p", "P") for m in _MACRO.finditer(spec) if m.group(1))


def expand(spec: str, ctx: MacroContext, *, explanation: bool = False) -> str:
    """Expand a macro-string. Raises MacroError."""
    out: list[str] = []
    position = 0
    for match in _MACRO.finditer(spec):
        out.append(spec[position:match.start()])
        position = match.end()
        token = match.group(0)
        if token == "%%":
            out.append("%")
        elif token == "%_":
            out.append(" ")
        elif token == "%-":
            out.append("%20")
        elif token == "%":
            raise MacroError(f"stray '%' in {spec!r}")
        else:
            letter, digits, reverse, delimiters = match.groups()
            if letter.lower() in _EXP_ONLY and not explanation:
                raise MacroError(f"%{{{letter}}} is only allowed in explanations")
            value = _transform(_letter_value(letter.lower(), ctx), digits, reverse, delimiters)
            # Upper-case letters are URL-escaped (RFC 7208 §7.3).
            out.append(urllib.parse.quote(value, safe="") if letter.isupper() else value)
    out.append(spec[position:])
    return "".join(out)


def truncate_domain(name: str) -> str:
    """Drop left labels until the name fits in 253 characters (RFC 7208 §7.3)."""
    name = name.rstrip(".")
    while len(name) > 253 and "." in name:
        name = name.split(".", 1)[1]
    return name
