"""The org tree's version: one counter row (``org_version``) that every transaction changing the
tree counts up, so a cached reach (services/identity/reach_cache.py) is reused exactly while the
tree it was computed from is current, in every process and replica (the counter is in the
database, read with one primary-key select).

What changes the tree: an insert or delete of an employee or a department, an employee's
``manager_id``, ``department_id`` or ``status``, a department's ``parent_id`` or ``head_id``
(``models.EMPLOYEE_TREE_COLUMNS`` / ``DEPARTMENT_TREE_COLUMNS``). The listeners below, on every
SQLAlchemy session of the process, notice such a change when it is flushed (the ORM's history of
those columns) or executed as a DML statement through the session, and run
``UPDATE org_version SET version = version + 1`` as the **last statement before COMMIT**. Not a
trigger mid-transaction: a transaction holding the counter row while it goes on to lock people
deadlocks against one that locked a person first and now waits for the counter (an HR edit
against an org-sync batch). Taken last, the counter row is held only for the commit itself.
A rollback bumps nothing. A loader that writes those tables on a bare connection (bench's COPY)
runs :data:`BUMP` itself as its last statement.

Importing this module installs the listeners (``services.identity.repository`` does).
"""

from __future__ import annotations

from sqlalchemy import Table, event, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction
from sqlalchemy.orm.attributes import get_history

from services.identity.models import (
    DEPARTMENT_TREE_COLUMNS,
    EMPLOYEE_TREE_COLUMNS,
    Department,
    Employee,
    OrgVersion,
)

# session.info key: this transaction changed the tree (bump before its commit).
CHANGED = "stride.identity.org_tree_changed"

_VERSION: Table = OrgVersion.__table__  # type: ignore[assignment]
_TREE_TABLES = frozenset({Employee.__table__, Department.__table__})
_TREE_COLUMNS: dict[type, tuple[str, ...]] = {
    Employee: EMPLOYEE_TREE_COLUMNS,
    Department: DEPARTMENT_TREE_COLUMNS,
}

# The bump, for a loader on a bare connection (run it last, in the loading transaction).
BUMP = update(_VERSION).where(_VERSION.c.id == 1).values(version=_VERSION.c.version + 1)


async def current(session: AsyncSession) -> int | None:
    """The tree's version now (``None`` without the row: nothing may be cached then)."""
    found = await session.scalar(select(_VERSION.c.version).where(_VERSION.c.id == 1))
    return None if found is None else int(found)


def changes_tree(session: Session) -> bool:
    """Whether the flush being made inserts, deletes or re-links an employee or department
    (the session's new / dirty / deleted lists and attribute history, as before the flush)."""
    for obj in (*session.new, *session.deleted):
        if type(obj) in _TREE_COLUMNS:
            return True
    for obj in session.dirty:
        columns = _TREE_COLUMNS.get(type(obj))
        if columns and any(get_history(obj, c).has_changes() for c in columns):
            return True
    return False


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    if not session.info.get(CHANGED) and changes_tree(session):
        session.info[CHANGED] = True


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        if getattr(state.statement, "table", None) in _TREE_TABLES:
            state.session.info[CHANGED] = True


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the outer commit bumps
    session.flush()  # what the commit would flush next (none: no-op), before the bump
    if session.info.pop(CHANGED, False):
        session.connection().execute(BUMP)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(CHANGED, None)  # committed (bumped) or rolled back (nothing to bump)
