"""Calendar invitations as iCalendar (RFC 5545) text, built with ``icalendar`` (pure).

One ``VEVENT`` in a ``METHOD:REQUEST`` calendar: the organizer is Stride's mail sender, the
attendees are the people invited (``ROLE=REQ-PARTICIPANT``, ``RSVP=TRUE``). The UID comes from
the workflow and is the same on every (re-)send, so a calendar client updates one event
instead of adding a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr

from icalendar import Calendar, Event, vCalAddress, vText

from workflows.calendar import parse_instant
from workflows.notifications import Invitation

PRODID = "-//Stride//Coordination//EN"


@dataclass(frozen=True)
class Attendee:
    email: str
    name: str = ""


def invitation_ics(
    invitation: Invitation,
    *,
    organizer: str,
    attendees: Sequence[Attendee],
    stamp: datetime,
    url: str = "",
) -> bytes:
    """The ``.ics`` bytes of ``invitation`` (``organizer``: an RFC 5322 address, e.g.
    ``Stride <stride@example.com>``; ``stamp``: DTSTAMP, the moment it is sent)."""
    start = parse_instant(invitation.start_utc)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", "REQUEST")
    event = Event()
    event.add("uid", invitation.uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=invitation.minutes))
    event.add("summary", invitation.summary)
    if invitation.description or url:
        event.add("description", f"{url}{invitation.description}".strip())
    event.add("sequence", 0)
    event.add("status", "CONFIRMED")
    name, address = parseaddr(organizer)
    org = vCalAddress(f"mailto:{address or organizer}")
    if name:
        org.params["cn"] = vText(name)
    event["organizer"] = org
    for person in attendees:
        attendee = vCalAddress(f"mailto:{person.email}")
        if person.name:
            attendee.params["cn"] = vText(person.name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["partstat"] = vText("NEEDS-ACTION")
        attendee.params["rsvp"] = vText("TRUE")
        event.add("attendee", attendee, encode=False)
    cal.add_component(event)
    return bytes(cal.to_ical())
