"""Address lists (RFC 5322 §3.4 with the §4.4 obsolete forms): mailboxes, groups, routes.

A small tolerant tokenizer and parser: unbalanced quotes, brackets and comments, missing
domains and stray specials degrade to the best guess instead of raising. Display names
are kept as written (encoded words intact, as IMAP ENVELOPE wants); `display_name`
decodes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from tidings.mime.encoded_words import decode_encoded_words

_SPECIALS = "<>,:;@."
_STOP = set(_SPECIALS + '"([ \t\r\n')


@dataclass(frozen=True, slots=True)
class Address:
    """One mailbox: display name, obsolete source route, local part and domain."""

    name: str | None
    route: str | None
    mailbox: str
    host: str

    @property
    def addr_spec(self) -> str:
        return f"{self.mailbox}@{self.host}" if self.host else self.mailbox

    @property
    def display_name(self) -> str | None:
        return decode_encoded_words(self.name) if self.name else None

    @property
    def host_unicode(self) -> str:
        """The domain with IDNA A-labels ("xn--") shown as Unicode (RFC 5890)."""
        labels = []
        for label in self.host.split("."):
            if label.lower().startswith("xn--"):
                try:
                    label = label.encode("ascii").decode("idna")
                except (UnicodeError, ValueError):
                    pass
            labels.append(label)
        return ".".join(labels)

    def formatted(self) -> str:
        """`Name <local@domain>` with the name decoded, or the bare address."""
        name = self.display_name
        return f"{name} <{self.addr_spec}>" if name else self.addr_spec


@dataclass(frozen=True, slots=True)
class Group:
    """An RFC 5322 group: `name: member, member;` (members may be empty)."""

    name: str
    members: tuple[Address, ...]

    def formatted(self) -> str:
        members = ", ".join(m.formatted() for m in self.members)
        return f"{decode_encoded_words(self.name)}: {members};"


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "atom", "quoted", "comment", "literal" or "special"
    text: str
    spaced: bool  # whitespace came before it


def _read_delimited(text: str, pos: int, close: str, nests: str | None) -> tuple[str, int]:
    """Read from after an opening quote/paren/bracket to its close; backslash escapes."""
    out: list[str] = []
    depth = 1
    while pos < len(text):
        char = text[pos]
        if char == "\\" and pos + 1 < len(text):
            out.append(text[pos + 1])
            pos += 2
            continue
        if nests is not None and char == nests:
            depth += 1
        elif char == close:
            depth -= 1
            if depth == 0:
                return "".join(out), pos + 1
        out.append(char)
        pos += 1
    return "".join(out), pos


def tokenize(text: str) -> list[_Token]:
    """Split an address header value into RFC 5322 lexical tokens."""
    tokens: list[_Token] = []
    pos, spaced = 0, False
    while pos < len(text):
        char = text[pos]
        if char in " \t\r\n":
            pos, spaced = pos + 1, True
            continue
        if char == '"':
            value, pos = _read_delimited(text, pos + 1, '"', None)
            tokens.append(_Token("quoted", value, spaced))
        elif char == "(":
            value, pos = _read_delimited(text, pos + 1, ")", "(")
            tokens.append(_Token("comment", value, spaced))
        elif char == "[":
            value, pos = _read_delimited(text, pos + 1, "]", None)
            tokens.append(_Token("literal", f"[{value}]", spaced))
        elif char in _SPECIALS or char in ")]":
            tokens.append(_Token("special", char, spaced))
            pos += 1
        else:
            end = pos
            while end < len(text) and text[end] not in _STOP and text[end] not in ")]":
                end += 1
            tokens.append(_Token("atom", text[pos:end], spaced))
            pos = end
        spaced = False
    return tokens


def _is_special(token: _Token, char: str) -> bool:
    return token.kind == "special" and token.text == char


def _phrase(tokens: list[_Token]) -> str | None:
    words = [t for t in tokens if t.kind != "comment"]
    if not words:
        return None
    text = words[0].text
    for token in words[1:]:
        text += (" " if token.spaced else "") + token.text
    return text.strip() or None


def _comment_name(tokens: list[_Token]) -> str | None:
    comments = [t.text.strip() for t in tokens if t.kind == "comment" and t.text.strip()]
    return comments[-1] if comments else None


def _addr_spec(tokens: list[_Token]) -> tuple[str, str]:
    """Local part and domain from addr-spec tokens (split at the last "@")."""
    plain = [t for t in tokens if t.kind != "comment"]
    at = max((i for i, t in enumerate(plain) if t.kind == "special" and t.text == "@"), default=-1)
    local = plain if at < 0 else plain[:at]
    domain = [] if at < 0 else plain[at + 1 :]
    return "".join(t.text for t in local), "".join(t.text for t in domain)


def _angle_address(tokens: list[_Token]) -> tuple[str | None, str, str]:
    """Route, local part and domain inside `<...>` (RFC 5322 §4.4 obs-route allowed)."""
    colon = next((i for i, t in enumerate(tokens) if t.kind == "special" and t.text == ":"), -1)
    route = None
    if colon >= 0:
        route = "".join(t.text for t in tokens[:colon] if t.kind != "comment") or None
        tokens = tokens[colon + 1 :]
    local, domain = _addr_spec(tokens)
    return route, local, domain


def _mailbox(tokens: list[_Token]) -> Address | None:
    """One mailbox from its tokens, or None when they hold nothing."""
    if not any(t.kind != "comment" for t in tokens):
        return None
    opening = next((i for i, t in enumerate(tokens) if t.kind == "special" and t.text == "<"), -1)
    if opening >= 0:
        closing = next(
            (i for i in range(opening, len(tokens)) if _is_special(tokens[i], ">")),
            len(tokens),
        )
        name = _phrase(tokens[:opening]) or _comment_name(tokens)
        route, local, domain = _angle_address(tokens[opening + 1 : closing])
        return Address(name, route, local, domain)
    local, domain = _addr_spec(tokens)
    return Address(_comment_name(tokens), None, local, domain)


def parse_address_list(value: str | None) -> list[Address | Group]:
    """Parse an address-list header value into mailboxes and groups; never raises."""
    if not value:
        return []
    result: list[Address | Group] = []
    group_name: str | None = None
    members: list[Address] = []
    current: list[_Token] = []
    in_angle = False
    # Whether `current` already holds "<" or "@" (then ":" is not a group name's end);
    # kept as a flag so a flood of colons stays linear.
    addressy = False

    def finish() -> None:
        nonlocal addressy
        address = _mailbox(current)
        if address is not None:
            (members if group_name is not None else result).append(address)
        current.clear()
        addressy = False

    for token in tokenize(value):
        special = token.text if token.kind == "special" else ""
        if special == "<":
            in_angle = True
        elif special == ">":
            in_angle = False
        if in_angle and special not in ("<", ">"):
            current.append(token)
        elif special == "," and not in_angle:
            finish()
        elif special == ":" and group_name is None and not addressy:
            group_name = _phrase(current) or ""
            current.clear()
        elif special == ";" and group_name is not None:
            finish()
            result.append(Group(group_name, tuple(members)))
            group_name, members = None, []
        else:
            current.append(token)
            addressy = addressy or special in ("<", "@")
    finish()
    if group_name is not None:
        result.append(Group(group_name, tuple(members)))
    return result


def flatten(items: list[Address | Group]) -> list[Address]:
    """Every mailbox in an address list, group members included."""
    out: list[Address] = []
    for item in items:
        out.extend(item.members if isinstance(item, Group) else (item,))
    return out
