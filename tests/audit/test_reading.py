"""The change trail as people read it (issue 14): the record's Changes, the audit page,
its CSV and the audit export name reason codes by their workflow's label, write times
in the viewer's zone (pages) or UTC (files), amounts as money (pages, in the
organization's locale) or decimals (files), and records and members by name beside
their ids. The API keeps the values as stored."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import openpyxl

from baton.audit.reading import RECORD_KINDS, record_kind
from baton.web.formatting import code_label
from tests.cadences import support as cadence_support
from tests.deals.conftest import Org as DealOrg
from tests.deals.conftest import insert_account, pipeline_steps
from tests.factories import add_member, register_tenant
from tests.web.test_workflow_pages import _sign_in

BOM = "\ufeff"


async def _closed_deal(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> tuple[DealOrg, dict[str, str]]:
    admin = await register_tenant(client)
    deals = DealOrg(
        admin=admin,
        sales=await add_member(client, admin, "sales"),
        account_id=await insert_account(owner_conn, admin, "Nordlicht Logistik"),
        steps=await pipeline_steps(owner_conn, admin),
    )
    # The organization labels the "no_budget" loss reason (on every Lose transition of
    # its pipeline); a new row version so no compiled copy of the workflow is reused.
    await owner_conn.execute(
        "UPDATE workflow_transitions t SET conditions = jsonb_set(t.conditions,"
        " '{reason_labels}', '{\"no_budget\": \"Budget frozen this year\"}')"
        " FROM workflow_steps s WHERE s.tenant_id = t.tenant_id AND s.id = t.to_step_id"
        " AND t.tenant_id = $1 AND s.key = 'lost'",
        admin.tenant_id,
    )
    await owner_conn.execute(
        "UPDATE workflows SET version = version + 1 WHERE tenant_id = $1", admin.tenant_id
    )
    deal = await deals.create(client, name="Cold chain rollout", amount="1250.50", currency="EUR")
    changed = await client.patch(
        f"/api/v1/deals/{deal['id']}",
        headers=deals.sales.headers,
        json={"amount": "2000.00", "version": deal["version"]},
    )
    assert changed.status_code == 200, changed.text
    closed = await deals.close(
        client, changed.json(), outcome="lost", reason="no_budget", notes="Next year"
    )
    assert closed.status_code == 200, closed.text
    closed_deal: dict[str, str] = closed.json()["deal"]
    return deals, closed_deal


def _text(page: str) -> str:
    """The page's words: inline tags vanish, block tags part words."""
    inline = re.sub(r"</?(strong|a|span)\b[^>]*>", "", page)
    return re.sub(r"[ \t\r\n]+", " ", html.unescape(re.sub(r"<[^>]+>", " ", inline)))


async def test_pages_word_reasons_times_and_money_as_people_read_them(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    deals, deal = await _closed_deal(client, owner_conn)
    # The viewer reads times in Kolkata (UTC+05:30), the organization money in de-DE.
    zone = await client.patch(
        "/api/v1/me", headers=deals.admin.headers, json={"timezone": "Asia/Kolkata"}
    )
    assert zone.status_code == 200, zone.text
    settings = await client.get("/api/v1/settings", headers=deals.admin.headers)
    localized = await client.patch(
        "/api/v1/settings",
        headers=deals.admin.headers,
        json={"locale": "de-DE", "version": settings.json()["version"]},
    )
    assert localized.status_code == 200, localized.text
    # The API keeps the code and the stored time.
    trail = await client.get(
        "/api/v1/audit",
        headers=deals.admin.headers,
        params={"entity_type": "deal", "entity_id": deal["id"]},
    )
    close = trail.json()["items"][0]
    stored = {c["field"]: c["after"] for c in close["changes"]}
    assert stored["loss_reason"] == "no_budget"
    assert stored["closed_at"].startswith(deal["closed_at"][:16].replace("Z", ""))
    assert "workflow_id" not in close
    assert "currency" not in close

    await _sign_in(client, deals.admin)
    # The moment the deal closed, as Kolkata reads it (the API answers UTC).
    closed = datetime.fromisoformat(deal["closed_at"].replace("Z", "+00:00"))
    in_kolkata = closed.astimezone(ZoneInfo("Asia/Kolkata")).strftime("%Y-%m-%d %H:%M")
    detail = await client.get(f"/deals/{deal['id']}")
    assert detail.status_code == 200
    changes = _text(detail.text.split('id="changes"', 1)[1])
    assert "Loss reason: — → Budget frozen this year" in changes
    # The timeline's system entry of the close words the reason the same way.
    assert "Closed lost: Budget frozen this year — Next year" in _text(detail.text)
    assert "no_budget" not in changes
    assert "Outcome: — → Lost" in changes
    assert "Amount: 1.250,50\u00a0€ → 2.000,00\u00a0€" in changes
    assert f"Closed at: — → {in_kolkata}" in changes
    assert "+00:00" not in changes

    audit = await client.get("/audit")
    assert audit.status_code == 200
    rows = [
        _text(row) for row in re.findall(r"<tr>(.*?)</tr>", audit.text, re.S) if "Cold chain" in row
    ]
    close_row = next(row for row in rows if "Loss reason" in row)
    assert "Loss reason: — → Budget frozen this year" in close_row
    assert "no_budget" not in " ".join(rows)
    rows_text = " ".join(rows)
    assert f"Closed at: — → {in_kolkata}" in close_row
    assert "Deal Cold chain rollout" in close_row
    assert "2.000,00\u00a0€" in rows_text

    # The page's CSV: names beside ids, the label, UTC and plain decimals.
    exported = await client.get("/audit.csv")
    assert exported.status_code == 200
    table = list(csv.DictReader(io.StringIO(exported.text)))
    reason = next(row for row in table if row["field"] == "Loss reason")
    assert (reason["before"], reason["after"]) == ("—", "Budget frozen this year")
    assert (reason["record"], reason["record_name"], reason["record_id"]) == (
        "deal",
        "Cold chain rollout",
        deal["id"],
    )
    assert reason["actor"] == "Sales Person"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", reason["at"])
    assert reason["actor_id"] == str(deals.sales.user_id)
    amount = next(row for row in table if row["field"] == "Amount")
    assert (amount["before"], amount["after"]) == ("1250.50 EUR", "2000.00 EUR")
    closed_row = next(row for row in table if row["field"] == "Closed at")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", closed_row["after"])


async def test_the_audit_export_names_people_and_records_beside_their_ids(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    deals, deal = await _closed_deal(client, owner_conn)
    answer = await client.get(
        "/api/v1/exports/audit",
        headers=deals.admin.headers,
        params={"format": "csv", "entity_type": "deal", "entity_id": deal["id"]},
    )
    assert answer.status_code == 200, answer.text
    text = answer.content.decode("utf-8")
    assert text.startswith(BOM)
    rows = list(csv.DictReader(io.StringIO(text[len(BOM) :])))
    close = rows[0]
    assert close["Record"] == "Cold chain rollout"
    assert close["Record ID"] == deal["id"]
    assert close["By"] == deals.sales.email
    assert close["Actor ID"] == str(deals.sales.user_id)
    assert close["By (name)"] == "Sales Person"
    assert (close["Action"], close["What"]) == ("update", "Changed")
    # The export's changes are the values as stored, for integrators (JSON); the audit
    # page's CSV tells them in words (above).
    changes = {change["field"]: change for change in json.loads(close["Changes"])}
    assert changes["loss_reason"]["after"] == "no_budget"

    book = await client.get(
        "/api/v1/exports/audit",
        headers=deals.admin.headers,
        params={"format": "xlsx", "entity_type": "deal", "entity_id": deal["id"]},
    )
    assert book.status_code == 200, book.text
    sheet = openpyxl.load_workbook(io.BytesIO(book.content)).active
    assert sheet is not None
    header, first = list(sheet.iter_rows(min_row=1, max_row=2, values_only=True))
    cells = dict(zip(header, first, strict=True))
    assert cells["Record"] == "Cold chain rollout"
    assert cells["By"] == deals.sales.email
    assert cells["By (name)"] == "Sales Person"
    assert '"no_budget"' in str(cells["Changes"])

    # A salesperson reads the trail of a deal they may read: same names; another
    # organization gets 404 for the record.
    stranger = await register_tenant(client)
    foreign = await client.get(
        "/api/v1/exports/audit",
        headers=stranger.headers,
        params={"format": "csv", "entity_type": "deal", "entity_id": deal["id"]},
    )
    assert foreign.status_code == 404


async def test_every_audited_table_is_named_by_its_record_kind(
    owner_conn: asyncpg.Connection,
) -> None:
    """The audit page calls an entry of a table without a record label by what one row
    is ("Activity"), never by the table's plural ("Activities"): every table the audit
    trigger watches has its singular name."""
    audited = {
        row["table"]
        for row in await owner_conn.fetch(
            "SELECT DISTINCT event_object_table AS table FROM information_schema.triggers"
            " WHERE action_statement LIKE 'EXECUTE FUNCTION baton_audit(%'"
        )
    }
    assert {"activities", "deals", "leads", "tenant_settings"} <= audited
    assert audited <= set(RECORD_KINDS), sorted(audited - set(RECORD_KINDS))
    for table in audited:
        kind = record_kind(table)
        assert kind[0].isupper(), (table, kind)
        assert "_" not in kind, (table, kind)
        assert kind.lower() != code_label(table).lower() or not table.endswith("s"), (table, kind)
    # A table added later without a name reads as its name made singular.
    assert record_kind("work_orders") == "Work order"
    assert record_kind("categories") == "Category"
    assert record_kind("mailboxes") == "Mailbox"


async def test_the_audit_page_names_a_tables_entries_in_the_singular(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    deals, deal = await _closed_deal(client, owner_conn)
    noted = await client.post(
        "/api/v1/activities",
        headers=deals.sales.headers,
        json={"type": "note", "subject": "Called back", "deal_id": deal["id"]},
    )
    assert noted.status_code == 201, noted.text
    await _sign_in(client, deals.admin)
    audit = await client.get("/audit")
    assert audit.status_code == 200
    records = [
        _text(cell).strip()
        for cell in re.findall(r'<td data-label="Record">(.*?)</td>', audit.text, re.S)
    ]
    assert "Activity" in records, records
    assert "Deal Cold chain rollout" in records, records
    plurals = {code_label(table) for table in RECORD_KINDS}
    assert not plurals & set(records), sorted(plurals & set(records))


async def test_id_fields_read_as_what_they_point_at(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    """A change of an id field names what it points at on the audit page — a cadence
    enrolment by its cadence, a deal by its name — never a bare uuid."""
    team = await cadence_support.org(client)
    account_id = await cadence_support.account(owner_conn, team.sales, "Nordlicht Logistik")
    deal_id = await cadence_support.deal(owner_conn, team.sales, account_id, name="Kühlkette")
    outreach = await cadence_support.cadence(client, team.manager, name="Winter outreach")
    enrolled = await cadence_support.enroll(client, team.sales, outreach["id"], deal_id=deal_id)
    assert enrolled.status_code == 201, enrolled.text
    enrolment = enrolled.json()["id"]
    first = (await cadence_support.enrollment_activities(owner_conn, enrolment))[0]
    # The step is taken off its enrolment and put on no deal (as a person would read it).
    await owner_conn.execute(
        "UPDATE activities SET enrollment_id = NULL, deal_id = NULL WHERE id = $1", first["id"]
    )
    await _sign_in(client, team.admin)
    audit = await client.get("/audit")
    assert audit.status_code == 200
    changes = [
        _text(cell).strip()
        for cell in re.findall(r'<td data-label="Changes">(.*?)</td>', audit.text, re.S)
    ]
    change = next(text for text in changes if "Cadence enrolment" in text)
    assert "Cadence enrolment: Winter outreach → —" in change, change
    assert "Deal: Kühlkette → —" in change, change
    assert enrolment not in audit.text
    assert " id:" not in " ".join(changes)
