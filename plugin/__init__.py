"""statushub core: the domain, the status engine, the store, the hub wiring and the CLI."""

__version__ = "0.1.0"
