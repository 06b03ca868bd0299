"""SPF check_host() (RFC 7208 §4-§6) on the async DNS layer: all, include, a, mx, ptr,
ip4, ip6, exists; redirect and exp; macros; the 10 DNS-lookup and 2 void-lookup limits."""

from __future__ import annotations

import enum
import ipaddress
import logging
import re
from dataclasses import dataclass, field, replace

from tidings.hygiene.dns import DNSLookup, DNSTempError, reverse_name
from tidings.hygiene.spf_macros import (
    MacroContext,
    MacroError,
    expand,
    needs_validated_name,
    truncate_domain,
)

log = logging.getLogger(__name__)

MAX_DNS_LOOKUPS = 10  # RFC 7208 §4.6.4
MAX_VOID_LOOKUPS = 2
MAX_MX_OR_PTR_NAMES = 10

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class SPFResult(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SOFTFAIL = "softfail"
    NEUTRAL = "neutral"
    NONE = "none"
    TEMPERROR = "temperror"
    PERMERROR = "permerror"


_QUALIFIERS = {"+": SPFResult.PASS, "-": SPFResult.FAIL, "~": SPFResult.SOFTFAIL,
               "?": SPFResult.NEUTRAL}
_MECHANISMS = frozenset({"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"})
_CIDR = re.compile(r"^(.*?)(?:/(\d+))?(?://(\d+))?\Z")
_MODIFIER = re.compile(r"^([A-Za-z][A-Za-z0-9\-_.]*)=(.*)\Z")


class _PermError(Exception):
    pass


class _TempError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class SPFOutcome:
    result: SPFResult
    domain: str  # the domain checked: the MAIL FROM domain, or the HELO name
    explanation: str = ""
    reason: str = ""


@dataclass
class _Budget:
    """Counters shared across include/redirect recursion (RFC 7208 §4.6.4)."""

    lookups: int = 0
    voids: int = 0

    def spend(self) -> None:
        self.lookups += 1
        if self.lookups > MAX_DNS_LOOKUPS:
            raise _PermError("too many DNS lookups (limit 10)")

    def void(self) -> None:
        self.voids += 1
        if self.voids > MAX_VOID_LOOKUPS:
            raise _PermError("too many void DNS lookups (limit 2)")


@dataclass(frozen=True, slots=True)
class _Record:
    directives: tuple[tuple[SPFResult, str, str], ...]  # (qualifier, mechanism, argument)
    redirect: str | None
    exp: str | None


@dataclass
class _Evaluator:
    dns: DNSLookup
    ip: IPAddress
    ctx: MacroContext
    budget: _Budget = field(default_factory=_Budget)

    async def _query(self, name: str, rdtype: str, *, counts_void: bool = True) -> tuple[str, ...]:
        try:
            answer = await self.dns.query(name, rdtype)
        except DNSTempError as exc:
            raise _TempError(str(exc)) from None
        if not answer and counts_void:
            self.budget.void()
        return answer

    async def _expand(self, spec: str, domain: str) -> str:
        ctx = replace(self.ctx, domain=domain)
        if needs_validated_name(spec):
            names = await self.validated_names()
            ctx = replace(ctx, validated_name=names[0] if names else "unknown")
        try:
            return truncate_domain(expand(spec, ctx))
        except MacroError as exc:
            raise _PermError(str(exc)) from None

    async def check_host(self, domain: str) -> SPFResult:
        record = await self._record(domain)
        if record is None:
            return SPFResult.NONE
        for qualifier, mechanism, argument in record.directives:
            if await self._matches(mechanism, argument, domain):
                return qualifier
        if record.redirect is not None:
            self.budget.spend()
            target = await self._expand(record.redirect, domain)
            result = await self.check_host(target)
            # RFC 7208 §6.1: a redirect to a domain without a record is a permerror.
            return SPFResult.PERMERROR if result is SPFResult.NONE else result
        return SPFResult.NEUTRAL

    async def _record(self, domain: str) -> _Record | None:
        if not _is_domain(domain):
            return None
        texts = await self._query(domain, "TXT", counts_void=False)
        records = [t for t in texts if t.lower() == "v=spf1" or t.lower().startswith("v=spf1 ")]
        if not records:
            return None
        if len(records) > 1:
            raise _PermError(f"{domain} publishes more than one SPF record")
        return parse_record(records[0])

    async def _matches(self, mechanism: str, argument: str, domain: str) -> bool:
        match mechanism:
            case "all":
                return True
            case "ip4" | "ip6":
                return self._in_network(argument, mechanism)
            case "include":
                return await self._include(argument, domain)
            case "a":
                self.budget.spend()
                target, v4, v6 = await self._cidr_target(argument, domain)
                return await self._any_address_matches(target, v4, v6)
            case "mx":
                return await self._mx(argument, domain)
            case "ptr":
                self.budget.spend()
                target = await self._expand(argument, domain) if argument else domain
                return await self._ptr_matches(target)
            case "exists":
                self.budget.spend()
                target = await self._expand(argument, domain)
                return bool(await self._query(target, "A"))
        raise _PermError(f"unknown mechanism {mechanism}")

    def _in_network(self, argument: str, kind: str) -> bool:
        try:
            network = ipaddress.ip_network(argument, strict=False)
        except ValueError:
            raise _PermError(f"bad {kind} network {argument!r}") from None
        if (network.version == 4) != (kind == "ip4"):
            raise _PermError(f"bad {kind} network {argument!r}")
        return self.ip.version == network.version and self.ip in network

    async def _include(self, argument: str, domain: str) -> bool:
        if not argument:
            raise _PermError("include without a domain")
        self.budget.spend()
        result = await self.check_host(await self._expand(argument, domain))
        # RFC 7208 §5.2: the table of include results.
        if result is SPFResult.PASS:
            return True
        if result is SPFResult.TEMPERROR:
            raise _TempError("include: temperror")
        if result in (SPFResult.PERMERROR, SPFResult.NONE):
            raise _PermError("include of a domain without a valid record")
        return False

    async def _cidr_target(self, argument: str, domain: str) -> tuple[str, int, int]:
        found = _CIDR.match(argument)
        assert found is not None  # the pattern matches every string
        spec, v4_text, v6_text = found.groups()
        v4 = int(v4_text) if v4_text else 32
        v6 = int(v6_text) if v6_text else 128
        if v4 > 32 or v6 > 128:
            raise _PermError(f"bad prefix length in {argument!r}")
        return (await self._expand(spec, domain) if spec else domain), v4, v6

    async def _any_address_matches(self, name: str, v4: int, v6: int) -> bool:
        rdtype = "A" if self.ip.version == 4 else "AAAA"
        prefix = v4 if self.ip.version == 4 else v6
        for address in await self._query(name, rdtype):
            network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
            if self.ip in network:
                return True
        return False

    async def _mx(self, argument: str, domain: str) -> bool:
        self.budget.spend()
        target, v4, v6 = await self._cidr_target(argument, domain)
        exchanges = await self._query(target, "MX")
        if len(exchanges) > MAX_MX_OR_PTR_NAMES:
            raise _PermError("more than 10 MX names (RFC 7208 §4.6.4)")
        for exchange in exchanges:
            host = exchange.split(" ", 1)[-1]
            if await self._any_address_matches(host, v4, v6):
                return True
        return False

    async def validated_names(self) -> list[str]:
        """PTR names of the client that resolve back to it (RFC 7208 §5.5)."""
        names = await self._query(reverse_name(str(self.ip)), "PTR")
        rdtype = "A" if self.ip.version == 4 else "AAAA"
        valid: list[str] = []
        for name in names[:MAX_MX_OR_PTR_NAMES]:
            try:
                addresses = await self.dns.query(name, rdtype)
            except DNSTempError:
                continue  # §5.5: errors for one name are ignored
            if any(ipaddress.ip_address(a) == self.ip for a in addresses):
                valid.append(name)
        return valid

    async def _ptr_matches(self, target: str) -> bool:
        target = target.lower().rstrip(".")
        return any(
            name == target or name.endswith("." + target)
            for name in await self.validated_names()
        )


def _is_domain(domain: str) -> bool:
    labels = domain.rstrip(".").split(".")
    return len(labels) >= 2 and all(0 < len(label) <= 63 for label in labels)


def parse_record(text: str) -> _Record:
    """Split a v=spf1 record into directives and modifiers. Raises _PermError."""
    directives: list[tuple[SPFResult, str, str]] = []
    modifiers: dict[str, str] = {}
    for term in text.split()[1:]:
        modifier = _MODIFIER.match(term)
        if modifier is not None:
            name = modifier.group(1).lower()
            if name in modifiers and name in ("redirect", "exp"):
                raise _PermError(f"duplicate {name}= modifier")
            modifiers[name] = modifier.group(2)  # unknown modifiers are ignored (§6)
            continue
        qualifier = _QUALIFIERS.get(term[0])
        body = term[1:] if qualifier is not None else term
        cut = min((i for i in (body.find(":"), body.find("/")) if i >= 0), default=len(body))
        name, sep, argument = body[:cut], body[cut:cut + 1], body[cut + 1:]
        name = name.lower()
        if name not in _MECHANISMS:
            raise _PermError(f"unknown mechanism {name!r}")
        if sep == "/":
            argument = "/" + argument
        if name in ("include", "exists", "ip4", "ip6") and not argument:
            raise _PermError(f"{name} needs an argument")
        directives.append((qualifier or SPFResult.PASS, name, argument))
    return _Record(tuple(directives), modifiers.get("redirect"), modifiers.get("exp"))


async def check_host(
    dns: DNSLookup, ip: str, sender: str, helo: str, *, receiver: str = "unknown"
) -> SPFOutcome:
    """The SPF result for a client `ip` sending MAIL FROM `sender` after HELO `helo`.

    With an empty sender the HELO identity is checked (RFC 7208 §2.3, §2.4).
    """
    sender = sender.strip("<>")
    if not sender:
        sender = f"postmaster@{helo}"
    elif "@" not in sender:
        sender = f"postmaster@{sender}"
    domain = sender.rpartition("@")[2].lower().rstrip(".")
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    ctx = MacroContext(sender=sender, domain=domain, ip=str(address), helo=helo,
                       receiver=receiver)
    evaluator = _Evaluator(dns, address, ctx)
    try:
        result = await evaluator.check_host(domain)
    except _PermError as exc:
        log.info("hygiene.spf result=permerror domain=%s reason=%s", domain, exc)
        return SPFOutcome(SPFResult.PERMERROR, domain, reason=str(exc))
    except _TempError as exc:
        return SPFOutcome(SPFResult.TEMPERROR, domain, reason=str(exc))
    explanation = ""
    if result is SPFResult.FAIL:
        explanation = await _explanation(evaluator, domain)
    return SPFOutcome(result, domain, explanation)


async def _explanation(evaluator: _Evaluator, domain: str) -> str:
    """The exp= text for a fail (RFC 7208 §6.2); any problem means no explanation."""
    try:
        record = await evaluator._record(domain)
        if record is None or record.exp is None:
            return ""
        target = await evaluator._expand(record.exp, domain)
        texts = await evaluator.dns.query(target, "TXT")
        if len(texts) != 1:
            return ""
        ctx = evaluator.ctx
        if needs_validated_name(texts[0]):
            names = await evaluator.validated_names()
            ctx = replace(ctx, validated_name=names[0] if names else "unknown")
        text = expand(texts[0], replace(ctx, domain=domain), explanation=True)
        return text if text.isascii() else ""
    except (_PermError, _TempError, DNSTempError, MacroError):
        return ""
