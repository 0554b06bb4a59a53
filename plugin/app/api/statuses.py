"""Tracks and their status lists over the API: read by anyone, shaped by admins (SPEC §3)."""

from __future__ import annotations

from plugin.app.api import schemas as s
from plugin.app.api.endpoint import Call, route
from plugin.domain.catalog import TrackInfo
from plugin.domain.clock import utcnow
from plugin.workspace.catalog import load_catalog
from plugin.workspace.status_lists import (
    add_status,
    delete_status,
    edit_status,
    reorder_statuses,
    restore_status,
)
from plugin.workspace.tracks import create_track, rename_track

TAGS = ("tracks",)


def track_dict(t: TrackInfo) -> dict:
    return {
        "key": t.key,
        "label": t.label,
        "position": t.position,
        "manual": t.manual,
        "statuses": [st.as_dict() | {"track": t.key} for st in t.statuses],
    }


def _fresh(call: Call):
    return load_catalog(call.conn, call.owner.workspace_id)


@route("/tracks", "GET", summary="Every track with its statuses in order", response=s.TrackList, tags=TAGS)
def list_tracks(call: Call):
    return {"items": [track_dict(t) for t in call.catalog.tracks.values()]}


@route(
    "/tracks",
    "POST",
    summary="Add a track (customers start on its first status)",
    role="admin",
    status=201,
    body=s.TrackCreate,
    response=s.Track,
    write=True,
    idempotent=True,
    tags=TAGS,
)
def create(call: Call):
    create_track(
        call.conn,
        call.owner.workspace_id,
        call.body["key"],
        call.body["label"],
        call.body["statuses"],
        utcnow(),
    )
    return track_dict(_fresh(call).track(call.body["key"]))


@route(
    "/tracks/<track>",
    "PATCH",
    summary="Rename a track",
    role="admin",
    body=s.TrackPatch,
    response=s.Track,
    write=True,
    tags=TAGS,
)
def rename(call: Call, track: str):
    call.catalog.track(track)
    rename_track(call.conn, call.owner.workspace_id, track, call.body["label"])
    return track_dict(_fresh(call).track(track))


@route(
    "/tracks/<track>/statuses",
    "GET",
    summary="A track's statuses in order (archived included, flagged)",
    response=s.StatusList,
    tags=TAGS,
)
def list_statuses(call: Call, track: str):
    return {"items": track_dict(call.catalog.track(track))["statuses"]}


@route(
    "/tracks/<track>/statuses",
    "POST",
    summary="Add a status at the end of a track",
    role="admin",
    status=201,
    body=s.StatusCreate,
    response=s.Status,
    write=True,
    idempotent=True,
    tags=TAGS,
)
def add(call: Call, track: str):
    fields = {k: v for k, v in call.body.items() if k != "key"}
    info = add_status(call.conn, call.catalog, track, call.body["key"], **fields)
    return info.as_dict() | {"track": track}


@route(
    "/tracks/<track>/statuses/<key>",
    "PATCH",
    summary="Edit a status (label, emoji, color, automation, ...)",
    role="admin",
    body=s.StatusFields,
    response=s.Status,
    write=True,
    tags=TAGS,
)
def edit(call: Call, track: str, key: str):
    edit_status(call.conn, call.catalog, track, key, **call.body)
    return _fresh(call).status(track, key).as_dict() | {"track": track}


@route(
    "/tracks/<track>/order",
    "PUT",
    summary="Reorder a track: list every key once (changes what is an upgrade)",
    role="admin",
    body=s.Order,
    response=s.StatusList,
    write=True,
    tags=TAGS,
)
def reorder(call: Call, track: str):
    reorder_statuses(call.conn, call.catalog, track, call.body["keys"])
    return {"items": track_dict(_fresh(call).track(track))["statuses"]}


@route(
    "/tracks/<track>/statuses/<key>",
    "DELETE",
    summary="Delete a status; one still held is archived instead (the answer says how many hold it)",
    role="admin",
    response=s.Deletion,
    write=True,
    tags=TAGS,
)
def remove(call: Call, track: str, key: str):
    done = delete_status(call.conn, call.catalog, track, key, utcnow())
    return {
        "deleted": not done.archived,
        "archived": done.archived,
        "customers": done.customers,
        "dangling": done.dangling,
    }


@route(
    "/tracks/<track>/statuses/<key>/restore",
    "POST",
    summary="Make an archived status assignable again",
    role="admin",
    response=s.Status,
    write=True,
    idempotent=True,
    tags=TAGS,
)
def restore(call: Call, track: str, key: str):
    restore_status(call.conn, call.catalog, track, key)
    return _fresh(call).status(track, key).as_dict() | {"track": track}
