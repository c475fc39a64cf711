"""Engine and session factory for Baton's database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.schema import CreateIndex

from state.models import Base


def sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL (None for other databases and in-memory ones)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


# Where a missing database driver comes from: module -> what to install.
_DRIVER_PACKAGES = {
    "psycopg2": "psycopg2-binary (or use postgresql+psycopg:// with 'psycopg[binary]')",
    "psycopg": "'psycopg[binary]'",
    "pg8000": "pg8000",
    "pymysql": "PyMySQL",
    "MySQLdb": "mysqlclient",
}


def database_url_problem(url: str) -> str | None:
    """What makes `url` unusable for Baton's state, in words, or None.

    Never quotes the URL: it may carry a password. An in-memory SQLite database
    is refused because it would forget every link, cursor and outbox entry the
    moment the process ends (and the next run would create every record again).
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return (
            "is not a database URL (expected e.g. sqlite:///.baton/baton.db or "
            "postgresql+psycopg://user@host/db)"
        )
    if parsed.get_backend_name() == "sqlite" and (
        parsed.database in (None, "", ":memory:")
        or parsed.query.get("mode") == "memory"
        or str(parsed.database).startswith("file::memory:")
    ):
        return "an in-memory SQLite database loses all state when Baton exits; name a file"
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        return f"SQLAlchemy knows no database called {parsed.drivername!r}"
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        module = (exc.name or "").split(".")[0]
        install = _DRIVER_PACKAGES.get(module, module or "its driver")
        return f"the {parsed.drivername} driver is not installed: install {install}"
    return None


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
