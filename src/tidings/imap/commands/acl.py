"""ACL (RFC 4314 §3) and QUOTA (RFC 9208 §4) commands."""

from __future__ import annotations

from tidings.imap import commands_model as m
from tidings.imap.commands.context import CommandError, Ctx, Done
from tidings.imap.commands.names import find, locate
from tidings.imap.responses import AclData, ListRightsData, MyRightsData, QuotaData, QuotaRootData
from tidings.model.acl import ALL_RIGHTS, Right, format_rights, parse_rights
from tidings.model.ids import AccountId

KIB = 1024


def _rights(text: str) -> frozenset[Right]:
    try:
        return parse_rights(text)
    except ValueError as exc:
        raise CommandError("BAD", f"Unknown right in {text!r}", "INVALID") from exc


async def setacl(ctx: Ctx, command: m.SetAcl) -> Done:
    _located, mailbox = await find(ctx, command.mailbox)
    text = command.rights
    if text[:1] in ("+", "-"):
        current = dict(await ctx.mail.get_acl(ctx.actor, mailbox.id)).get(
            command.identifier, frozenset())
        change = _rights(text[1:])
        rights = current | change if text[0] == "+" else current - change
    else:
        rights = _rights(text)
    await ctx.mail.set_acl(ctx.actor, mailbox.id, command.identifier, rights)
    return Done("OK", "SETACL completed")


async def deleteacl(ctx: Ctx, command: m.DeleteAcl) -> Done:
    _located, mailbox = await find(ctx, command.mailbox)
    await ctx.mail.set_acl(ctx.actor, mailbox.id, command.identifier, frozenset())
    return Done("OK", "DELETEACL completed")


async def getacl(ctx: Ctx, command: m.GetAcl) -> Done:
    _located, mailbox = await find(ctx, command.mailbox)
    entries = await ctx.mail.get_acl(ctx.actor, mailbox.id)
    await ctx.emit(AclData(command.mailbox, tuple((ident, format_rights(rights))
                                                  for ident, rights in entries)))
    return Done("OK", "GETACL completed")


async def listrights(ctx: Ctx, command: m.ListRights) -> Done:
    _located, mailbox = await find(ctx, command.mailbox)
    if Right.ADMINISTER not in await ctx.mail.my_rights(ctx.actor, mailbox.id):
        raise CommandError("NO", "You may not administer this mailbox", "NOPERM")
    optional = tuple(r.value for r in Right)
    await ctx.emit(ListRightsData(command.mailbox, command.identifier, "", optional))
    return Done("OK", "LISTRIGHTS completed")


async def myrights(ctx: Ctx, command: m.MyRights) -> Done:
    _located, mailbox = await find(ctx, command.mailbox)
    rights = await ctx.mail.my_rights(ctx.actor, mailbox.id)
    await ctx.emit(MyRightsData(command.mailbox, format_rights(rights)))
    return Done("OK", "MYRIGHTS completed")


def _quota_root(prefix: str) -> str:
    """One quota root per account: "" for one's own, the namespace prefix for others."""
    return prefix.rstrip("/")


async def _quota(ctx: Ctx, account: AccountId, root: str) -> QuotaData | None:
    quota = await ctx.mail.quota(ctx.actor, account)
    if quota.limit_bytes is None:
        return None
    used = (quota.used_bytes + KIB - 1) // KIB
    return QuotaData(root, (("STORAGE", used, quota.limit_bytes // KIB),))


async def getquotaroot(ctx: Ctx, command: m.GetQuotaRoot) -> Done:
    located, _mailbox = await find(ctx, command.mailbox)
    root = _quota_root(located.prefix)
    data = await _quota(ctx, located.account, root)
    await ctx.emit(QuotaRootData(command.mailbox, (root,) if data else ()))
    if data is not None:
        await ctx.emit(data)
    return Done("OK", "GETQUOTAROOT completed")


async def getquota(ctx: Ctx, command: m.GetQuota) -> Done:
    located = await locate(ctx, command.root + "/" if command.root else "INBOX")
    data = await _quota(ctx, located.account, command.root)
    if data is None:
        raise CommandError("NO", "No such quota root", "NONEXISTENT")
    await ctx.emit(data)
    return Done("OK", "GETQUOTA completed")


async def setquota(ctx: Ctx, command: m.SetQuota) -> Done:
    raise CommandError("NO", "Quotas are set by the administrator", "NOPERM")


__all__ = ["ALL_RIGHTS"]
