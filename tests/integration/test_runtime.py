"""The real `tidings` command in a subprocess: init a data dir, serve, probe, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tidings.config import LISTENER_NAMES

pytestmark = pytest.mark.slow


def tidings_command() -> list[str]:
    script = Path(sys.executable).parent / "tidings"
    return [str(script)] if script.exists() else [sys.executable, "-m", "tidings.cli.main"]


def free_ports(count: int) -> list[int]:
    """Ports the kernel just handed out; closed again so the server can bind them."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*tidings_command(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("tidings") / "data"
    done = run_cli("init", "--data", str(data), "--domain", "example.org", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["admin"] == "admin@example.org"
    assert len(result["password"]) >= 12
    return data


@pytest.fixture
def server(data_dir: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, int]]]:
    ports = dict(zip(LISTENER_NAMES, free_ports(len(LISTENER_NAMES)), strict=True))
    listen = [f"--listen={name}=127.0.0.1:{port}" for name, port in ports.items()]
    proc = subprocess.Popen(
        [*tidings_command(), "serve", "--data", str(data_dir), *listen],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        yield proc, ports
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def wait_healthy(proc: subprocess.Popen[str], url: str, **client_options: object) -> httpx.Response:
    deadline = time.monotonic() + 30
    with httpx.Client(timeout=2, **client_options) as client:  # type: ignore[arg-type]
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"server exited with {proc.returncode}: {proc.stderr.read()}")  # type: ignore[union-attr]
            try:
                response = client.get(url)
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            if response.status_code == 200:
                return response
            time.sleep(0.1)
    pytest.fail(f"{url} never answered 200")


def test_init_refuses_to_overwrite_an_existing_config(data_dir: Path) -> None:
    before = (data_dir / "tidings.toml").read_text()
    done = run_cli("init", "--data", str(data_dir), "--domain", "other.org")
    assert done.returncode == 1
    assert "refusing to overwrite" in done.stderr
    assert done.stderr.count("\n") == 1
    assert (data_dir / "tidings.toml").read_text() == before


def test_init_writes_a_config_and_a_certificate_for_the_host(data_dir: Path) -> None:
    from cryptography import x509

    text = (data_dir / "tidings.toml").read_text()
    assert 'hostname = "mail.example.org"' in text
    cert = x509.load_pem_x509_certificate((data_dir / "tls" / "cert.pem").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "mail.example.org" in san.get_values_for_type(x509.DNSName)


def test_serve_answers_health_and_metrics_then_exits_0_on_ctrl_c(
    server: tuple[subprocess.Popen[str], dict[str, int]], data_dir: Path
) -> None:
    proc, ports = server
    health = wait_healthy(proc, f"http://127.0.0.1:{ports['http']}/healthz")
    assert health.json() == {"status": "ok"}
    metrics = httpx.get(f"http://127.0.0.1:{ports['http']}/metrics", timeout=5)
    assert metrics.status_code == 200
    assert "tidings_build_info" in metrics.text
    secure = httpx.get(
        f"https://localhost:{ports['https']}/healthz",
        verify=ssl.create_default_context(cafile=str(data_dir / "tls" / "cert.pem")),
        timeout=5,
    )
    assert secure.json() == {"status": "ok"}

    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=15)
    assert proc.returncode == 0, stderr
    assert time.monotonic() - started < 12
    assert "server.stopped" in stderr
    assert "Traceback" not in stderr


def test_serve_with_a_taken_port_fails_with_one_line(data_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        listen = [f"--listen={name}=" for name in LISTENER_NAMES if name != "http"]
        done = run_cli("serve", "--data", str(data_dir), f"--listen=http=127.0.0.1:{port}", *listen)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("tidings: error: listeners.http: cannot listen on 127.0.0.1:")
    assert "Traceback" not in done.stderr


def test_a_bad_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "tidings.toml").write_text('[listeners]\nimap = "1143"\n')
    done = run_cli("serve", "--data", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr == (
        f'tidings: error: {tmp_path}/tidings.toml: listeners.imap: expected "HOST:PORT", '
        'got "1143"\n'
    )


def test_help_works_for_every_command() -> None:
    for command in ("serve", "init", "user", "group", "resource", "shared", "alias", "domain"):
        done = run_cli(command, "--help")
        assert done.returncode == 0, done.stderr
        assert "usage: tidings" in done.stdout
