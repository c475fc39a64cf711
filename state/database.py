"""Engine and session factory for Baton's database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.schema import CreateIndex

from state.models import Base


def sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL (None for other databases and in-memory ones)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


class Database:
    """One database: `session()` for a unit of work, tables created on open.

    A SQLite file's folder must exist: a mistyped path is an error, not a
    fresh empty database (which would silently re-sync everything).
    """

    def __init__(self, url: str) -> None:
        file = sqlite_file(url)
        if file is not None and not file.parent.is_dir():
            raise FileNotFoundError(f"no folder {file.parent} for the SQLite database")
        self.url = url
        # A second process waits for a write lock instead of failing at once.
        connect_args = {"timeout": 30} if file is not None else {}
        self.engine: Engine = create_engine(url, connect_args=connect_args)
        if file is not None:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            Base.metadata.create_all(self.engine)
        except OperationalError:
            # Two processes creating a new database at once: the other one won.
            Base.metadata.create_all(self.engine)
        try:
            _add_missing_indexes(self.engine)
        except OperationalError:
            _add_missing_indexes(self.engine)  # as above: another process added them
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)

    def session(self) -> Session:
        return self._sessions()

    def dispose(self) -> None:
        self.engine.dispose()


def _add_missing_indexes(engine: Engine) -> None:
    """Indexes added since a database was made; `create_all` skips existing tables."""
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            for index in table.indexes:
                # IF NOT EXISTS: reflection cannot see expression indexes to check first.
                conn.execute(CreateIndex(index, if_not_exists=True))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets `baton status` read while a sync writes; foreign keys are off by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
