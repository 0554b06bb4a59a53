"""The OpenAPI document, generated with apispec from the routes and their marshmallow schemas."""

from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from plugin.app.api import schemas as s
from plugin.app.api.endpoint import ROUTES, RouteDoc

PARAM = re.compile(r"<(?:(int):)?(\w+)>")
ERRORS = {
    400: "malformed input or a domain mistake; `details.field` names the field",
    401: "missing, unknown or revoked token",
    403: "the token's role may not do this",
    404: "no such thing in this workspace",
    409: "conflicts with the current state",
}


def _path(rule: str) -> tuple[str, list[dict]]:
    params = [
        {"in": "path", "name": name, "required": True, "schema": {"type": "integer" if conv else "string"}}
        for conv, name in PARAM.findall(rule)
    ]
    return "/api/v1" + PARAM.sub(r"{\2}", rule), params


def _operation(doc: RouteDoc, params: list[dict]) -> dict:
    parameters = list(params)
    if doc.query is not None:
        parameters.append({"in": "query", "schema": doc.query})
    if doc.idempotent:
        parameters.append(
            {
                "in": "header",
                "name": "Idempotency-Key",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
                "description": "a repeat with the same key on the same path answers the first answer and changes nothing; errors are not remembered (nothing changed, so a retry is safe)",
            }
        )
    if doc.content_type == "application/json":
        ok = {"application/json": {"schema": doc.response}} if doc.response else {}
    else:
        ok = {doc.content_type: {"schema": {"type": "string"}}}  # type: ignore[dict-item]
    responses = {str(doc.status): {"description": "success", "content": ok}}
    for code, text in ERRORS.items():
        responses[str(code)] = {"description": text, "content": {"application/json": {"schema": "Error"}}}
    op = {
        "operationId": doc.endpoint,
        "summary": doc.summary,
        "description": f"Role: {doc.role}.",
        "tags": doc.tags,
        "parameters": parameters,
        "responses": responses,
        "security": [{"bearer": []}],
    }
    if doc.body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": doc.body}}}
    return op


def build_spec() -> dict:
    spec = APISpec(
        title="statushub API",
        version="1",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "Customer statuses for chatbot platforms. Bearer tokens; roles agent and admin."
        },
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=s.Error)
    paths: dict[str, dict] = {}
    for doc in ROUTES:
        path, params = _path(doc.rule)
        paths.setdefault(path, {})[doc.method.lower()] = _operation(doc, params)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
