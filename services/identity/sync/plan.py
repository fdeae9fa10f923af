"""Validate a source snapshot row by row and diff it against the current org (pure, no I/O).

One module on purpose (over 400 lines): the planner is a single pass over departments and
people whose rules feed each other (a rejected department rejects its people, a rejected
manager cascades to reports, loops reject everyone on them); split, the rules below would
be read in several places.

Rules (docs/org-sync.md has the user-facing version):

Departments
- Matched by key (= Stride external_id), else by (parent, name), which links the existing
  department to the key. Unmatched ones are created, parents first.
- Rejected: empty key or name, duplicate key, unknown parent, a loop of parents, a parent
  that was rejected (unless that parent exists in Stride), a name already used under the same
  parent. Departments missing from the source are left alone (never deleted).

People (matched by employee number, upper and lower case counting as one: ``adm-1`` in the
source is Stride's ``ADM-1``, as at sign-in)
- A row is rejected, and nothing of it is applied, for: an invalid field (number, name,
  email, mobile, title, grade, hire date), an unknown or rejected department, a duplicate
  employee number (every row with that number), a duplicate e-mail (every active row with
  it: ``duplicate_email``), an e-mail another active person keeps (``email_taken``; e-mails
  compare like logins), a duplicate or taken source id, a manager
  that is not in the source (``unknown_manager``), who left (``inactive_manager``), who is the
  person themself, or who is part of a loop in the management chain (every person on the
  loop is rejected with ``manager_cycle``).
- A person whose manager's row was rejected keeps that manager when the manager exists and
  is active in Stride (the manager's own record just stays as it was); otherwise the person
  is rejected too (``manager_rejected``). This repeats until nothing changes.
- A rejected person is never deactivated: a bad row means "we do not know", not "left".
- Valid rows: created (new and active), moved (department or manager changed), updated
  (other profile fields, or a rehire), deactivated (inactive in the source), unchanged.
- Active people in Stride whose number is not in the source at all are deactivated (status
  left, history kept, external id released). Nobody is hard-deleted.
- Admins and the person who started the sync are never deactivated by it (``kept``, with
  the reason): importing HR's spreadsheet must not lock out the admin who set Stride up.
  They stay valid managers for the source's rows.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from services.common.errors import DomainError
from services.identity import domain
from services.identity.sync.data import (
    DEPARTMENT_CREATE,
    DEPARTMENT_UPDATE,
    EMPLOYEE_CREATE,
    EMPLOYEE_DEACTIVATE,
    EMPLOYEE_UPDATE,
    OPTIONAL_FIELDS,
    CurrentOrg,
    Operation,
    OrgEmployee,
    Plan,
    ReportRow,
    Snapshot,
    SourceDepartment,
    SourcePerson,
)
from workflows.sync_counts import SyncCounts

MAX_EXTERNAL_ID = 128
MAX_KEY = 128
ADMIN_ROLE = "admin"
# Share of the active people a sync may deactivate before it is refused (mass_deactivation);
# identity's setting org_sync_max_deactivation_share overrides it.
DEFAULT_MAX_DEACTIVATION_SHARE = 0.2
# Columns of an employee a sync writes (roles and credentials are Stride's own).
EMPLOYEE_COLUMNS: tuple[str, ...] = (
    "employee_number",
    "name",
    *OPTIONAL_FIELDS,
    "department_id",
    "manager_id",
    "status",
    "external_id",
)
_MOVE_FIELDS = frozenset({"department_id", "manager_id"})


@dataclass(frozen=True)
class Reason:
    code: str
    message: str


def order_parents_first(
    nodes: Iterable[str], parent: Callable[[str], str | None]
) -> tuple[list[str], set[str]]:
    """Every node with its parent before it, and the nodes that sit on a loop.

    ``parent(n)`` is None for a root; otherwise it must be one of ``nodes``. Iterative, so a
    long chain in bad data cannot exhaust the stack. Nodes below a loop come after it.
    """
    state: dict[str, int] = {}  # 1: on the path being walked, 2: placed
    order: list[str] = []
    on_loop: set[str] = set()
    for start in nodes:
        path: list[str] = []
        node: str | None = start
        while node is not None and node not in state:
            state[node] = 1
            path.append(node)
            node = parent(node)
        if node is not None and state[node] == 1:
            on_loop.update(path[path.index(node) :])
        for placed in reversed(path):
            state[placed] = 2
            order.append(placed)
    return order, on_loop


def loops(on_loop: set[str], parent: Callable[[str], str | None]) -> list[list[str]]:
    """The loops among ``on_loop`` (as found by :func:`order_parents_first`), each from its
    smallest member upwards."""
    seen: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(on_loop):
        if start in seen:
            continue
        loop = [start]
        node = parent(start)
        while node is not None and node != start and node not in seen and len(loop) <= len(on_loop):
            loop.append(node)
            node = parent(node)
        seen.update(loop)
        found.append(loop)
    return found


def _reason(err: DomainError) -> Reason:
    return Reason(err.code, err.message)


KEPT_ADMIN = Reason("admin_kept", "an admin is never deactivated by a sync")
KEPT_REQUESTER = Reason("requester_kept", "the person running the sync is never deactivated by it")


def kept_reason(employee: OrgEmployee, requested_by: str = "") -> Reason | None:
    """Why a sync must leave ``employee`` active although the source says they left (None:
    nothing protects them)."""
    if ADMIN_ROLE in employee.roles:
        return KEPT_ADMIN
    if requested_by and employee.id == requested_by:
        return KEPT_REQUESTER
    return None


@dataclass
class _Row:
    """A person row after field checks."""

    source: SourcePerson
    number: str
    values: dict[str, str | None]
    department_id: str | None
    manager: str
    reason: Reason | None = None


class _Planner:
    def __init__(
        self, snapshot: Snapshot, org: CurrentOrg, new_id: Callable[[], str], requested_by: str
    ) -> None:
        self.snapshot = snapshot
        self.org = org
        self.new_id = new_id
        # Active people no sync deactivates (admins, the person running it), by number.
        self.kept: dict[str, Reason] = {}
        for e in org.employees:
            reason = kept_reason(e, requested_by) if e.active else None
            if reason is not None:
                self.kept[e.employee_number] = reason
        self.counts = SyncCounts()
        self.rows: list[ReportRow] = []
        self.department_ops: list[Operation] = []
        self.deactivations: list[Operation] = []
        self.people_ops: dict[str, Operation] = {}
        # departments
        self.dept_by_id = {d.id: d for d in org.departments}
        self.dept_by_ext = {d.external_id: d for d in org.departments if d.external_id}
        self.dept_id_for_key: dict[str, str] = {}
        self.source_dept_keys: set[str] = set()
        # Where every department sits once the plan is applied (parent, name), for name and
        # loop checks.
        self._final_names: dict[str, tuple[str | None, str]] = {
            d.id: (d.parent_id, d.name) for d in org.departments
        }
        self._final_parent: dict[str, str | None] = {d.id: d.parent_id for d in org.departments}
        self._name_index: dict[tuple[str | None, str], str] = {
            names: dep_id for dep_id, names in self._final_names.items()
        }
        self._matched: set[str] = set()
        # people
        self.emp_by_number = {e.employee_number: e for e in org.employees}
        # Numbers compare as logins do: the source's spelling becomes Stride's (or, for new
        # people, the first spelling in the source).
        self._spelling: dict[str, str] = {}
        for e in org.employees:
            self._spelling.setdefault(domain.login_key(e.employee_number), e.employee_number)
        self.emp_by_id = {e.id: e for e in org.employees}
        self.emp_by_ext = {e.external_id: e for e in org.employees if e.external_id}

    # --- departments --------------------------------------------------------------------
    def _name_holder(self, parent_id: str | None, name: str) -> str | None:
        return self._name_index.get((parent_id, name))

    def _set_name(self, dep_id: str, parent_id: str | None, name: str) -> None:
        old = self._final_names.get(dep_id)
        if old is not None and self._name_index.get(old) == dep_id:
            del self._name_index[old]
        self._final_names[dep_id] = (parent_id, name)
        self._name_index[(parent_id, name)] = dep_id
        self._final_parent[dep_id] = parent_id

    def plan_departments(self) -> None:
        sources = self.snapshot.departments
        keys = Counter(d.key.strip() for d in sources)
        self.source_dept_keys = {k for k in keys if k}
        valid: dict[str, SourceDepartment] = {}
        names: dict[str, str] = {}
        for dep in sources:
            key = dep.key.strip()
            reason: Reason | None = None
            if not key:
                reason = Reason("department_key_required", "the department has no key")
            elif len(key) > MAX_KEY:
                reason = Reason("department_key_too_long", f"key longer than {MAX_KEY}")
            elif keys[key] > 1:
                reason = Reason("duplicate_department_key", f"key {key!r} is used more than once")
            else:
                try:
                    names[key] = domain.clean_name(dep.name)
                except DomainError as err:
                    reason = _reason(err)
            if reason is not None:
                self._reject_department(dep.row, key, reason)
            else:
                valid[key] = dep

        def parent_of(key: str) -> str | None:
            parent = valid[key].parent_key.strip()
            return parent if parent in valid else None

        order, on_loop = order_parents_first(valid, parent_of)
        for key in order:
            dep = valid[key]
            if key in on_loop:
                self._reject_department(
                    dep.row, key, Reason("department_cycle", "its parents form a loop")
                )
                continue
            parent_key = dep.parent_key.strip()
            parent_id: str | None = None
            if parent_key:
                if parent_key in self.dept_id_for_key:
                    parent_id = self.dept_id_for_key[parent_key]
                elif parent_key in self.dept_by_ext:
                    parent_id = self.dept_by_ext[parent_key].id
                else:
                    code = (
                        "parent_department_rejected"
                        if parent_key in self.source_dept_keys
                        else "unknown_parent_department"
                    )
                    self._reject_department(
                        dep.row, key, Reason(code, f"parent department {parent_key!r}")
                    )
                    continue
            self._place_department(dep.row, key, names[key], parent_id)
        self._sequence_departments()

    def _place_department(self, row: int, key: str, name: str, parent_id: str | None) -> None:
        taken = Reason("department_name_taken", f"{name!r} exists there already")
        existing = self.dept_by_ext.get(key)
        if existing is None:
            candidate = self._name_holder(parent_id, name)
            current = self.dept_by_id.get(candidate) if candidate else None
            if current is not None and candidate not in self._matched:
                claimed = bool(current.external_id) and current.external_id in self.source_dept_keys
                if not claimed:
                    existing = current  # same parent and name: link it to the key
        if existing is None:
            if self._name_holder(parent_id, name) is not None:
                self._reject_department(row, key, taken)
                return
            dep_id = self.new_id()
            self.dept_id_for_key[key] = dep_id
            self._set_name(dep_id, parent_id, name)
            created = {"name": name, "parent_id": parent_id, "external_id": key}
            self.department_ops.append(Operation(DEPARTMENT_CREATE, dep_id, key, created))
            self.counts.departments_created += 1
            self.rows.append(ReportRow(row, "department", key, "created"))
            return
        self._matched.add(existing.id)
        # Even when its update is rejected below, the department exists: people and child
        # departments of this key belong to it.
        self.dept_id_for_key[key] = existing.id
        values: dict[str, str | None] = {}
        if existing.name != name:
            values["name"] = name
        if existing.parent_id != parent_id:
            values["parent_id"] = parent_id
        if values:
            holder = self._name_holder(parent_id, name)
            if holder is not None and holder != existing.id:
                self._reject_department(row, key, taken)
                return
            self._set_name(existing.id, parent_id, name)
        if existing.external_id != key:
            values["external_id"] = key
            self.counts.departments_linked += 1
        if not values:
            self.counts.departments_unchanged += 1
            return
        changed = tuple(k for k in ("name", "parent_id", "external_id") if k in values)
        self.department_ops.append(Operation(DEPARTMENT_UPDATE, existing.id, key, values))
        if "name" in values or "parent_id" in values:
            self.counts.departments_updated += 1
            action = "updated"
        else:
            self.counts.departments_unchanged += 1
            action = "linked"
        self.rows.append(ReportRow(row, "department", key, action, changed_fields=changed))

    def _sequence_departments(self) -> None:
        """Order the department writes so that every step is valid on its own: the parent
        exists, the (parent, name) is free at that moment (a rename frees its old name for a
        later create) and no move puts a department below itself (also through departments
        the source does not list). Writes that can never become valid (a move into a loop, a
        swap of names, anything below those) are rejected instead."""
        parent = {d.id: d.parent_id for d in self.org.departments}
        names = {d.id: d.name for d in self.org.departments}
        slots = {(d.parent_id, d.name): d.id for d in self.org.departments}

        def target(op: Operation) -> tuple[str | None, str]:
            p = op.values["parent_id"] if "parent_id" in op.values else parent.get(op.id)
            return p, str(op.values.get("name") or names.get(op.id, ""))

        def below_itself(dep_id: str, new_parent: str | None) -> bool:
            seen: set[str] = set()
            node = new_parent
            while node is not None and node not in seen:
                if node == dep_id:
                    return True
                seen.add(node)
                node = parent.get(node)
            return False

        def ready(op: Operation) -> bool:
            new_parent, name = target(op)
            if new_parent is not None and new_parent not in parent:
                return False
            if slots.get((new_parent, name), op.id) != op.id:
                return False
            return op.kind == DEPARTMENT_CREATE or not below_itself(op.id, new_parent)

        pending = list(self.department_ops)
        done: list[Operation] = []
        progressed = True
        while pending and progressed:
            progressed = False
            waiting: list[Operation] = []
            for op in pending:
                if not ready(op):
                    waiting.append(op)
                    continue
                new_parent, name = target(op)
                if op.id in names and slots.get((parent[op.id], names[op.id])) == op.id:
                    del slots[(parent[op.id], names[op.id])]
                parent[op.id], names[op.id] = new_parent, name
                slots[(new_parent, name)] = op.id
                done.append(op)
                progressed = True
            pending = waiting
        self.department_ops = done
        for op in pending:
            new_parent, name = target(op)
            if new_parent is not None and new_parent not in parent:
                reason = Reason("parent_department_rejected", "its parent department was rejected")
            elif slots.get((new_parent, name), op.id) != op.id:
                reason = Reason("department_name_taken", f"{name!r} exists there already")
            else:
                reason = Reason("department_cycle", "the move would put it below itself")
            if op.kind == DEPARTMENT_CREATE:
                self.counts.departments_created -= 1
                self.dept_id_for_key.pop(op.key, None)  # its people are rejected too
            elif "name" in op.values or "parent_id" in op.values:
                self.counts.departments_updated -= 1
            else:  # pragma: no cover - a link alone is always ready
                self.counts.departments_unchanged -= 1
            if "external_id" in op.values and op.kind == DEPARTMENT_UPDATE:
                self.counts.departments_linked -= 1
            self.rows = [r for r in self.rows if not (r.kind == "department" and r.key == op.key)]
            self._reject_department(0, op.key, reason)

    def _reject_department(self, row: int, key: str, reason: Reason) -> None:
        self.counts.departments_rejected += 1
        self.rows.append(ReportRow(row, "department", key, "rejected", reason.code, reason.message))

    # --- people -------------------------------------------------------------------------
    def _department_for(self, key: str) -> tuple[str | None, Reason | None]:
        key = key.strip()
        if not key:
            return None, Reason("department_required", "no department given")
        if key in self.dept_id_for_key:
            return self.dept_id_for_key[key], None
        if key in self.dept_by_ext:
            return self.dept_by_ext[key].id, None
        if key in self.source_dept_keys:
            return None, Reason("department_rejected", f"department {key!r} was rejected")
        return None, Reason("unknown_department", f"department {key!r} is unknown")

    def _check_row(self, person: SourcePerson) -> _Row:
        row = _Row(
            source=person,
            number=person.employee_number.strip(),
            values={},
            department_id=None,
            manager=person.manager_employee_number.strip(),
        )
        if person.problem:
            row.reason = Reason("invalid_row", person.problem)
            return row
        try:
            row.number = self._canonical(domain.clean_employee_number(person.employee_number))
        except DomainError as err:
            row.reason = _reason(err)
            return row
        if row.manager:
            row.manager = self._canonical(row.manager)
        if not person.active:
            return row  # a leaver only needs to be identified
        if row.manager == row.number:
            row.reason = Reason("manager_is_self", "the person is their own manager")
            return row
        provided = self.snapshot.provided_fields
        values = row.values
        try:
            values["name"] = domain.clean_name(person.name)
            if "email" in provided:
                values["email"] = domain.clean_email(person.email)
            if "mobile" in provided:
                values["mobile"] = domain.clean_mobile(person.mobile)
            if "title" in provided:
                values["title"] = domain.clean_optional(person.title, "title", 200)
            if "grade" in provided:
                values["grade"] = domain.clean_optional(person.grade, "grade", 32)
            if "hire_date" in provided:
                hired = domain.clean_hire_date(person.hire_date)
                values["hire_date"] = hired.isoformat() if hired else None
        except DomainError as err:
            row.reason = _reason(err)
            return row
        if len(person.external_id.strip()) > MAX_EXTERNAL_ID:
            row.reason = Reason("external_id_too_long", f"source id longer than {MAX_EXTERNAL_ID}")
            return row
        row.department_id, row.reason = self._department_for(person.department_key)
        return row

    def _canonical(self, number: str) -> str:
        if number in self.emp_by_number:
            return number
        return self._spelling.setdefault(domain.login_key(number), number)

    def _email_of(self, r: _Row) -> str | None:
        """The e-mail the row's person has once the plan is applied."""
        if "email" in self.snapshot.provided_fields:
            return r.values.get("email")
        current = self.emp_by_number.get(r.number)
        return current.email if current is not None else None

    def _check_emails(self, rows: list[_Row], leaving: set[str]) -> None:
        """E-mails are one active person's each (compared as logins): rows sharing one are
        rejected, and so is a row taking the e-mail of someone who stays active (also when
        that person changes theirs in the same sync: the next sync applies it)."""
        holders: dict[str, str] = {}
        for e in self.org.employees:
            if e.active and e.email and e.employee_number not in leaving:
                holders.setdefault(domain.login_key(e.email), e.employee_number)
        wanted: list[tuple[_Row, str]] = []
        for r in rows:
            email = self._email_of(r) if r.reason is None and r.source.active else None
            if email:
                wanted.append((r, email))
        counts = Counter(domain.login_key(email) for _, email in wanted)
        for r, email in wanted:
            key = domain.login_key(email)
            if counts[key] > 1:
                r.reason = Reason(
                    "duplicate_email",
                    f"e-mail {email!r} appears {counts[key]} times "
                    "(upper and lower case count as one)",
                )
            elif holders.get(key, r.number) != r.number:
                r.reason = Reason(
                    "email_taken", f"e-mail {email!r} belongs to employee {holders[key]!r}"
                )

    def plan_people(self) -> None:
        for source in self.snapshot.people:  # a row's own spelling before its reports' ones
            if domain.EMPLOYEE_NUMBER.match(source.employee_number.strip()):
                self._canonical(source.employee_number.strip())
        rows = [self._check_row(p) for p in self.snapshot.people]
        numbers = Counter(r.number for r in rows if r.number)
        duplicates = {n for n, c in numbers.items() if c > 1}
        for r in rows:
            if r.reason is None and r.number in duplicates:
                r.reason = Reason(
                    "duplicate_employee_number", f"{r.number!r} appears {numbers[r.number]} times"
                )
        by_number = {r.number: r for r in rows if r.number and r.number not in duplicates}
        externals = Counter(r.source.external_id.strip() for r in rows if r.source.external_id)
        for r in rows:
            ext = r.source.external_id.strip()
            if r.reason is None and ext and externals[ext] > 1:
                r.reason = Reason("duplicate_external_id", f"source id {ext!r} is used twice")

        def ok(number: str) -> bool:
            r = by_number.get(number)
            return r is not None and r.reason is None

        def existing_active(number: str) -> OrgEmployee | None:
            found = self.emp_by_number.get(number)
            return found if found is not None and found.active else None

        def manager_problem(r: _Row) -> Reason | None:
            m = r.manager
            target = by_number.get(m)
            if target is None and m not in duplicates:
                if m in self.kept:
                    return None  # not in the source, but stays (an admin, the requester)
                return Reason("unknown_manager", f"manager {m!r} is not in the source")
            if target is not None and target.reason is None:
                if not target.source.active and m not in self.kept:
                    return Reason("inactive_manager", f"manager {m!r} has left")
                return None
            if existing_active(m) is None:
                return Reason("manager_rejected", f"the row of manager {m!r} was rejected")
            return None  # keeps the manager as they are in Stride

        def effective_manager(number: str) -> str | None:
            """The manager's number once the plan is applied."""
            r = by_number.get(number)
            if r is not None and r.reason is None and r.source.active:
                return r.manager or None
            # Rejected rows, leavers and people missing from the source keep their manager
            # (a deactivation changes the status only).
            current = self.emp_by_number.get(number)
            if current is None or current.manager_id is None:
                return None
            above = self.emp_by_id.get(current.manager_id)
            return above.employee_number if above is not None else None

        # Source ids: taken by someone who stays is a rejection; by someone who leaves in
        # this plan it is fine (deactivation releases it, and deactivations go first).
        leaving = {
            e.employee_number
            for e in self.org.employees
            if e.active
            and e.employee_number not in by_number
            and e.employee_number not in duplicates
        } | {n for n, r in by_number.items() if r.reason is None and not r.source.active}
        leaving -= self.kept.keys()
        for r in rows:
            ext = r.source.external_id.strip()
            holder = self.emp_by_ext.get(ext) if ext else None
            if (
                r.reason is None
                and r.source.active
                and holder is not None
                and holder.employee_number != r.number
                and holder.employee_number not in leaving
            ):
                r.reason = Reason(
                    "external_id_taken", f"source id {ext!r} belongs to another person"
                )
        self._check_emails(rows, leaving)

        nodes = list(dict.fromkeys([*by_number, *duplicates, *self.emp_by_number]))
        node_set = set(nodes)

        def parent_of(number: str) -> str | None:
            above = effective_manager(number)
            return above if above in node_set else None

        # Until nothing changes: reject bad managers (parents first, so a rejection reaches
        # the reports in the same pass), then every person on a loop of the chain.
        while True:
            changed = False
            order, on_loop = order_parents_first(nodes, parent_of)
            for loop in loops(on_loop, parent_of):
                message = "the management chain loops: " + " → ".join([*loop, loop[0]])
                for number in loop:
                    if ok(number):
                        by_number[number].reason = Reason("manager_cycle", message)
                        changed = True
            for number in order:
                person = by_number.get(number)
                if person is None or person.reason is not None:
                    continue
                if person.source.active and person.manager:
                    problem = manager_problem(person)
                    if problem is not None:
                        person.reason = problem
                        changed = True
            if not changed:
                break
        self._finish_people(rows, by_number, duplicates, order)

    def _finish_people(
        self,
        rows: list[_Row],
        by_number: dict[str, _Row],
        duplicates: set[str],
        order: list[str],
    ) -> None:
        ids: dict[str, str] = {}

        def id_of(number: str) -> str:
            current = self.emp_by_number.get(number)
            if current is not None:
                return current.id
            if number not in ids:
                ids[number] = self.new_id()
            return ids[number]

        for r in rows:
            if r.reason is not None:
                self.counts.rejected += 1
                self.rows.append(
                    ReportRow(
                        r.source.row,
                        "person",
                        r.number,
                        "rejected",
                        r.reason.code,
                        r.reason.message,
                    )
                )
        # Deactivations first: they release source ids that new rows may take over.
        for employee in self.org.employees:
            number = employee.employee_number
            if not employee.active:
                continue
            found = by_number.get(number)
            if found is None and number not in duplicates:
                self._deactivate(employee, 0)
            elif found is not None and found.reason is None and not found.source.active:
                self._deactivate(employee, found.source.row)
        for r in rows:
            if r.reason is None and not r.source.active:
                current = self.emp_by_number.get(r.number)
                if current is None or not current.active:
                    self.counts.unchanged += 1  # left already, or never here: nothing to do
        for number in order:
            planned = by_number.get(number)
            if planned is None or planned.reason is not None or not planned.source.active:
                continue
            r = planned
            manager_id = id_of(r.manager) if r.manager else None
            desired: dict[str, str | None] = dict(r.values)
            desired["department_id"] = r.department_id
            desired["manager_id"] = manager_id
            ext = r.source.external_id.strip()
            if ext:
                desired["external_id"] = ext
            current = self.emp_by_number.get(number)
            if current is None:
                desired["employee_number"] = number
                desired["status"] = "active"
                desired.setdefault("external_id", None)
                values = {k: desired.get(k) for k in EMPLOYEE_COLUMNS}
                self.people_ops[number] = Operation(EMPLOYEE_CREATE, id_of(number), number, values)
                self.counts.created += 1
                if ext:
                    self.counts.linked += 1
                self.rows.append(
                    ReportRow(r.source.row, "person", number, "created", name=str(r.values["name"]))
                )
                continue
            if not current.active:
                desired["status"] = "active"
            changes = {k: v for k, v in desired.items() if _current_value(current, k) != v}
            if not changes:
                self.counts.unchanged += 1
                continue
            changed_fields = tuple(k for k in EMPLOYEE_COLUMNS if k in changes)
            self.people_ops[number] = Operation(EMPLOYEE_UPDATE, current.id, number, changes)
            if "external_id" in changes:
                self.counts.linked += 1
            if _MOVE_FIELDS & changes.keys():
                action = "moved"
                self.counts.moved += 1
            elif set(changes) - {"external_id"}:
                action = "updated"
                self.counts.updated += 1
            else:
                action = "linked"
                self.counts.unchanged += 1
            self.rows.append(
                ReportRow(
                    r.source.row,
                    "person",
                    number,
                    action,
                    changed_fields=changed_fields,
                    name=str(r.values["name"]),
                )
            )

    def _deactivate(self, employee: OrgEmployee, row: int) -> None:
        kept = self.kept.get(employee.employee_number)
        if kept is not None:
            self.counts.kept += 1
            self.counts.unchanged += 1
            self.rows.append(
                ReportRow(
                    row,
                    "person",
                    employee.employee_number,
                    "kept",
                    kept.code,
                    kept.message,
                    name=employee.name,
                )
            )
            return
        values: dict[str, str | None] = {"status": "left"}
        if employee.external_id:
            values["external_id"] = None
        self.deactivations.append(
            Operation(EMPLOYEE_DEACTIVATE, employee.id, employee.employee_number, values)
        )
        self.counts.deactivated += 1
        self.rows.append(
            ReportRow(
                row,
                "person",
                employee.employee_number,
                "deactivated",
                changed_fields=("status",),
                name=employee.name,
            )
        )

    def run(self) -> Plan:
        self.plan_departments()
        self.plan_people()
        operations = (*self.department_ops, *self.deactivations, *self.people_ops.values())
        return Plan(counts=self.counts, rows=tuple(self.rows), operations=operations)


def _current_value(employee: OrgEmployee, column: str) -> str | None:
    if column == "status":
        return "active" if employee.active else "left"
    value = getattr(employee, column)
    return None if value is None else str(value)


def plan_sync(
    snapshot: Snapshot,
    org: CurrentOrg,
    *,
    new_id: Callable[[], str] | None = None,
    requested_by: str = "",
) -> Plan:
    """The plan that brings ``org`` to what ``snapshot`` says (see the module docstring);
    ``requested_by``: the employee id of the person running the sync (kept active)."""
    return _Planner(snapshot, org, new_id or (lambda: str(uuid.uuid4())), requested_by).run()


def mass_deactivation(
    plan: Plan, org: CurrentOrg, max_share: float = DEFAULT_MAX_DEACTIVATION_SHARE
) -> bool:
    """True when the plan would deactivate more than ``max_share`` of the active people."""
    active = sum(1 for e in org.employees if e.active)
    return plan.counts.deactivated > max_share * active
