"""Who is asking: the facts about a person the feedback rules decide on."""

from __future__ import annotations

from dataclasses import dataclass

# Granted roles (identity's Employee.roles) that read every piece of *public* praise and the
# organisation's feedback frequency. None of them reads private feedback about others, and
# no one ever reads the author of an anonymous item.
ORG_READERS = frozenset({"hr", "admin", "executive"})
SETTINGS_EDITORS = frozenset({"hr", "admin"})


@dataclass(frozen=True)
class Person:
    id: str
    department_id: str
    # Direct manager ("" at the top).
    manager_id: str = ""
    # Direct manager first, upwards to the top.
    managers: tuple[str, ...] = ()
    roles: frozenset[str] = frozenset()

    @property
    def reads_the_organisation(self) -> bool:
        return bool(self.roles & ORG_READERS)
