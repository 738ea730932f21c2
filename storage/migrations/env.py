"""Alembic environment: always run with a connection handed in by storage.db."""

from alembic import context

from storage.models import Base
from storage.search import in_models

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `leadbrief db upgrade`, which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=in_models,
)
with context.begin_transaction():
    context.run_migrations()
