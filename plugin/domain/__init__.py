"""The pure domain: events, the automation policy, the fold, errors, templates, the catalog type, the clock.

Nothing here imports SQLAlchemy or Flask; every layer above builds on it."""
