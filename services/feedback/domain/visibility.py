"""Who may read which feedback. Pure: the handlers fetch the facts, these decide.

Private feedback is read by its author, the person it is about and — only when the author
ticked ``share_with_manager`` — that person's direct manager. Nobody else: not a peer, not a
skip-level manager, not HR or an admin (private means private; HR sees counts in the
frequency report). Public praise is read by its author, the person praised, everyone in the
department the person was in when praised, the heads of that department and of every
department above it, and HR, admin and executives.

A read the viewer may not make answers exactly like a missing item (NOT_FOUND), so a peer
cannot even learn that private feedback about a colleague exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from services.feedback.domain.people import Person
from workflows.vocabulary import VISIBILITY_PRAISE, VISIBILITY_PRIVATE


@dataclass(frozen=True)
class ItemFacts:
    author_id: str
    about_id: str
    about_department_id: str
    visibility: str
    share_with_manager: bool


def may_read(
    viewer: Person,
    item: ItemFacts,
    *,
    about_manager_id: str,
    praise_departments: frozenset[str],
) -> bool:
    """Whether ``viewer`` may read ``item``.

    ``about_manager_id`` is the current direct manager of the person it is about;
    ``praise_departments`` the departments whose praise the viewer sees
    (:func:`praise_departments`).
    """
    if viewer.id in (item.author_id, item.about_id):
        return True
    if item.visibility == VISIBILITY_PRIVATE:
        return (
            item.share_with_manager and bool(about_manager_id) and (viewer.id == about_manager_id)
        )
    if item.visibility == VISIBILITY_PRAISE:
        return viewer.reads_the_organisation or item.about_department_id in praise_departments
    return False


def praise_departments(
    viewer: Person, parents: Mapping[str, str], heads: Mapping[str, str]
) -> frozenset[str]:
    """The departments whose praise ``viewer`` reads: their own, and every department they
    head or that lies below one they head (``parents``: department → parent, ``heads``:
    department → head)."""
    headed = {d for d, head in heads.items() if head and head == viewer.id}
    found = {viewer.department_id} if viewer.department_id else set()
    for department in parents:
        if any(a in headed for a in _ancestry(department, parents)):
            found.add(department)
    return frozenset(found)


def _ancestry(department: str, parents: Mapping[str, str]) -> Iterable[str]:
    """The department and every department above it (stops on a cycle)."""
    seen: set[str] = set()
    current = department
    while current and current not in seen:
        seen.add(current)
        yield current
        current = parents.get(current, "")


def may_read_challenge(
    viewer: Person, *, owner_id: str, challenger_id: str, owner_managers: tuple[str, ...]
) -> bool:
    """A goal challenge is read by the challenger, the objective's owner and the owner's
    managers (open challenges are the manager's to see); HR, admin and executives too."""
    if viewer.id in (owner_id, challenger_id) or viewer.id in owner_managers:
        return True
    return viewer.reads_the_organisation
