"""When planned work is due (issue 14, defect 4): by the end of the owner's working day
in their time zone, never overdue the moment it is planned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from baton.cadences.service import due_by_end_of_workday
from tests.leads import conftest as lead_fixtures
from tests.leads.conftest import Org

BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")
CHICAGO = ZoneInfo("America/Chicago")

# The lead tests' organization (every role), as a fixture of this module too.
org = lead_fixtures.org


@pytest.mark.parametrize(
    ("start", "days", "zone", "due"),
    [
        # Planned in the morning: today's 18:00 in the owner's zone.
        ("2026-12-07T08:00:00+00:00", 0, BERLIN, "2026-12-07T18:00:00+01:00"),
        # After the working day: tomorrow's.
        ("2026-12-07T17:30:00+00:00", 0, BERLIN, "2026-12-08T18:00:00+01:00"),
        # A later step counts its days from that first day.
        ("2026-12-07T17:30:00+00:00", 2, BERLIN, "2026-12-10T18:00:00+01:00"),
        # The owner's day, not UTC's: 23:00 UTC is already tomorrow morning in Kolkata.
        ("2026-12-07T23:00:00+00:00", 0, KOLKATA, "2026-12-08T18:00:00+05:30"),
        # ... and still the afternoon of the same day in Chicago.
        ("2026-12-07T20:00:00+00:00", 0, CHICAGO, "2026-12-07T18:00:00-06:00"),
        # Across a daylight-saving change the hour stays 18:00 local.
        ("2026-03-27T09:00:00+00:00", 3, BERLIN, "2026-03-30T18:00:00+02:00"),
    ],
)
def test_work_is_due_by_the_end_of_the_owners_working_day(
    start: str, days: int, zone: ZoneInfo, due: str
) -> None:
    answer = due_by_end_of_workday(datetime.fromisoformat(start), days, zone)
    assert answer == datetime.fromisoformat(due)
    assert answer > datetime.fromisoformat(start)


async def test_a_claim_plans_the_first_call_by_the_end_of_the_claimers_day(
    client: httpx.AsyncClient, org: Org
) -> None:
    chosen = await client.patch(
        "/api/v1/me", headers=org.sales.headers, json={"timezone": "Asia/Kolkata"}
    )
    assert chosen.status_code == 200, chosen.text
    lead = await org.pooled(client)
    before = datetime.now(UTC)
    claimed = await org.action(client, lead, "claim")
    assert claimed.status_code == 200, claimed.text
    body = claimed.json()
    first = min(body["activities"], key=lambda activity: activity["due_at"])
    due = datetime.fromisoformat(first["due_at"])
    local = due.astimezone(KOLKATA)
    assert (local.hour, local.minute) == (18, 0)
    assert due > before  # not overdue the moment it is planned
    assert due - before < timedelta(days=1, minutes=1)
    # The deal's next step falls on the claimer's day, not UTC's.
    assert body["deal"]["next_step_due_date"] == local.date().isoformat()
