"""Per-command argument grammar (RFC 9051 §6 and extensions); one function per command."""

from __future__ import annotations

import binascii

from tidings.imap import commands_model as m
from tidings.imap.grammar_fetch import (
    parse_fetch_attributes,
    parse_fetch_modifiers,
    parse_store_action,
)
from tidings.imap.grammar_mailbox import (
    Handler,
    append_command,
    create_command,
    delete_command,
    getacl_command,
    getquota_command,
    getquotaroot_command,
    list_command,
    lsub_command,
    mailbox_arg,
    mailbox_identifier_command,
    myrights_command,
    rename_command,
    select_command,
    sequence_arg,
    setacl_command,
    setquota_command,
    status_command,
    subscribe_command,
)
from tidings.imap.grammar_search import parse_search_keys, parse_search_program
from tidings.imap.lexer import Cursor, ParseError


def _no_args(cls: type[m.Command]) -> Handler:
    def handler(cur: Cursor, tag: str) -> m.Command:
        return cls(tag)

    return handler


def _login(cur: Cursor, tag: str) -> m.Command:
    cur.sp()
    user = cur.astring()
    cur.sp()
    return m.Login(tag, user, cur.astring())


def _authenticate(cur: Cursor, tag: str) -> m.Command:
    cur.sp()
    mechanism = cur.atom().upper()
    initial: bytes | None = None
    if cur.accept(b" "):
        raw = cur.run_until(b" ")
        if raw == "=":
            initial = b""
        else:
            try:
                initial = binascii.a2b_base64(raw.encode("ascii", "replace"), strict_mode=True)
            except binascii.Error as exc:
                raise ParseError("Invalid base64 in initial response") from exc
    return m.Authenticate(tag, mechanism, initial)


def _enable(cur: Cursor, tag: str) -> m.Command:
    names = []
    while cur.accept(b" "):
        names.append(cur.word())
    if not names:
        raise ParseError("ENABLE needs at least one capability")
    return m.Enable(tag, tuple(names))


def _id(cur: Cursor, tag: str) -> m.Command:
    cur.sp()
    if cur.peek_word() == "NIL":
        cur.word()
        return m.Id(tag, None)
    values = cur.paren_list(cur.nstring)
    if len(values) % 2 or len(values) > 60:
        raise ParseError("ID needs field/value pairs")
    pairs = tuple((values[i] or "", values[i + 1]) for i in range(0, len(values), 2))
    return m.Id(tag, pairs)


def _compress(cur: Cursor, tag: str) -> m.Command:
    cur.sp()
    return m.Compress(tag, cur.word())


def _expunge(cur: Cursor, tag: str) -> m.Command:
    return m.Expunge(tag)


def _uid_expunge(cur: Cursor, tag: str) -> m.Command:
    cur.sp()
    return m.Expunge(tag, sequence_arg(cur))


def _fetch(uid: bool) -> Handler:
    def handler(cur: Cursor, tag: str) -> m.Command:
        cur.sp()
        sequence = sequence_arg(cur)
        cur.sp()
        attributes = parse_fetch_attributes(cur)
        changed_since, vanished = None, False
        if cur.accept(b" "):
            changed_since, vanished = parse_fetch_modifiers(cur)
        if vanished and not uid:
            raise ParseError("VANISHED is only valid with UID FETCH")
        return m.Fetch(tag, sequence, attributes, uid, changed_since, vanished)

    return handler


def _store(uid: bool) -> Handler:
    def handler(cur: Cursor, tag: str) -> m.Command:
        cur.sp()
        sequence = sequence_arg(cur)
        cur.sp()
        unchanged_since: int | None = None
        if cur.peek() == 0x28:
            cur.expect(b"(")
            if cur.word() != "UNCHANGEDSINCE":
                raise ParseError("Unknown STORE modifier")
            cur.sp()
            unchanged_since = cur.number(bits=63)
            cur.expect(b")")
            cur.sp()
        operation, silent, flags = parse_store_action(cur)
        return m.Store(tag, sequence, operation, flags, silent, uid, unchanged_since)

    return handler


def _copy(uid: bool, move: bool) -> Handler:
    def handler(cur: Cursor, tag: str) -> m.Command:
        cur.sp()
        sequence = sequence_arg(cur)
        return m.Copy(tag, sequence, mailbox_arg(cur), uid, move)

    return handler


def _search_returns(cur: Cursor) -> tuple[str, ...] | None:
    if cur.peek_word() != "RETURN":
        return None
    cur.word()
    cur.sp()
    returns = tuple(cur.paren_list(cur.word))
    cur.sp()
    return returns


def _search(uid: bool) -> Handler:
    def handler(cur: Cursor, tag: str) -> m.Command:
        cur.sp()
        returns = _search_returns(cur)
        charset, key = parse_search_program(cur)
        return m.Search(tag, key, charset, uid, returns)

    return handler


def _sort(uid: bool) -> Handler:
    def handler(cur: Cursor, tag: str) -> m.Command:
        cur.sp()
        returns = _search_returns(cur)
        words = cur.paren_list(cur.word, allow_empty=False)
        criteria: list[tuple[bool, str]] = []
        reverse = False
        for word in words:
            if word == "REVERSE":
                reverse = True
                continue
            criteria.append((reverse, word))
            reverse = False
        if reverse or not criteria:
            raise ParseError("Bad sort criteria")
        cur.sp()
        charset = cur.astring()
        cur.sp()
        return m.Sort(tag, tuple(criteria), charset, parse_search_keys(cur), uid, returns)

    return handler


def _thread(uid: bool) -> Handler:
    def handler(cur: Cursor, tag: str) -> m.Command:
        cur.sp()
        algorithm = cur.word()
        cur.sp()
        charset = cur.astring()
        cur.sp()
        return m.Thread(tag, algorithm, charset, parse_search_keys(cur), uid)

    return handler


COMMANDS: dict[str, Handler] = {
    "CAPABILITY": _no_args(m.Capability),
    "NOOP": _no_args(m.Noop),
    "LOGOUT": _no_args(m.Logout),
    "STARTTLS": _no_args(m.StartTLS),
    "LOGIN": _login,
    "AUTHENTICATE": _authenticate,
    "ENABLE": _enable,
    "ID": _id,
    "COMPRESS": _compress,
    "SELECT": select_command(False),
    "EXAMINE": select_command(True),
    "CREATE": create_command,
    "DELETE": delete_command,
    "RENAME": rename_command,
    "SUBSCRIBE": subscribe_command(True),
    "UNSUBSCRIBE": subscribe_command(False),
    "LIST": list_command,
    "LSUB": lsub_command,
    "STATUS": status_command,
    "APPEND": append_command,
    "IDLE": _no_args(m.Idle),
    "NAMESPACE": _no_args(m.Namespace),
    "GETQUOTA": getquota_command,
    "GETQUOTAROOT": getquotaroot_command,
    "SETQUOTA": setquota_command,
    "SETACL": setacl_command,
    "DELETEACL": mailbox_identifier_command(m.DeleteAcl),
    "GETACL": getacl_command,
    "LISTRIGHTS": mailbox_identifier_command(m.ListRights),
    "MYRIGHTS": myrights_command,
    "CHECK": _no_args(m.Check),
    "CLOSE": _no_args(m.Close),
    "UNSELECT": _no_args(m.Unselect),
    "EXPUNGE": _expunge,
    "FETCH": _fetch(False),
    "STORE": _store(False),
    "COPY": _copy(False, False),
    "MOVE": _copy(False, True),
    "SEARCH": _search(False),
    "SORT": _sort(False),
    "THREAD": _thread(False),
}

UID_COMMANDS: dict[str, Handler] = {
    "FETCH": _fetch(True),
    "STORE": _store(True),
    "COPY": _copy(True, False),
    "MOVE": _copy(True, True),
    "SEARCH": _search(True),
    "SORT": _sort(True),
    "THREAD": _thread(True),
    "EXPUNGE": _uid_expunge,
}
