"""One decorator per API route: token auth and role, one unit of work, request parsing, idempotent
replays, and the route's documentation (OpenAPI is generated from what is declared here)."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property

from flask import Blueprint, Response, g, request
from marshmallow import Schema, ValidationError
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from plugin.app.errors import error_response
from plugin.domain.catalog import Catalog
from plugin.domain.clock import utcnow
from plugin.domain.errors import Conflict, NotAllowed, StatushubError, UnknownCustomer
from plugin.store.db import reading, transaction
from plugin.store.idempotency import remember, remembered
from plugin.workspace.catalog import load_catalog
from plugin.workspace.context import CommandContext
from plugin.workspace.workspaces import TokenOwner, authenticate_token

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_ID = 2**53  # larger path ids cannot exist; answering 404 keeps them away from BIGINT overflows
SHOWN_ONCE = "<shown once>"  # what a replay shows instead of a secret the first answer carried (SPEC §12)


@dataclass
class RouteDoc:
    rule: str
    method: str
    endpoint: str
    summary: str
    role: str
    status: int
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    response: type[Schema] | None = None
    content_type: str = "application/json"
    idempotent: bool = False
    secrets: tuple[str, ...] = ()
    errors: tuple[int, ...] = (400, 401, 403, 404, 409)
    tags: list[str] = field(default_factory=list)


ROUTES: list[RouteDoc] = []


@dataclass
class Call:
    """What a route function gets: the caller, the transaction, the catalog, parsed body and query."""

    owner: TokenOwner
    conn: Connection
    catalog: Catalog
    body: dict
    query: dict

    @property
    def actor(self) -> str:
        return self.owner.name

    @cached_property
    def command(self) -> CommandContext:
        """The command context of this call: its transaction, catalog, token name, clock, classifier."""
        return CommandContext(self.conn, self.catalog, self.actor)


def _load(schema: type[Schema], data, where: str) -> dict:
    """Parses with marshmallow; a mistake becomes a domain error naming the field (one translation)."""
    if data is None or (where == "body" and not isinstance(data, dict)):
        raise StatushubError("the body must be a JSON object", field="body")
    try:
        return schema().load(data)
    except ValidationError as exc:
        messages = exc.normalized_messages()
        name = next(iter(messages), where) if isinstance(messages, dict) else where
        detail = messages.get(name) if isinstance(messages, dict) else messages
        while isinstance(detail, dict):
            inner = next(iter(detail))
            name, detail = f"{name}.{inner}", detail[inner]
        text = detail[0] if isinstance(detail, list) and detail else str(detail)
        raise StatushubError(f"{name}: {text}", field=name) from None


def _query_args(schema: type[Schema]) -> dict:
    many = {n for n, f in schema().fields.items() if f.__class__.__name__ == "List"}
    return {k: (request.args.getlist(k) if k in many else request.args.get(k)) for k in request.args}


def _authenticate(conn) -> TokenOwner | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 200:
        return None
    return authenticate_token(conn, token.strip())


def _unauthorized():
    return error_response(
        401, "unauthorized", "a valid API token is required: send Authorization: Bearer <token>"
    )


def route(
    rule: str,
    method: str,
    *,
    summary: str,
    role: str = "agent",
    status: int = 200,
    body: type[Schema] | None = None,
    query: type[Schema] | None = None,
    response: type[Schema] | None = None,
    write: bool = False,
    replica: bool = False,
    idempotent: bool = False,
    secrets: tuple[str, ...] = (),
    content_type: str = "application/json",
    tags: tuple[str, ...] = (),
):
    """Registers an API route. The function gets a Call and path values and returns a dict (dumped
    with `response`) or a Flask Response; it runs in one transaction that commits only on success.
    `secrets` names the answer's fields shown once: an idempotent replay never stores or repeats them.
    `replica`: a list or report that reads from STATUSHUB_READ_DATABASE_URL when set, once the token
    was checked on the primary (SPEC §8)."""

    def decorate(fn):
        endpoint = f"{fn.__module__.rsplit('.', 1)[-1]}_{fn.__name__}"
        doc = RouteDoc(
            rule,
            method,
            endpoint,
            summary,
            role,
            status,
            body,
            query,
            response,
            content_type,
            idempotent,
            tuple(secrets),
            tags=list(tags),
        )
        ROUTES.append(doc)

        @functools.wraps(fn)
        def view(**path):
            for name, value in path.items():
                if isinstance(value, int) and value > MAX_ID:
                    raise UnknownCustomer(f"no customer #{value}", field=name)
            unit = transaction if write else reading
            hub = _hub()
            try:
                if replica and not write and hub.read_engine is not None:
                    with reading(hub.engine) as conn:
                        owner = _authenticate(conn)
                    if owner is None:
                        return _unauthorized()
                    with reading(hub.read_engine) as conn:
                        return _run(fn, doc, conn, path, owner)
                with unit(hub.engine) as conn:
                    return _run(fn, doc, conn, path)
            except IntegrityError:
                # A concurrent request won a unique constraint (e.g. the same Idempotency-Key).
                raise Conflict("a concurrent request changed the same thing; retry") from None

        bp.add_url_rule(rule, endpoint, view, methods=[method])
        return fn

    return decorate


def _hub():
    from plugin.app import hub

    return hub()


def _run(fn, doc: RouteDoc, conn, path: dict, owner: TokenOwner | None = None):
    """The route in `conn`'s unit of work; `owner` when the token was already checked (on the primary)."""
    owner = owner or _authenticate(conn)
    if owner is None:
        return _unauthorized()
    g.api_owner = owner
    if doc.role == "admin" and owner.role != "admin":
        raise NotAllowed("only admins can do this; ask an admin for an admin token")
    key = request.headers.get("Idempotency-Key") if doc.idempotent else None
    scope = f"api:{owner.token_id}"
    if key is not None:
        if not key.strip() or len(key) > 255:
            raise StatushubError("Idempotency-Key must be 1 to 255 characters", field="Idempotency-Key")
        # One key names one request: bound to the route and path, so a key reused elsewhere never
        # replays another route's answer.
        key = hashlib.sha256(f"{request.method} {request.path} {key}".encode()).hexdigest()
        hit = remembered(conn, owner.workspace_id, scope, key)
        if hit is not None:
            return Response(
                hit[1], status=hit[0], mimetype="application/json", headers={"Idempotent-Replay": "true"}
            )
    parsed_body = _load(doc.body, _json_body(), "body") if doc.body else {}
    parsed_query = _load(doc.query, _query_args(doc.query), "query") if doc.query else {}
    catalog = load_catalog(conn, owner.workspace_id)
    result = fn(Call(owner, conn, catalog, parsed_body, parsed_query), **path)
    if isinstance(result, Response):
        return result
    payload = doc.response().dump(result) if doc.response else result
    text = json.dumps(payload, ensure_ascii=False)
    if key is not None:
        hidden = {name: SHOWN_ONCE for name in doc.secrets if name in payload}
        kept = json.dumps(payload | hidden, ensure_ascii=False) if hidden else text
        remember(conn, owner.workspace_id, scope, key, doc.status, kept, utcnow())
    return Response(text, status=doc.status, mimetype="application/json")


def _json_body():
    """The JSON body, or None when it is not JSON; a body nested too deeply for the parser is a 400."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        raise StatushubError("the body is nested too deeply to read", field="body") from None
