"""Customers over the API: list, add, show, rename, archive, link, merge, statuses, activities, messages."""

from __future__ import annotations

from sqlalchemy import select, update

from plugin.app.api import schemas as s
from plugin.app.api.endpoint import Call, route
from plugin.customers.activities import log_activity, resolve_outcome
from plugin.customers.links import link_customers, unlink_customers
from plugin.customers.merge import merge_customers
from plugin.customers.naming import add_customer
from plugin.customers.queries import (
    CustomerFilter,
    customer_detail,
    customer_row,
    entry_dict,
    history,
    list_customers,
    statuses_of,
    summaries,
)
from plugin.domain.catalog import Catalog
from plugin.domain.clock import utcnow
from plugin.domain.errors import Conflict, StatushubError
from plugin.domain.identities import phone_identity
from plugin.engine import assign_status
from plugin.store.schema import Customer, Workspace, table_of

C = table_of(Customer)
TAGS = ("customers",)


def status_pairs(catalog: Catalog, track: str | None, names: list[str]) -> list[tuple[str, str]]:
    """`stage:hot_lead` or, with `track`, bare keys on it (stage by default)."""
    pairs = []
    for name in names:
        t, sep, key = name.partition(":")
        if not sep:
            t, key = track or "stage", name
        catalog.track(t)
        pairs.append((t, key))
    return pairs


def customer_filter(call: Call, sort: str | None = None) -> CustomerFilter:
    q = call.query
    return CustomerFilter(
        statuses=status_pairs(call.catalog, q.get("track"), q.get("status") or []),
        q=q.get("q") or "",
        opted_out=q.get("opted_out"),
        archived=q.get("archived", False),
        sort=sort or q.get("sort", "id"),
    )


@route(
    "/customers",
    "GET",
    summary="List customers (filters, search, priority sort, cursor pages)",
    query=s.CustomerListQuery,
    response=s.CustomerPage,
    replica=True,
    tags=TAGS,
)
def list_(call: Call):
    page = list_customers(
        call.conn,
        call.catalog,
        customer_filter(call),
        limit=call.query["limit"],
        cursor=call.query.get("cursor"),
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


def _region(call: Call) -> str:
    return call.conn.execute(
        select(Workspace.default_region).where(Workspace.id == call.owner.workspace_id)
    ).scalar_one()


def _summary(call: Call, customer_id: int) -> dict:
    return summaries(
        call.conn, call.catalog, [customer_row(call.conn, call.owner.workspace_id, customer_id)]
    )[0]


@route(
    "/customers",
    "POST",
    summary="Add a customer",
    status=201,
    body=s.CustomerCreate,
    response=s.Customer,
    write=True,
    idempotent=True,
    tags=TAGS,
)
def create(call: Call):
    identities = list(call.body["identities"])
    region = _region(call)
    if call.body.get("phone"):
        phone = phone_identity(call.body["phone"], region)
        if phone is None:
            raise StatushubError(f"{call.body['phone']!r} is not a phone number", field="phone")
        identities.append(phone)
    customer_id = add_customer(call.conn, call.catalog, call.body["name"], identities, region, utcnow())
    return _summary(call, customer_id)


@route(
    "/customers/<int:customer_id>",
    "GET",
    summary="One customer: badges, identities, links, warnings, history, why",
    response=s.CustomerDetail,
    tags=TAGS,
)
def show(call: Call, customer_id: int):
    return customer_detail(call.conn, call.catalog, customer_id)


@route(
    "/customers/<int:customer_id>",
    "PATCH",
    summary="Rename a customer",
    body=s.CustomerPatch,
    response=s.Customer,
    write=True,
    tags=TAGS,
)
def rename(call: Call, customer_id: int):
    customer_row(call.conn, call.owner.workspace_id, customer_id)
    call.conn.execute(
        update(C)
        .where(C.c.workspace_id == call.owner.workspace_id, C.c.id == customer_id)
        .values(name=call.body["name"].strip())
    )
    return _summary(call, customer_id)


@route(
    "/customers/<int:customer_id>/archive",
    "POST",
    summary="Archive a customer (hidden from lists)",
    response=s.Customer,
    write=True,
    idempotent=True,
    tags=TAGS,
)
def archive(call: Call, customer_id: int):
    row = customer_row(call.conn, call.owner.workspace_id, customer_id)
    if row.archived_at is not None:
        raise Conflict(f"#{customer_id} is already archived", field="customer")
    call.conn.execute(
        update(C)
        .where(C.c.workspace_id == call.owner.workspace_id, C.c.id == customer_id)
        .values(archived_at=utcnow())
    )
    return _summary(call, customer_id)


@route(
    "/customers/<int:customer_id>/links",
    "POST",
    summary="Link two customers (each shows the other's warnings)",
    status=201,
    body=s.LinkCreate,
    response=s.Ok,
    write=True,
    idempotent=True,
    tags=TAGS,
)
def link(call: Call, customer_id: int):
    link_customers(call.conn, call.owner.workspace_id, customer_id, call.body["other_id"], call.body["note"])
    return {"ok": True}


@route(
    "/customers/<int:customer_id>/links/<int:other_id>",
    "DELETE",
    summary="Unlink two customers",
    response=s.Ok,
    write=True,
    tags=TAGS,
)
def unlink(call: Call, customer_id: int, other_id: int):
    unlink_customers(call.conn, call.owner.workspace_id, customer_id, other_id)
    return {"ok": True}


@route(
    "/customers/<int:customer_id>/merge",
    "POST",
    summary="Merge another customer into this one (admins: it cannot be undone)",
    role="admin",
    body=s.MergeRequest,
    response=s.Merged,
    write=True,
    idempotent=True,
    tags=TAGS,
)
def merge(call: Call, customer_id: int):
    statuses = merge_customers(
        call.conn,
        call.catalog,
        customer_id,
        call.body["other_id"],
        actor=call.actor,
        picks=call.body["picks"],
        classify=call.command.classify,
    )
    return {"customer_id": customer_id, "merged": call.body["other_id"], "statuses": statuses}


def _change(call: Call, customer_id: int, entries, activity_id: int | None = None) -> dict:
    out = {
        "customer_id": customer_id,
        "statuses": statuses_of(call.conn, call.catalog, [customer_id])[customer_id],
        "entries": [entry_dict(e) for e in entries],
    }
    if activity_id is not None:
        out["activity_id"] = activity_id
    return out


@route(
    "/customers/<int:customer_id>/statuses",
    "POST",
    summary="Set a status by hand (any track but reply)",
    body=s.StatusAssign,
    response=s.Change,
    write=True,
    idempotent=True,
    tags=TAGS,
)
def set_status(call: Call, customer_id: int):
    customer_row(call.conn, call.owner.workspace_id, customer_id)
    status = call.catalog.resolve(call.body["status"], track=call.body.get("track"))
    entries = assign_status(
        call.conn,
        call.catalog,
        customer_id,
        status,
        actor=call.actor,
        note=call.body["note"],
        classify=call.command.classify,
    )
    return _change(call, customer_id, entries)


@route(
    "/customers/<int:customer_id>/history",
    "GET",
    summary="The audit trail, oldest first",
    response=s.History,
    replica=True,
    tags=TAGS,
)
def history_(call: Call, customer_id: int):
    customer_row(call.conn, call.owner.workspace_id, customer_id)
    return {"items": history(call.conn, call.owner.workspace_id, customer_id)}


@route(
    "/customers/<int:customer_id>/activities",
    "POST",
    summary="Log a call, SMS, email or visit and its outcome",
    status=201,
    body=s.ActivityCreate,
    response=s.Change,
    write=True,
    idempotent=True,
    tags=TAGS,
)
def activity(call: Call, customer_id: int):
    customer_row(call.conn, call.owner.workspace_id, customer_id)
    outcome = resolve_outcome(call.catalog, call.body["outcome"])
    activity_id, entries = log_activity(
        call.conn,
        call.catalog,
        customer_id,
        outcome,
        interaction=call.body["via"],
        actor=call.actor,
        note=call.body["note"],
        explain=call.body["explain"],
        classify=call.command.classify,
    )
    return _change(call, customer_id, entries, activity_id)
