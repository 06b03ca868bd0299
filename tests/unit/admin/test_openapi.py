"""The OpenAPI document is valid 3.1 and describes every served endpoint."""

from __future__ import annotations

import re

from openapi_spec_validator import validate
from starlette.routing import Route

from tidings.admin.dns import dns_records
from tidings.web.api import ENDPOINTS, api_mount
from tidings.web.api.openapi import openapi_document


def test_document_validates_as_openapi_3_1() -> None:
    document = openapi_document(ENDPOINTS)
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises on any schema error


def test_every_route_is_in_the_document_and_vice_versa() -> None:
    document = openapi_document(ENDPOINTS)
    documented = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    mount = api_mount(service=None)  # type: ignore[arg-type]
    served = {
        (method, route.path)
        for route in mount.routes
        if isinstance(route, Route) and route.methods and "{rest" not in route.path
        for method in route.methods
        if method != "HEAD" and route.path != "/openapi.json"
    }
    assert served == documented
    assert len(documented) == len(ENDPOINTS)


def test_every_path_parameter_is_declared() -> None:
    document = openapi_document(ENDPOINTS)
    for path, operations in document["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for operation in operations.values():
            declared = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            assert declared == names, path


def test_dns_records_cover_mail_policy_and_client_setup() -> None:
    records = dns_records("example.org", "mail.example.org")
    kinds = {(r.type, r.name.split(".")[0]) for r in records}
    assert ("MX", "example") in kinds
    assert ("TXT", "_dmarc") in kinds and ("TXT", "_mta-sts") in kinds
    assert ("SRV", "_submissions") in kinds and ("SRV", "_autodiscover") in kinds
    spf = next(r for r in records if r.value.startswith("v=spf1"))
    assert spf.name == "example.org."
