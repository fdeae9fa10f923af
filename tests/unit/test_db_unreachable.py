"""Which database errors mean "unreachable, retry later" (services.common.db.unreachable)."""

from __future__ import annotations

import asyncpg.exceptions
from sqlalchemy import exc as sa_exc

from services.common.db import unreachable


def _dbapi(
    cls: type[sa_exc.DBAPIError], orig: BaseException, invalidated: bool = False
) -> Exception:
    return cls("SELECT 1", {}, orig, connection_invalidated=invalidated)  # type: ignore[arg-type]


def test_a_lost_or_refused_connection_is_unreachable() -> None:
    assert unreachable(ConnectionRefusedError(111, "Connect call failed"))
    assert unreachable(_dbapi(sa_exc.InterfaceError, Exception("connection is closed"), True))
    lost = asyncpg.exceptions.ConnectionDoesNotExistError("closed in the middle of operation")
    assert unreachable(_dbapi(sa_exc.OperationalError, lost))
    assert unreachable(asyncpg.exceptions.CannotConnectNowError("the database is starting up"))
    assert unreachable(sa_exc.TimeoutError("QueuePool limit reached"))


def test_the_cause_counts() -> None:
    try:
        try:
            raise ConnectionResetError(104, "reset by peer")
        except ConnectionResetError as err:
            raise RuntimeError("could not begin") from err
    except RuntimeError as wrapped:
        assert unreachable(wrapped)


def test_bad_sql_and_broken_rules_are_not() -> None:
    assert not unreachable(_dbapi(sa_exc.IntegrityError, Exception("duplicate key")))
    assert not unreachable(_dbapi(sa_exc.ProgrammingError, Exception("syntax error")))
    assert not unreachable(ValueError("bad value"))
    assert not unreachable(FileNotFoundError(2, "no such file"))
