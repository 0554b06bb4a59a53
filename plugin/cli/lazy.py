"""Groups whose subcommands live in modules other engineers own: mounted when the module is installed.

A missing module leaves its command out; any other import error is a bug and shows.
"""

from __future__ import annotations

import importlib

import click


class LazyGroup(click.Group):
    """`lazy_subcommands={name: (module, attribute)}`, imported only when the command line needs them."""

    def __init__(self, *args, lazy_subcommands: dict[str, tuple[str, str]] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = dict(lazy_subcommands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        found = {name for name in self.lazy_subcommands if self._load(name) is not None}
        return sorted(set(super().list_commands(ctx)) | found)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return super().get_command(ctx, name) or self._load(name)

    def _load(self, name: str) -> click.Command | None:
        if name not in self.lazy_subcommands:
            return None
        module_name, attribute = self.lazy_subcommands[name]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None
            raise
        return getattr(module, attribute)
