"""Source webhooks: each vendor's own payload and authentication, turned into our events.

A source is one module here defining SOURCE, a handlers.webhooks.Source: its routes (POST /webhooks/<name>),
its settings (Source.config, loaded by bot.config from the environment and [sources.<name>]) and its OpenAPI
description (Source.doc). The modules are found by listing this package, so adding a source is adding its
module. A source whose secret is not configured answers 404.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil

from starlette.applications import Starlette

from handlers.webhooks import Source, add_source


@functools.cache
def discover() -> tuple[Source, ...]:
    """Every module's SOURCE, by name (modules without one, like the shared helpers, are skipped)."""
    found = []
    for module in pkgutil.iter_modules(__path__):
        source = getattr(importlib.import_module(f"{__name__}.{module.name}"), "SOURCE", None)
        if isinstance(source, Source):
            found.append(source)
    return tuple(sorted(found, key=lambda s: s.name))


def register(app: Starlette) -> None:
    for source in discover():
        add_source(app, source)
