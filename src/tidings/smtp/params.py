"""ESMTP parameters of MAIL FROM and RCPT TO: SIZE (RFC 1870), BODY (RFC 6152,
RFC 3030), SMTPUTF8 (RFC 6531), RET/ENVID/NOTIFY/ORCPT (RFC 3461), AUTH (RFC 4954 §5)."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import TypeVar

MAX_ENVID_CHARS = 100  # RFC 3461 §4.4
MAX_SIZE_DIGITS = 20

_E = TypeVar("_E", bound=enum.StrEnum)
_KEYWORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*\Z")


class BodyType(enum.StrEnum):
    SEVEN_BIT = "7BIT"
    EIGHT_BIT_MIME = "8BITMIME"
    BINARY_MIME = "BINARYMIME"


class Ret(enum.StrEnum):
    FULL = "FULL"
    HDRS = "HDRS"


class Notify(enum.StrEnum):
    NEVER = "NEVER"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    DELAY = "DELAY"


@dataclass(frozen=True, slots=True)
class MailParams:
    size: int | None = None
    body: BodyType | None = None
    smtputf8: bool = False
    ret: Ret | None = None
    envid: str | None = None
    auth: str | None = None  # RFC 4954 §5: the original submitter, "<>" if unknown


@dataclass(frozen=True, slots=True)
class RcptParams:
    notify: frozenset[Notify] | None = None
    orcpt: str | None = None  # "addr-type;address" with the xtext decoded

    @property
    def notify_text(self) -> str | None:
        """NOTIFY as the queue stores it ("SUCCESS,FAILURE"), None when not given."""
        if self.notify is None:
            return None
        return ",".join(n.value for n in Notify if n in self.notify)


class ParamError(ValueError):
    """A parameter is malformed or unknown; `code`/`enhanced` say how to reply."""

    def __init__(self, text: str, code: int = 501, enhanced: str = "5.5.4") -> None:
        super().__init__(text)
        self.text = text
        self.code = code
        self.enhanced = enhanced


def decode_xtext(value: str) -> str:
    """RFC 3461 §4: "+XX" hex escapes; other chars are printable ASCII but "+" and "=".

    Raises ParamError.
    """
    out: list[str] = []
    index = 0
    while index < len(value):
        ch = value[index]
        if ch == "+":
            hexpair = value[index + 1 : index + 3]
            if len(hexpair) != 2 or not all(c in "0123456789ABCDEF" for c in hexpair):
                raise ParamError("bad xtext escape; use +XX with upper-case hex")
            out.append(chr(int(hexpair, 16)))
            index += 3
            continue
        if not "!" <= ch <= "~" or ch == "=":
            raise ParamError("bad character in xtext value")
        out.append(ch)
        index += 1
    return "".join(out)


def split_params(text: str) -> dict[str, str | None]:
    """ "KEY=VALUE KEY2" into an upper-cased dict. Raises ParamError on duplicates/syntax."""
    params: dict[str, str | None] = {}
    for token in text.split():
        key, sep, value = token.partition("=")
        if not _KEYWORD.match(key):
            raise ParamError(f"bad parameter syntax {token!r}")
        key = key.upper()
        if key in params:
            raise ParamError(f"parameter {key} given twice")
        if sep and not value:
            raise ParamError(f"parameter {key} has an empty value")
        params[key] = value if sep else None
    return params


def _need_value(key: str, value: str | None) -> str:
    if value is None:
        raise ParamError(f"parameter {key} needs a value")
    return value


def _no_value(key: str, value: str | None) -> None:
    if value is not None:
        raise ParamError(f"parameter {key} takes no value")


def _enum_value(kind: type[_E], key: str, value: str | None) -> _E:
    try:
        return kind(_need_value(key, value).upper())
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise ParamError(f"{key} must be one of {allowed}") from None


def parse_mail_params(text: str) -> MailParams:
    """Parameters after MAIL FROM:<...>. Raises ParamError (555 for unknown ones)."""
    size: int | None = None
    body: BodyType | None = None
    smtputf8 = False
    ret: Ret | None = None
    envid: str | None = None
    auth: str | None = None
    for key, value in split_params(text).items():
        match key:
            case "SIZE":
                digits = _need_value(key, value)
                if not digits.isdigit() or not digits.isascii() or len(digits) > MAX_SIZE_DIGITS:
                    raise ParamError("SIZE must be a number of octets")
                size = int(digits)
            case "BODY":
                body = _enum_value(BodyType, key, value)
            case "SMTPUTF8":
                _no_value(key, value)
                smtputf8 = True
            case "RET":
                ret = _enum_value(Ret, key, value)
            case "ENVID":
                envid = decode_xtext(_need_value(key, value))
                if len(envid) > MAX_ENVID_CHARS:
                    raise ParamError("ENVID is longer than 100 characters")
            case "AUTH":
                auth = decode_xtext(_need_value(key, value))
            case _:
                raise ParamError(f"MAIL FROM parameter {key} is not supported", 555, "5.5.4")
    return MailParams(size, body, smtputf8, ret, envid, auth)


def parse_rcpt_params(text: str) -> RcptParams:
    """Parameters after RCPT TO:<...>. Raises ParamError (555 for unknown ones)."""
    notify: frozenset[Notify] | None = None
    orcpt: str | None = None
    for key, value in split_params(text).items():
        match key:
            case "NOTIFY":
                notify = _parse_notify(_need_value(key, value))
            case "ORCPT":
                orcpt = _parse_orcpt(_need_value(key, value))
            case _:
                raise ParamError(f"RCPT TO parameter {key} is not supported", 555, "5.5.4")
    return RcptParams(notify, orcpt)


def _parse_notify(value: str) -> frozenset[Notify]:
    """RFC 3461 §4.1: NEVER alone, or a list of SUCCESS, FAILURE, DELAY."""
    try:
        items = frozenset(Notify(item.upper()) for item in value.split(","))
    except ValueError:
        raise ParamError("NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY") from None
    if Notify.NEVER in items and len(items) > 1:
        raise ParamError("NOTIFY=NEVER cannot be combined with other values")
    return items


def _parse_orcpt(value: str) -> str:
    """RFC 3461 §4.2: addr-type ";" xtext."""
    addr_type, sep, encoded = value.partition(";")
    if not sep or not _KEYWORD.match(addr_type) or not encoded:
        raise ParamError("ORCPT must be addr-type;address, e.g. rfc822;user@example.org")
    return f"{addr_type.lower()};{decode_xtext(encoded)}"
