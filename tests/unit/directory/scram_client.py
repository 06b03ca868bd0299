"""A minimal SCRAM-SHA-256 client for the tests (RFC 5802 §3 client side)."""

from __future__ import annotations

import base64

from tidings.directory.scram import client_proof, salted_password


def client_final(
    password: str, client_first: bytes, server_first: bytes, *, gs2_header: bytes = b"n,,"
) -> bytes:
    """The client-final-message answering `server_first` for `password`."""
    attributes = dict(part.split("=", 1) for part in server_first.decode().split(","))
    salted = salted_password(password, base64.b64decode(attributes["s"]), int(attributes["i"]))
    bare = client_first[len(gs2_header) :]
    without_proof = b"c=" + base64.b64encode(gs2_header) + b",r=" + attributes["r"].encode()
    auth_message = b",".join((bare, server_first, without_proof))
    proof = base64.b64encode(client_proof(salted, auth_message))
    return without_proof + b",p=" + proof
