"""The status engine: the one write path every channel and command goes through (SPEC §3).

This package's public API; its modules are private to it (the layers check says so)."""

from plugin.engine.chatwoot_contacts import ContactEdit, ContactSeen, receive_from_contact
from plugin.engine.customer_state import load_states
from plugin.engine.delivery_status import record_delivery
from plugin.engine.held import (
    Folded,
    fold_all,
    fold_stale,
    held_counts,
    held_workspaces,
    hold,
    hold_committed,
)
from plugin.engine.held import fold as fold_held
from plugin.engine.inbox import (
    Ahead,
    delivered_once,
    first_delivery,
    read_ahead,
    receive,
    receive_once,
    record_sent,
    remembered_answer,
)
from plugin.engine.new_customers import (
    attach_identity,
    create_customer,
    customer_of_identity,
    ensure_customers,
)
from plugin.engine.replay import load_histories, load_history, starting_state, starting_states
from plugin.engine.retention import Plan, apply_batch, count_prunable, plan_batch
from plugin.engine.webhook_queue import KIND as WEBHOOK_KIND
from plugin.engine.write_path import (
    Recorded,
    assign_status,
    record_message,
    record_messages,
    run_commands,
)
from plugin.engine.writeback_queue import KIND as CHATWOOT_KIND
from plugin.engine.writeback_queue import WRITTEN_TRACKS as CHATWOOT_TRACKS

__all__ = [
    "Ahead",
    "read_ahead",
    "CHATWOOT_KIND",
    "CHATWOOT_TRACKS",
    "ContactEdit",
    "ContactSeen",
    "Folded",
    "fold_all",
    "fold_held",
    "fold_stale",
    "held_counts",
    "held_workspaces",
    "hold",
    "hold_committed",
    "WEBHOOK_KIND",
    "Plan",
    "apply_batch",
    "count_prunable",
    "plan_batch",
    "Recorded",
    "assign_status",
    "attach_identity",
    "create_customer",
    "customer_of_identity",
    "ensure_customers",
    "first_delivery",
    "load_histories",
    "load_history",
    "load_states",
    "receive",
    "receive_from_contact",
    "receive_once",
    "delivered_once",
    "remembered_answer",
    "record_sent",
    "record_delivery",
    "record_message",
    "record_messages",
    "run_commands",
    "starting_state",
    "starting_states",
]
