"""The demo organization's sales data: accounts, contacts, ledgers, deals, activities.

`baton demo` calls `ensure_demo_sales` once the demo logins exist. Everything is
written through the domain services, acting as the demo users (Sam and Sofia Sales,
Max Manager), so every rule runs and every history row, audit row and timeline
entry is real: deals reach their stage along the pipeline's transitions (Proposal
with its amount and expected close date), closes carry their reasons, and an open
deal's next step is the planned activity that completing the previous one set.

Dates are relative to today, so a fresh demo shows every account status (tenure
and activity), overdue next steps, and work due today and later. Random choices
(contacts, amounts, ledger lines, times of day) come from a fixed seed: every run
builds the same data. It is all one transaction, done once: when the marker
account's domain exists (live or deleted), nothing is added.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum

from sqlalchemy import select

import baton.models  # noqa: F401  (the ORM resolves foreign keys across every table)
from baton.accounts import service as accounts
from baton.accounts.models import Account
from baton.accounts.schemas import AccountIn, TransactionIn
from baton.activities import service as activities
from baton.activities.schemas import (
    ActivityIn,
    CompleteIn,
    FollowUpIn,
    NewActivityType,
    PlannedType,
)
from baton.contacts import service as contacts
from baton.contacts.schemas import ContactIn
from baton.core.context import Ctx
from baton.db.engine import Database
from baton.deals import service as deals
from baton.deals.models import DealOutcome
from baton.deals.schemas import CloseIn, DealIn, DealMoveIn, MoveFields
from baton.demo import DEMO_SLUG
from baton.identity.operator import act_as_admin_of, act_as_member, operator_ctx
from baton.identity.queries import default_currency
from baton.workflow import service as workflow_service
from baton.workflow.engine import CompiledWorkflow

SEED = 20261129
SAM = "sales1@acme.example"
SOFIA = "sales2@acme.example"
MAX = "manager@acme.example"

CALL, EMAIL, MEETING, TASK, NOTE = (
    NewActivityType.CALL,
    NewActivityType.EMAIL,
    NewActivityType.MEETING,
    NewActivityType.TASK,
    NewActivityType.NOTE,
)


class Ledger(Enum):
    """An account's invoice history, as (first, last) line in days before today.

    The `account_statuses` view turns it into tenure / activity (DESIGN §5)."""

    NONE = None  # prospect / no transaction (unless a deal is won: new customer)
    NEW = (55, 8)  # new customer / active
    NEW_PASSIVE = (80, 50)  # new customer / passive
    ACTIVE = (540, 6)  # active customer / active
    PASSIVE = (420, 55)  # active customer / passive
    WINBACK = (700, 150)  # winback target / inactive


@dataclass(frozen=True)
class Company:
    key: str
    name: str
    domain: str
    industry: str
    address: str
    phone_prefix: str
    owner: str
    ledger: Ledger
    tax_id: str | None = None
    tags: tuple[str, ...] = ()
    # Monthly invoice size, roughly.
    invoice: int = 10_000


# The first one's domain marks the demo data as present.
COMPANIES = (
    Company(
        "nordhafen",
        "Nordhafen Feinkost GmbH",
        "nordhafen-feinkost.de",
        "Food & beverage wholesale",
        "Am Sandtorkai 41, 20457 Hamburg, Germany",
        "+49 40",
        SAM,
        Ledger.ACTIVE,
        tax_id="DE 318 442 907",
        tags=("key account", "cold chain"),
        invoice=28_000,
    ),
    Company(
        "brightwater",
        "Brightwater Outdoor Co.",
        "brightwater-outdoor.com",
        "E-commerce retail",
        "1220 NW Marshall St, Portland, OR 97209, USA",
        "+1 503",
        SAM,
        Ledger.NEW,
        tags=("e-commerce",),
        invoice=9_500,
    ),
    Company(
        "castellan",
        "Castellan Pharma Distribution AG",
        "castellan-pharma.ch",
        "Pharmaceutical distribution",
        "Hochbergerstrasse 60, 4057 Basel, Switzerland",
        "+41 61",
        SOFIA,
        Ledger.ACTIVE,
        tax_id="CHE-114.583.226",
        tags=("key account", "GDP"),
        invoice=41_000,
    ),
    Company(
        "vela",
        "Vela Home Furnishings B.V.",
        "velahome.nl",
        "Furniture retail",
        "Wilhelminakade 91, 3072 AP Rotterdam, Netherlands",
        "+31 10",
        SOFIA,
        Ledger.PASSIVE,
        tax_id="NL 8531.27.604.B01",
        tags=("ocean freight",),
        invoice=16_000,
    ),
    Company(
        "kestrel",
        "Kestrel Automotive Parts Ltd",
        "kestrel-parts.co.uk",
        "Automotive aftermarket",
        "Unit 4, Tyburn Road, Birmingham B24 8HJ, United Kingdom",
        "+44 121",
        SAM,
        Ledger.WINBACK,
        tags=("winback",),
        invoice=12_500,
    ),
    Company(
        "lumen",
        "Lumen Electronics Europe",
        "lumen-electronics.eu",
        "Consumer electronics",
        "High Tech Campus 32, 5656 AE Eindhoven, Netherlands",
        "+31 40",
        SOFIA,
        Ledger.NONE,
    ),
    Company(
        "tidewater",
        "Tidewater Seafood Exports AS",
        "tidewater-seafood.no",
        "Seafood export",
        "Bradbenken 1, 5003 Bergen, Norway",
        "+47 55",
        SAM,
        Ledger.NEW_PASSIVE,
        tags=("cold chain", "air freight"),
        invoice=22_000,
    ),
    Company(
        "granitepeak",
        "Granite Peak Building Supply",
        "granitepeak-supply.com",
        "Construction materials",
        "4800 Race St, Denver, CO 80216, USA",
        "+1 303",
        SOFIA,
        Ledger.WINBACK,
        tags=("winback", "flatbed"),
        invoice=7_800,
    ),
    Company(
        "solenne",
        "Solenne Cosmétiques",
        "solenne-cosmetiques.fr",
        "Cosmetics & personal care",
        "18 Quai Rambaud, 69002 Lyon, France",
        "+33 4",
        SAM,
        Ledger.NONE,
        tags=("fair lead",),
    ),
    Company(
        "atlas",
        "Atlas Agritech S.L.",
        "atlas-agritech.es",
        "Agricultural machinery",
        "Calle de María de Luna 11, 50018 Zaragoza, Spain",
        "+34 976",
        MAX,
        Ledger.ACTIVE,
        tax_id="ESB50912374",
        invoice=19_000,
    ),
    Company(
        "meridian",
        "Meridian Medical Devices",
        "meridian-meddevices.ie",
        "Medical devices",
        "Block 3, Cherrywood Business Park, Dublin D18 K7W4, Ireland",
        "+353 1",
        SOFIA,
        Ledger.NONE,
    ),
    Company(
        "polaris",
        "Polaris Paper & Packaging AB",
        "polaris-packaging.se",
        "Packaging manufacturing",
        "Lindholmspiren 7, 417 56 Gothenburg, Sweden",
        "+46 31",
        SAM,
        # A customer since the deal won today: new customer, no invoice yet.
        Ledger.NONE,
        tags=("new signing",),
    ),
)
MARKER_DOMAIN = COMPANIES[0].domain

FIRST_NAMES = (
    "Anna", "Ben", "Carla", "David", "Elif", "Femke", "Georg", "Hannah", "Ivan", "Julia",
    "Karim", "Laura", "Marek", "Nina", "Oscar", "Paula", "Rafael", "Sanne", "Tomas", "Ulla",
    "Victor", "Wiebke", "Yusuf", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Andersen", "Brandt", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hughes",
    "Jansen", "Keller", "Lindqvist", "Moreau", "Novak", "O'Brien", "Peters", "Quinn",
    "Rossi", "Schmidt", "Torres", "Vogel", "Walsh", "Young",
)  # fmt: skip
TITLES = (
    "Head of Supply Chain",
    "Logistics Manager",
    "Procurement Manager",
    "Warehouse Operations Lead",
    "Transport Planner",
    "Import/Export Coordinator",
    "Chief Operating Officer",
    "Finance Director",
)

# The pipeline's open stages, in order; won and lost are reached by closing.
STAGES = ("prospecting", "discovery", "proposal", "negotiation")


@dataclass(frozen=True)
class Work:
    """A planned activity: what, how, and when (days from today)."""

    type: NewActivityType
    subject: str
    due_in: int


# The work that takes a deal out of each open stage, and what came of it.
STAGE_WORK = {
    "prospecting": (CALL, "Intro call", "Interested; asked for a call with their ops team"),
    "discovery": (
        MEETING,
        "Discovery meeting: lanes and volumes",
        "Got shipment history and volume forecast; they want a proposal",
    ),
    "proposal": (EMAIL, "Send proposal", "Proposal sent; buyer wants to talk terms"),
    "negotiation": (CALL, "Contract terms call", "Terms agreed in principle"),
}


@dataclass(frozen=True)
class DealPlan:
    name: str
    company: str
    owner: str
    # An open stage, or "won" / "lost".
    stage: str
    amount: int | None
    next: Work
    # Expected close, in days from today (default: one to three months out).
    close_in: int | None = None
    # Amount and close date filled in on the way into Proposal, not at creation.
    priced_on_proposal: bool = False
    # Reached Negotiation, then went back to Proposal.
    back_to_proposal: str | None = None
    # Closing: the stage it closes from (lost), the reason and notes.
    lost_from: str = "negotiation"
    reason: str | None = None
    notes: str | None = None


DEALS = (
    # Prospecting
    DealPlan(
        "Cold-chain lanes Lyon to Rhine ports",
        "solenne",
        SAM,
        "prospecting",
        None,
        Work(CALL, "Intro call with their logistics manager", 2),
    ),
    DealPlan(
        "EU distribution for new product line",
        "lumen",
        SOFIA,
        "prospecting",
        48_000,
        Work(EMAIL, "Send company presentation and references", 0),
    ),
    DealPlan(
        "Sterile goods courier network",
        "meridian",
        SOFIA,
        "prospecting",
        None,
        Work(CALL, "Qualify volumes with procurement", -2),
    ),
    DealPlan(
        "Peak season warehousing",
        "brightwater",
        SAM,
        "prospecting",
        22_000,
        Work(MEETING, "Site visit at the Portland DC", 6),
    ),
    # Discovery
    DealPlan(
        "Reefer FTL Hamburg to Milan",
        "nordhafen",
        SAM,
        "discovery",
        120_000,
        Work(MEETING, "Workshop on temperature logging", 3),
    ),
    DealPlan(
        "Spare-parts express network",
        "kestrel",
        SAM,
        "discovery",
        None,
        Work(CALL, "Call back about the volumes we lost", -4),
    ),
    DealPlan(
        "Bulk paper shipments to the Nordics",
        "polaris",
        MAX,
        "discovery",
        90_000,
        Work(TASK, "Analyse their lane history", 1),
    ),
    DealPlan(
        "Flatbed transport for site deliveries",
        "granitepeak",
        SOFIA,
        "discovery",
        None,
        Work(CALL, "Discovery call with site logistics", 0),
    ),
    # Proposal
    DealPlan(
        "Contract warehousing Basel 2027",
        "castellan",
        SOFIA,
        "proposal",
        310_000,
        Work(CALL, "Follow up on the proposal", -1),
        close_in=30,
        priced_on_proposal=True,
    ),
    DealPlan(
        "Ocean freight FCL Shanghai to Rotterdam",
        "vela",
        SOFIA,
        "proposal",
        185_000,
        Work(MEETING, "Walk the buyer through the rate card", 4),
        close_in=40,
    ),
    DealPlan(
        "Fresh fish air freight to Asia",
        "tidewater",
        SAM,
        "proposal",
        240_000,
        Work(EMAIL, "Answer their questions on the proposal", 0),
        close_in=25,
        priced_on_proposal=True,
    ),
    DealPlan(
        "Harvest season haulage",
        "atlas",
        MAX,
        "proposal",
        75_000,
        Work(EMAIL, "Send the revised rate card", 2),
        close_in=35,
        back_to_proposal="Customer re-scoped the volumes; revised rate card needed",
    ),
    # Negotiation
    DealPlan(
        "GDP pharma transport framework",
        "castellan",
        SOFIA,
        "negotiation",
        520_000,
        Work(MEETING, "Legal review of the framework contract", 5),
        close_in=20,
    ),
    DealPlan(
        "Nationwide pallet distribution",
        "nordhafen",
        MAX,
        "negotiation",
        260_000,
        Work(CALL, "Agree on the fuel surcharge clause", -3),
        close_in=14,
    ),
    DealPlan(
        "Returns handling for the webshop",
        "brightwater",
        SAM,
        "negotiation",
        64_000,
        Work(EMAIL, "Send the final offer", 1),
        close_in=10,
    ),
    # Won
    DealPlan(
        "Customs brokerage Rotterdam",
        "vela",
        SOFIA,
        "won",
        38_000,
        Work(CALL, "Confirm the start date", 1),
        close_in=-2,
        reason="relationship",
        notes="Extends the ocean freight work we already do for them",
    ),
    DealPlan(
        "Inbound logistics for packaging supply",
        "polaris",
        SAM,
        "won",
        145_000,
        Work(MEETING, "Sign the contract", 0),
        close_in=-2,
        reason="product_fit",
    ),
    DealPlan(
        "Tractor spare parts logistics",
        "atlas",
        MAX,
        "won",
        98_000,
        Work(CALL, "Confirm the volumes for year one", 2),
        close_in=-2,
        reason="price",
    ),
    # Lost
    DealPlan(
        "Cross-dock service Midlands",
        "kestrel",
        SAM,
        "lost",
        56_000,
        Work(CALL, "Follow up on the proposal", 1),
        lost_from="proposal",
        close_in=-2,
        reason="competitor",
        notes="Went with a regional carrier about 8 % cheaper",
    ),
    DealPlan(
        "Temperature-controlled storage",
        "meridian",
        SOFIA,
        "lost",
        None,
        Work(CALL, "Check the budget with finance", 3),
        lost_from="discovery",
        reason="no_budget",
        notes="Budget frozen until the next fiscal year",
    ),
)


@dataclass(frozen=True)
class AccountWork:
    """Planned (or, with an outcome, done) work on an account, with no deal."""

    company: str
    owner: str
    work: Work
    outcome: str | None = None


ACCOUNT_WORK = (
    AccountWork("nordhafen", SAM, Work(MEETING, "Quarterly business review", 3)),
    AccountWork("kestrel", SAM, Work(CALL, "Win-back call: what moved their volumes?", 0)),
    AccountWork("brightwater", SAM, Work(TASK, "Send the updated rate card", -2)),
    AccountWork("tidewater", SAM, Work(CALL, "Check-in after the first shipments", 8)),
    AccountWork(
        "tidewater",
        SAM,
        Work(CALL, "Onboarding call", -20),
        outcome="Shipments start next week; EDI link tested",
    ),
    AccountWork("granitepeak", SOFIA, Work(EMAIL, "Win-back offer: bundled warehousing", 0)),
    AccountWork("vela", SOFIA, Work(CALL, "Ask why volumes dropped this quarter", -1)),
    AccountWork("castellan", SOFIA, Work(TASK, "Prepare the annual rate review", 10)),
    AccountWork(
        "castellan",
        SOFIA,
        Work(MEETING, "Warehouse audit in Basel", -12),
        outcome="Audit passed; two minor findings on labelling",
    ),
    AccountWork("atlas", MAX, Work(MEETING, "Account review with the sales team", 7)),
    AccountWork("solenne", SAM, Work(NOTE, "Met their COO at the transport logistic fair", 0)),
    AccountWork("vela", SOFIA, Work(NOTE, "Volumes down after their warehouse consolidation", 0)),
)


@dataclass
class SalesSummary:
    """What one `ensure_demo_sales` run added (all zero when the data was there)."""

    accounts: int = 0
    contacts: int = 0
    ledger_lines: int = 0
    deals: int = 0
    won: int = 0
    lost: int = 0
    activities: int = 0
    skipped: str | None = None

    def line(self) -> str:
        if self.skipped:
            return f"Demo sales data: {self.skipped}"
        return (
            f"Demo sales data: {self.accounts} accounts, {self.contacts} contacts,"
            f" {self.ledger_lines} ledger lines, {self.deals} deals ({self.won} won,"
            f" {self.lost} lost), {self.activities} activities"
        )


@dataclass
class _Builder:
    ctx: Ctx
    flow: CompiledWorkflow
    currency: str
    today: date
    rng: random.Random
    summary: SalesSummary = field(default_factory=SalesSummary)
    accounts: dict[str, uuid.UUID] = field(default_factory=dict)
    contacts: dict[str, list[uuid.UUID]] = field(default_factory=dict)
    _acting: str | None = None
    _reference: int = 0

    async def act_as(self, email: str) -> None:
        if email != self._acting:
            await act_as_member(self.ctx, email)
            self._acting = email

    def day(self, days_from_today: int) -> date:
        return self.today + timedelta(days=days_from_today)

    def at(self, days_from_today: int) -> datetime:
        """A working-hours time on that day (UTC), on the quarter hour."""
        moment = time(self.rng.randint(8, 16), self.rng.choice((0, 15, 30, 45)), tzinfo=UTC)
        return datetime.combine(self.day(days_from_today), moment)

    # ------------------------------------------------------------ accounts

    async def company(self, spec: Company) -> None:
        await self.act_as(spec.owner)
        created = await accounts.create_account(
            self.ctx,
            AccountIn(
                name=spec.name,
                domain=spec.domain,
                tax_id=spec.tax_id,
                address=spec.address,
                industry=spec.industry,
                tags=list(spec.tags),
            ),
        )
        account_id = created.account.id
        self.accounts[spec.key] = account_id
        self.summary.accounts += 1
        await self._contacts(spec, account_id)
        await self._ledger(spec, account_id)

    async def _contacts(self, spec: Company, account_id: uuid.UUID) -> None:
        count = self.rng.choice((1, 2, 2, 3))
        firsts = self.rng.sample(FIRST_NAMES, count)
        lasts = self.rng.sample(LAST_NAMES, count)
        titles = self.rng.sample(TITLES, count)
        ids = []
        for first, last, title in zip(firsts, lasts, titles, strict=True):
            local = f"{first}.{last}".lower().replace("'", "")
            contact = await contacts.create_contact(
                self.ctx,
                ContactIn(
                    account_id=account_id,
                    first_name=first,
                    last_name=last,
                    email=f"{local}@{spec.domain}",
                    phone=f"{spec.phone_prefix} {self.rng.randint(200, 989)}"
                    f" {self.rng.randint(1000, 9999)}",
                    title=title,
                ),
            )
            ids.append(contact.id)
        self.contacts[spec.key] = ids
        self.summary.contacts += count

    async def _ledger(self, spec: Company, account_id: uuid.UUID) -> None:
        if spec.ledger.value is None:
            return
        first, last = spec.ledger.value
        # A few days' spread, well inside the status bands either way.
        first, last = first + self.rng.randint(0, 5), last + self.rng.randint(0, 5)
        months = max(1, round((first - last) / 30))
        for index in range(months + 1):
            days_ago = first - round(index * (first - last) / months)
            if 0 < index < months:
                days_ago += self.rng.randint(-3, 3)
            amount = Decimal(spec.invoice * self.rng.uniform(0.75, 1.25)).quantize(Decimal("1"))
            self._reference += 1
            await accounts.add_transaction(
                self.ctx,
                account_id,
                TransactionIn(
                    occurred_on=self.day(-days_ago),
                    amount=amount,
                    reference=f"INV-{self.day(-days_ago):%Y}-{self._reference:05d}",
                ),
            )
            self.summary.ledger_lines += 1
        if spec.ledger is Ledger.PASSIVE:
            # A credit note: a ledger line may be negative.
            self._reference += 1
            await accounts.add_transaction(
                self.ctx,
                account_id,
                TransactionIn(
                    occurred_on=self.day(-last - 3),
                    amount=Decimal(-spec.invoice // 10),
                    reference=f"CN-{self.day(-last - 3):%Y}-{self._reference:05d}",
                ),
            )
            self.summary.ledger_lines += 1

    async def account_work(self, spec: AccountWork) -> None:
        await self.act_as(spec.owner)
        contact_id = self.rng.choice(self.contacts[spec.company])
        is_note = spec.work.type is NOTE
        activity = await activities.create_activity(
            self.ctx,
            ActivityIn(
                type=spec.work.type,
                subject=spec.work.subject,
                due_at=None if is_note else self.at(spec.work.due_in),
                account_id=self.accounts[spec.company],
                contact_id=contact_id,
            ),
        )
        self.summary.activities += 1
        if spec.outcome is not None:
            await activities.complete_activity(
                self.ctx, activity.id, CompleteIn(outcome=spec.outcome), activity.version
            )

    # ------------------------------------------------------------ deals

    @staticmethod
    def _path(plan: DealPlan) -> list[str]:
        """The open stages the deal passes through, in order, the current one last."""
        last = {"won": "negotiation", "lost": plan.lost_from}.get(plan.stage, plan.stage)
        if plan.back_to_proposal:
            return [*STAGES, "proposal"]
        return list(STAGES[: STAGES.index(last) + 1])

    async def deal(self, plan: DealPlan) -> None:
        """Open the deal, then for each stage it left: complete that stage's work
        (planning the next, which becomes the deal's next step) and move it on.
        The work left behind lies in the past, a week or so apart; the deal's
        current next step is `plan.next`. Won and lost deals are closed last."""
        await self.act_as(plan.owner)
        path = self._path(plan)
        done = [STAGE_WORK[stage] for stage in path[:-1]]
        due = -sum(self.rng.randint(5, 9) for _ in done)
        work = [Work(type_, subject, due) for type_, subject, _ in done[:1]]
        for type_, subject, _ in done[1:]:
            due += self.rng.randint(5, 9)
            work.append(Work(type_, subject, min(due, -1)))
        work.append(plan.next)
        contact_id = self.rng.choice(self.contacts[plan.company])
        priced = plan.amount is not None and not plan.priced_on_proposal
        close_in = self.rng.randint(30, 90) if plan.close_in is None else plan.close_in
        deal, _ = await deals.create_deal(
            self.ctx,
            DealIn(
                name=plan.name,
                account_id=self.accounts[plan.company],
                contact_id=contact_id,
                amount=Decimal(plan.amount) if priced and plan.amount else None,
                currency=self.currency,
                expected_close_date=self.day(close_in) if priced else None,
                next_step=work[0].subject,
                next_step_due_date=self.day(work[0].due_in),
            ),
        )
        self.summary.deals += 1
        activity = await self._plan(deal.id, contact_id, work[0])
        for index, stage in enumerate(path[1:]):
            outcome = done[index][2]
            if path[index] == "negotiation" and plan.back_to_proposal:
                outcome = plan.back_to_proposal
            activity = await self._complete(activity, outcome, work[index + 1])
            await self._move(deal.id, plan, stage, close_in)
        if plan.stage in ("won", "lost"):
            await self._close(deal.id, plan)

    async def _plan(
        self, deal_id: uuid.UUID, contact_id: uuid.UUID, work: Work
    ) -> tuple[uuid.UUID, int]:
        activity = await activities.create_activity(
            self.ctx,
            ActivityIn(
                type=work.type,
                subject=work.subject,
                due_at=self.at(work.due_in),
                deal_id=deal_id,
                contact_id=contact_id,
            ),
        )
        self.summary.activities += 1
        return activity.id, activity.version

    async def _complete(
        self, activity: tuple[uuid.UUID, int], outcome: str, upcoming: Work
    ) -> tuple[uuid.UUID, int]:
        """Complete the deal's current work, planning the next: the activities service
        makes it the deal's next step."""
        change = await activities.complete_activity(
            self.ctx,
            activity[0],
            CompleteIn(
                outcome=outcome,
                next=FollowUpIn(
                    type=PlannedType(upcoming.type.value),
                    subject=upcoming.subject,
                    due_at=self.at(upcoming.due_in),
                ),
            ),
            activity[1],
        )
        assert change.follow_up is not None
        self.summary.activities += 1
        return change.follow_up.id, change.follow_up.version

    async def _move(self, deal_id: uuid.UUID, plan: DealPlan, stage: str, close_in: int) -> None:
        deal, _ = await deals.get_deal(self.ctx, deal_id)
        fields = MoveFields()
        if stage == "proposal" and deal.amount is None:
            assert plan.amount is not None, f"{plan.name} needs an amount for Proposal"
            fields = MoveFields(amount=Decimal(plan.amount), expected_close_date=self.day(close_in))
        backwards = plan.back_to_proposal is not None and deal.step_id == self.step("negotiation")
        await deals.move_deal(
            self.ctx,
            deal_id,
            DealMoveIn(
                to_step_id=self.step(stage),
                version=deal.version,
                reason="Re-scoped" if backwards else None,
                notes=plan.back_to_proposal if backwards else None,
                fields=fields,
            ),
        )

    async def _close(self, deal_id: uuid.UUID, plan: DealPlan) -> None:
        deal, _ = await deals.get_deal(self.ctx, deal_id)
        outcome = DealOutcome.WON if plan.stage == "won" else DealOutcome.LOST
        await deals.close_deal(
            self.ctx,
            deal_id,
            CloseIn(outcome=outcome, reason=plan.reason, notes=plan.notes, version=deal.version),
        )
        if outcome is DealOutcome.WON:
            self.summary.won += 1
        else:
            self.summary.lost += 1

    def step(self, key: str) -> uuid.UUID:
        return self.flow.step_by_key(key).id


def _missing_steps(flow: CompiledWorkflow) -> list[str]:
    keys = {step.key for step in flow.steps.values()}
    return [key for key in (*STAGES, "won", "lost") if key not in keys]


async def ensure_demo_sales(db: Database) -> SalesSummary:
    """Fill the demo organization with its sales data, once (see the module's doc)."""
    async with operator_ctx(db, "demo") as ctx:
        await act_as_admin_of(ctx, DEMO_SLUG)
        present = await ctx.session.scalar(
            select(Account.id).where(Account.domain == MARKER_DOMAIN).limit(1)
        )
        if present is not None:
            return SalesSummary(skipped="already there, nothing added")
        workflow_id, version = await deals.deal_workflow(ctx)
        flow = await workflow_service.require_compiled(ctx, workflow_id, version)
        missing = _missing_steps(flow)
        if missing:
            return SalesSummary(
                skipped="not added: the sales pipeline has no step " + ", ".join(missing)
            )
        currency = await default_currency(ctx.session)
        rng = random.Random(SEED)  # noqa: S311 - repeatable demo data, not a secret
        builder = _Builder(ctx, flow, currency, datetime.now(UTC).date(), rng)
        for company in COMPANIES:
            await builder.company(company)
        for plan in DEALS:
            await builder.deal(plan)
        for work in ACCOUNT_WORK:
            await builder.account_work(work)
        return builder.summary
