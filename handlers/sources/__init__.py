"""Source webhooks: each vendor's own payload and authentication, turned into our events.

Each module defines SOURCE, a handlers.webhooks.Source. A source whose secret is not configured answers 404.
"""

from __future__ import annotations

import importlib

from starlette.applications import Starlette

from handlers.webhooks import add_source

MODULES = ("mautic", "segment", "salesforce")
# Being built: registered when their module exists.
PENDING = ("hubspot", "marketo")


def register(app: Starlette) -> None:
    for name in MODULES:
        add_source(app, importlib.import_module(f"handlers.sources.{name}").SOURCE)
    for name in PENDING:
        try:
            module = importlib.import_module(f"handlers.sources.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"handlers.sources.{name}":
                raise
            continue
        add_source(app, module.SOURCE)
