"""Persistence: SQLAlchemy models, every query, and the Alembic migrations."""
