"""The outbox's sender for `chatwoot` items: a status change written back to Chatwoot (SPEC §11).

Labels by read, merge, write (Chatwoot's POST replaces the conversation's whole list), then the
contact's custom attributes `statushub_stage`, `statushub_attention`, `statushub_outcome`. A retry
reads again, so a label written before a failure is not written twice. Neither write changes a status
when it comes back: Chatwoot reports label changes as `conversation_updated`, which the hub does not
subscribe to, and the attributes as a `contact_updated` that changes neither name nor phone."""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from adapters.chatwoot.rest import client
from plugin.automation.chatwoot_sync import merged_labels, writeback_of
from plugin.automation.outbox import Job

log = logging.getLogger("statushub.chatwoot")


def send_writeback(engine: Engine, job: Job, *, allow_private: bool = False) -> None:
    wb = writeback_of(engine, job)
    with client(wb.account, allow_private=allow_private) as cw:
        if wb.conversation_id is not None:
            current = cw.conversation_labels(wb.conversation_id)
            merged = merged_labels(current, wb)
            if merged != current:
                cw.set_conversation_labels(wb.conversation_id, merged)
        cw.set_contact_attributes(wb.contact_id, wb.attributes)
    log.info(
        "chatwoot write-back",
        extra={"workspace_id": job.workspace_id, "item": job.id, "track": wb.track, "label": wb.label},
    )
