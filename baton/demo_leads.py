"""The demo organization's lead journey: leads in every state and a target list.

`baton demo` calls `ensure_demo_leads` after the sales data. Everything goes through
the domain services, acting as the demo user whose job each step is: Mia Marketing
adds every lead and triages it (New → In Review → Qualified | Nurture |
Disqualified; qualifying hands the lead over into the sales pool in the same
transaction); Sofia Sales rejects one pooled lead back to marketing with a reason;
Sam and Sofia claim leads (each claim opens the account and the deal, enrolled in
the default cadence: its intro call is due today), Sam works and converts one,
Sofia closes one as not a fit (its deal is lost with the reason). Sam and Sofia own
the target list and move it along the prospecting workflow: one target converted
into an account and a deal, one dropped with a reason.

Leads and targets carry no back-dated times: every step is stamped by the database
when `baton demo` runs (nothing here writes a timestamp), so the pool entries' claim
SLA (24 h) runs out a day after the first run — from then on the Sales Inbox flags
them overdue. The dates in the notes are relative to today; phone numbers come from
a fixed seed: every run builds the same data. It is all one transaction, done once:
when the marker lead's email exists (live or deleted), nothing is added.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum

from sqlalchemy import select

import baton.models  # noqa: F401  (the ORM resolves foreign keys across every table)
from baton.activities import service as activities
from baton.activities.schemas import CompleteIn, FollowUpIn, PlannedType
from baton.core.context import Ctx
from baton.core.errors import DomainError
from baton.db.engine import Database
from baton.demo import DEMO_SLUG
from baton.identity.operator import act_as_admin_of, act_as_member, operator_ctx
from baton.leads import service as leads
from baton.leads.models import Lead
from baton.leads.queries import LeadRecord
from baton.leads.schemas import LeadIn, RejectIn, TriageIn, TriageStatus
from baton.targets import service as targets
from baton.targets.schemas import StatusIn, TargetIn
from baton.workflow import service as workflow_service
from baton.workflow.engine import CompiledWorkflow

SEED = 20261130
MIA = "marketing@acme.example"
SAM = "sales1@acme.example"
SOFIA = "sales2@acme.example"


class Journey(Enum):
    """Where a demo lead's journey stops (its view in brackets)."""

    NEW = "new"  # New (inbox)
    IN_REVIEW = "in review"  # In Review (inbox)
    REJECTED = "rejected by sales"  # handed over, sent back: In Review (inbox)
    NURTURE = "nurture"  # Nurture (nurture)
    DISQUALIFIED = "disqualified"  # by marketing (disqualified)
    POOL = "in the pool"  # Handed Over (pool)
    CLAIMED = "claimed"  # Claimed (mine)
    CONVERTED = "converted"  # claimed, worked, Converted (converted)
    CLOSED = "closed by sales"  # claimed, then Disqualified: its deal lost (disqualified)


@dataclass(frozen=True)
class LeadPlan:
    company: str
    contact: str | None
    # The contact's email is first.last@domain (none without a domain).
    domain: str | None
    phone_prefix: str | None
    source: str
    need: str | None
    journey: Journey
    # May name a day relative to today: "{in_60}" is 60 days from today.
    notes: str | None = None
    # The salesperson who rejects, claims, converts or closes it.
    seller: str | None = None
    reason: str | None = None
    reason_notes: str | None = None


# The first one's email marks the demo leads as present.
LEADS = (
    LeadPlan(
        "Harbourline Foods Ltd",
        "Grace Whitfield",
        "harbourline-foods.co.uk",
        "+44 20",
        "Website form",
        "Chilled groupage UK to Benelux, 6 to 8 pallets a week",
        Journey.NEW,
        notes="Asked for a call back this week",
    ),
    LeadPlan(
        "Orbis Bike Components",
        "Lukas Berger",
        "orbis-bikes.at",
        None,
        "Trade fair: transport logistic",
        None,
        Journey.NEW,
        notes="Stopped by the booth; no details yet",
    ),
    LeadPlan(
        "Sunfield Organics GmbH",
        "Miriam Koch",
        "sunfield-organics.de",
        "+49 89",
        "Webinar: cold chain compliance",
        "Temperature-mapped storage for organic produce near Munich",
        Journey.IN_REVIEW,
        notes="Their current warehouse contract ends on {in_60}",
    ),
    LeadPlan(
        "Blue Fjord Outfitters",
        "Ingrid Solberg",
        "bluefjord.no",
        None,
        "LinkedIn campaign",
        None,
        Journey.IN_REVIEW,
        notes="Downloaded the e-commerce fulfilment guide; need not stated yet",
    ),
    LeadPlan(
        "Castor Medical Supplies",
        "Helen Park",
        "castor-medical.com",
        "+1 617",
        "Website form",
        "Courier service for hospital consumables, US East Coast",
        Journey.REJECTED,
        seller=SOFIA,
        reason="invalid_contact",
        reason_notes="The number is a switchboard and the email bounces; "
        "please find the buyer's direct line",
    ),
    LeadPlan(
        "Terra Nova Ceramics",
        "Paolo Ricci",
        "terranova-ceramiche.it",
        "+39 0536",
        "Trade fair: transport logistic",
        "Pallet distribution across the EU",
        Journey.NURTURE,
        notes="No budget before their new plant opens; check back on {in_90}",
    ),
    LeadPlan(
        "Pinecrest Beverages",
        "Owen Mitchell",
        "pinecrest-bev.ca",
        None,
        "Webinar: entering the EU market",
        None,
        Journey.NURTURE,
        notes="Plans a European launch next year",
    ),
    LeadPlan(
        "Westbrook University",
        "Sarah Linden",
        "westbrook.edu",
        None,
        "Website form",
        "Survey for a student project on logistics costs",
        Journey.DISQUALIFIED,
        reason="no_fit",
        reason_notes="A student project, not a shipper",
    ),
    LeadPlan(
        "Nordhafen Feinkost",
        "Julia Fischer",
        "nordhafen-feinkost.de",
        "+49 40",
        "Website form",
        "Reefer capacity for the Christmas season",
        Journey.DISQUALIFIED,
        reason="duplicate",
        reason_notes="Already a customer: Nordhafen Feinkost GmbH, Sam's key account",
    ),
    LeadPlan(
        "Alpenglow Sports AG",
        "Reto Baumann",
        "alpenglow-sports.ch",
        "+41 44",
        "Website form",
        "Seasonal warehousing and parcel fulfilment, 4 000 orders a week at peak",
        Journey.POOL,
        notes="Winter peak starts around {in_45}",
    ),
    LeadPlan(
        "Marlow & Finch Tea Co.",
        "Eleanor Marlow",
        "marlowfinch.co.uk",
        None,
        "Referral from Nordhafen Feinkost",
        "Sea freight from Colombo, two 40' containers a month",
        Journey.POOL,
    ),
    LeadPlan(
        "Kobalt Industrial Tools",
        "Piotr Zielinski",
        "kobalt-tools.pl",
        "+48 22",
        "Trade fair: transport logistic",
        "Full truckloads Poznan to the Ruhr, three a week",
        Journey.POOL,
        notes="Wants a quote before {in_14}",
    ),
    LeadPlan(
        "Rivera Fresh Produce",
        "Lucia Rivera",
        "rivera-fresh.es",
        "+34 96",
        "Webinar: cold chain compliance",
        "Reefer trucks Valencia to Paris Rungis in the citrus season",
        Journey.POOL,
    ),
    LeadPlan(
        "Helix Bio Labs ApS",
        "Mads Kjaer",
        "helix-biolabs.dk",
        "+45 33",
        "Website form",
        "GDP courier for clinical samples, Copenhagen to Basel",
        Journey.CLAIMED,
        seller=SAM,
    ),
    LeadPlan(
        "Oakridge Furniture Group",
        "Daniel Brooks",
        "oakridge-furniture.com",
        "+1 336",
        "LinkedIn campaign",
        "Ocean freight from Vietnam, about 40 containers a year",
        Journey.CLAIMED,
        seller=SOFIA,
    ),
    LeadPlan(
        "Quayside Wines Ltd",
        "Thomas Hale",
        "quayside-wines.co.uk",
        "+44 117",
        "Referral from Tidewater Seafood",
        "Bonded warehousing and UK duty handling for imported wine",
        Journey.CONVERTED,
        seller=SAM,
    ),
    LeadPlan(
        "Vantage Print Solutions",
        "Greta Lund",
        "vantage-print.se",
        "+46 8",
        "Trade fair: transport logistic",
        "One-off move of a printing press to Gothenburg",
        Journey.CLOSED,
        seller=SOFIA,
        reason="no_budget",
        reason_notes="The seller ships the press; they have no freight budget",
    ),
)
MARKER_EMAIL = "grace.whitfield@harbourline-foods.co.uk"


@dataclass(frozen=True)
class TargetPlan:
    company: str
    contact: str
    domain: str
    phone_prefix: str
    owner: str
    # A step of the prospecting workflow the target is moved to, or "converted" /
    # "dropped" (from the step before it).
    status: str
    notes: str | None = None
    reason: str | None = None
    reason_notes: str | None = None


# The open steps, in order; converted and dropped are reached from them.
TARGET_STEPS = ("new_target", "contacted", "engaged", "qualified")

TARGETS = (
    TargetPlan(
        "Baltic Amber Foods",
        "Rasa Petraitis",
        "balticamber.lt",
        "+370 5",
        SAM,
        "new_target",
        notes="Ships frozen goods to Germany; uses three carriers",
    ),
    TargetPlan(
        "Crestline Auto Glass",
        "Mark Duval",
        "crestline-glass.fr",
        "+33 3",
        SOFIA,
        "new_target",
    ),
    TargetPlan(
        "Delta Hydraulics BV",
        "Sven de Groot",
        "delta-hydraulics.nl",
        "+31 20",
        SAM,
        "new_target",
        notes="New plant in Venlo opens on {in_30}",
    ),
    TargetPlan(
        "Fernhill Pet Supplies",
        "Chloe Barnes",
        "fernhill-pets.co.uk",
        "+44 161",
        SAM,
        "contacted",
        notes="Left a voicemail; emailed our e-commerce references",
    ),
    TargetPlan(
        "Solaris Panels Iberia",
        "Javier Morales",
        "solaris-iberia.es",
        "+34 91",
        SOFIA,
        "contacted",
    ),
    TargetPlan(
        "Glacier Water Company",
        "Emma Olsen",
        "glacierwater.is",
        "+354 5",
        SOFIA,
        "engaged",
        notes="Their 3PL tender closes on {in_21}",
    ),
    TargetPlan(
        "Ironwood Tools Inc.",
        "Ryan Cole",
        "ironwood-tools.com",
        "+1 412",
        SAM,
        "engaged",
        notes="Interested in a Rotterdam hub for their EU orders",
    ),
    TargetPlan(
        "Maple & Oak Interiors",
        "Sophie Tremblay",
        "mapleoak-interiors.ca",
        "+1 514",
        SOFIA,
        "qualified",
        notes="Budget approved; wants a proposal for ocean freight before {in_10}",
    ),
    TargetPlan(
        "Everglen Dairy Cooperative",
        "Aoife Byrne",
        "everglen-dairy.ie",
        "+353 21",
        SOFIA,
        "converted",
        notes="Cold chain to the continent, weekly reefers from Cork",
    ),
    TargetPlan(
        "Northstar Textiles",
        "Hamid Rahimi",
        "northstar-textiles.de",
        "+49 211",
        SAM,
        "dropped",
        reason="not_interested",
        reason_notes="Signed a five-year contract with their current carrier",
    ),
)


@dataclass
class LeadsSummary:
    """What one `ensure_demo_leads` run added (all zero when the data was there)."""

    leads: Counter[Journey] = field(default_factory=Counter)
    targets: Counter[str] = field(default_factory=Counter)
    skipped: str | None = None

    def line(self) -> str:
        if self.skipped:
            return f"Demo leads: {self.skipped}"
        journeys = ", ".join(
            f"{self.leads[journey]} {journey.value}" for journey in Journey if self.leads[journey]
        )
        statuses = ", ".join(f"{count} {status}" for status, count in self.targets.items())
        return (
            f"Demo leads: {self.leads.total()} leads ({journeys}),"
            f" {self.targets.total()} targets ({statuses})"
        )


@dataclass
class _Builder:
    ctx: Ctx
    today: date
    rng: random.Random
    summary: LeadsSummary = field(default_factory=LeadsSummary)
    _acting: str | None = None

    async def act_as(self, email: str) -> None:
        if email != self._acting:
            await act_as_member(self.ctx, email)
            self._acting = email

    def notes(self, text: str | None) -> str | None:
        if text is None:
            return None
        days = {f"in_{n}": f"{self.today + timedelta(days=n):%d %b %Y}" for n in range(1, 121)}
        return text.format(**days)

    def phone(self, prefix: str | None) -> str | None:
        if prefix is None:
            return None
        return f"{prefix} {self.rng.randint(200, 989)} {self.rng.randint(1000, 9999)}"

    @staticmethod
    def email(contact: str | None, domain: str | None) -> str | None:
        if contact is None or domain is None:
            return None
        return f"{contact.lower().replace(' ', '.')}@{domain}"

    # ------------------------------------------------------------ leads

    async def lead(self, plan: LeadPlan) -> None:
        await self.act_as(MIA)
        record = await leads.create_lead(
            self.ctx,
            LeadIn(
                company_name=plan.company,
                contact_name=plan.contact,
                email=self.email(plan.contact, plan.domain),
                phone=self.phone(plan.phone_prefix),
                source=plan.source,
                need=plan.need,
                notes=self.notes(plan.notes),
            ),
        )
        lead_id = record.lead.id
        self.summary.leads[plan.journey] += 1
        if plan.journey is Journey.NEW:
            return
        record = await self._triage(record, TriageStatus.IN_REVIEW)
        if plan.journey is Journey.IN_REVIEW:
            return
        if plan.journey is Journey.NURTURE:
            await self._triage(record, TriageStatus.NURTURE)
            return
        if plan.journey is Journey.DISQUALIFIED:
            await self._triage(record, TriageStatus.DISQUALIFIED, plan.reason, plan.reason_notes)
            return
        # Qualifying hands the lead over: it is in the pool when this returns.
        await self._triage(record, TriageStatus.QUALIFIED)
        if plan.journey is Journey.POOL:
            return
        assert plan.seller is not None, f"{plan.company} needs a salesperson"
        await self.act_as(plan.seller)
        if plan.journey is Journey.REJECTED:
            assert plan.reason is not None
            await leads.reject_lead(
                self.ctx, lead_id, RejectIn(reason=plan.reason, notes=plan.reason_notes)
            )
            return
        claim = await leads.claim_lead(self.ctx, lead_id)
        if plan.journey is Journey.CLOSED:
            await self._triage(
                claim.lead, TriageStatus.DISQUALIFIED, plan.reason, plan.reason_notes
            )
        elif plan.journey is Journey.CONVERTED:
            # The first contact made, the next step planned, then converted.
            first = claim.activities[0]
            await activities.complete_activity(
                self.ctx,
                first.id,
                CompleteIn(
                    outcome="Good fit: two containers a month; they want a rate card",
                    next=FollowUpIn(
                        type=PlannedType.EMAIL,
                        subject="Send the bonded warehousing rate card",
                        due_at=datetime.combine(self.today + timedelta(days=2), time(10), UTC),
                    ),
                ),
                first.version,
            )
            await leads.convert_lead(self.ctx, lead_id)

    async def _triage(
        self,
        record: LeadRecord,
        status: TriageStatus,
        reason: str | None = None,
        notes: str | None = None,
    ) -> LeadRecord:
        return await leads.triage_lead(
            self.ctx,
            record.lead.id,
            TriageIn(status=status, reason=reason, notes=notes, version=record.lead.version),
        )

    # ------------------------------------------------------------ targets

    async def target(self, plan: TargetPlan) -> None:
        await self.act_as(plan.owner)
        target, _ = await targets.create_target(
            self.ctx,
            TargetIn(
                company_name=plan.company,
                contact_name=plan.contact,
                email=self.email(plan.contact, plan.domain),
                phone=self.phone(plan.phone_prefix),
                notes=self.notes(plan.notes),
            ),
        )
        last = {"converted": "qualified", "dropped": "contacted"}.get(plan.status, plan.status)
        for step in TARGET_STEPS[1 : TARGET_STEPS.index(last) + 1]:
            target, _ = await targets.change_status(
                self.ctx, target.id, StatusIn(status=step, version=target.version)
            )
        if plan.status == "converted":
            await targets.convert_target(self.ctx, target.id)
        elif plan.status == "dropped":
            await targets.change_status(
                self.ctx,
                target.id,
                StatusIn(
                    status="dropped",
                    reason=plan.reason,
                    notes=plan.reason_notes,
                    version=target.version,
                ),
            )
        self.summary.targets[plan.status] += 1


LEAD_STEPS = (
    "new", "in_review", "qualified", "nurture", "disqualified",
    "handed_over", "claimed", "converted",
)  # fmt: skip


def _missing(flow: CompiledWorkflow, keys: tuple[str, ...]) -> list[str]:
    have = {step.key for step in flow.steps.values()}
    return [key for key in keys if key not in have]


async def _build(ctx: Ctx) -> LeadsSummary:
    await act_as_admin_of(ctx, DEMO_SLUG)
    present = await ctx.session.scalar(select(Lead.id).where(Lead.email == MARKER_EMAIL).limit(1))
    if present is not None:
        return LeadsSummary(skipped="already there, nothing added")
    workflow_id, version = await leads.lead_workflow(ctx)
    lead_flow = await workflow_service.require_compiled(ctx, workflow_id, version)
    target_flow = await targets.target_workflow(ctx)
    missing = [f"lead: {key}" for key in _missing(lead_flow, LEAD_STEPS)] + [
        f"target: {key}" for key in _missing(target_flow, (*TARGET_STEPS, "converted", "dropped"))
    ]
    if missing:
        return LeadsSummary(skipped="not added: the workflows have no step " + ", ".join(missing))
    rng = random.Random(SEED)  # noqa: S311 - repeatable demo data, not a secret
    builder = _Builder(ctx, datetime.now(UTC).date(), rng)
    for lead in LEADS:
        await builder.lead(lead)
    for target in TARGETS:
        await builder.target(target)
    return builder.summary


async def ensure_demo_leads(db: Database) -> LeadsSummary:
    """Fill the demo organization with its leads and targets, once (see the module's
    doc). A workflow an admin changed so that the journey cannot run adds nothing."""
    try:
        async with operator_ctx(db, "demo") as ctx:
            return await _build(ctx)
    except DomainError as error:
        return LeadsSummary(skipped=f"not added: {error.detail}")
