"""What happens without a request: the outbox, outgoing webhooks, time rules, nudges."""
