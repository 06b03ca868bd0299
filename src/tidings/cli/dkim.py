"""`tidings dkim generate|rotate|list|retire`: DKIM signing keys per domain, kept under
the data directory; `generate` and `rotate` print the DNS TXT record to publish."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from tidings.cli.common import add_leaf, emit, load_config
from tidings.hygiene.dkim_keys import Algorithm, DKIMKey, DKIMKeyStore

Action = Callable[[DKIMKeyStore, argparse.Namespace], object]


def _store(args: argparse.Namespace) -> DKIMKeyStore:
    settings = load_config(args)
    directory = settings.hygiene.dkim_dir or settings.server.data_dir / "dkim"
    return DKIMKeyStore(directory)


def _record(key: DKIMKey, *, active: bool | None = None) -> dict[str, object]:
    row: dict[str, object] = {
        "domain": key.domain, "selector": key.selector, "algorithm": key.algorithm.value,
        "created": key.created,
    }
    if active is not None:
        row["signing"] = active
    row["dns_name"] = key.dns_name()
    row["txt"] = key.txt_record()
    return row


def dkim_generate(store: DKIMKeyStore, args: argparse.Namespace) -> object:
    key = store.generate(args.domain, Algorithm(args.algorithm), args.selector)
    return _record(key)


def dkim_rotate(store: DKIMKeyStore, args: argparse.Namespace) -> object:
    algorithm = Algorithm(args.algorithm) if args.algorithm else None
    key = store.rotate(args.domain, algorithm, args.selector)
    result = _record(key)
    result["note"] = ("publish this record before the old selector's is removed; "
                      "then `tidings dkim retire DOMAIN OLD_SELECTOR`")
    return result


def dkim_list(store: DKIMKeyStore, args: argparse.Namespace) -> object:
    keys = store.keys(args.domain)
    signing = {(k.domain, k.selector) for k in
               (store.signing_key(d) for d in {k.domain for k in keys}) if k}
    rows = [_record(k, active=(k.domain, k.selector) in signing) for k in keys]
    if not args.json:
        for row in rows:
            row.pop("txt")
    return rows


def dkim_retire(store: DKIMKeyStore, args: argparse.Namespace) -> object:
    store.retire(args.domain, args.selector)
    return {"retired": f"{args.selector}._domainkey.{args.domain}"}


def _run(args: argparse.Namespace) -> int:
    action: Action = args.action
    emit(action(_store(args), args), as_json=args.json)
    return 0


def _leaf(parent: argparse._SubParsersAction[argparse.ArgumentParser], name: str,
          help_text: str, action: Action) -> argparse.ArgumentParser:
    return add_leaf(parent, name, help_text, _run, action=action)


def add_dkim_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `tidings dkim ...` on the main parser."""
    dkim = commands.add_parser(
        "dkim", help="DKIM signing keys for outbound mail",
        description="DKIM keys (RFC 6376, RFC 8463 Ed25519) per domain, under the data dir.",
    )
    sub = dkim.add_subparsers(title="actions", metavar="ACTION", required=True)
    choices = [a.value for a in Algorithm]
    generate = _leaf(sub, "generate", "create a key and print its DNS TXT record",
                     dkim_generate)
    generate.add_argument("domain", metavar="DOMAIN")
    generate.add_argument("--algorithm", choices=choices, default="rsa",
                          help="rsa (2048 bits, default) or ed25519")
    generate.add_argument("--selector", help="selector name (default: t<date><a>)")
    rotate = _leaf(sub, "rotate", "add a new selector that signs from now on", dkim_rotate)
    rotate.add_argument("domain", metavar="DOMAIN")
    rotate.add_argument("--algorithm", choices=choices, help="default: the current key's")
    rotate.add_argument("--selector", help="selector name (default: t<timestamp>)")
    listing = _leaf(sub, "list", "list keys; the newest of a domain signs", dkim_list)
    listing.add_argument("domain", metavar="DOMAIN", nargs="?")
    retire = _leaf(sub, "retire", "delete an old selector's key", dkim_retire)
    retire.add_argument("domain", metavar="DOMAIN")
    retire.add_argument("selector", metavar="SELECTOR")
