"""The OpenAPI 3.1 document, generated from the same `Endpoint` list that serves."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import tidings
from tidings.web.api.framework import Endpoint, Field

ERROR_STATUSES = {
    "400": "Malformed request (not JSON)",
    "401": "Missing or wrong credentials",
    "403": "The caller's role does not allow this",
    "404": "No such object (or outside the caller's domains)",
    "409": "Conflict (exists already, not empty)",
    "422": "A field is invalid; `field` names it",
}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}


def _parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", endpoint.path)
    ]
    for spec in endpoint.query:
        param: dict[str, Any] = {"name": spec.name, "in": "query", "required": spec.required,
                                 "schema": spec.schema()}  # fmt: skip
        if spec.description:
            param["description"] = spec.description
        params.append(param)
    return params


def _body_schema(fields: Sequence[Field]) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {f.name: f.schema() for f in fields},
        "additionalProperties": False,
    }
    required = [f.name for f in fields if f.required]
    if required:
        schema["required"] = required
    return schema


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    success: dict[str, Any] = {"description": endpoint.summary}
    if endpoint.status != 204:
        success["content"] = {"application/json": {"schema": endpoint.response}}
    responses: dict[str, Any] = {str(endpoint.status): success}
    for status, text in ERROR_STATUSES.items():
        responses[status] = {
            "description": text,
            "content": {"application/json": {"schema": _ERROR_REF}},
        }
    operation: dict[str, Any] = {
        "operationId": endpoint.operation_id,
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "parameters": _parameters(endpoint),
        "responses": responses,
    }
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": any(f.required for f in endpoint.body),
            "content": {"application/json": {"schema": _body_schema(endpoint.body)}},
        }
    return operation


def openapi_document(endpoints: Sequence[Endpoint]) -> dict[str, Any]:
    """The whole document; every endpoint needs a token or Basic credentials."""
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tidings admin API",
            "version": tidings.__version__,
            "description": "Administer domains, principals, the queue, tokens and the audit "
            'log. Errors are {"error": {"code", "message", "field"}}.',
        },
        "servers": [{"url": "/api"}],
        "security": [{"bearer": []}, {"basic": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "API token"},
                "basic": {"type": "http", "scheme": "basic", "description": "admin password"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message", "field"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "field": {"type": ["string", "null"]},
                            },
                        }
                    },
                }
            },
        },
    }
