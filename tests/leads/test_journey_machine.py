"""Random journeys: a Hypothesis state machine drives create, triage (qualify,
nurture, disqualify — the sales closure too), claim, assign, reject, release and
convert by random members of one organization, and after every step checks the
promise of the lead journey: every lead is in exactly one view, the one the model
expects, the pool holds exactly the pooled leads, and `baton doctor`'s checks
(scoped to the organization) find nothing.

The machine runs its own event loop (`asyncio.Runner`) with its own engine, app and
client: Hypothesis calls rules synchronously, and the suite's engine belongs to the
suite's loop.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

import asyncpg
import httpx
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from baton.app import create_app
from baton.config import Settings
from baton.db.engine import Database
from baton.db.urls import app_url, libpq_dsn
from baton.ops import doctor
from baton.ops.doctor import Report
from tests.factories import Member, add_member, register_tenant, unique

VIEWS = ("inbox", "pool", "mine", "nurture", "disqualified", "converted")
MEMBERS = ("admin", "manager", "marketing", "sales_a", "sales_b", "viewer")
SELLERS = ("sales_a", "sales_b")
SUPERVISORS = ("admin", "manager")
MARKETING_SIDE = ("admin", "manager", "marketing")
TRIAGE = ("in_review", "qualified", "nurture", "disqualified")
# Marketing's steps → the statuses triage may send a lead to from there.
TRIAGE_MOVES = {
    "new": {"in_review"},
    "in_review": {"qualified", "nurture", "disqualified"},
    "nurture": {"in_review"},
}
VIEW_OF_STEP = {
    "new": "inbox",
    "in_review": "inbox",
    "handed_over": "pool",
    "claimed": "mine",
    "nurture": "nurture",
    "disqualified": "disqualified",
    "converted": "converted",
}


@dataclass
class ModelLead:
    id: str
    step: str
    contactable: bool
    owner: str | None = None
    deal_id: str | None = None
    # The member who last sent it back from the pool (they may still read it).
    rejected_by: str | None = None


def _sees(member: str, lead: ModelLead) -> bool:
    """The read policy, as the model understands it."""
    view = VIEW_OF_STEP[lead.step]
    if member in ("admin", "manager", "viewer"):
        return True
    if member == "marketing":
        return view in ("inbox", "pool", "nurture", "disqualified")
    return view == "pool" or lead.owner == member or lead.rejected_by == member


class LeadJourney(RuleBasedStateMachine):
    leads = Bundle("leads")

    # Set by the test on a subclass: the suite's settings and migrated database.
    config: ClassVar[Settings]
    owner_url: ClassVar[URL]

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.model: dict[str, ModelLead] = {}
        self.members: dict[str, Member] = {}
        self.runner.run(self._open())

    async def _open(self) -> None:
        self.database = Database(app_url(self.config), pool_size=2, max_overflow=2)
        a, b, c = uuid.uuid4().bytes[:3]
        transport = httpx.ASGITransport(
            app=create_app(self.config, self.database),
            client=(f"127.{a}.{b}.{c % 254 + 1}", 40000),
            raise_app_exceptions=False,
        )
        self.client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        self.owner = await asyncpg.connect(libpq_dsn(self.owner_url))

    def teardown(self) -> None:
        async def close() -> None:
            await self.client.aclose()
            await self.owner.close()
            await self.database.dispose()

        self.runner.run(close())
        self.runner.close()

    def _send(self, member: str, method: str, path: str, body: Any = None) -> httpx.Response:
        response = self.runner.run(
            self.client.request(
                method, f"/api/v1/leads{path}", headers=self.members[member].headers, json=body
            )
        )
        assert response.status_code < 500, response.text
        return response

    def _version(self, lead: ModelLead) -> int:
        response = self._send("admin", "GET", f"/{lead.id}")
        assert response.status_code == 200, response.text
        version: int = response.json()["version"]
        return version

    def _check(self, lead: ModelLead, body: dict[str, Any]) -> None:
        assert body["step"]["key"] == lead.step
        assert body["view"] == VIEW_OF_STEP[lead.step]

    @initialize()
    def organization(self) -> None:
        async def build() -> None:
            admin = await register_tenant(self.client)
            self.members = {"admin": admin}
            for name, role in (
                ("manager", "manager"),
                ("marketing", "marketing"),
                ("sales_a", "sales"),
                ("sales_b", "sales"),
                ("viewer", "viewer"),
            ):
                self.members[name] = await add_member(self.client, admin, role)

        self.runner.run(build())

    # ------------------------------------------------------------ rules

    @rule(
        target=leads,
        member=st.sampled_from(MARKETING_SIDE),
        # Mostly leads sales can work; some that cannot be qualified.
        contactable=st.sampled_from((True, True, True, False)),
    )
    def create(self, member: str, contactable: bool) -> str:
        body: dict[str, Any] = {"company_name": unique("Co")}
        if contactable:
            body |= {"email": f"{unique('p')}@example.com", "need": "Storage"}
        response = self._send(member, "POST", "", body)
        assert response.status_code == 201, response.text
        lead = ModelLead(response.json()["id"], "new", contactable)
        self.model[lead.id] = lead
        self._check(lead, response.json())
        return lead.id

    @rule(lead_id=leads, member=st.sampled_from(MEMBERS), status=st.sampled_from(TRIAGE))
    def triage(self, lead_id: str, member: str, status: str) -> None:
        lead = self.model.get(lead_id)
        if lead is None:
            return
        body: dict[str, Any] = {"status": status, "version": self._version(lead)}
        if status == "disqualified":
            body["reason"] = "no_fit"
        response = self._send(member, "POST", f"/{lead.id}/triage", body)
        if lead.step in TRIAGE_MOVES:
            valid = (
                member in MARKETING_SIDE
                and status in TRIAGE_MOVES[lead.step]
                and (status != "qualified" or lead.contactable)
            )
        else:
            valid = (
                lead.step == "claimed"
                and status == "disqualified"
                and (member in SUPERVISORS or member == lead.owner)
            )
        if not valid:
            assert response.status_code in (403, 404, 409, 422), response.text
            return
        assert response.status_code == 200, (lead, member, status, response.text)
        lead.step = "handed_over" if status == "qualified" else status
        self._check(lead, response.json())

    @rule(lead_id=leads)
    def qualify(self, lead_id: str) -> None:
        """Marketing walks a lead of its queues to Qualified — the hand-over."""
        lead = self.model.get(lead_id)
        if lead is None or lead.step not in TRIAGE_MOVES:
            return
        path = ["in_review", "qualified"] if lead.step != "in_review" else ["qualified"]
        for status in path:
            body = {"status": status, "version": self._version(lead)}
            response = self._send("marketing", "POST", f"/{lead.id}/triage", body)
            if status == "qualified" and not lead.contactable:
                assert response.status_code == 422, response.text
                assert {e["field"] for e in response.json()["errors"]} == {"email", "need"}
                return
            assert response.status_code == 200, (lead, status, response.text)
            lead.step = "handed_over" if status == "qualified" else status
            self._check(lead, response.json())

    def _claimed(self, lead: ModelLead, member: str, response: httpx.Response) -> None:
        assert response.status_code == 200, (lead, member, response.text)
        body = response.json()
        if lead.deal_id is not None:
            assert body["deal"]["id"] == lead.deal_id
        lead.deal_id = body["deal"]["id"]
        self._check(lead, body["lead"])

    @rule(lead_id=leads, member=st.sampled_from(SELLERS + MEMBERS))
    def claim(self, lead_id: str, member: str) -> None:
        lead = self.model.get(lead_id)
        if lead is None:
            return
        response = self._send(member, "POST", f"/{lead.id}/claim")
        sells = member in SELLERS or member in SUPERVISORS
        if sells and lead.step == "handed_over":
            lead.step, lead.owner, lead.deal_id = "claimed", member, None
            self._claimed(lead, member, response)
        elif sells and lead.step in ("claimed", "converted") and lead.owner == member:
            self._claimed(lead, member, response)
        else:
            assert response.status_code in (403, 404, 409), response.text

    @rule(lead_id=leads, member=st.sampled_from(MEMBERS), to=st.sampled_from(SELLERS))
    def assign(self, lead_id: str, member: str, to: str) -> None:
        lead = self.model.get(lead_id)
        if lead is None:
            return
        body = {"user_id": str(self.members[to].user_id)}
        response = self._send(member, "POST", f"/{lead.id}/assign", body)
        if member in SUPERVISORS and lead.step == "handed_over":
            lead.step, lead.owner, lead.deal_id = "claimed", to, None
            self._claimed(lead, member, response)
        elif member in SUPERVISORS and lead.step in ("claimed", "converted") and lead.owner == to:
            self._claimed(lead, member, response)
        else:
            assert response.status_code in (403, 404, 409), response.text

    @rule(lead_id=leads, member=st.sampled_from(MEMBERS))
    def reject(self, lead_id: str, member: str) -> None:
        lead = self.model.get(lead_id)
        if lead is None:
            return
        response = self._send(member, "POST", f"/{lead.id}/reject", {"reason": "no_fit"})
        if lead.step == "handed_over" and (member in SELLERS or member in SUPERVISORS):
            assert response.status_code == 200, response.text
            lead.step = "in_review"
            lead.rejected_by = member
            self._check(lead, response.json())
        else:
            assert response.status_code in (403, 404, 409), response.text

    @rule(lead_id=leads, member=st.sampled_from(MEMBERS))
    def release(self, lead_id: str, member: str) -> None:
        lead = self.model.get(lead_id)
        if lead is None:
            return
        response = self._send(member, "POST", f"/{lead.id}/release")
        if lead.step == "claimed" and (member in SUPERVISORS or member == lead.owner):
            assert response.status_code == 200, response.text
            lead.step, lead.owner, lead.deal_id = "handed_over", None, None
            self._check(lead, response.json())
        else:
            assert response.status_code in (403, 404, 409), response.text

    @rule(lead_id=leads, member=st.sampled_from(SELLERS + MEMBERS))
    def convert(self, lead_id: str, member: str) -> None:
        lead = self.model.get(lead_id)
        if lead is None:
            return
        response = self._send(member, "POST", f"/{lead.id}/convert")
        allowed = member in SUPERVISORS or member == lead.owner
        if lead.step in ("claimed", "converted") and allowed:
            lead.step = "converted"
            self._claimed(lead, member, response)
        else:
            assert response.status_code in (403, 404, 409), response.text

    # ------------------------------------------------------------ the promise

    @invariant()
    def every_lead_is_in_exactly_one_view(self) -> None:
        if not self.members:
            return
        tenant_id = self.members["admin"].tenant_id

        async def read() -> list[asyncpg.Record]:
            found: list[asyncpg.Record] = await self.owner.fetch(
                "SELECT l.id::text AS id, l.view, s.key AS step, l.sales_owner_id,"
                " (SELECT count(*) FROM lead_pool p WHERE p.tenant_id = l.tenant_id"
                "  AND p.lead_id = l.id) AS pooled"
                " FROM leads l JOIN workflow_steps s ON s.tenant_id = l.tenant_id"
                " AND s.id = l.step_id WHERE l.tenant_id = $1",
                tenant_id,
            )
            return found

        rows = {row["id"]: row for row in self.runner.run(read())}
        assert set(rows) == set(self.model)
        for lead_id, lead in self.model.items():
            row = rows[lead_id]
            assert row["step"] == lead.step, (lead, dict(row))
            assert row["view"] == VIEW_OF_STEP[lead.step]
            # No qualified lead rests; the pool holds exactly the pooled leads.
            assert row["pooled"] == (1 if row["view"] == "pool" else 0), dict(row)
            owner = self.members[lead.owner].user_id if lead.owner else None
            if row["view"] in ("mine", "converted"):
                assert row["sales_owner_id"] == owner
        # Through the API: every lead on exactly one list (`mine` is per salesperson).
        lists = [("admin", view) for view in VIEWS if view != "mine"]
        lists += [(member, "mine") for member in (*SELLERS, *SUPERVISORS)]
        listed: list[str] = []
        for member, view in lists:
            response = self._send(member, "GET", f"?view={view}&limit=200")
            assert response.status_code == 200
            listed += [item["id"] for item in response.json()["items"]]
        assert sorted(listed) == sorted(self.model)
        for member in ("marketing", "sales_a"):
            for lead in self.model.values():
                response = self._send(member, "GET", f"/{lead.id}")
                assert response.status_code == (200 if _sees(member, lead) else 404)

    @invariant()
    def the_doctor_finds_nothing(self) -> None:
        """`baton doctor`'s checks, scoped to this organization, after every step."""
        if not self.members:
            return
        slug = self.members["admin"].tenant_slug

        async def diagnose() -> Report:
            engine = create_async_engine(self.owner_url, poolclass=NullPool)
            try:
                async with engine.connect() as conn, conn.begin():
                    return await doctor.diagnose(conn, tenant=slug)
            finally:
                await engine.dispose()

        report = self.runner.run(diagnose())
        assert report.findings == [], report.findings


def test_random_journeys_keep_every_lead_in_exactly_one_view(
    settings: Settings, owner_url: URL
) -> None:
    # Hypothesis builds the machine with no arguments: bake the suite's database in.
    machine = type("Journey", (LeadJourney,), {"config": settings, "owner_url": owner_url})
    run_state_machine_as_test(
        machine,
        settings=hypothesis_settings(
            max_examples=10,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
