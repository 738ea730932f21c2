"""Source webhooks: each vendor's own payload and authentication, turned into our events.

Each module defines SOURCE, a handlers.webhooks.Source. A source whose secret is not configured answers 404.
"""

from __future__ import annotations

import importlib

from starlette.applications import Starlette

from handlers.webhooks import add_source

MODULES = ("hubspot", "marketo", "mautic", "segment", "salesforce")


def register(app: Starlette) -> None:
    for name in MODULES:
        add_source(app, importlib.import_module(f"handlers.sources.{name}").SOURCE)
