"""`--url URL --token TOKEN`: run an admin subcommand against a running server's
admin API (`URL/api/v1/...`) instead of opening the store.

The server does the role check and writes the audit record, as the API's token
owner (`token:ID:owner`); the command prints what the local command prints, or the
API's JSON with `--json`. API errors (`{"error": {"code", "message", "field"}}`)
become one `tidings: error:` line: exit 2 for invalid input, 1 for the rest.

`add_remote_mode` walks the finished parser and gives `--url`/`--token` to every
leaf the table in `tidings.cli.remote_commands` covers; the others run only locally.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tidings.cli.common import EXIT_FAILED, EXIT_USAGE, CLIError, emit

if TYPE_CHECKING:
    import httpx

PAGE = 1000  # the API's largest page
TIMEOUT_SECONDS = 30.0


class Remote:
    """A thin client of the admin API: one method per kind of call."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, object] | None = None,
        body: Mapping[str, object] | None = None,
    ) -> Any:
        """Send one request to `/api{path}`; the decoded JSON, or None after a 204."""
        params = {k: str(v) for k, v in (query or {}).items() if v is not None}
        response = await self.client.request(method, "/api" + path, params=params, json=body)
        if response.status_code >= 400:
            raise _api_error(response)
        if response.status_code == 204:
            return None
        if "json" not in response.headers.get("content-type", ""):
            return response.text
        return response.json()

    async def items(self, path: str, query: Mapping[str, object] | None = None,
                    *, offset: int = 0, limit: int | None = None) -> list[Any]:
        """Every item of a paged listing (or `limit` of them from `offset`)."""
        found: list[Any] = []
        while limit is None or len(found) < limit:
            want = PAGE if limit is None else min(PAGE, limit - len(found))
            page = await self.call("GET", path, query={**(query or {}),
                                   "offset": offset + len(found), "limit": want})  # fmt: skip
            found.extend(page["items"])
            if not page["items"] or offset + len(found) >= page["total"]:
                break
        return found


def part(value: object) -> str:
    """One path segment: an address, a domain or an id, quoted for the URL."""
    return quote(str(value), safe="@")


def _api_error(response: httpx.Response) -> CLIError:
    try:
        error = response.json()["error"]
        message, field = str(error["message"]), error.get("field")
    except (ValueError, KeyError, TypeError):
        message, field = response.text.strip()[:200] or response.reason_phrase, None
    if response.status_code == 401:
        message = f"the server refused the token: {message}"
    code = EXIT_USAGE if response.status_code in (400, 422) else EXIT_FAILED
    return CLIError(f"{field}: {message}" if field else message, code)


@contextlib.asynccontextmanager
async def open_client(url: str, token: str) -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP client for the server at `url` (tests replace this)."""
    import httpx  # here: local commands must not pay for it

    base = url.rstrip("/").removesuffix("/api")
    headers = {"Authorization": f"Bearer {token}", "User-Agent": "tidings-cli"}
    async with httpx.AsyncClient(base_url=base, headers=headers,
                                 timeout=TIMEOUT_SECONDS) as client:  # fmt: skip
        yield client


RemoteAction = Callable[[Remote, argparse.Namespace], Awaitable[object]]


def run_remote(args: argparse.Namespace) -> int:
    """Run the leaf's remote action when --url is given, else its local `run`."""
    if not args.url:
        local: Callable[[argparse.Namespace], int] = args.local_run
        return local(args)
    if getattr(args, "data", None) is not None or getattr(args, "config", None) is not None:
        raise CLIError("--url talks to a server; --data and --config are for local use",
                       EXIT_USAGE)  # fmt: skip
    token = args.token or os.environ.get("TIDINGS_TOKEN")
    if not token:
        raise CLIError("--url needs an API token: --token or $TIDINGS_TOKEN "
                       "(make one with `tidings token create`)", EXIT_USAGE)  # fmt: skip
    action: RemoteAction = args.remote_action

    async def go() -> object:
        async with open_client(args.url, token) as client:
            return await action(Remote(client), args)

    import httpx

    try:
        result = asyncio.run(go())
    except httpx.TransportError as exc:  # connection refused, TLS, timeout
        raise CLIError(f"cannot reach {args.url}: {exc or type(exc).__name__}") from None
    if result is not None:
        emit(result, as_json=args.json)
    return 0


def _leaves(parser: argparse.ArgumentParser, words: tuple[str, ...]
            ) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:  # fmt: skip
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [(words, parser)]
    found = []
    for name, child in subs[0].choices.items():
        found.extend(_leaves(child, (*words, name)))
    return found


def add_remote_mode(parser: argparse.ArgumentParser,
                    table: Mapping[str, RemoteAction]) -> None:  # fmt: skip
    """Give each leaf named in `table` the --url and --token options."""
    for words, leaf in _leaves(parser, ()):
        action = table.get(" ".join(words))
        if action is None:
            continue
        group = leaf.add_argument_group("remote server (instead of --data/--config)")
        group.add_argument("--url", metavar="URL",
                           help="send the operation to the admin API of the server at URL")
        group.add_argument("--token", metavar="TOKEN",
                           help="API token for --url (default: $TIDINGS_TOKEN, which "
                                "unlike argv other local users cannot read)")  # fmt: skip
        leaf.set_defaults(local_run=leaf.get_default("run"), run=run_remote,
                          remote_action=action)  # fmt: skip
