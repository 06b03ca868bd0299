"""Structured logging: key=value text or JSON lines, with the session context on each.

Messages are stable event names with key=value fields (`smtp.accepted queue_id=...`);
the formatter appends the `tidings.logctx` session fields of the task that logged.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import TextIO

from tidings.logctx import SessionContext, session_context

_HANDLER_NAME = "tidings"


def _context_fields(ctx: SessionContext | None) -> dict[str, str]:
    if ctx is None:
        return {}
    fields = {"session": ctx.session_id, "proto": ctx.protocol, "peer": ctx.peer}
    if ctx.principal is not None:
        fields["principal"] = ctx.principal
    return fields


def _quote(value: str) -> str:
    """Quote a value only when it would be ambiguous in key=value text."""
    if value and not any(c in value for c in ' "=\n\t\\'):
        return value
    return json.dumps(value, ensure_ascii=False)


def _timestamp(record: logging.LogRecord) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{stamp}.{int(record.msecs):03d}Z"


class ContextFilter(logging.Filter):
    """Capture the session context when the record is made (handlers may run later)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "tidings_ctx"):
            record.tidings_ctx = _context_fields(session_context.get())
        return True


class TextFormatter(logging.Formatter):
    """`TIME LEVEL LOGGER MESSAGE key=value ...` on one line; tracebacks follow."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, str] = getattr(record, "tidings_ctx", {})
        extra = "".join(f" {k}={_quote(v)}" for k, v in fields.items())
        line = (
            f"{_timestamp(record)} {record.levelname:<7} {record.name} {record.getMessage()}{extra}"
        )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JSONFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, event, session fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        obj: dict[str, str] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        obj.update(getattr(record, "tidings_ctx", {}))
        if record.exc_info:
            obj["exc"] = self.formatException(record.exc_info)
        return json.dumps(obj, ensure_ascii=False)


def setup_logging(level: str = "info", fmt: str = "text", stream: TextIO | None = None) -> None:
    """Install one handler on the root logger (replacing a previous Tidings handler)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JSONFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Uvicorn's per-request access lines would drown the mail protocols' events.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # Its start/stop chatter repeats what our listener.* events say.
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
