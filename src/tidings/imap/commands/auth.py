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
    principal = await _authenticator(ctx).authenticate_cached(
        command.user, command.password, ctx.remote_ip
    )
    return _logged_in(ctx, principal)


async def authenticate(ctx: Ctx, command: m.Authenticate) -> Done:
    plain = _plain_credentials(command)
    if plain is not None:
        # PLAIN with its initial response, acting as itself: the same check as LOGIN,
        # so it shares the verified-password cache (docs/decisions/0003a).
        principal = await _authenticator(ctx).authenticate_cached(*plain, ctx.remote_ip)
        return _logged_in(ctx, principal)
    try:
        exchange = _authenticator(ctx).sasl(command.mechanism, remote_ip=ctx.remote_ip)
    except InvalidInput as exc:
        raise CommandError("NO", "Unsupported SASL mechanism", "CANNOT") from exc
    result = await exchange.start(command.initial)
    while isinstance(result, Challenge):
        result = await exchange.step(await _client_response(ctx, result.data))
    if result.server_final is not None:
        # SCRAM's server-final message travels as one more challenge (RFC 9051 §6.2.2).
        await _client_response(ctx, result.server_final)
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
