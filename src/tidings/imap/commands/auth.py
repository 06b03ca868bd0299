"""LOGIN and AUTHENTICATE (RFC 9051 §6.2.2-3, SASL-IR RFC 4959)."""

from __future__ import annotations

import logging

from tidings.directory.auth import Authenticator
from tidings.directory.sasl import Challenge
from tidings.imap import commands_model as m
from tidings.imap.commands.context import CommandError, Ctx, Done
from tidings.imap.parser import Malformed
from tidings.imap.responses import Code, Continuation
from tidings.logctx import set_principal
from tidings.model.directory import Principal
from tidings.model.errors import AuthenticationFailed, InvalidInput

log = logging.getLogger(__name__)


def _authenticator(ctx: Ctx) -> Authenticator:
    if ctx.services.authenticator is None:
        raise CommandError("NO", "Authentication is not available", "UNAVAILABLE")
    return ctx.services.authenticator


def _logged_in(ctx: Ctx, principal: Principal) -> Done:
    ctx.session.login(principal)
    set_principal(principal.name)
    caps = " ".join(ctx.session.capabilities())
    return Done("OK", "Logged in", Code("CAPABILITY", caps))


async def login(ctx: Ctx, command: m.Login) -> Done:
    authenticator = _authenticator(ctx)
    cached = await _cached(ctx, command.user, command.password)
    if cached is not None:
        return _logged_in(ctx, cached)
    try:
        principal = await authenticator.authenticate(command.user, command.password,
                                                     ctx.remote_ip)
    except AuthenticationFailed:
        _forget(ctx, command.user)
        raise
    _remember(ctx, command.user, command.password, principal)
    return _logged_in(ctx, principal)


async def authenticate(ctx: Ctx, command: m.Authenticate) -> Done:
    plain = _plain_credentials(command) if ctx.services.logins is not None else None
    if plain is not None:
        cached = await _cached(ctx, *plain)
        if cached is not None:
            return _logged_in(ctx, cached)
    try:
        exchange = _authenticator(ctx).sasl(command.mechanism, remote_ip=ctx.remote_ip)
    except InvalidInput as exc:
        raise CommandError("NO", "Unsupported SASL mechanism", "CANNOT") from exc
    try:
        result = await exchange.start(command.initial)
        while isinstance(result, Challenge):
            result = await exchange.step(await _client_response(ctx, result.data))
    except AuthenticationFailed:
        if plain is not None:
            _forget(ctx, plain[0])
        raise
    if result.server_final is not None:
        # SCRAM's server-final message travels as one more challenge (RFC 9051 §6.2.2).
        await _client_response(ctx, result.server_final)
    if plain is not None:
        _remember(ctx, plain[0], plain[1], result.principal)
    return _logged_in(ctx, result.principal)


def _plain_credentials(command: m.Authenticate) -> tuple[str, str] | None:
    """(login, password) of an AUTHENTICATE PLAIN initial response (RFC 4616) that acts
    as the login itself; anything else (no SASL-IR, another authzid) is never cached."""
    if command.mechanism != "PLAIN" or not command.initial:
        return None
    parts = command.initial.split(b"\0")
    if len(parts) != 3:
        return None
    try:
        authzid, login, password = (part.decode("utf-8") for part in parts)
    except UnicodeDecodeError:
        return None
    if not login or not password or authzid not in ("", login):
        return None
    return login, password


async def _cached(ctx: Ctx, login: str, password: str) -> Principal | None:
    """The principal if this pair was verified moments ago (docs/decisions/0003a); the
    throttle is checked first, as for a full verification."""
    cache = ctx.services.logins
    if cache is None:
        return None
    await _authenticator(ctx).check_throttle(login, ctx.remote_ip)
    cached = cache.get(login, password)
    if cached is not None:
        log.info("imap.login_cached login=%s ip=%s", cached.name, ctx.remote_ip)
    return cached


def _remember(ctx: Ctx, login: str, password: str, principal: Principal) -> None:
    if ctx.services.logins is not None:
        ctx.services.logins.put(login, password, principal)


def _forget(ctx: Ctx, login: str) -> None:
    if ctx.services.logins is not None:
        ctx.services.logins.forget(login)


async def _client_response(ctx: Ctx, challenge: bytes) -> bytes:
    await ctx.channel.send(Continuation(challenge=challenge).encode())
    line = await ctx.channel.read_line("sasl")
    if line is None:
        raise AuthenticationFailed("connection closed during AUTHENTICATE")
    if isinstance(line, Malformed):
        raise CommandError("BAD", line.reason)
    if not isinstance(line, m.SASLResponse) or line.cancelled:
        raise CommandError("BAD", "AUTHENTICATE cancelled")
    return line.data
