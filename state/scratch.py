"""A view of Baton's database in which nothing is kept: every session joins one outer
transaction that is rolled back when the scratch copy is discarded.

Planning runs (`baton sync --dry-run`, `baton mapping preview`) run the real steps over
it: each step's `commit()` only releases a savepoint, so the steps see their own
changes (links, outbox, cursors, dead letters) as a real run would, and `discard()`
leaves the database exactly as it was.

SQLite needs the driver's own transaction handling switched off for that: pysqlite
delays `BEGIN` until the first write, so the first savepoint would otherwise become the
outermost transaction and its release would commit. While a scratch copy has written,
SQLite's write lock is held; another writer waits for it (the run lease keeps syncs out
anyway).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from state.database import Database, sqlite_file
from state.models import Base


class ScratchDatabase(Database):
    """`Database` whose sessions all roll back together on `discard()`."""

    def __init__(self, url: str) -> None:
        self.url = url
        is_sqlite = make_url(url).get_backend_name() == "sqlite"
        connect_args: dict[str, Any] = {}
        if sqlite_file(url) is not None:
            connect_args["timeout"] = 30
        if is_sqlite:
            # Prefect may run a step on a worker thread; the one connection is used by one
            # step at a time.
            connect_args["check_same_thread"] = False
        self.engine = create_engine(url, connect_args=connect_args)
        if is_sqlite:
            event.listen(self.engine, "connect", _sqlite_manual_transactions)
            event.listen(self.engine, "begin", _sqlite_begin)
        self._connection: Connection = self.engine.connect()
        self._outer = self._connection.begin()
        # Inside the transaction: a database that had no tables yet gets none either.
        Base.metadata.create_all(self._connection)
        self._sessions = sessionmaker(
            bind=self._connection,
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
            autoflush=False,
        )

    def session(self) -> Session:
        return self._sessions()

    def discard(self) -> None:
        """Roll everything back and close the connection."""
        if self._outer.is_active:
            self._outer.rollback()
        self._connection.close()
        self.engine.dispose()

    def dispose(self) -> None:
        self.discard()


def _sqlite_manual_transactions(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")
