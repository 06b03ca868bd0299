"""The mailbox tree: names, create, rename, delete, subscribe (RFC 9051 §6.3, RFC 6154).

Names are full paths with "/" as the hierarchy separator; every mailbox's parent
exists (CREATE makes missing parents, RFC 9051 §6.3.4). "INBOX" is matched
case-insensitively, also as the first part of a path. New mailboxes inherit the
ACL of their nearest existing ancestor (as Cyrus does), so a shared folder's new
subfolders are shared alike.
"""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.model.acl import Right
from tidings.model.changes import ChangeOp
from tidings.model.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tidings.model.ids import AccountId, MailboxId, ModSeq
from tidings.model.mail import Mailbox, MailboxRole
from tidings.store.sql import schema
from tidings.store.sql.access import (
    AccountAccess,
    MailboxAccess,
    acl_rights,
    require,
    visible_mailboxes,
)
from tidings.store.sql.accounts import create_mailbox_row, next_modseq
from tidings.store.sql.database import Tx
from tidings.store.sql.flags import message_rows
from tidings.store.sql.mail_log import (
    Publish,
    announce,
    email_change,
    lock_account,
    mailbox_change,
    touch_mailbox,
)
from tidings.store.sql.mail_rows import to_mailbox
from tidings.store.sql.membership import remove_memberships

SEPARATOR = "/"
INBOX = "INBOX"
MAX_NAME_LENGTH = 1024


def normalize_name(name: str) -> str:
    """Validate a full mailbox name; a trailing separator is dropped (RFC 9051 §6.3.4).
    Raises InvalidInput."""
    if name.endswith(SEPARATOR):
        name = name[:-1]
    parts = name.split(SEPARATOR)
    if not name or any(part == "" for part in parts):
        raise InvalidInput("a mailbox name needs non-empty parts between '/'", "name")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise InvalidInput("a mailbox name cannot contain control characters", "name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"a mailbox name is at most {MAX_NAME_LENGTH} characters", "name")
    if parts[0].upper() == INBOX:
        parts[0] = INBOX
    return SEPARATOR.join(parts)


def ancestors(name: str) -> list[str]:
    """ "a/b/c" -> ["a", "a/b"]."""
    parts = name.split(SEPARATOR)
    return [SEPARATOR.join(parts[:i]) for i in range(1, len(parts))]


async def account_mailboxes(conn: AsyncConnection, account: AccountId) -> dict[str, Mailbox]:
    rows = await conn.execute(
        select(schema.mailboxes).where(schema.mailboxes.c.account_id == account)
    )
    return {row.name: to_mailbox(row) for row in rows}


async def load_mailbox(conn: AsyncConnection, mailbox: MailboxId) -> Mailbox:
    row = (
        await conn.execute(select(schema.mailboxes).where(schema.mailboxes.c.id == mailbox))
    ).one()
    return to_mailbox(row)


async def sorted_visible(conn: AsyncConnection, access: AccountAccess) -> list[Mailbox]:
    """The visible mailboxes, INBOX first, then by name (a parent before its children)."""
    visible = [mailbox for mailbox, _rights in await visible_mailboxes(conn, access)]
    return sorted(visible, key=lambda m: (m.name != INBOX, m.name.split(SEPARATOR)))


async def _check_create_right(
    conn: AsyncConnection, access: AccountAccess, existing: dict[str, Mailbox], name: str
) -> Mailbox | None:
    """The actor needs the create right on the nearest existing ancestor (RFC 4314 'k').
    Returns that ancestor. Raises NotFound, PermissionDenied."""
    parent = next((existing[a] for a in reversed(ancestors(name)) if a in existing), None)
    if access.full:
        return parent
    if parent is None:
        if await visible_mailboxes(conn, access):
            raise PermissionDenied("only the owner may create top-level mailboxes here")
        raise NotFound("no such account")
    require((await acl_rights(conn, access, [parent.id]))[parent.id], Right.CREATE)
    return parent


async def _make_path(
    tx: Tx,
    access: AccountAccess,
    existing: dict[str, Mailbox],
    name: str,
    role: MailboxRole | None,
    modseq: ModSeq,
    inherit_from: Mailbox | None,
) -> MailboxId:
    """Create `name` and its missing ancestors; returns the new mailbox's id."""
    parent_id = None
    created: list[MailboxId] = []
    for path in [*ancestors(name), name]:
        if path in existing:
            parent_id = existing[path].id
            continue
        parent_id = await create_mailbox_row(
            tx, access.account_id, path, role if path == name else None, parent_id, modseq
        )
        created.append(parent_id)
    if inherit_from is not None:
        await _inherit_acl(tx.conn, inherit_from.id, created)
    assert parent_id is not None
    return parent_id


async def _inherit_acl(conn: AsyncConnection, source: MailboxId, targets: list[MailboxId]) -> None:
    acl = schema.mailbox_acl
    rows = (
        await conn.execute(select(acl.c.grantee_id, acl.c.rights).where(acl.c.mailbox_id == source))
    ).all()
    for target in targets:
        for grantee, rights in rows:
            await conn.execute(
                insert(acl).values(mailbox_id=target, grantee_id=grantee, rights=rights)
            )


async def create_mailbox(
    tx: Tx,
    access: AccountAccess,
    name: str,
    role: MailboxRole | None,
    publish: Publish,
) -> Mailbox:
    """Create a mailbox and its missing parents. Raises Conflict, InvalidInput,
    NotFound, PermissionDenied."""
    name = normalize_name(name)
    # Lock first: on PostgreSQL a concurrent create must see this one's row.
    await lock_account(tx.conn, access.account_id)
    existing = await account_mailboxes(tx.conn, access.account_id)
    parent = await _check_create_right(tx.conn, access, existing, name)
    if name in existing:
        raise Conflict(f"mailbox {name!r} already exists")
    if role is not None and any(m.role is role for m in existing.values()):
        raise Conflict(f"another mailbox already has the role {role.value}")
    modseq = await next_modseq(tx, access.account_id)
    mailbox_id = await _make_path(tx, access, existing, name, role, modseq, parent)
    announce(tx, publish, access.account_id, modseq)
    return await load_mailbox(tx.conn, mailbox_id)


async def rename_mailbox(tx: Tx, opened: MailboxAccess, new_name: str, publish: Publish) -> Mailbox:
    """Rename with every descendant; renaming INBOX moves its messages into a new
    mailbox and leaves INBOX empty (RFC 9051 §6.3.6). Raises Conflict, InvalidInput."""
    access, mailbox = opened.account, opened.mailbox
    new_name = normalize_name(new_name)
    await lock_account(tx.conn, access.account_id)
    existing = await account_mailboxes(tx.conn, access.account_id)
    if new_name in existing:
        raise Conflict(f"mailbox {new_name!r} already exists")
    if new_name.startswith(mailbox.name + SEPARATOR):
        raise InvalidInput("a mailbox cannot move below itself", "name")
    parent = await _check_create_right(tx.conn, access, existing, new_name)
    modseq = await next_modseq(tx, access.account_id)
    if mailbox.name == INBOX:
        new_id = await _make_path(tx, access, existing, new_name, None, modseq, parent)
        await _move_all_messages(tx, opened, new_id, modseq)
    else:
        new_id = mailbox.id
        parent_id = await _make_parents(tx, access, existing, new_name, modseq, parent)
        await _rename_tree(
            tx.conn, access.account_id, existing, mailbox, new_name, parent_id, modseq
        )
    announce(tx, publish, access.account_id, modseq)
    return await load_mailbox(tx.conn, new_id)


async def _make_parents(
    tx: Tx,
    access: AccountAccess,
    existing: dict[str, Mailbox],
    name: str,
    modseq: ModSeq,
    inherit_from: Mailbox | None,
) -> MailboxId | None:
    above = ancestors(name)
    if not above:
        return None
    return await _make_path(tx, access, existing, above[-1], None, modseq, inherit_from)


async def _rename_tree(
    conn: AsyncConnection,
    account: AccountId,
    existing: dict[str, Mailbox],
    mailbox: Mailbox,
    new_name: str,
    parent_id: MailboxId | None,
    modseq: ModSeq,
) -> None:
    mailboxes = schema.mailboxes
    await conn.execute(
        update(mailboxes)
        .where(mailboxes.c.id == mailbox.id)
        .values(name=new_name, parent_id=parent_id)
    )
    await mailbox_change(conn, account, modseq, mailbox.id, ChangeOp.UPDATED)
    prefix = mailbox.name + SEPARATOR
    for name, child in sorted(existing.items()):
        if name.startswith(prefix):
            renamed = new_name + SEPARATOR + name[len(prefix) :]
            await conn.execute(
                update(mailboxes).where(mailboxes.c.id == child.id).values(name=renamed)
            )
            await mailbox_change(conn, account, modseq, child.id, ChangeOp.UPDATED)


async def _move_all_messages(
    tx: Tx, inbox: MailboxAccess, target: MailboxId, modseq: ModSeq
) -> None:
    """INBOX's messages keep their UIDs in the new mailbox, which continues INBOX's
    UIDNEXT; INBOX keeps its UIDNEXT too, so no UID is ever reused there."""
    account = inbox.mailbox.account_id
    rows = await message_rows(tx.conn, inbox)
    mm, mailboxes = schema.mailbox_messages, schema.mailboxes
    current = await load_mailbox(tx.conn, inbox.mailbox.id)
    await tx.conn.execute(
        update(mailboxes).where(mailboxes.c.id == target).values(uid_next=current.uid_next)
    )
    await tx.conn.execute(
        update(mm)
        .where(mm.c.mailbox_id == inbox.mailbox.id)
        .values(mailbox_id=target, modseq=modseq)
    )
    for row in rows:
        email_id, uid = int(row.email_id), int(row.uid)
        await email_change(
            tx.conn, account, modseq, email_id, inbox.mailbox.id, uid, ChangeOp.DESTROYED
        )
        await email_change(tx.conn, account, modseq, email_id, target, uid, ChangeOp.CREATED)
    await touch_mailbox(tx.conn, inbox.mailbox.id, modseq)
    await touch_mailbox(tx.conn, target, modseq)


async def delete_mailbox(tx: Tx, opened: MailboxAccess, publish: Publish) -> None:
    """Delete an empty-of-children mailbox and its messages (tombstones for each).
    Raises Conflict for INBOX or a mailbox with children."""
    mailbox = opened.mailbox
    if mailbox.name == INBOX or mailbox.role is MailboxRole.INBOX:
        raise Conflict("INBOX cannot be deleted")
    mailboxes = schema.mailboxes
    child = (
        await tx.conn.execute(
            select(mailboxes.c.id).where(mailboxes.c.parent_id == mailbox.id).limit(1)
        )
    ).first()
    if child is not None:
        raise Conflict(f"mailbox {mailbox.name!r} has children; delete them first")
    account = mailbox.account_id
    await lock_account(tx.conn, account)
    modseq = await next_modseq(tx, account)
    rows = await message_rows(tx.conn, opened)
    await remove_memberships(tx.conn, account, mailbox.id, rows, modseq)
    await tx.conn.execute(
        schema.mailbox_acl.delete().where(schema.mailbox_acl.c.mailbox_id == mailbox.id)
    )
    await tx.conn.execute(mailboxes.delete().where(mailboxes.c.id == mailbox.id))
    await mailbox_change(tx.conn, account, modseq, mailbox.id, ChangeOp.DESTROYED)
    announce(tx, publish, account, modseq)


async def set_subscribed(tx: Tx, opened: MailboxAccess, subscribed: bool, publish: Publish) -> None:
    """Subscriptions are one flag per mailbox, kept for the owner and full-access
    delegates; for other readers it is accepted and not stored (no per-user list yet)."""
    if not opened.account.full or opened.mailbox.subscribed == subscribed:
        return
    account = opened.mailbox.account_id
    modseq = await next_modseq(tx, account)
    await tx.conn.execute(
        update(schema.mailboxes)
        .where(schema.mailboxes.c.id == opened.mailbox.id)
        .values(subscribed=subscribed)
    )
    await mailbox_change(tx.conn, account, modseq, opened.mailbox.id, ChangeOp.UPDATED)
    announce(tx, publish, account, modseq)


async def find_by_name(conn: AsyncConnection, account: AccountId, name: str) -> MailboxId:
    """Raises NotFound (also for an invalid name)."""
    try:
        name = normalize_name(name)
    except InvalidInput as exc:
        raise NotFound("no such mailbox") from exc
    mailboxes = schema.mailboxes
    found = (
        await conn.execute(
            select(mailboxes.c.id).where(
                mailboxes.c.account_id == account, mailboxes.c.name == name
            )
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFound("no such mailbox")
    return MailboxId(int(found))


async def find_by_role(conn: AsyncConnection, account: AccountId, role: MailboxRole) -> MailboxId:
    """Raises NotFound."""
    mailboxes = schema.mailboxes
    found = (
        await conn.execute(
            select(mailboxes.c.id)
            .where(mailboxes.c.account_id == account, mailboxes.c.role == role.value)
            .order_by(mailboxes.c.id)
            .limit(1)
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no mailbox has the role {role.value}")
    return MailboxId(int(found))
