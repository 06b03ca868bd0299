"""Argument grammar of the mailbox commands (RFC 9051 §6.3, RFC 7162 §3.2.5 QRESYNC,
RFC 5258 LIST-EXTENDED, RFC 5819, RFC 6154 CREATE USE, RFC 3502, RFC 9208, RFC 4314)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from tidings.imap import commands_model as m
from tidings.imap.grammar_fetch import parse_flag
from tidings.imap.grammar_search import parse_date_time
from tidings.imap.lexer import Cursor, ParseError
from tidings.imap.sequence import SequenceSet, parse_sequence_set

Handler = Callable[[Cursor, str], m.Command]


def sequence_arg(cur: Cursor) -> SequenceSet:
    text = cur.run_until(b" )")
    parsed = parse_sequence_set(text)
    if parsed is None:
        raise ParseError(f"Bad sequence set {text[:40]!r}")
    return parsed


def mailbox_arg(cur: Cursor) -> str:
    cur.sp()
    return cur.astring()


def select_params(cur: Cursor, tag: str, mailbox: str, readonly: bool) -> m.Select:
    condstore = False
    qresync: m.QResyncParams | None = None

    def param() -> None:
        nonlocal condstore, qresync
        word = cur.word()
        if word == "CONDSTORE":
            condstore = True
        elif word == "QRESYNC":
            cur.sp()
            qresync = qresync_params(cur)
        else:
            raise ParseError(f"Unknown SELECT parameter {word}")

    cur.paren_list(param, allow_empty=False)
    return m.Select(tag, mailbox, readonly, condstore, qresync)


def qresync_params(cur: Cursor) -> m.QResyncParams:
    cur.expect(b"(")
    cur.enter()
    uid_validity = cur.number(nonzero=True)
    cur.sp()
    modseq = cur.number(bits=63)
    known: SequenceSet | None = None
    match: tuple[SequenceSet, SequenceSet] | None = None
    if cur.accept(b" "):
        if cur.peek() != 0x28:
            known = sequence_arg(cur)
            cur.accept(b" ")
        if cur.accept(b"("):
            seqs = sequence_arg(cur)
            cur.sp()
            uids = sequence_arg(cur)
            cur.expect(b")")
            match = (seqs, uids)
    cur.expect(b")")
    cur.leave()
    return m.QResyncParams(uid_validity, modseq, known, match)


def select_command(readonly: bool) -> Handler:
    def handler(cur: Cursor, tag: str) -> m.Command:
        mailbox = mailbox_arg(cur)
        if cur.accept(b" "):
            return select_params(cur, tag, mailbox, readonly)
        return m.Select(tag, mailbox, readonly)

    return handler


def create_command(cur: Cursor, tag: str) -> m.Command:
    mailbox = mailbox_arg(cur)
    uses: list[str] = []
    if cur.accept(b" "):

        def param() -> None:
            if cur.word() != "USE":
                raise ParseError("Unknown CREATE parameter")
            cur.sp()
            uses.extend(cur.paren_list(lambda: parse_flag(cur)))

        cur.paren_list(param, allow_empty=False)
    return m.Create(tag, mailbox, tuple(uses))


def delete_command(cur: Cursor, tag: str) -> m.Command:
    return m.Delete(tag, mailbox_arg(cur))


def rename_command(cur: Cursor, tag: str) -> m.Command:
    old = mailbox_arg(cur)
    return m.Rename(tag, old, mailbox_arg(cur))


def subscribe_command(subscribe: bool) -> Handler:
    def handler(cur: Cursor, tag: str) -> m.Command:
        return m.Subscribe(tag, mailbox_arg(cur), subscribe)

    return handler


def list_command(cur: Cursor, tag: str) -> m.Command:
    cur.sp()
    selection: list[str] = []
    extended = False
    if cur.peek() == 0x28:
        extended = True
        selection = cur.paren_list(cur.word)
        cur.sp()
    reference = cur.astring() if cur.peek() != 0x22 else cur.string()
    cur.sp()
    if cur.peek() == 0x28:
        extended = True
        patterns = tuple(cur.paren_list(cur.list_mailbox, allow_empty=False))
    else:
        patterns = (cur.list_mailbox(),)
    returns: list[str] = []
    status: tuple[str, ...] | None = None
    if cur.accept(b" "):
        extended = True
        if cur.word() != "RETURN":
            raise ParseError("Expected RETURN")
        cur.sp()

        def option() -> str:
            nonlocal status
            word = cur.word()
            if word == "STATUS":
                cur.sp()
                status = tuple(cur.paren_list(cur.word, allow_empty=False))
            return word

        returns = cur.paren_list(option)
    return m.List(
        tag, reference, patterns, frozenset(selection), frozenset(returns), status, extended
    )


def lsub_command(cur: Cursor, tag: str) -> m.Command:
    cur.sp()
    reference = cur.astring()
    cur.sp()
    return m.List(tag, reference, (cur.list_mailbox(),), lsub=True)


def status_command(cur: Cursor, tag: str) -> m.Command:
    mailbox = mailbox_arg(cur)
    cur.sp()
    return m.Status(tag, mailbox, tuple(cur.paren_list(cur.word, allow_empty=False)))


def append_command(cur: Cursor, tag: str) -> m.Command:
    mailbox = mailbox_arg(cur)
    messages: list[m.AppendMessage] = []
    while cur.accept(b" "):
        flags: tuple[str, ...] = ()
        when: datetime | None = None
        if cur.peek() == 0x28:
            flags = tuple(cur.paren_list(lambda: parse_flag(cur)))
            cur.sp()
        if cur.peek() == 0x22:
            when = parse_date_time(cur)
            cur.sp()
        data, binary = cur.literal_bytes()
        messages.append(m.AppendMessage(flags, when, data, binary))
    if not messages:
        raise ParseError("APPEND needs a message literal")
    return m.Append(tag, mailbox, tuple(messages))


def getquota_command(cur: Cursor, tag: str) -> m.Command:
    cur.sp()
    return m.GetQuota(tag, cur.astring())


def getquotaroot_command(cur: Cursor, tag: str) -> m.Command:
    return m.GetQuotaRoot(tag, mailbox_arg(cur))


def setquota_command(cur: Cursor, tag: str) -> m.Command:
    cur.sp()
    root = cur.astring()
    cur.sp()
    values: list[tuple[str, int]] = []

    def item() -> None:
        name = cur.word()
        cur.sp()
        values.append((name, cur.number(bits=63)))

    cur.paren_list(item)
    return m.SetQuota(tag, root, tuple(values))


def setacl_command(cur: Cursor, tag: str) -> m.Command:
    mailbox = mailbox_arg(cur)
    cur.sp()
    identifier = cur.astring()
    cur.sp()
    return m.SetAcl(tag, mailbox, identifier, cur.astring())


def mailbox_identifier_command(cls: type[m.DeleteAcl] | type[m.ListRights]) -> Handler:
    def handler(cur: Cursor, tag: str) -> m.Command:
        mailbox = mailbox_arg(cur)
        cur.sp()
        return cls(tag, mailbox, cur.astring())

    return handler


def getacl_command(cur: Cursor, tag: str) -> m.Command:
    return m.GetAcl(tag, mailbox_arg(cur))


def myrights_command(cur: Cursor, tag: str) -> m.Command:
    return m.MyRights(tag, mailbox_arg(cur))


