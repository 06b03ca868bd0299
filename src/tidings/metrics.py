"""Prometheus metrics: one registry every part of the server adds its collectors to.

Create metrics at module import time with `registry=REGISTRY`; `/metrics` exposes it.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Info
from prometheus_client.process_collector import ProcessCollector

import tidings

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)

BUILD_INFO = Info("tidings_build", "Version of the running server", registry=REGISTRY)
BUILD_INFO.info({"version": tidings.__version__})

CONNECTIONS_ACTIVE = Gauge(
    "tidings_connections_active",
    "Open TCP connections per listener",
    ["listener"],
    registry=REGISTRY,
)
CONNECTIONS_ACCEPTED = Counter(
    "tidings_connections_accepted",
    "TCP connections accepted per listener",
    ["listener"],
    registry=REGISTRY,
)
CONNECTIONS_REFUSED = Counter(
    "tidings_connections_refused",
    "Connections refused by a limit, per listener and reason",
    ["listener", "reason"],
    registry=REGISTRY,
)
SESSIONS_ACTIVE = Gauge(
    "tidings_sessions_active",
    "Protocol sessions running per listener",
    ["listener"],
    registry=REGISTRY,
)
SESSION_ERRORS = Counter(
    "tidings_session_errors",
    "Sessions that ended with an unexpected exception, per listener",
    ["listener"],
    registry=REGISTRY,
)
