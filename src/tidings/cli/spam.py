"""`tidings spam learn|stats|senders|rules`: train the Bayesian classifier from message
files, see what it knows, and manage per-user sender lists and rule weights."""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from tidings.admin.hygiene import HygieneAdminService
from tidings.admin.roles import Actor
from tidings.cli.common import CLIError
from tidings.cli.quarantine import Action, leaf
from tidings.hygiene.spam.facts import analyse
from tidings.hygiene.spam.tokenizer import tokenize
from tidings.model.ids import AccountId, BlobId


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror}") from None


async def spam_learn(service: HygieneAdminService, actor: Actor,
                     args: argparse.Namespace) -> object:
    """Each file is one message (RFC 5322); with --user the user's table learns too."""
    account = AccountId(0)
    if args.user:
        target = await service.directory.principal(actor, args.user)
        account = AccountId(int(target.id))
    learned = 0
    for path in args.files:
        raw = _read(path)
        blob_id = BlobId(hashlib.sha256(raw).hexdigest())
        tokens = sorted(tokenize(analyse(raw)))
        learned += await service.spam.learn(account, blob_id, tokens, args.kind == "spam")
    return {"learned": learned, "class": args.kind, "user": args.user or None}


async def spam_stats(service: HygieneAdminService, actor: Actor,
                     args: argparse.Namespace) -> object:
    stats = await service.stats(actor, args.user)
    return {"spam_messages": stats.spam_messages, "ham_messages": stats.ham_messages,
            "tokens": stats.tokens}


async def senders_list(service: HygieneAdminService, actor: Actor,
                       args: argparse.Namespace) -> object:
    entries = await service.senders(actor, args.user)
    rows = [{"pattern": e.pattern, "kind": e.kind} for e in entries]
    return rows if rows or args.json else "no safe or blocked senders"


async def senders_add(service: HygieneAdminService, actor: Actor,
                      args: argparse.Namespace) -> object:
    entry = await service.add_sender(actor, args.user, args.pattern, args.kind)
    return {"user": args.user, "pattern": entry.pattern, "kind": entry.kind}


async def senders_remove(service: HygieneAdminService, actor: Actor,
                         args: argparse.Namespace) -> object:
    await service.remove_sender(actor, args.user, args.pattern)
    return {"user": args.user, "removed": args.pattern}


async def rules_list(service: HygieneAdminService, actor: Actor,
                     args: argparse.Namespace) -> object:
    return [{"name": r.name, "weight": r.weight, "default": r.default,
             "description": r.description} for r in await service.rules(actor)]


async def rules_set(service: HygieneAdminService, actor: Actor,
                    args: argparse.Namespace) -> object:
    weight = None if args.weight == "default" else _number(args.weight)
    await service.set_rule(actor, args.name, weight)
    return {"name": args.name, "weight": weight}


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise CLIError(f"expected a number or 'default', got {text!r}") from None


def _add(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, text: str,
         action: Action) -> argparse.ArgumentParser:
    return leaf(sub, name, text, action)


def add_spam_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `tidings spam ...` on the main parser."""
    spam = commands.add_parser("spam", help="train and inspect spam scoring",
                               description="The Bayesian classifier, sender lists and rules.")
    sub = spam.add_subparsers(title="actions", metavar="ACTION", required=True)
    learn = _add(sub, "learn", "learn message files as spam or ham", spam_learn)
    learn.add_argument("kind", choices=("spam", "ham"))
    learn.add_argument("files", nargs="+", metavar="FILE",
                       help="one message per file; - reads stdin")
    learn.add_argument("--user", help="also train this user's own table")
    _add(sub, "stats", "what the classifier has learned", spam_stats).add_argument(
        "--user", help="a user's own table instead of the global one")
    senders = sub.add_parser("senders", help="a user's safe and blocked senders")
    ssub = senders.add_subparsers(title="actions", metavar="ACTION", required=True)
    _add(ssub, "list", "list a user's sender lists", senders_list).add_argument("user")
    add = _add(ssub, "add", "add a safe or blocked sender (address or domain)", senders_add)
    add.add_argument("user")
    add.add_argument("pattern")
    add.add_argument("--kind", choices=("safe", "blocked"), required=True)
    remove = _add(ssub, "remove", "remove a sender list entry", senders_remove)
    remove.add_argument("user")
    remove.add_argument("pattern")
    rules = sub.add_parser("rules", help="rule weights")
    rsub = rules.add_subparsers(title="actions", metavar="ACTION", required=True)
    _add(rsub, "list", "every rule with its weight and default", rules_list)
    rule_set = _add(rsub, "set", "override a weight (0 disables; 'default' restores)",
                    rules_set)
    rule_set.add_argument("name")
    rule_set.add_argument("weight")
