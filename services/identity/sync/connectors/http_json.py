"""A generic JSON/HTTP source: ``GET <url>`` answering the whole organisation.

.. code-block:: json

    {
      "departments": [
        {"key": "D10", "name": "Plant", "parent_key": ""},
        {"key": "D11", "name": "Quality", "parent_key": "D10"}
      ],
      "people": [
        {"employee_number": "E001", "name": "Wang Fang", "department_key": "D10",
         "manager_employee_number": "", "email": "wang@example.com", "mobile": "",
         "title": "Plant manager", "grade": "M3", "hire_date": "2015-03-01",
         "active": true, "external_id": "hr-1"}
      ]
    }

Aliases: ``id`` for a department's ``key``, ``parent`` for ``parent_key``, ``department``
for ``department_key``, ``manager`` for ``manager_employee_number``. Optional person fields
that no person carries are left as they are in Stride. An optional bearer token is sent as
``Authorization: Bearer <token>``.
"""

from __future__ import annotations

from typing import Any

import httpx

from services.identity.sync.connectors.base import (
    Progress,
    SourceInvalid,
    SourceUnavailable,
)
from services.identity.sync.data import (
    OPTIONAL_FIELDS,
    Snapshot,
    SourceDepartment,
    SourcePerson,
)


def _text(item: dict[str, Any], *names: str) -> str:
    for name in names:
        value = item.get(name)
        if value is not None:
            return str(value).strip()
    return ""


def _active(value: object) -> bool | None:
    if value is None or value is True or value is False:
        return True if value is None else bool(value)
    lowered = str(value).strip().lower()
    if lowered in {"1", "true", "yes", "active"}:
        return True
    if lowered in {"0", "false", "no", "left", "inactive"}:
        return False
    return None


def parse_document(document: object) -> Snapshot:
    if not isinstance(document, dict):
        raise SourceInvalid("the JSON source must answer an object with departments and people")
    departments = document.get("departments", [])
    people = document.get("people")
    if not isinstance(departments, list) or not isinstance(people, list):
        raise SourceInvalid("the JSON source must answer lists 'departments' and 'people'")
    source_departments: list[SourceDepartment] = []
    for row, item in enumerate(departments, start=1):
        if not isinstance(item, dict):
            raise SourceInvalid(f"department {row} is not an object")
        source_departments.append(
            SourceDepartment(
                key=_text(item, "key", "id"),
                name=_text(item, "name"),
                parent_key=_text(item, "parent_key", "parent"),
                row=row,
            )
        )
    source_people: list[SourcePerson] = []
    present: set[str] = set()
    for row, item in enumerate(people, start=1):
        if not isinstance(item, dict):
            source_people.append(
                SourcePerson(row, "", "", "", problem="the entry is not an object")
            )
            continue
        present.update(f for f in OPTIONAL_FIELDS if f in item)
        active = _active(item.get("active"))
        source_people.append(
            SourcePerson(
                row=row,
                employee_number=_text(item, "employee_number"),
                name=_text(item, "name"),
                department_key=_text(item, "department_key", "department"),
                manager_employee_number=_text(item, "manager_employee_number", "manager"),
                email=_text(item, "email"),
                mobile=_text(item, "mobile"),
                title=_text(item, "title"),
                grade=_text(item, "grade"),
                hire_date=_text(item, "hire_date"),
                active=True if active is None else active,
                external_id=_text(item, "external_id"),
                problem="" if active is not None else "active must be true or false",
            )
        )
    return Snapshot(
        departments=tuple(source_departments),
        people=tuple(source_people),
        provided_fields=frozenset(present),
    )


class JsonHttpConnector:
    def __init__(
        self,
        url: str,
        *,
        token: str = "",
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        name: str = "json",
    ) -> None:
        if not url:
            raise SourceInvalid("the JSON source is not configured: set its URL")
        self.name = name
        self._url = url
        self._headers = {"Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._timeout = timeout
        self._transport = transport

    async def fetch(self, progress: Progress | None = None) -> Snapshot:
        async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as client:
            try:
                response = await client.get(self._url, headers=self._headers)
            except httpx.TimeoutException as exc:
                raise SourceUnavailable("the JSON source timed out") from exc
            except httpx.HTTPError as exc:
                raise SourceUnavailable(f"the JSON source: {type(exc).__name__}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise SourceUnavailable(f"the JSON source answered HTTP {response.status_code}")
        if response.status_code >= 400:
            raise SourceInvalid(f"the JSON source answered HTTP {response.status_code}")
        try:
            document = response.json()
        except ValueError as exc:
            raise SourceInvalid("the JSON source did not answer JSON") from exc
        if progress is not None:
            progress("fetched")
        return parse_document(document)
