"""Authentication and authorization for the routes (the I/O around gateway/policy.py).

Every route declares its rule with :func:`Allow` (``access: Access = Allow("checkin.record")``
or ``dependencies=[Allow("department.create")]``). The dependency

1. identifies the caller: ``Authorization: Bearer <access token>`` (a JWT from
   ``POST /auth/login``), or an API key as ``Authorization: Bearer sk_...`` or ``X-API-Key``
   (checked with identity's AuthenticateApiKey; successes cached for a few seconds);
2. when the rule is about an object named in the path (``{objective_id}``,
   ``{key_result_id}``, ``{employee_id}``), loads it and gathers the facts the policy needs
   (the owner's manager chain, the heads of the department and the departments above it);
3. asks :func:`gateway.policy.decide` and answers 401 / 403 / 404 problem+json when denied.

The caller is kept in ``request.state.principal`` so every gRPC call of the request carries
it as ``x-stride-actor`` (see gateway/deps.py).

Longer than ~400 lines: authentication, fact gathering and the route dependency are the three
steps of one decision and share its helpers; splitting them would spread one path over three
modules.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import grpc
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi import routing as fastapi_routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.routing import BaseRoute

from gateway import policy
from gateway.deps import Rpc, RpcDep
from gateway.policy import Decision, Facts, Principal, Reach
from gateway.problems import ProblemError, service_code
from gateway.tokens import AccessTokens, TokenError
from services.common.paging import MAX_PAGE_SIZE
from stride.common.v1 import common_pb2
from stride.goals.v1 import goals_pb2
from stride.identity.v1 import auth_pb2, identity_pb2

API_KEY_PREFIX = "sk_"
# The OpenAPI extension naming each operation's rule (checked by the route-coverage test).
RULE_EXTENSION = "x-stride-rule"
# A department tree deeper than this is treated as broken (and not walked further).
MAX_DEPARTMENT_DEPTH = 64
# A filter naming several people lists the members of at most this many reached departments
# to find them (Access.goals_filter_many); beyond, each person is checked alone.
MAX_REACH_LISTINGS = 8

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An access token from POST /api/v1/auth/login, or an API key (sk_...).",
)
api_key_scheme = APIKeyHeader(
    name="X-API-Key", auto_error=False, scheme_name="apiKey", description="An API key (sk_...)."
)


# -- API keys ---------------------------------------------------------------------------------


class ApiKeyCache:
    """Successful API-key checks for ``ttl`` seconds, keyed by the key's SHA-256."""

    def __init__(
        self,
        ttl: float,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    @staticmethod
    def _digest(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    def get(self, key: str) -> Principal | None:
        digest = self._digest(key)
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._entries[digest]
            return None
        return entry[1]

    def put(self, key: str, principal: Principal) -> None:
        if self.ttl <= 0:
            return
        self._entries[self._digest(key)] = (self._clock() + self.ttl, principal)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def evict(self, key_id: str) -> None:
        """Forget the key with this id (it was just revoked through this gateway)."""
        for digest in [d for d, (_, p) in self._entries.items() if p.id == key_id]:
            del self._entries[digest]


@dataclass
class Authenticator:
    tokens: AccessTokens
    api_keys: ApiKeyCache


async def get_authenticator(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.auth
    return auth


AuthDep = Annotated[Authenticator, Depends(get_authenticator)]


def api_key_principal(key: auth_pb2.ApiKey) -> Principal:
    return Principal(id=key.id, kind="api_key", scopes=frozenset(key.scopes), name=key.name)


def person_principal(p: auth_pb2.Principal) -> Principal:
    return Principal(
        id=p.employee_id,
        roles=frozenset(p.roles),
        department_id=p.department_id,
        name=p.name,
        employee_number=p.employee_number,
        must_change_password=p.must_change_password,
    )


def _unauthenticated(code: str, detail: str) -> ProblemError:
    return ProblemError(401, code, detail)


async def _api_key(auth: Authenticator, rpc: Rpc, key: str) -> Principal:
    cached = auth.api_keys.get(key)
    if cached is not None:
        return cached
    try:
        msg = await rpc(rpc.auth.AuthenticateApiKey, auth_pb2.AuthenticateApiKeyRequest(key=key))
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
            raise _unauthenticated("invalid_api_key", "Unknown or revoked API key.") from exc
        raise
    principal = api_key_principal(msg)
    auth.api_keys.put(key, principal)
    return principal


async def authenticate(
    request: Request,
    auth: Authenticator,
    rpc: Rpc,
    bearer: HTTPAuthorizationCredentials | None,
    api_key: str | None,
) -> Principal | None:
    """The caller, or None when no credentials were sent; 401 for bad ones."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    principal: Principal | None = None
    if bearer is not None and bearer.credentials:
        token = bearer.credentials
        if token.startswith(API_KEY_PREFIX):
            principal = await _api_key(auth, rpc, token)
        else:
            try:
                principal = auth.tokens.verify(token)
            except TokenError as exc:
                raise _unauthenticated(exc.code, exc.detail) from exc
    elif api_key:
        principal = await _api_key(auth, rpc, api_key)
    request.state.principal = principal
    return principal


# -- facts ------------------------------------------------------------------------------------


async def _load(rpc: Rpc, resource: str, object_id: str) -> tuple[Any, Facts]:
    """The object a rule is about, and the facts it carries itself."""
    try:
        if resource == "objective":
            o = await rpc(rpc.goals.GetObjective, goals_pb2.GetObjectiveRequest(id=object_id))
            return o, Facts(
                owner_id=o.owner_id,
                department_id=o.department_id,
                public=o.visibility == goals_pb2.VISIBILITY_PUBLIC,
            )
        if resource == "key_result":
            k = await rpc(rpc.goals.GetKeyResult, goals_pb2.GetKeyResultRequest(id=object_id))
            return k, Facts(owner_id=k.owner_id, department_id=k.department_id)
        if resource == "employee":
            e = await rpc(rpc.identity.GetEmployee, identity_pb2.GetEmployeeRequest(id=object_id))
            return e, Facts(owner_id=e.id, department_id=e.department_id)
        if resource == "department":
            d = await rpc(
                rpc.identity.GetDepartment, identity_pb2.GetDepartmentRequest(id=object_id)
            )
            return d, Facts(department_id=d.id)
        if resource == "approval":
            a = await rpc(rpc.goals.GetApproval, goals_pb2.GetApprovalRequest(id=object_id))
            return a, Facts(
                owner_id=a.employee_id,
                department_id=a.department_id,
                approver_ids=tuple(a.approver_ids),
            )
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            # Answered exactly like a hidden object (policy.NOT_FOUND).
            raise ProblemError(404, *policy.NOT_FOUND[resource]) from exc
        raise
    raise AssertionError(f"no loader for {resource}")


async def person_facts(rpc: Rpc, employee_id: str) -> Facts:
    """The facts of a person named in a query or body (404 employee_not_found if none)."""
    return (await _load(rpc, "employee", employee_id))[1]


async def manager_chain(rpc: Rpc, employee_id: str) -> tuple[str, ...]:
    try:
        chain = await rpc(
            rpc.identity.GetManagerChain,
            identity_pb2.GetManagerChainRequest(employee_id=employee_id),
        )
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return ()
        raise
    return tuple(m.id for m in chain.managers)


async def department_heads(rpc: Rpc, department_id: str) -> tuple[str, ...]:
    """Heads of ``department_id`` and of every department above it."""
    heads: list[str] = []
    seen: set[str] = set()
    current = department_id
    while current and current not in seen and len(seen) < MAX_DEPARTMENT_DEPTH:
        seen.add(current)
        try:
            dep = await rpc(
                rpc.identity.GetDepartment, identity_pb2.GetDepartmentRequest(id=current)
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                break
            raise
        if dep.head_id:
            heads.append(dep.head_id)
        current = dep.parent_id
    return tuple(heads)


async def resolve_facts(rpc: Rpc, principal: Principal, action: str, base: Facts) -> Facts:
    """``base`` plus the relations the decision on ``action`` can depend on, fetched only
    as far as needed."""
    need = policy.needed_facts(principal, action)
    if not need or principal.is_api_key:
        return base
    # The owner acting on their own object (the every-day check-in) is decided by the base
    # facts alone: no manager-chain or department-tree calls to identity on that path.
    if policy.decide(principal, action, base).allowed:
        return base
    facts = base
    if (
        need & {Reach.DIRECT_REPORTS, Reach.TRANSITIVE_REPORTS}
        and base.owner_id
        and base.owner_id != principal.id
    ):
        facts = dataclasses.replace(base, owner_managers=await manager_chain(rpc, base.owner_id))
        if policy.decide(principal, action, facts).allowed:
            return facts
    if Reach.DEPARTMENT in need and base.department_id:
        facts = dataclasses.replace(
            facts, department_heads=await department_heads(rpc, base.department_id)
        )
    return facts


async def _all_pages(fetch: Callable[[common_pb2.PageRequest], Any], field: str) -> list[Any]:
    items: list[Any] = []
    token = ""
    while True:
        page = await fetch(common_pb2.PageRequest(page_size=MAX_PAGE_SIZE, page_token=token))
        items.extend(getattr(page, field))
        token = page.page.next_page_token
        if not token:
            return items


async def organisation_reach(
    rpc: Rpc, employee_id: str, *, transitive: bool
) -> identity_pb2.OrganisationReach:
    """Who is in an employee's organisation, as identity answers it in one call (whole
    departments, the other reports one by one, the headed departments with their children);
    an unknown employee (an account without a person) reaches nobody."""
    try:
        return await rpc(
            rpc.identity.GetReach,
            identity_pb2.GetReachRequest(employee_id=employee_id, transitive=transitive),
        )
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return identity_pb2.OrganisationReach()
        raise


async def _active_employees(rpc: Rpc, **filters: str) -> list[str]:
    """The ids of the active employees ``ListEmployees`` answers for ``filters``."""

    async def fetch(page: common_pb2.PageRequest) -> Any:
        return await rpc(
            rpc.identity.ListEmployees, identity_pb2.ListEmployeesRequest(page=page, **filters)
        )

    employees = await _all_pages(fetch, "employees")
    return [e.id for e in employees if e.status == identity_pb2.EMPLOYEE_STATUS_ACTIVE]


async def direct_reports(rpc: Rpc, manager_id: str) -> list[str]:
    """The ids of a manager's active direct reports."""
    return await _active_employees(rpc, manager_id=manager_id)


async def active_members(rpc: Rpc, department_id: str) -> list[str]:
    """The ids of a department's active members (not those of the departments below it)."""
    return await _active_employees(rpc, department_id=department_id)


async def headed_departments(rpc: Rpc, employee_id: str) -> list[str]:
    async def fetch(page: common_pb2.PageRequest) -> Any:
        return await rpc(
            rpc.identity.ListDepartments, identity_pb2.ListDepartmentsRequest(page=page)
        )

    departments = await _all_pages(fetch, "departments")
    tree = {d.id: d.parent_id for d in departments}
    heads = {d.id: d.head_id for d in departments}
    return sorted(policy.department_subtree(tree, heads, employee_id))


async def department_and_below(rpc: Rpc, department_id: str) -> list[str]:
    """A department and every department below it (identity walks the subtree; an unknown
    department stands for itself)."""

    async def fetch(page: common_pb2.PageRequest) -> Any:
        return await rpc(
            rpc.identity.ListDepartments,
            identity_pb2.ListDepartmentsRequest(page=page, root_id=department_id),
        )

    found = {d.id for d in await _all_pages(fetch, "departments")}
    return sorted(found | {department_id})


@dataclass(frozen=True)
class Scope:
    """What a list may show: every item (``everything``), or items owned by one of
    ``owner_ids`` or in one of ``department_ids``."""

    everything: bool
    owner_ids: tuple[str, ...] = ()
    department_ids: tuple[str, ...] = ()


async def _in_public_objective(rpc: Rpc, rule: policy.Rule, resource: Any) -> bool:
    """Whether a key result whose rule (or read rule) admits public objects belongs to a
    public objective (looked up only when a decision depends on it: 403 vs 404 for writes)."""
    reads = policy.rule(rule.read_action) if rule.read_action else None
    if rule.resource != "key_result" or not (
        rule.public_objects or (reads and reads.public_objects)
    ):
        return False
    try:
        objective = await rpc(
            rpc.goals.GetObjective, goals_pb2.GetObjectiveRequest(id=resource.objective_id)
        )
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return False
        raise
    return bool(objective.visibility == goals_pb2.VISIBILITY_PUBLIC)


# -- the route dependency ---------------------------------------------------------------------


def _raise_if_denied(decision: Decision) -> None:
    if not decision.allowed:
        raise ProblemError(decision.status, decision.code, decision.detail)


@dataclass
class Access:
    """The outcome of a route's rule: who is calling and, for object rules, the object."""

    action: str
    principal: Principal | None
    rpc: Rpc | None
    # The object named in the path (a protobuf message) when the rule is about one.
    resource: Any = None

    @property
    def caller(self) -> Principal:
        assert self.principal is not None, "public routes have no caller"
        return self.principal

    async def check(self, action: str, facts: Facts) -> None:
        """Decide ``action`` on an object described by ``facts`` (e.g. one a request body
        would create); raise the problem when denied."""
        assert self.rpc is not None
        resolved = await resolve_facts(self.rpc, self.caller, action, facts)
        _raise_if_denied(policy.decide(self.caller, action, resolved))

    async def acting_for(self, owner_id: str) -> str:
        """The person a request acts for: ``owner_id`` or, when empty, the caller. Acting for
        someone else needs this route's rule on an object owned by them (admins, API keys
        with the scope); an API key must always name the person."""
        if not owner_id:
            if self.caller.is_api_key:
                raise ProblemError(
                    422, "owner_required", "An API key must name the person it acts for."
                )
            return self.caller.id
        if owner_id != self.caller.id:
            await self.check(self.action, Facts(owner_id=owner_id))
        return owner_id

    def actor(self) -> tuple[str, bool]:
        """(the person the caller acts as, whether the rule lets them act on anyone's object)
        for a service that applies an "own or all" rule itself (``Allow(..., load=False)``)."""
        return self.caller.id, Reach.ALL in policy.reaches(self.caller, self.action)

    async def refusal(self, exc: grpc.aio.AioRpcError, object_id: str) -> ProblemError | None:
        """The answer to a service's refusal of the object this route's rule is about: a
        missing object reads as the rule's 404; ``not_owner`` as the rule's decision on the
        object (404 for whoever may not read it, 403 for whoever may). None: not a refusal."""
        rule = policy.rule(self.action)
        assert self.rpc is not None and rule.resource is not None
        code = service_code(exc)
        if exc.code() == grpc.StatusCode.NOT_FOUND and code == policy.NOT_FOUND[rule.resource][0]:
            return ProblemError(404, *policy.NOT_FOUND[rule.resource])
        if exc.code() != grpc.StatusCode.PERMISSION_DENIED or code != "not_owner":
            return None
        _, decision = await _object_decision(self.rpc, self.caller, self.action, object_id)
        if decision.allowed:  # the owner changed in between: the client may retry
            return ProblemError(409, "owner_changed", "The object changed owner; retry.")
        return ProblemError(decision.status, decision.code, decision.detail)

    def require(self, decision: Decision) -> None:
        _raise_if_denied(decision)

    async def may_give_to(self, owner_id: str, current_owner: str) -> None:
        """Giving a goal to someone other than ``current_owner`` (the objective's owner, or
        the key result's when it is handed over): ``owner_id`` must be in the caller's
        reporting line (the key_result.assign rule; admins and goals:write keys: anyone).
        Refused: 403 ``outside_reporting_line``."""
        if owner_id and owner_id != current_owner:
            await self.check(policy.REPORTING_LINE.action, Facts(owner_id=owner_id))

    @property
    def sees_everything(self) -> bool:
        """Whether the list this route serves shows the caller everything (no lookups)."""
        return policy.visibility(self.caller, self.action).everything

    async def goals_filter(self, owner_id: str, department_id: str) -> str:
        """The owner filter of a goals read by person or department: the caller's own by
        default; another person's needs ``goals.of_person``, a department
        ``goals.of_department`` (403 when denied). Everything-readers filter freely."""
        if self.sees_everything:
            return owner_id
        if not owner_id and not department_id:
            owner_id = self.caller.id
        if department_id:
            await self.check("goals.of_department", Facts(department_id=department_id))
        if owner_id and owner_id != self.caller.id:
            assert self.rpc is not None
            await self.check("goals.of_person", await person_facts(self.rpc, owner_id))
        return owner_id

    async def goals_filter_many(self, owner_ids: Sequence[str], department_id: str) -> list[str]:
        """:meth:`goals_filter` for a filter naming several people (a manager's team in one
        call). People the caller reaches in the organisation (:meth:`_reached_people`, a few
        calls for the whole list) pass; everyone else is checked as if named alone, so a list
        with one person the caller may not read is refused exactly as that person alone would
        be (the first such person in the order asked)."""
        wanted = list(dict.fromkeys(o for o in owner_ids if o))
        if len(wanted) <= 1:
            one = await self.goals_filter(wanted[0] if wanted else "", department_id)
            return [one] if one else []
        if department_id:
            await self.goals_filter("", department_id)
        if self.sees_everything:
            return wanted
        reached = await self._reached_people(wanted)
        checked = await asyncio.gather(
            *(self.goals_filter(owner_id, "") for owner_id in wanted if owner_id not in reached),
            return_exceptions=True,
        )
        for outcome in checked:  # the first refused person (in the order asked) answers
            if isinstance(outcome, BaseException):
                raise outcome
        return wanted

    async def _reached_people(self, wanted: Sequence[str]) -> set[str]:
        """Those of ``wanted`` whose goals the caller reads by their place in the organisation,
        found without a call per person: the caller, their direct reports (one listing), then
        if some are still missing, their reach as identity answers it in one call (reports
        further down, the members of the departments they head; the department listings are
        made only when few, :data:`MAX_REACH_LISTINGS`). Whoever is not found here is
        checked one by one, so this only saves calls, it never refuses."""
        assert self.rpc is not None
        vis = policy.visibility(self.caller, "goals.of_person")
        if self.caller.is_api_key:
            return set()
        reached = {self.caller.id} if vis.own else set()
        if vis.reports is not None:  # direct reports, in one listing (a manager's team view)
            reached.update(await direct_reports(self.rpc, self.caller.id))
        if set(wanted) <= reached or (vis.reports is None and not vis.headed_departments):
            return reached & set(wanted)
        reach = await organisation_reach(
            self.rpc, self.caller.id, transitive=vis.reports == Reach.TRANSITIVE_REPORTS
        )
        departments: list[str] = []
        if vis.reports is not None:
            reached.update(reach.report_ids)
            departments += reach.report_department_ids
        if vis.headed_departments:
            departments += reach.headed_department_ids
        departments = list(dict.fromkeys(departments))
        if departments and len(departments) <= MAX_REACH_LISTINGS:
            members = await asyncio.gather(*(active_members(self.rpc, d) for d in departments))
            reached.update(m for found in members for m in found)
        return reached & set(wanted)

    async def scope(self) -> Scope:
        """What the list this route serves may show the caller."""
        assert self.rpc is not None
        vis = policy.visibility(self.caller, self.action)
        if vis.everything:
            return Scope(everything=True)
        owners: list[str] = [self.caller.id] if vis.own else []
        departments: list[str] = []
        if vis.reports is not None or vis.headed_departments:
            # One call, answered by recursive queries in identity: a manager of thousands
            # gets their departments back, not thousands of ids.
            reach = await organisation_reach(
                self.rpc, self.caller.id, transitive=vis.reports == Reach.TRANSITIVE_REPORTS
            )
            if reach.whole_organisation and vis.reports is not None and vis.headed_departments:
                # Their departments are every department (whoever heads the root): the list
                # is the organisation's, read as HR's is, not filtered by thousands of ids.
                return Scope(everything=True)
            if vis.reports is not None:
                owners += reach.report_ids
                departments += reach.report_department_ids
            if vis.headed_departments:
                departments += reach.headed_department_ids
        return Scope(False, tuple(dict.fromkeys(owners)), tuple(dict.fromkeys(departments)))


class Public:
    """The rule of a route anybody may call (no credentials looked at)."""

    def __init__(self, action: str) -> None:
        self.rule = policy.rule(action)
        assert self.rule.public, f"{action} is not a public rule"
        self.action = action

    async def __call__(self) -> Access:
        return Access(self.action, None, None)


class Authorize:
    """The rule of a route that needs a signed-in caller (see the module doc)."""

    def __init__(self, action: str, *, load: bool = True) -> None:
        self.rule = policy.rule(action)
        assert not self.rule.public, f"{action} is a public rule: use Public"
        # load=False: the object in the path is not read here; the service applies the rule
        # on the object it locks anyway, which only works for "own or all" rules.
        assert load or set(self.rule.grants.values()) <= {Reach.SELF, Reach.ALL}, action
        self.action = action
        self.load = load

    async def __call__(
        self,
        request: Request,
        auth: AuthDep,
        rpc: RpcDep,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
        api_key: Annotated[str | None, Depends(api_key_scheme)],
    ) -> Access:
        principal = await authenticate(request, auth, rpc, bearer, api_key)
        access = Access(self.action, principal, rpc)
        rule = self.rule
        object_id = request.path_params.get(f"{rule.resource}_id") if rule.resource else None
        if object_id is None:
            # No object in the path: decided now, or (object from the body) by the route
            # through access.check() after this first gate.
            if rule.resource is None or principal is None:
                _raise_if_denied(policy.decide(principal, self.action))
            else:
                _raise_if_denied(policy.precheck(principal, self.action))
            return access
        _raise_if_denied(policy.precheck(principal, self.action))
        if not self.load:
            return access  # the service decides on the object (see Access.refusal)
        assert principal is not None
        access.resource, decision = await _object_decision(rpc, principal, self.action, object_id)
        _raise_if_denied(decision)
        return access


async def _object_decision(
    rpc: Rpc, principal: Principal, action: str, object_id: str
) -> tuple[Any, Decision]:
    """The object ``action`` is about, and the decision on it (a missing object: the 404)."""
    rule = policy.rule(action)
    assert rule.resource is not None
    resource, base = await _load(rpc, rule.resource, object_id)
    facts = await resolve_facts(rpc, principal, action, base)
    decision = policy.decide(principal, action, facts)
    if not decision.allowed and await _in_public_objective(rpc, rule, resource):
        public = dataclasses.replace(facts, public=True)
        decision = policy.decide(principal, action, public)
    return resource, decision


def Allow(action: str, *, load: bool = True) -> Any:
    """The dependency enforcing ``action``'s rule; its value is an :class:`Access`.

    ``load=False`` (rules of the "own or all" kind on an object in the path): only the
    object-independent part is checked here; the route passes :meth:`Access.actor` to the
    service, which applies the owner rule on the object it reads anyway (one call instead of
    a read plus a write), and turns a refusal into the rule's answer with
    :meth:`Access.refusal`."""
    rule = policy.rule(action)
    return Depends(Public(action) if rule.public else Authorize(action, load=load))


# -- route introspection ----------------------------------------------------------------------


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    for dep in dependant.dependencies:
        yield dep
        yield from _dependants(dep)


def route_rules(route: APIRoute) -> list[str]:
    """The actions a route's dependencies enforce (exactly one for a well-declared route)."""
    return [
        d.call.action
        for d in _dependants(route.dependant)
        if isinstance(d.call, Authorize | Public)
    ]


def annotate_routes(router: APIRouter) -> None:
    """Name each operation's rule in the OpenAPI document (``x-stride-rule``).

    Call on a resource router before it is included anywhere: FastAPI copies a route's
    ``openapi_extra`` when it is included.
    """
    for route in router.routes:
        if isinstance(route, APIRoute):
            rules = route_rules(route)
            if len(rules) == 1:
                route.openapi_extra = {**(route.openapi_extra or {}), RULE_EXTENSION: rules[0]}


@dataclass(frozen=True)
class RouteInfo:
    path: str  # as served, with every prefix
    methods: frozenset[str]
    route: BaseRoute  # the route as declared (an APIRoute for the API's operations)


def iter_routes(app: FastAPI) -> Iterator[RouteInfo]:
    """Every route the app serves, with its full path (FastAPI ≥ 0.165 keeps included
    routers as such in ``app.routes``; older versions flatten them)."""
    contexts = getattr(fastapi_routing, "iter_route_contexts", None)
    if contexts is None:  # pragma: no cover - older FastAPI
        for route in app.routes:
            methods = getattr(route, "methods", None) or set()
            yield RouteInfo(getattr(route, "path", ""), frozenset(methods), route)
        return
    for ctx in contexts(app.routes):
        yield RouteInfo(ctx.path or "", frozenset(ctx.methods or ()), ctx.original_route)
