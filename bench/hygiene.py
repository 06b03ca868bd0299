"""Inbound messages per second through the full check pipeline vs. with checks off.

"Checks on" is everything an MX message meets after DATA in Tidings: RCPT-time DNSBL
lookup, SPF, DKIM (RSA-2048 signature verified), ARC, DMARC and the
Authentication-Results field, blocked-attachment scan, spam rules and the Bayesian
classifier (trained on 200 messages), the X-Tidings-Spam-* fields, then the durable
store. DNS is answered on loopback by a dnslib server (no cache across messages, as in
the auth stage). "Checks off" is the same InboundDelivery with no stages. Messages go
straight into `InboundDelivery.deliver` (no SMTP socket) so only the pipeline is
measured; SQLite, durability "normal". Median of three runs per cell.

    .venv/bin/python bench/hygiene.py [--quick] [--record] [--seconds N]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import itertools
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from dnslib import QTYPE, RCODE, RR, TXT, DNSRecord  # type: ignore[import-untyped]

from tidings.config import Settings, default_settings
from tidings.delivery.inbound import DeliveryRequest, InboundDelivery, RecipientEntry
from tidings.delivery.received import ReceivedInfo
from tidings.delivery.recipients import LocalTarget, ResolvedRecipient
from tidings.delivery.stages import DeliveryStage, EnvelopeInput, EnvelopeStage, StageInput
from tidings.hygiene.dkim_keys import Algorithm, DKIMKeyStore
from tidings.hygiene.dkim_sign import sign
from tidings.hygiene.spam.facts import analyse
from tidings.hygiene.spam.tokenizer import tokenize
from tidings.hygiene.spam.wiring import build_spam_stages
from tidings.hygiene.stages import build_stages
from tidings.model.directory import PrincipalKind
from tidings.model.ids import AccountId, BlobId
from tidings.model.mail import MailboxRole
from tidings.store import SQLStore, open_store
from tidings.store.services import Store

RESULTS = Path(__file__).with_name("RESULTS.md")
SENDER_DOMAIN = "sender.example"
PEER = "127.0.0.1"
CONCURRENCY = (1, 20)
STAGE_NAMES: list[str] = []  # filled by main_async, in pipeline order
WORDS = [
    "meeting", "agenda", "quarterly", "report", "budget", "review", "project", "timeline",
    "invoice", "offer", "discount", "shipping", "order", "catalogue", "lunch", "friday",
    "team", "update", "schedule",
]


class ZoneServer(asyncio.DatagramProtocol):
    """A loopback UDP DNS server answering TXT from a dict; everything else NXDOMAIN."""

    def __init__(self, txt: dict[str, str]) -> None:
        self.txt = txt
        self.transport: asyncio.DatagramTransport | None = None
        self.queries = 0

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        request = DNSRecord.parse(data)
        name = str(request.q.qname).rstrip(".").lower()
        reply = request.reply()
        self.queries += 1
        value = self.txt.get(name)
        if value is None or QTYPE[request.q.qtype] != "TXT":
            reply.header.rcode = RCODE.NXDOMAIN if value is None else RCODE.NOERROR
        else:
            data_ = value.encode()
            reply.add_answer(RR(name, QTYPE.TXT, rdata=TXT(
                [data_[i:i + 255] for i in range(0, len(data_), 255)]), ttl=60))
        assert self.transport is not None
        self.transport.sendto(reply.pack(), addr)


async def start_dns(txt: dict[str, str]) -> tuple[ZoneServer, int]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: ZoneServer(txt), local_addr=("127.0.0.1", 0))
    protocol.transport = transport
    return protocol, int(transport.get_extra_info("sockname")[1])


def message(n: int) -> bytes:
    words = " ".join(WORDS[(n + i) % len(WORDS)] for i in range(120))
    return (
        f"From: News <news@{SENDER_DOMAIN}>\r\nTo: alice@example.test\r\n"
        f"Subject: Update {n}: {WORDS[n % len(WORDS)]}\r\n"
        f"Date: Mon, 2 Mar 2026 10:00:00 +0000\r\nMessage-ID: <{n}@{SENDER_DOMAIN}>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{words}\r\nSee https://www.{SENDER_DOMAIN}/news/{n}\r\n"
    ).encode()


@dataclasses.dataclass
class World:
    store: SQLStore
    inbound_off: InboundDelivery
    inbound_on: InboundDelivery
    envelope: Sequence[EnvelopeStage]
    recipient: ResolvedRecipient
    signed: list[bytes]
    dns: ZoneServer


async def build_world(work: Path) -> World:
    keys = DKIMKeyStore(work / "dkim")
    key = keys.generate(SENDER_DOMAIN, Algorithm.RSA, "s1")
    txt = {
        SENDER_DOMAIN: f"v=spf1 ip4:{PEER} -all",
        f"_dmarc.{SENDER_DOMAIN}": "v=DMARC1; p=reject",
        key.dns_name(): key.txt_record(),
    }
    dns, port = await start_dns(txt)
    store = await open_store(f"sqlite:///{work / 'bench.db'}", work / "blobs",
                             durability="normal")
    await store.directory.create_domain("example.test")
    alice = await store.directory.create_principal(PrincipalKind.USER, "alice@example.test")
    base = default_settings(work, hostname="mx.example.test")
    settings: Settings = dataclasses.replace(
        base,
        hygiene=dataclasses.replace(base.hygiene, auth_checks=True, resolver=("127.0.0.1", port),
                                    dnsbl_zones=("bl.example",)),
        spam=dataclasses.replace(base.spam, enabled=True),
        antivirus=dataclasses.replace(base.antivirus, blocked_attachments="reject"),
    )
    hygiene = build_stages(settings)
    services: Store = store
    stages: tuple[DeliveryStage, ...] = hygiene.delivery + build_spam_stages(settings, services)
    account = AccountId(alice.id)
    for n in range(200):  # a trained classifier, so the Bayes lookups are real work
        tokens = sorted(tokenize(analyse(message(10_000 + n))))
        await store.spam.learn(account, BlobId(f"train{n}"), tokens, n % 2 == 0)
    private = keys.private_key(key)
    signed = [sign(message(n), key, private) for n in range(500)]
    common = {"mail": store.mail, "queue": store.queue, "blobs": store.blobs,
              "hostname": "mx.example.test"}
    return World(
        store, InboundDelivery(**common),  # type: ignore[arg-type]
        InboundDelivery(**common, stages=stages),  # type: ignore[arg-type]
        hygiene.envelope,
        ResolvedRecipient("alice@example.test", (LocalTarget(account, alice),)),
        signed, dns,
    )


async def deliver_one(world: World, checks: bool, raw: bytes) -> None:
    if checks:
        envelope = EnvelopeInput(PEER, "mail.sender.example", f"news@{SENDER_DOMAIN}",
                                 "alice@example.test", True)
        for stage in world.envelope:
            await stage.check(envelope)
    inbound = world.inbound_on if checks else world.inbound_off
    await inbound.deliver(DeliveryRequest(
        sender=f"news@{SENDER_DOMAIN}", recipients=(RecipientEntry(world.recipient),),
        content=raw, received=ReceivedInfo("mail.sender.example", PEER, "ESMTP"),
    ))


async def run_cell(world: World, checks: bool, concurrency: int, seconds: float) -> float:
    counter = itertools.count()
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            n = next(counter)
            await deliver_one(world, checks, world.signed[n % len(world.signed)])
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - start)


async def verify_pipeline(world: World) -> str:
    """One message through the checks: the fields prove every stage ran."""
    await deliver_one(world, True, world.signed[0])
    principal = world.recipient.local[0].principal
    box = await world.store.mail.mailbox_by_role(principal, world.recipient.local[0].account_id,
                                                  MailboxRole.INBOX)
    last = (await world.store.mail.messages(principal, box.id))[-1]
    raw = await world.store.mail.read_blob(principal, last.blob_id)
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    for needle in ("spf=pass", "dkim=pass", "dmarc=pass", "X-Tidings-Spam-Report"):
        assert needle in head, f"{needle} missing: the pipeline did not run\n{head}"
    return head


async def stage_times(world: World, count: int = 200) -> dict[str, float]:
    """Median milliseconds per delivery stage, one message at a time."""
    times: dict[str, list[float]] = {stage.name: [] for stage in world.inbound_on.stages}
    for n in range(count):
        message = StageInput(f"news@{SENDER_DOMAIN}", (world.recipient,),
                             world.signed[n % len(world.signed)], None, PEER,
                             "mail.sender.example")
        for stage in world.inbound_on.stages:
            start = time.perf_counter()
            await stage.evaluate(message)
            times[stage.name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


async def main_async(args: argparse.Namespace) -> list[tuple[str, int, list[float]]]:
    rows: list[tuple[str, int, list[float]]] = []
    with tempfile.TemporaryDirectory(prefix="tidings-bench-hygiene-") as tmp:
        world = await build_world(Path(tmp))
        try:
            head = await verify_pipeline(world)
            print("pipeline check ok:", " | ".join(
                line[:70] for line in head.splitlines() if line.startswith(
                    ("Authentication-Results", "X-Tidings-Spam-Score"))))
            per_stage = await stage_times(world)
            print("per stage (median ms):", ", ".join(
                f"{name} {ms:.2f}" for name, ms in per_stage.items()))
            rows.append(("stages", 0, list(per_stage.values())))
            STAGE_NAMES[:] = list(per_stage)
            for concurrency in CONCURRENCY:
                # Interleaved (off, on, off, on, ...): both see the same machine load.
                rates: dict[bool, list[float]] = {False: [], True: []}
                for _ in range(3):
                    for checks in (False, True):
                        rates[checks].append(
                            await run_cell(world, checks, concurrency, args.seconds))
                for checks in (False, True):
                    label = "checks on" if checks else "checks off"
                    print(f"{label:10s} concurrency={concurrency:3d} "
                          f"median={statistics.median(rates[checks]):8.1f} msg/s "
                          f"runs={', '.join(f'{r:.1f}' for r in rates[checks])}")
                    rows.append((label, concurrency, rates[checks]))
        finally:
            await world.store.close()
            if world.dns.transport is not None:
                world.dns.transport.close()
    return rows


def record(rows: list[tuple[str, int, list[float]]], seconds: float) -> None:
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "", f"## Inbound hygiene pipeline (bench/hygiene.py) — {stamp}", "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the end "
        "(other work shared the machine), "
        f"SQLite durability \"normal\", {seconds:g} s per run, "
        "median of 3, on and off runs interleaved. "
        "\"Checks on\": DNSBL, SPF, DKIM (RSA-2048), ARC, DMARC, "
        "Authentication-Results, attachment scan, spam rules, Bayes (200 trained), "
        "spam headers; DNS from a dnslib server on loopback, no cross-message cache. "
        "Direct `InboundDelivery.deliver` calls (no SMTP socket).", "",
        "| pipeline | concurrent deliveries | msg/s (median) | runs |",
        "|---|---|---|---|",
    ]
    for label, concurrency, rates in rows:
        if label == "stages":
            continue
        lines.append(f"| {label} | {concurrency} | {statistics.median(rates):.1f} | "
                     f"{', '.join(f'{r:.1f}' for r in rates)} |")
    off = {c: statistics.median(r) for label, c, r in rows if label == "checks off"}
    on = {c: statistics.median(r) for label, c, r in rows if label == "checks on"}
    for c in sorted(on):
        lines.append("")
        lines.append(f"With {c} concurrent deliveries the checks keep "
                     f"{on[c] / off[c] * 100:.0f}% of the unchecked rate.")
    stages = [r for label, _c, r in rows if label == "stages"]
    if stages:
        lines.append("")
        lines.append("Time per stage, one message at a time (median ms): " + ", ".join(
            f"{name} {ms:.2f}" for name, ms in zip(STAGE_NAMES, stages[0], strict=True)) + ".")
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--quick", action="store_true", help="1 second per run")
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    if args.quick:
        args.seconds = 1.0
    rows = asyncio.run(main_async(args))
    if args.record:
        record(rows, args.seconds)


if __name__ == "__main__":
    main()
