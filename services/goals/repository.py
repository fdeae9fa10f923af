"""Goals persistence (SQLAlchemy async)."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, TypeVar

import asyncpg
import sqlalchemy
from sqlalchemy import JSON, ColumnElement, FromClause, bindparam, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import configure_mappers
from sqlalchemy.orm.instrumentation import manager_of_class

from services.common.db import driver_connection, driver_errors
from services.common.outbox import OUTBOX_TABLE
from services.goals import scoring
from services.goals.domain import dashboards
from services.goals.models import (
    CHECK_IN_VERSIONS,
    CHECK_INS,
    KEY_RESULTS,
    Approval,
    ApprovalApprover,
    CheckIn,
    CheckInVersion,
    Checklist,
    Cycle,
    DashboardDepartment,
    DashboardWeek,
    DepartmentBlocker,
    KeyResult,
    Objective,
    Revision,
    RiskRuleSet,
)
from workflows.vocabulary import Level, ObjectiveStatus, Risk

Row = (
    Cycle
    | Objective
    | KeyResult
    | CheckIn
    | CheckInVersion
    | Checklist
    | Approval
    | ApprovalApprover
    | Revision
    | DepartmentBlocker
    | RiskRuleSet
)


# The check-in path's reads, built once: a statement made per call costs SQLAlchemy its
# construction and its cache key on every check-in (~10 % of goals' CPU), a prebuilt one
# reuses both (the values travel as bound parameters).
_KRS, _OBJECTIVES, _CYCLES = (m.__table__ for m in (KeyResult, Objective, Cycle))
_TARGET_PARTS = (("k", _KRS), ("o", _OBJECTIVES), ("c", _CYCLES))
_CHECK_IN_TARGETS = (
    select(*(c for _, table in _TARGET_PARTS for c in table.columns))
    .join_from(_KRS, _OBJECTIVES, _OBJECTIVES.c.id == _KRS.c.objective_id)
    .join(_CYCLES, _CYCLES.c.id == _KRS.c.cycle_id)
    .where(_KRS.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_KRS.c.id)
    .with_for_update(of=_KRS)
)
_T = TypeVar("_T")
# Each part's column names, in the order the joined read returns them.
_TARGET_KEYS = tuple(tuple(c.key for c in table.columns) for _, table in _TARGET_PARTS)
# Where each part's columns end in a target row (key result, objective, cycle).
_TARGET_ENDS = tuple(accumulate(len(keys) for keys in _TARGET_KEYS))


def _loaded(cls: type[_T], keys: Sequence[str], values: Sequence[Any]) -> _T:
    """An object of ``cls`` holding ``values`` as read, outside any session, built the way the
    ORM builds a query's results (a new instance, its attribute dict filled in, no attribute
    events): about 15 times cheaper than the constructor (~50 µs for a key result), which
    fires an event per column. Later changes to it are tracked as on any object."""
    manager = manager_of_class(cls)
    if not manager.mapper.configured:  # the constructor would have configured the mappers
        configure_mappers()
    obj: _T = manager.new_instance()
    obj.__dict__.update(zip(keys, values, strict=True))
    return obj


def _target(row: Sequence[Any]) -> tuple[KeyResult, Objective, Cycle]:
    """The key result, objective and cycle at the start of a target row (see
    :data:`_TARGET_KEYS`), as objects outside the session: nothing tracks or flushes them;
    the caller writes its changes with Core (handlers/check_ins.py)."""
    (k_keys, o_keys, c_keys), (k_end, o_end, c_end) = _TARGET_KEYS, _TARGET_ENDS
    return (
        _loaded(KeyResult, k_keys, row[:k_end]),
        _loaded(Objective, o_keys, row[k_end:o_end]),
        _loaded(Cycle, c_keys, row[o_end:c_end]),
    )


_WEIGHTS_AND_SCORES = (
    select(_KRS.c.id, _KRS.c.weight, _KRS.c.score)
    .where(_KRS.c.objective_id == bindparam("objective_id"))
    .order_by(_KRS.c.created_at, _KRS.c.id)
)
_CHECK_IN_ROWS = (
    select(*CHECK_INS.columns)
    .where(CHECK_INS.c.key_result_id == bindparam("key_result_id"))
    .order_by(CHECK_INS.c.week)
)

_CHECK_IN_UPDATE = CHECK_INS.update().where(CHECK_INS.c.id == bindparam("row_id"))
_KEY_RESULT_UPDATE = KEY_RESULTS.update().where(KEY_RESULTS.c.id == bindparam("row_id"))


# --- the check-in path on PostgreSQL: asyncpg's prepared statements, four round trips -------
# (BEGIN, the locking read, the writes, COMMIT). The statements are text built once from the
# tables' columns; asyncpg prepares each once per connection and keeps it (statement cache).
def _names(table: FromClause, alias: str) -> str:
    return ", ".join(f'{alias}."{c.name}"' for c in table.columns)


@dataclass(frozen=True)
class CheckInSnapshot:
    """What the locking read of a check-in returns with the key result on PostgreSQL, read
    after the lock was granted (so no check-in of the key result can be missing from it)."""

    # The week asked for, and its check-in (every column) when there is one.
    week: str
    row: dict[str, Any] | None
    # Every check-in's (week, value), by week.
    weeks: list[tuple[str, float]]
    # The objective's key results: id → (weight, score), as stored.
    siblings: dict[str, tuple[int, float]]


# One key result (``$1``) locked with its objective and cycle, its check-ins' weeks and values,
# its objective's key results' weights and scores, and the check-in of the week asked for
# (``$2``). ``fresh``: the locked row is the version the rest of the statement read.
# PostgreSQL reads a statement as of its start; when the lock had to wait for another
# transaction that changed the key result (a check-in at the same moment), the locked row is
# the newer version but the check-ins and weights are as of before it, and the caller reads
# them again (a CheckInSnapshot is only made when fresh). This relies on every transaction
# that writes a key result's check-ins also updating the key result's row (recording one
# rescores it), not only locking it. Scalar parameters: PostgreSQL
# settles on one generic plan for the prepared statement instead of planning it on every
# execution, which costs it more than running it (with arrays of ids and weeks it did not).
_LOCK_FOR_CHECK_IN = f"""
SELECT {_names(_KRS, "k")}, {_names(_OBJECTIVES, "o")}, {_names(_CYCLES, "c")},
       k.xmin = (SELECT s.xmin FROM key_results s WHERE s.id = k.id) AS fresh,
       h.weeks, h.vals, sib.ids, sib.weights, sib.scores, {_names(CHECK_INS, "w")}
FROM key_results k
JOIN objectives o ON o.id = k.objective_id
JOIN cycles c ON c.id = k.cycle_id
LEFT JOIN check_ins w ON w.key_result_id = k.id AND w.week = $2
CROSS JOIN LATERAL (
    SELECT array_agg(ci.week ORDER BY ci.week) AS weeks,
           array_agg(ci.value ORDER BY ci.week) AS vals
    FROM check_ins ci WHERE ci.key_result_id = k.id) h
CROSS JOIN LATERAL (
    SELECT array_agg(s.id ORDER BY s.created_at, s.id) AS ids,
           array_agg(s.weight ORDER BY s.created_at, s.id) AS weights,
           array_agg(s.score ORDER BY s.created_at, s.id) AS scores
    FROM key_results s WHERE s.objective_id = k.objective_id) sib
WHERE k.id = $1
FOR UPDATE OF k
"""
_CHECK_IN_NAMES = tuple(c.name for c in CHECK_INS.columns)
_VERSION_NAMES = tuple(c.name for c in CHECK_IN_VERSIONS.columns)
_JSON_NAMES = frozenset(
    c.name for t in (CHECK_INS, CHECK_IN_VERSIONS) for c in t.columns if isinstance(c.type, JSON)
)


def _placeholders(start: int, count: int) -> str:
    return ", ".join(f"${i}" for i in range(start, start + count))


@functools.cache
def _write_check_in_sql(new: bool, kr_columns: tuple[str, ...], versioned: bool = True) -> str:
    """One statement for everything a check-in writes: the check-in (inserted or updated), its
    version, the key result's progress, and the transaction's outbox rows (events and audit
    entries, in their order; four arrays). Parameters: the check-in's columns, the version's,
    the key result's ``kr_columns`` and its id, then the outbox arrays. Not ``versioned``: no
    version row and no version parameters (a machine value updated in place)."""
    n = len(_CHECK_IN_NAMES)
    if new:
        check_in = (
            f"INSERT INTO check_ins ({', '.join(_CHECK_IN_NAMES)}) VALUES ({_placeholders(1, n)})"
        )
    else:  # found by its id (its key result and week, which do not change, are checked)
        keys = ("id", "key_result_id", "week")
        place = {name: i for i, name in enumerate(_CHECK_IN_NAMES, 1)}
        sets = ", ".join(f"{name} = ${i}" for name, i in place.items() if name not in keys)
        where = " AND ".join(f"{name} = ${place[name]}" for name in keys)
        check_in = f"UPDATE check_ins SET {sets} WHERE {where}"
    v = n + 1
    version = (
        f"v AS (INSERT INTO check_in_versions ({', '.join(_VERSION_NAMES)}) "
        f"VALUES ({_placeholders(v, len(_VERSION_NAMES))})),\n"
        if versioned
        else ""
    )
    k = v + len(_VERSION_NAMES) if versioned else v
    kr_sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(kr_columns, k))
    kr_id = k + len(kr_columns)
    e = kr_id + 1
    return f"""
WITH ci AS ({check_in}),
{version}kr AS (UPDATE key_results SET {kr_sets} WHERE id = ${kr_id}),
ob AS (INSERT INTO {OUTBOX_TABLE} (event_id, subject, payload, headers)
       SELECT e.event_id, e.subject, e.payload, e.headers
       FROM unnest(${e}::varchar[], ${e + 1}::varchar[], ${e + 2}::bytea[], ${e + 3}::text[])
            WITH ORDINALITY AS e(event_id, subject, payload, headers, n)
       ORDER BY e.n)
SELECT 1
"""


def _driver_value(name: str, value: Any) -> Any:
    # asyncpg's json codec on SQLAlchemy's connections takes the JSON text.
    return json.dumps(value) if name in _JSON_NAMES else value


# What scoring reads of objectives and key results (scoring.ObjectiveFacts / KeyResultFacts,
# the objective's status first), as plain columns.
_OBJECTIVE_FACTS = (
    Objective.status,
    Objective.id,
    Objective.title,
    Objective.owner_id,
    Objective.department_id,
    Objective.level,
    Objective.parent_id,
)
_KEY_RESULT_FACTS = (
    KeyResult.id,
    KeyResult.objective_id,
    KeyResult.owner_id,
    KeyResult.department_id,
    KeyResult.weight,
    KeyResult.score,
    KeyResult.self_score,
)


@dataclass(frozen=True)
class FigureQueries:
    """The grouped sums a cycle's scores' figures come from (no row per objective or key
    result leaves the database), for :func:`figure_queries`; each runs on its own, so they
    may run on separate connections at once."""

    key_results: Any
    objectives: Any
    top: Any
    # The queries naming the departments a narrowed request shows (None: no filter).
    wanted: tuple[Any, ...] | None


def alignment_conditions() -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Whether an objective can be aligned (not a company objective) and whether it is (and
    has a parent): as scoring.alignment, for the scores' figures and the dashboards alike."""
    alignable = Objective.level != Level.COMPANY
    return alignable, sqlalchemy.and_(
        alignable, Objective.parent_id.is_not(None), Objective.parent_id != ""
    )


def figure_queries(cycle: Cycle, department_ids: Sequence[str], owner_id: str) -> FigureQueries:
    """The scores' figures of ``cycle``: per department (those owning matching objectives or
    key results; all when no filter) its score, key results, objectives and alignment over
    everything it owns, and (alignment, aligned, objectives) over the matching objectives.
    Counted as in the scores (domain.in_scores)."""
    counted: list[ColumnElement[bool]] = [Objective.cycle_id == cycle.id]
    closed = cycle.status == ObjectiveStatus.CLOSED
    if closed:
        counted.append(Objective.status == ObjectiveStatus.CLOSED)

    def counted_krs(query: Any) -> Any:
        """``query`` over the cycle's key results that count (a join to their objectives
        only once the cycle is closed: while it is open every one counts)."""
        query = query.where(KeyResult.cycle_id == cycle.id)
        if closed:
            query = query.join(Objective, Objective.id == KeyResult.objective_id).where(
                Objective.status == ObjectiveStatus.CLOSED
            )
        return query

    def matching(model: type[Objective] | type[KeyResult]) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = []
        if department_ids:
            conds.append(model.department_id.in_(list(department_ids)))
        if owner_id:
            conds.append(model.owner_id == owner_id)
        return conds

    def tally(condition: ColumnElement[bool]) -> Any:
        return func.sum(sqlalchemy.case((condition, 1), else_=0))

    alignable, aligned = alignment_conditions()
    objective_sums = (func.count(), tally(alignable), tally(aligned))
    wanted = None
    if department_ids or owner_id:
        wanted = (
            select(Objective.department_id).distinct().where(*counted, *matching(Objective)),
            counted_krs(select(KeyResult.department_id).distinct().where(*matching(KeyResult))),
        )
    return FigureQueries(
        key_results=counted_krs(
            select(
                KeyResult.department_id,
                func.count(),
                func.sum(KeyResult.weight * KeyResult.score),
                func.sum(KeyResult.weight),
                func.sum(KeyResult.score),
            ).group_by(KeyResult.department_id)
        ),
        objectives=select(Objective.department_id, *objective_sums)
        .where(*counted)
        .group_by(Objective.department_id),
        top=select(*objective_sums).where(*counted, *matching(Objective)),
        wanted=wanted,
    )


class GoalsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._postgres: bool | None = None
        self._driver: asyncpg.Connection | None = None

    @property
    def writes_outbox(self) -> bool:
        """Whether :meth:`save_check_in` writes the outbox rows it is given (PostgreSQL); on
        SQLite they stay with the unit of work, which writes them at commit."""
        return self.postgres

    @property
    def postgres(self) -> bool:
        if self._postgres is None:
            self._postgres = self.session.get_bind().dialect.name == "postgresql"
        return self._postgres

    async def _pg(self) -> asyncpg.Connection:
        if self._driver is None:
            self._driver = await driver_connection(self.session)
        return self._driver

    def add(self, row: Row) -> None:
        self.session.add(row)

    # --- cycles -------------------------------------------------------------------------
    async def cycle(self, cycle_id: str, *, lock: bool = False) -> Cycle | None:
        return await self.session.get(Cycle, cycle_id, with_for_update=lock or None)

    async def cycles(self, limit: int, offset: int) -> list[Cycle]:
        query = select(Cycle).order_by(Cycle.start_date.desc(), Cycle.created_at, Cycle.id)
        return list((await self.session.scalars(query.limit(limit).offset(offset))).all())

    # --- objectives ---------------------------------------------------------------------
    async def objective(self, objective_id: str, *, lock: bool = False) -> Objective | None:
        return await self.session.get(Objective, objective_id, with_for_update=lock or None)

    async def objectives_by_ids(
        self, ids: Sequence[str], *, lock: bool = False
    ) -> dict[str, Objective]:
        if not ids:
            return {}
        query = select(Objective).where(Objective.id.in_(list(ids))).order_by(Objective.id)
        if lock:
            query = query.with_for_update()
        return {o.id: o for o in (await self.session.scalars(query)).all()}

    async def objectives(
        self,
        limit: int | None,
        offset: int = 0,
        cycle_id: str = "",
        owner_id: str = "",
        visible_owner_ids: Sequence[str] = (),
        visible_department_ids: Sequence[str] = (),
        *,
        include_public: bool = False,
        department_id: str = "",
        level: str = "",
        status: str = "",
        parent_id: str = "",
        lock: bool = False,
    ) -> list[Objective]:
        query = select(Objective).order_by(Objective.created_at, Objective.id)
        if cycle_id:
            query = query.where(Objective.cycle_id == cycle_id)
        if owner_id:
            query = query.where(Objective.owner_id == owner_id)
        if visible_owner_ids or visible_department_ids or include_public:
            visible: list[ColumnElement[bool]] = [
                Objective.owner_id.in_(list(visible_owner_ids)),
                Objective.department_id.in_(list(visible_department_ids)),
            ]
            if include_public:
                visible.append(Objective.visibility == "public")
            query = query.where(or_(*visible))
        if department_id:
            query = query.where(Objective.department_id == department_id)
        if level:
            query = query.where(Objective.level == level)
        if status:
            query = query.where(Objective.status == status)
        if parent_id:
            query = query.where(Objective.parent_id == parent_id)
        if limit is not None:
            query = query.limit(limit).offset(offset)
        if lock:
            query = query.with_for_update()
        return list((await self.session.scalars(query)).all())

    async def score_facts(
        self, cycle_id: str
    ) -> tuple[list[tuple[str, scoring.ObjectiveFacts]], list[scoring.KeyResultFacts]]:
        """A whole cycle's scoring inputs as plain columns (no rows loaded whole, a fraction
        of the cost at 10,000 people): its objectives with their status, its key results, in
        the order of :meth:`objectives` and :meth:`key_results`."""
        objectives = (
            select(*_OBJECTIVE_FACTS)
            .where(Objective.cycle_id == cycle_id)
            .order_by(Objective.created_at, Objective.id)
        )
        krs = (
            select(*_KEY_RESULT_FACTS)
            .where(KeyResult.cycle_id == cycle_id)
            .order_by(KeyResult.created_at, KeyResult.id)
        )
        return await self._objective_facts(objectives), [
            scoring.KeyResultFacts(*row) for row in (await self.session.execute(krs)).all()
        ]

    async def _objective_facts(self, query: Any) -> list[tuple[str, scoring.ObjectiveFacts]]:
        """(status, facts) of the objectives ``query`` (over :data:`_OBJECTIVE_FACTS`) finds."""
        return [
            (status, scoring.ObjectiveFacts(i, title, owner, department, level, parent or ""))
            for status, i, title, owner, department, level, parent in (
                await self.session.execute(query)
            ).all()
        ]

    async def score_inputs(
        self, cycle_id: str, department_ids: Sequence[str] = (), owner_id: str = ""
    ) -> tuple[list[Objective], list[KeyResult]]:
        """What a cycle's scores narrowed to departments and/or an owner are computed from,
        read in four queries that cost in proportion to the answer: the matching objectives
        and key results, every key result of those objectives, of the people owning any of
        them and of their departments, the objectives of all these key results and every
        objective of those departments (services/goals/scoring.py ``filtered``)."""

        def matching(model: type[Objective] | type[KeyResult]) -> list[ColumnElement[bool]]:
            conds = [model.cycle_id == cycle_id]
            if department_ids:
                conds.append(model.department_id.in_(list(department_ids)))
            if owner_id:
                conds.append(model.owner_id == owner_id)
            return conds

        # First the matching rows' ids, owners and departments (small), then plain IN lists:
        # PostgreSQL combines those over the (cycle, owner), (cycle, department) and objective
        # indexes, where IN (subquery) inside the OR made it scan the whole cycle.
        matched = [
            *(
                await self.session.execute(
                    select(Objective.id, Objective.owner_id, Objective.department_id).where(
                        *matching(Objective)
                    )
                )
            ).all(),
            *(
                await self.session.execute(
                    select(sqlalchemy.null(), KeyResult.owner_id, KeyResult.department_id).where(
                        *matching(KeyResult)
                    )
                )
            ).all(),
        ]
        objective_ids = sorted({o for o, _, _ in matched if o is not None})
        people = sorted({p for _, p, _ in matched})
        departments = sorted({d for _, _, d in matched})
        krs = (
            select(KeyResult)
            .where(
                KeyResult.cycle_id == cycle_id,
                or_(
                    KeyResult.objective_id.in_(objective_ids),
                    KeyResult.owner_id.in_(people),
                    KeyResult.department_id.in_(departments),
                ),
            )
            .order_by(KeyResult.created_at, KeyResult.id)
        )
        key_results = list((await self.session.scalars(krs)).all())
        objectives = (
            select(Objective)
            .where(
                Objective.cycle_id == cycle_id,
                or_(
                    Objective.id.in_(sorted({k.objective_id for k in key_results})),
                    Objective.department_id.in_(departments),
                    Objective.id.in_(objective_ids),
                ),
            )
            .order_by(Objective.created_at, Objective.id)
        )
        return list((await self.session.scalars(objectives)).all()), key_results

    async def page_owners(
        self,
        cycle_id: str,
        after: str,
        limit: int,
        *,
        owner_ids: Sequence[str] = (),
        department_ids: Sequence[str] = (),
        closed_only: bool = False,
    ) -> list[str]:
        """Up to ``limit`` people after ``after`` in employee id order who own an objective or
        a key result of the cycle (of ``department_ids`` / ``owner_ids`` when given; only of
        closed objectives when ``closed_only``). Each table's first distinct owners are read
        off its (cycle, owner) index, so a page costs its size, not the cycle's."""
        found: set[str] = set()
        for model in (Objective, KeyResult):
            query = (
                select(model.owner_id)
                .distinct()
                .where(model.cycle_id == cycle_id, model.owner_id > after)
                .order_by(model.owner_id)
                .limit(limit)
            )
            if owner_ids:
                query = query.where(model.owner_id.in_(list(owner_ids)))
            if department_ids:
                query = query.where(model.department_id.in_(list(department_ids)))
            if closed_only and model is Objective:
                query = query.where(Objective.status == ObjectiveStatus.CLOSED)
            elif closed_only:
                query = query.join(Objective, Objective.id == KeyResult.objective_id).where(
                    Objective.status == ObjectiveStatus.CLOSED
                )
            found.update((await self.session.scalars(query)).all())
        return sorted(found)[:limit]

    async def score_page(
        self, cycle_id: str, people: Sequence[str], department_ids: Sequence[str], owner_id: str
    ) -> tuple[list[tuple[str, scoring.ObjectiveFacts]], list[tuple[str, scoring.KeyResultFacts]]]:
        """What one page of scores is computed from, over the (cycle, owner) and objective
        indexes: the objectives ``people`` own (of ``department_ids`` / ``owner_id`` when
        given) with their status, and every key result of those objectives or owned by those
        people with its objective's status (read by primary key)."""
        if not people:
            return [], []
        objectives = (
            select(*_OBJECTIVE_FACTS)
            .where(Objective.cycle_id == cycle_id, Objective.owner_id.in_(list(people)))
            .order_by(Objective.created_at, Objective.id)
        )
        if department_ids:
            objectives = objectives.where(Objective.department_id.in_(list(department_ids)))
        if owner_id:
            objectives = objectives.where(Objective.owner_id == owner_id)
        found = await self._objective_facts(objectives)
        krs = (
            select(*_KEY_RESULT_FACTS)
            .where(
                KeyResult.cycle_id == cycle_id,
                or_(
                    KeyResult.objective_id.in_([o.id for _, o in found]),
                    KeyResult.owner_id.in_(list(people)),
                ),
            )
            .order_by(KeyResult.created_at, KeyResult.id)
        )
        facts = [scoring.KeyResultFacts(*row) for row in (await self.session.execute(krs)).all()]
        # Their objectives' statuses by primary key (a join let PostgreSQL scan every objective).
        statuses = {o.id: status for status, o in found}
        statuses |= await self.objective_statuses(
            sorted({k.objective_id for k in facts} - set(statuses))
        )
        return found, [(statuses.get(k.objective_id, ""), k) for k in facts]

    async def figure_departments(self, figures: FigureQueries) -> list[str] | None:
        """The departments whose figures a narrowed request shows (those owning matching
        objectives or key results); None without a filter (every department)."""
        if figures.wanted is None:
            return None
        found: set[str] = set()
        for query in figures.wanted:
            found.update((await self.session.scalars(query)).all())
        return sorted(found)

    async def figure_key_result_sums(
        self, figures: FigureQueries, departments: list[str] | None
    ) -> dict[str, tuple[int, float, int, float]]:
        """Per department: (key results, sum of weight × score, sum of weights, sum of
        scores) over the key results that count."""
        query = figures.key_results
        if departments is not None:
            query = query.where(KeyResult.department_id.in_(departments))
        return {
            dep: (int(n), float(weighted or 0.0), int(weights or 0), float(plain or 0.0))
            for dep, n, weighted, weights, plain in (await self.session.execute(query)).all()
        }

    async def figure_objective_sums(
        self, figures: FigureQueries, departments: list[str] | None
    ) -> tuple[dict[str, tuple[int, int, int]], tuple[int, int, int]]:
        """Per department: (objectives, alignable, aligned) over the objectives that count;
        and the same over the matching objectives."""
        query = figures.objectives
        if departments is not None:
            query = query.where(Objective.department_id.in_(departments))
        owned = {
            dep: (int(n), int(can or 0), int(done or 0))
            for dep, n, can, done in (await self.session.execute(query)).all()
        }
        if figures.wanted is None:  # no filter: the matching objectives are all of them
            every = owned.values()
            return owned, (
                sum(v[0] for v in every),
                sum(v[1] for v in every),
                sum(v[2] for v in every),
            )
        top = (await self.session.execute(figures.top)).one()
        return owned, (int(top[0]), int(top[1] or 0), int(top[2] or 0))

    async def participation_rows(
        self, cycle_id: str, owner_ids: Sequence[str], department_ids: Sequence[str], week: str
    ) -> tuple[list[tuple[str, str]], list[tuple[str, str, str, bool]]]:
        """What participation counts, as plain columns (no rows loaded whole): a cycle's
        objectives as (owner, status), its key results as (owner, objective status, risk
        status, checked in during ``week``), narrowed to ``owner_ids`` and / or
        ``department_ids`` (empty: no condition). One query each, whatever the cycle's size."""
        checked = sqlalchemy.and_(CheckIn.key_result_id == KeyResult.id, CheckIn.week == week)
        objectives = select(Objective.owner_id, Objective.status).where(
            Objective.cycle_id == cycle_id
        )
        krs = (
            select(
                KeyResult.owner_id,
                Objective.status,
                KeyResult.risk_status,
                sqlalchemy.exists().where(checked),
            )
            .join(Objective, Objective.id == KeyResult.objective_id)
            .where(KeyResult.cycle_id == cycle_id)
        )
        if owner_ids:
            objectives = objectives.where(Objective.owner_id.in_(list(owner_ids)))
            krs = krs.where(KeyResult.owner_id.in_(list(owner_ids)))
        if department_ids:
            objectives = objectives.where(Objective.department_id.in_(list(department_ids)))
            krs = krs.where(KeyResult.department_id.in_(list(department_ids)))
        found = [(o, s, r, bool(c)) for o, s, r, c in (await self.session.execute(krs)).all()]
        return [(o, s) for o, s in (await self.session.execute(objectives)).all()], found

    async def children_count(self, objective_id: str) -> int:
        return int(
            await self.session.scalar(
                select(func.count())
                .select_from(Objective)
                .where(Objective.parent_id == objective_id)
            )
            or 0
        )

    async def delete_objective(self, objective_id: str, kr_ids: Sequence[str]) -> None:
        """Delete an objective with its key results and everything recorded on them."""
        if kr_ids:
            ids = list(kr_ids)
            await self.session.execute(
                delete(CheckInVersion).where(CheckInVersion.key_result_id.in_(ids))
            )
            await self.session.execute(delete(CheckIn).where(CheckIn.key_result_id.in_(ids)))
            await self.session.execute(delete(Revision).where(Revision.key_result_id.in_(ids)))
            await self.session.execute(delete(KeyResult).where(KeyResult.id.in_(ids)))
        await self.session.execute(delete(Objective).where(Objective.id == objective_id))

    async def ancestors(self, objective_id: str, limit: int = 50) -> list[str]:
        """The objective and its ancestors, nearest first (bounded, stops at a loop)."""
        chain: list[str] = []
        current: str | None = objective_id
        while current and current not in chain and len(chain) < limit:
            chain.append(current)
            row = await self.session.get(Objective, current)
            current = row.parent_id if row is not None else None
        return chain

    # --- key results --------------------------------------------------------------------
    async def key_result(self, kr_id: str, *, lock: bool = False) -> KeyResult | None:
        return await self.session.get(KeyResult, kr_id, with_for_update=lock or None)

    async def key_results_by_ids(
        self, ids: Sequence[str], *, lock: bool = False
    ) -> dict[str, KeyResult]:
        if not ids:
            return {}
        # Ordered by id so that concurrent bulk check-ins lock in the same order.
        query = select(KeyResult).where(KeyResult.id.in_(list(ids))).order_by(KeyResult.id)
        if lock:
            query = query.with_for_update()
        return {k.id: k for k in (await self.session.scalars(query)).all()}

    async def key_results(
        self,
        limit: int | None,
        offset: int = 0,
        objective_id: str = "",
        *,
        cycle_id: str = "",
        owner_id: str = "",
        department_id: str = "",
        risk_status: str = "",
        objective_ids: Sequence[str] | None = None,
        owner_ids: Sequence[str] | None = None,
    ) -> list[KeyResult]:
        query = select(KeyResult).order_by(KeyResult.created_at, KeyResult.id)
        if objective_id:
            query = query.where(KeyResult.objective_id == objective_id)
        if objective_ids is not None:
            query = query.where(KeyResult.objective_id.in_(list(objective_ids)))
        if cycle_id:
            query = query.where(KeyResult.cycle_id == cycle_id)
        if owner_id:
            query = query.where(KeyResult.owner_id == owner_id)
        if owner_ids is not None:
            query = query.where(KeyResult.owner_id.in_(list(owner_ids)))
        if department_id:
            query = query.where(KeyResult.department_id == department_id)
        if risk_status:
            query = query.where(KeyResult.risk_status == risk_status)
        if limit is not None:
            query = query.limit(limit).offset(offset)
        return list((await self.session.scalars(query)).all())

    async def check_in_targets(
        self, ids: Sequence[str]
    ) -> dict[str, tuple[KeyResult, Objective, Cycle]]:
        """Key results with their objective and cycle, in one joined read that locks the key
        results (PostgreSQL; ordered by id so concurrent bulk check-ins lock in one order).

        The objects are not in the session (changes to them are not saved by a flush)."""
        if not ids:
            return {}
        conn = await self.session.connection()
        rows = (await conn.execute(_CHECK_IN_TARGETS, {"ids": list(ids)})).all()
        found: dict[str, tuple[KeyResult, Objective, Cycle]] = {}
        for row in rows:
            # Plain rows made into objects outside the session: nothing to track or flush;
            # the caller writes its changes with Core (handlers/check_ins.py).
            kr, objective, cycle = _target(row)
            found[kr.id] = (kr, objective, cycle)
        return found

    async def lock_for_check_in(
        self, wanted: Sequence[tuple[str, str]]
    ) -> dict[str, tuple[KeyResult, Objective, Cycle, CheckInSnapshot | None]]:
        """:meth:`check_in_targets` for check-ins of ``wanted`` (key result id, week asked
        for); on PostgreSQL with a :class:`CheckInSnapshot` of each (None where it must be
        read again, and always on SQLite), read in the statement that locks it."""
        if not self.postgres:
            targets = await self.check_in_targets([kr_id for kr_id, _w in wanted])
            return {kr_id: (*t, None) for kr_id, t in targets.items()}
        if not wanted:
            return {}
        conn = await self._pg()
        c_end = _TARGET_ENDS[-1]
        found: dict[str, tuple[KeyResult, Objective, Cycle, CheckInSnapshot | None]] = {}
        # One statement per key result, in id order (concurrent bulk check-ins lock in one
        # order); a bulk request has a few.
        for kr_id, week in sorted(set(wanted)):
            async with driver_errors(_LOCK_FOR_CHECK_IN):
                record = await conn.fetchrow(_LOCK_FOR_CHECK_IN, kr_id, week)
            if record is None:
                continue
            row = tuple(record)
            kr, objective, cycle = _target(row)
            fresh, week_list, values, sib_ids, sib_weights, sib_scores = row[c_end : c_end + 6]
            snapshot = None
            if fresh:
                same_week = row[c_end + 6 :]
                snapshot = CheckInSnapshot(
                    week=week,
                    row=(
                        dict(zip(_CHECK_IN_NAMES, same_week, strict=True))
                        if same_week[0] is not None
                        else None
                    ),
                    weeks=list(zip(week_list or (), values or (), strict=True)),
                    siblings={
                        i: (w, sc)
                        for i, w, sc in zip(sib_ids, sib_weights, sib_scores, strict=True)
                    },
                )
            found[kr.id] = (kr, objective, cycle, snapshot)
        return found

    async def week_history(
        self, kr_id: str, week: str, snapshot: CheckInSnapshot | None = None
    ) -> tuple[list[tuple[str, float]], dict[str, Any] | None]:
        """A key result's check-ins other than ``week``'s as (week, value) by week, and
        ``week``'s check-in (every column) if there is one: from ``snapshot`` when it was
        read for that week, else read."""
        if snapshot is not None and snapshot.week == week:
            return [c for c in snapshot.weeks if c[0] != week], snapshot.row
        existing = await self.check_in_rows(kr_id)
        same_week = next((dict(c._mapping) for c in existing if c.week == week), None)
        return [(c.week, c.value) for c in existing if c.week != week], same_week

    async def save_check_in(
        self,
        check_in: dict[str, Any],
        new: bool,
        version: dict[str, Any] | None,
        kr_id: str,
        kr_values: dict[str, Any],
        events: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Write a check-in (every column; ``new``: inserted, else updated by id), its version
        (``None``: none kept) and its key result's ``kr_values``; on PostgreSQL with ``events``
        (outbox rows, see :attr:`writes_outbox`) in one statement."""
        if not self.postgres:
            conn = await self.session.connection()
            if new:
                await conn.execute(CHECK_INS.insert(), check_in)
            else:
                changed = {c: v for c, v in check_in.items() if c not in ("key_result_id", "week")}
                changed["row_id"] = changed.pop("id")
                await conn.execute(_CHECK_IN_UPDATE, changed)
            if version is not None:
                await conn.execute(CHECK_IN_VERSIONS.insert(), version)
            await conn.execute(_KEY_RESULT_UPDATE, {"row_id": kr_id, **kr_values})
            return
        driver = await self._pg()
        columns = tuple(kr_values)
        statement = _write_check_in_sql(new, columns, versioned=version is not None)
        args = [_driver_value(n, check_in[n]) for n in _CHECK_IN_NAMES]
        if version is not None:
            args += [_driver_value(n, version[n]) for n in _VERSION_NAMES]
        args += [kr_values[c] for c in columns]
        args.append(kr_id)
        args += [
            [e["event_id"] for e in events],
            [e["subject"] for e in events],
            [e["payload"] for e in events],
            [e["headers"] for e in events],
        ]
        async with driver_errors(statement):
            await driver.execute(statement, *args)

    async def sweep_targets(
        self, after: str, limit: int, cycle_id: str = ""
    ) -> list[tuple[KeyResult, Objective, Cycle]]:
        """The next ``limit`` key results (by id, after ``after``) of open cycles (or of
        ``cycle_id``), with their objective and cycle; locked like :meth:`check_in_targets`
        (a check-in of one of them waits for the sweep's batch, and the other way round)."""
        query = (
            select(*(c for _, table in _TARGET_PARTS for c in table.columns))
            .join_from(_KRS, _OBJECTIVES, _OBJECTIVES.c.id == _KRS.c.objective_id)
            .join(_CYCLES, _CYCLES.c.id == _KRS.c.cycle_id)
            .where(_KRS.c.id > after, _CYCLES.c.status == "open")
            .order_by(_KRS.c.id)
            .limit(limit)
            .with_for_update(of=_KRS)
        )
        if cycle_id:
            query = query.where(_KRS.c.cycle_id == cycle_id)
        conn = await self.session.connection()
        rows = (await conn.execute(query)).all()
        return [_target(row) for row in rows]

    async def weights_and_scores(self, objective_id: str) -> dict[str, tuple[int, float]]:
        """key result id → (weight, score) of an objective's key results, as stored."""
        conn = await self.session.connection()
        rows = await conn.execute(_WEIGHTS_AND_SCORES, {"objective_id": objective_id})
        return {kr_id: (weight, score) for kr_id, weight, score in rows.all()}

    async def objective_statuses(self, objective_ids: Sequence[str]) -> dict[str, str]:
        if not objective_ids:
            return {}
        rows = await self.session.execute(
            select(Objective.id, Objective.status).where(Objective.id.in_(list(objective_ids)))
        )
        return {oid: status for oid, status in rows.all()}

    # --- check-ins ----------------------------------------------------------------------
    async def check_ins(
        self, kr_id: str, limit: int | None = None, offset: int = 0
    ) -> list[CheckIn]:
        query = select(CheckIn).where(CheckIn.key_result_id == kr_id).order_by(CheckIn.week)
        if limit is not None:
            query = query.limit(limit).offset(offset)
        return list((await self.session.scalars(query)).all())

    async def check_in_rows(self, kr_id: str) -> Sequence[sqlalchemy.Row[Any]]:
        """A key result's check-ins as plain rows (every column; no ORM objects to build and
        track): what recording one more reads, late in a quarter a dozen or more weeks."""
        conn = await self.session.connection()
        return (await conn.execute(_CHECK_IN_ROWS, {"key_result_id": kr_id})).all()

    async def week_values(self, kr_ids: Sequence[str]) -> dict[str, list[tuple[str, float]]]:
        """key result id → its check-ins' (week, value), by week."""
        found: dict[str, list[tuple[str, float]]] = {k: [] for k in kr_ids}
        if not kr_ids:
            return found
        rows = await self.session.execute(
            select(CheckIn.key_result_id, CheckIn.week, CheckIn.value)
            .where(CheckIn.key_result_id.in_(list(kr_ids)))
            .order_by(CheckIn.key_result_id, CheckIn.week)
        )
        for kr_id, week, value in rows.all():
            found[kr_id].append((week, value))
        return found

    async def count_key_results(self, cycle_id: str) -> int:
        query = select(func.count()).select_from(KeyResult).where(KeyResult.cycle_id == cycle_id)
        return int((await self.session.execute(query)).scalar_one())

    # --- risk rule sets -------------------------------------------------------------------
    async def rule_set(self, version: int = 0) -> RiskRuleSet | None:
        """A version of the risk rule set; 0: the one in force (the newest)."""
        query = select(RiskRuleSet)
        if version:
            query = query.where(RiskRuleSet.version == version)
        query = query.order_by(RiskRuleSet.version.desc()).limit(1)
        return (await self.session.scalars(query)).first()

    async def rule_sets(self, limit: int, offset: int = 0) -> list[RiskRuleSet]:
        query = select(RiskRuleSet).order_by(RiskRuleSet.version.desc())
        return list((await self.session.scalars(query.limit(limit).offset(offset))).all())

    async def first_recorded(self, kr_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """key result id → week → when its check-in was first recorded (revision history)."""
        found: dict[str, dict[str, Any]] = {k: {} for k in kr_ids}
        if not kr_ids:
            return found
        rows = await self.session.execute(
            select(
                CheckInVersion.key_result_id,
                CheckInVersion.week,
                func.min(CheckInVersion.recorded_at),
            )
            .where(CheckInVersion.key_result_id.in_(list(kr_ids)))
            .group_by(CheckInVersion.key_result_id, CheckInVersion.week)
        )
        for kr_id, week, at in rows.all():
            found[kr_id][week] = at
        return found

    async def check_in_history(
        self, kr_id: str, week: str, limit: int, offset: int
    ) -> list[CheckInVersion]:
        query = select(CheckInVersion).where(CheckInVersion.key_result_id == kr_id)
        if week:
            query = query.where(CheckInVersion.week == week)
        query = query.order_by(
            CheckInVersion.recorded_at, CheckInVersion.week, CheckInVersion.revision
        )
        return list((await self.session.scalars(query.limit(limit).offset(offset))).all())

    async def checklist(self, department_id: str) -> Checklist | None:
        return await self.session.get(Checklist, department_id)

    # --- blockers addressed to departments ---------------------------------------------
    async def existing_blocker_ids(self, ids: Sequence[str]) -> set[str]:
        rows = await self.session.execute(
            select(DepartmentBlocker.id).where(DepartmentBlocker.id.in_(ids))
        )
        return set(rows.scalars())

    async def blocker(self, blocker_id: str, *, lock: bool = False) -> DepartmentBlocker | None:
        return await self.session.get(DepartmentBlocker, blocker_id, with_for_update=lock or None)

    async def blockers(
        self, department_id: str, include_resolved: bool, limit: int, offset: int
    ) -> list[DepartmentBlocker]:
        query = select(DepartmentBlocker).where(DepartmentBlocker.department_id == department_id)
        if not include_resolved:
            query = query.where(DepartmentBlocker.resolved_at.is_(None))
        query = query.order_by(DepartmentBlocker.created_at, DepartmentBlocker.id)
        return list((await self.session.scalars(query.limit(limit).offset(offset))).all())

    # --- approvals and revisions --------------------------------------------------------
    async def approval(self, approval_id: str, *, lock: bool = False) -> Approval | None:
        return await self.session.get(Approval, approval_id, with_for_update=lock or None)

    async def approvers(self, approval_ids: Sequence[str]) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {a: [] for a in approval_ids}
        if not approval_ids:
            return result
        rows = await self.session.scalars(
            select(ApprovalApprover)
            .where(ApprovalApprover.approval_id.in_(list(approval_ids)))
            .order_by(ApprovalApprover.approval_id, ApprovalApprover.position)
        )
        for row in rows.all():
            result[row.approval_id].append(row.employee_id)
        return result

    async def approvals(
        self,
        limit: int,
        offset: int,
        *,
        approver_id: str = "",
        employee_id: str = "",
        cycle_id: str = "",
        status: str = "",
    ) -> list[Approval]:
        query = select(Approval).order_by(Approval.created_at, Approval.id)
        if approver_id:
            query = query.where(
                Approval.id.in_(
                    select(ApprovalApprover.approval_id).where(
                        ApprovalApprover.employee_id == approver_id
                    )
                )
            )
        if employee_id:
            query = query.where(Approval.employee_id == employee_id)
        if cycle_id:
            query = query.where(Approval.cycle_id == cycle_id)
        if status:
            query = query.where(Approval.status == status)
        return list((await self.session.scalars(query.limit(limit).offset(offset))).all())

    async def pending_plan(self, cycle_id: str, employee_id: str) -> Approval | None:
        return await self.session.scalar(
            select(Approval).where(
                Approval.cycle_id == cycle_id,
                Approval.employee_id == employee_id,
                Approval.kind == "plan",
                Approval.status == "pending",
            )
        )

    async def revision(self, revision_id: str, *, lock: bool = False) -> Revision | None:
        return await self.session.get(Revision, revision_id, with_for_update=lock or None)

    async def revisions(self, kr_id: str, limit: int, offset: int) -> list[Revision]:
        query = (
            select(Revision)
            .where(Revision.key_result_id == kr_id)
            .order_by(Revision.requested_at, Revision.id)
        )
        return list((await self.session.scalars(query.limit(limit).offset(offset))).all())

    async def pending_revision(self, kr_id: str) -> Revision | None:
        return await self.session.scalar(
            select(Revision).where(Revision.key_result_id == kr_id, Revision.status == "pending")
        )

    # --- dashboard read models (services/goals/handlers/dashboards.py) -------------------
    async def dashboard_figures(
        self,
        cycle: Cycle,
        department_ids: Sequence[str] | None,
        owner_ids: Sequence[str] | None = None,
    ) -> tuple[dict[str, dashboards.Figures], list[tuple[str, str, int]]]:
        """Dashboard figures per department computed from the goals tables, in three grouped
        queries: of the given departments (all when None), or only of the key results and
        objectives owned by ``owner_ids``; and (department, week, check-ins). Counted as in
        the cycle's scores (domain.in_scores)."""
        counted: list[ColumnElement[bool]] = [Objective.cycle_id == cycle.id]
        if cycle.status == ObjectiveStatus.CLOSED:
            counted.append(Objective.status == ObjectiveStatus.CLOSED)
        risk = KeyResult.risk_status

        def tally(condition: ColumnElement[bool]) -> Any:
            return func.sum(sqlalchemy.case((condition, 1), else_=0))

        bands = [tally(KeyResult.score < edge) for edge in dashboards.SCORE_BAND_EDGES]
        # An open blocker of the key result naming another department: red when at risk.
        named_elsewhere = (
            select(DepartmentBlocker.id)
            .where(
                DepartmentBlocker.key_result_id == KeyResult.id,
                DepartmentBlocker.resolved_at.is_(None),
                DepartmentBlocker.department_id != KeyResult.department_id,
            )
            .exists()
        )
        krs = (
            select(
                KeyResult.department_id,
                func.count(),
                func.sum(KeyResult.score),
                tally(KeyResult.score >= dashboards.COMPLETED),
                tally(risk == Risk.BEHIND),
                tally(risk == Risk.AT_RISK),
                tally(or_(risk == Risk.STALE, KeyResult.machine_stale.is_(True))),
                tally(sqlalchemy.and_(risk == Risk.AT_RISK, named_elsewhere)),
                func.sum(KeyResult.weight * KeyResult.score),
                func.sum(KeyResult.weight),
                *bands,
            )
            .join(Objective, Objective.id == KeyResult.objective_id)
            .where(KeyResult.cycle_id == cycle.id, *counted)
            .group_by(KeyResult.department_id)
        )
        alignable, aligned = alignment_conditions()
        objectives = (
            select(Objective.department_id, func.count(), tally(alignable), tally(aligned))
            .where(*counted)
            .group_by(Objective.department_id)
        )
        weeks = (
            select(KeyResult.department_id, CheckIn.week, func.count())
            .join(KeyResult, KeyResult.id == CheckIn.key_result_id)
            .join(Objective, Objective.id == KeyResult.objective_id)
            .where(KeyResult.cycle_id == cycle.id, *counted)
            .group_by(KeyResult.department_id, CheckIn.week)
        )
        if department_ids is not None:
            wanted = list(department_ids)
            krs = krs.where(KeyResult.department_id.in_(wanted))
            objectives = objectives.where(Objective.department_id.in_(wanted))
            weeks = weeks.where(KeyResult.department_id.in_(wanted))
        if owner_ids is not None:
            owners = list(owner_ids)
            krs = krs.where(KeyResult.owner_id.in_(owners))
            objectives = objectives.where(Objective.owner_id.in_(owners))
            weeks = weeks.where(KeyResult.owner_id.in_(owners))
        found: dict[str, dashboards.Figures] = {}
        for dep, n, total, done, behind, at_risk, stale, red, weighted, weights, *below in (
            await self.session.execute(krs)
        ).all():
            f = found.setdefault(dep, dashboards.Figures())
            f.key_results, f.score_sum, f.completed = int(n), float(total or 0.0), int(done or 0)
            f.behind, f.at_risk, f.stale = int(behind or 0), int(at_risk or 0), int(stale or 0)
            f.red = int(red or 0)
            f.weighted_score_sum, f.weight_sum = float(weighted or 0.0), int(weights or 0)
            f.score_bands = dashboards.bands_from_cumulative([int(b or 0) for b in below], int(n))
        for dep, n, can, aligned in (await self.session.execute(objectives)).all():
            f = found.setdefault(dep, dashboards.Figures())
            f.objectives, f.alignable_objectives = int(n), int(can or 0)
            f.aligned_objectives = int(aligned or 0)
        week_rows = [
            (dep, week, int(n)) for dep, week, n in (await self.session.execute(weeks)).all()
        ]
        return found, week_rows

    async def refresh_dashboards(self, cycle: Cycle, department_ids: Sequence[str] | None) -> int:
        """Recompute the dashboard rows of a cycle's departments (all when ``department_ids``
        is None) from the goals tables; returns the departments written."""
        found, weeks = await self.dashboard_figures(cycle, department_ids)
        for table in (DashboardDepartment, DashboardWeek):
            gone = delete(table).where(table.cycle_id == cycle.id)
            if department_ids is not None:
                gone = gone.where(table.department_id.in_(list(department_ids)))
            await self.session.execute(gone)
        if found:
            await self.session.execute(
                sqlalchemy.insert(DashboardDepartment),
                [
                    {"cycle_id": cycle.id, "department_id": dep, **dataclasses.asdict(f)}
                    for dep, f in found.items()
                ],
            )
        if weeks:
            await self.session.execute(
                sqlalchemy.insert(DashboardWeek),
                [
                    {"cycle_id": cycle.id, "department_id": d, "week": w, "check_ins": n}
                    for d, w, n in weeks
                ],
            )
        return len(found)

    async def dashboard_rows(
        self, cycle_id: str, department_ids: Sequence[str] | None
    ) -> tuple[list[tuple[Any, ...]], list[tuple[str, int]]]:
        """The read model's rows of a cycle (all departments when ``department_ids`` is None),
        by department: plain tuples ``(department_id, *figures row)`` in
        ``dashboards.FIELDS`` order (no ORM objects or named rows for what is only read, ~550
        rows for the organisation at 10,000 people); and (week, check-ins) summed over those
        departments."""
        columns = [getattr(DashboardDepartment, name) for name in dashboards.FIELDS]
        departments = select(DashboardDepartment.department_id, *columns).where(
            DashboardDepartment.cycle_id == cycle_id
        )
        weeks = (
            select(DashboardWeek.week, func.sum(DashboardWeek.check_ins))
            .where(DashboardWeek.cycle_id == cycle_id)
            .group_by(DashboardWeek.week)
            .order_by(DashboardWeek.week)
        )
        if department_ids is not None:
            ids = list(department_ids)
            departments = departments.where(DashboardDepartment.department_id.in_(ids))
            weeks = weeks.where(DashboardWeek.department_id.in_(ids))
        found = [
            tuple(row)
            for row in await self.session.execute(
                departments.order_by(DashboardDepartment.department_id)
            )
        ]
        return found, [(w, int(n)) for w, n in (await self.session.execute(weeks)).all()]

    async def dashboard_score_sums(
        self, cycle_id: str, department_ids: Sequence[str] | None
    ) -> list[tuple[str, int, float, int, float, int, int, int]]:
        """The read model's sums a cycle's scores' figures come from, by department (all when
        ``department_ids`` is None): (department, key results, sum of weight x score, sum of
        weights, sum of scores, objectives, alignable, aligned)."""
        d = DashboardDepartment
        query = select(
            d.department_id,
            d.key_results,
            d.weighted_score_sum,
            d.weight_sum,
            d.score_sum,
            d.objectives,
            d.alignable_objectives,
            d.aligned_objectives,
        ).where(d.cycle_id == cycle_id)
        if department_ids is not None:
            query = query.where(d.department_id.in_(list(department_ids)))
        return [
            (dep, int(n), float(w), int(ws), float(s), int(o), int(can), int(done))
            for dep, n, w, ws, s, o, can, done in await self.session.execute(
                query.order_by(d.department_id)
            )
        ]

    async def cycle_ids(self) -> list[str]:
        return list((await self.session.scalars(select(Cycle.id).order_by(Cycle.id))).all())

    # --- exports (services/goals/handlers/exports.py) ----------------------------------------
    async def export_rows(
        self, kind: str, cycle_id: str, department_ids: Sequence[str], limit: int, offset: int
    ) -> tuple[int, list[Any]]:
        """(total, one page) of a cycle's objectives, key results or check-ins (with their key
        result), in a stable order, optionally of some departments only."""
        model: Any
        query: Any
        order: tuple[Any, ...]
        if kind == "objectives":
            query = select(Objective).where(Objective.cycle_id == cycle_id)
            model, order = Objective, (Objective.created_at, Objective.id)
        elif kind == "key_results":
            query = select(KeyResult).where(KeyResult.cycle_id == cycle_id)
            model, order = KeyResult, (KeyResult.created_at, KeyResult.id)
        else:
            query = (
                select(CheckIn, KeyResult)
                .join(KeyResult, KeyResult.id == CheckIn.key_result_id)
                .where(KeyResult.cycle_id == cycle_id)
            )
            model, order = KeyResult, (CheckIn.week, KeyResult.id)
        if department_ids:
            query = query.where(model.department_id.in_(list(department_ids)))
        total = int(
            (
                await self.session.execute(select(func.count()).select_from(query.subquery()))
            ).scalar_one()
        )
        page = query.order_by(*order).limit(limit).offset(offset)
        if kind == "check_ins":
            return total, [tuple(r) for r in (await self.session.execute(page)).all()]
        return total, list((await self.session.scalars(page)).all())

    async def at_risk(
        self,
        cycle_id: str,
        department_ids: Sequence[str] | None,
        owner_ids: Sequence[str],
        limit: int,
        offset: int,
    ) -> list[tuple[KeyResult, CheckIn | None]]:
        """One page of a cycle's key results at risk in ``department_ids`` (``None``: every
        department) or owned by ``owner_ids`` (by department, then id), each with its latest
        check-in."""
        query = select(KeyResult).where(
            KeyResult.cycle_id == cycle_id, KeyResult.risk_status == Risk.AT_RISK
        )
        if department_ids is not None:
            query = query.where(
                or_(
                    KeyResult.department_id.in_(list(department_ids)),
                    KeyResult.owner_id.in_(list(owner_ids)),
                )
            )
        query = query.order_by(KeyResult.department_id, KeyResult.id).limit(limit).offset(offset)
        krs = list((await self.session.scalars(query)).all())
        latest: dict[str, CheckIn] = {}
        if krs:
            newest = (
                select(CheckIn.key_result_id, func.max(CheckIn.week).label("week"))
                .where(CheckIn.key_result_id.in_([k.id for k in krs]))
                .group_by(CheckIn.key_result_id)
                .subquery()
            )
            rows = await self.session.scalars(
                select(CheckIn).join(
                    newest,
                    (newest.c.key_result_id == CheckIn.key_result_id)
                    & (newest.c.week == CheckIn.week),
                )
            )
            latest = {c.key_result_id: c for c in rows.all()}
        return [(k, latest.get(k.id)) for k in krs]
