"""Message builders shared by the spam unit tests."""

from __future__ import annotations

import base64
import io
import zipfile

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def plain(subject: str = "Lunch on Friday", body: str = "See you at noon.\r\n", *,
          sender: str = "carol@example.test", extra: str = "",
          date: str | None = "Mon, 2 Mar 2026 10:00:00 +0000",
          message_id: str | None = "<abc@example.test>") -> bytes:
    head = f"From: Carol <{sender}>\r\nTo: alice@example.test\r\nSubject: {subject}\r\n"
    if date is not None:
        head += f"Date: {date}\r\n"
    if message_id is not None:
        head += f"Message-ID: {message_id}\r\n"
    return (head + extra + "\r\n" + body).encode()


def with_attachment(filename: str, data: bytes, *, content_type: str =
                    "application/octet-stream") -> bytes:
    encoded = base64.encodebytes(data).decode().replace("\n", "\r\n")
    return (
        "From: Carol <carol@example.test>\r\nTo: alice@example.test\r\nSubject: files\r\n"
        "Date: Mon, 2 Mar 2026 10:00:00 +0000\r\nMessage-ID: <att@example.test>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
        "--XX\r\nContent-Type: text/plain\r\n\r\nPlease see the attachment.\r\n"
        f"--XX\r\nContent-Type: {content_type}\r\n"
        f"Content-Disposition: attachment; filename=\"{filename}\"\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{encoded}--XX--\r\n"
    ).encode()


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()
