"""Raw driver access for the hot paths, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy.orm import Session


class Driver:
    """Statements straight to the database driver, for the hot paths: a batch's bulk writes and a brief's
    activity reads skip SQLAlchemy's per-row processing, which otherwise costs more than the database does.
    SQL text comes from our own constants only; every value is bound."""

    def __init__(self, session: Session):
        self.session = session
        self.sqlite = session.get_bind().dialect.name == "sqlite"
        self.mark = "?" if self.sqlite else "%s"

    def time(self, value: datetime | None):
        if value is None or not self.sqlite:
            return value
        # The text form SQLAlchemy's DateTime uses on SQLite, in UTC (see storage.models.UTCDateTime).
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")

    @staticmethod
    def read_time(value):
        if value is None:
            return None
        if isinstance(value, str):
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def json(self, value):
        if value is None:
            return None
        if self.sqlite:
            return json.dumps(value)
        from psycopg.types.json import Jsonb

        return Jsonb(value)

    def insert(self, table: str, columns: tuple[str, ...], rows: list[tuple], conflict: tuple[str, ...]) -> None:
        if rows:
            # Names come from the callers' constants, never from input; values are bound.
            sql = (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([self.mark] * len(columns))}) "  # noqa: S608
                   f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING")
            self.session.connection().exec_driver_sql(sql, rows)

    def insert_returning(self, table: str, columns: tuple[str, ...], rows: list[tuple], conflict: tuple[str, ...],
                         returning: tuple[str, ...], chunk: int = 1000) -> list[tuple]:
        """One multi-row INSERT .. ON CONFLICT DO NOTHING RETURNING per chunk: the rows that were new."""
        out: list[tuple] = []
        one = f"({', '.join([self.mark] * len(columns))})"
        for start in range(0, len(rows), chunk):
            part = rows[start:start + chunk]
            sql = (f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([one] * len(part))} "  # noqa: S608
                   f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING RETURNING {', '.join(returning)}")
            result = self.session.connection().exec_driver_sql(sql, tuple(v for row in part for v in row))
            out.extend(tuple(r) for r in result)
        return out

    def update(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        """rows: the values of `columns`, then the id."""
        if rows:
            sql = f"UPDATE {table} SET {', '.join(f'{c} = {self.mark}' for c in columns)} WHERE id = {self.mark}"  # noqa: S608
            self.session.connection().exec_driver_sql(sql, rows)
