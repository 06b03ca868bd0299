"""Charset decoding that never fails (RFC 2046 §4.1.2 charset parameter, RFC 2047 §3).

Mail in the wild names charsets that Python does not know, mislabels UTF-8 as
US-ASCII and mixes 8-bit bytes into headers; every path here degrades to
replacement characters instead of raising.
"""

from __future__ import annotations

import codecs

# Labels that real mailers send, mapped to the superset codec that decodes what they meant
# (the WHATWG Encoding Standard makes the same substitutions).
_ALIASES = {
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "iso-8859-9": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
}

# Codecs that Python accepts as text encodings but that no mail charset label means;
# decoding with them could raise or interpret escape sequences.
_REFUSED = frozenset(
    {"idna", "punycode", "unicode_escape", "raw_unicode_escape", "undefined", "mbcs", "oem"}
)


def lookup_codec(charset: str | None) -> str | None:
    """The Python codec name for a MIME charset label, or None when it is unknown."""
    if not charset:
        return None
    label = charset.strip().strip("\"'").lower()
    # RFC 2231 §5: a language tag may follow the charset after "*".
    label = label.split("*", 1)[0]
    label = _ALIASES.get(label, label)
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED:
        return None
    return info.name


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Decode `data` in `charset`; unknown or missing charsets try UTF-8, then Windows-1252.

    Never raises: undecodable bytes become U+FFFD.
    """
    codec = lookup_codec(charset)
    unlabelled = codec is None or _is_ascii_label(charset)
    if unlabelled:
        # Unlabelled or "us-ascii" 8-bit text is usually UTF-8 sent by a careless mailer.
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            # A named but unknown charset degrades to replacement characters.
            codec = "utf-8" if codec is None and charset else "cp1252"
    assert codec is not None
    try:
        return data.decode(codec, errors="replace")
    except (LookupError, UnicodeError, ValueError, TypeError):
        return data.decode("utf-8", errors="replace")


def _is_ascii_label(charset: str | None) -> bool:
    return bool(charset) and str(charset).strip().strip("\"'").lower() in ("us-ascii", "ascii")


def decode_header_bytes(data: bytes) -> str:
    """Decode a raw header value: UTF-8 (RFC 6532) when valid, else Windows-1252."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")
