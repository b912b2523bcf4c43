"""The workflows every new organization starts with (DESIGN §4); admins edit them."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from baton.workflow.models import EntityType, StatusCategory

OPEN, WON, LOST, PARKED = (
    StatusCategory.OPEN,
    StatusCategory.WON,
    StatusCategory.LOST,
    StatusCategory.PARKED,
)

WIN_REASONS = ("price", "product_fit", "relationship", "timing", "other")
LOSS_REASONS = ("price", "competitor", "no_budget", "no_decision", "timing", "product_gap", "other")
DISQUALIFY_REASONS = ("no_fit", "no_budget", "duplicate", "invalid_contact", "other")
DROP_REASONS = ("no_budget", "not_interested", "invalid", "other")


@dataclass(frozen=True)
class StepSpec:
    key: str
    name: str
    category: StatusCategory
    colour: str
    probability: float | None = None
    required_fields: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TransitionSpec:
    source: str
    target: str
    label: str
    reasons: tuple[str, ...] = ()
    required_fields: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkflowSpec:
    name: str
    entity_type: EntityType
    project_type: str
    icon: str
    steps: tuple[StepSpec, ...]
    transitions: tuple[TransitionSpec, ...]


def _chain(keys: tuple[str, ...], back: bool = False) -> tuple[TransitionSpec, ...]:
    """Forward one step along `keys` (and back one step, when `back`)."""
    pairs = list(pairwise(keys))
    forward = tuple(TransitionSpec(a, b, "Advance") for a, b in pairs)
    backward = tuple(TransitionSpec(b, a, "Back") for a, b in pairs) if back else ()
    return forward + backward


LEAD_TRIAGE = WorkflowSpec(
    name="Lead triage",
    entity_type=EntityType.LEAD,
    project_type="Lead",
    icon="inbox",
    steps=(
        StepSpec("new", "New", OPEN, "#64748b"),
        StepSpec("in_review", "In Review", OPEN, "#0ea5e9"),
        StepSpec(
            "qualified",
            "Qualified",
            OPEN,
            "#22c55e",
            required_fields=("need",),
            # Enforced by the lead journey: an email or a phone, at least one.
            extra={"required_one_of": ["email", "phone"]},
        ),
        StepSpec("nurture", "Nurture", PARKED, "#a855f7"),
        StepSpec("disqualified", "Disqualified", LOST, "#ef4444"),
        StepSpec("handed_over", "Handed Over", OPEN, "#f59e0b"),
        StepSpec("claimed", "Claimed", OPEN, "#3b82f6"),
        StepSpec("converted", "Converted", WON, "#16a34a"),
    ),
    transitions=(
        TransitionSpec("new", "in_review", "Start review"),
        TransitionSpec("in_review", "qualified", "Qualify", required_fields=("need",)),
        TransitionSpec("in_review", "nurture", "Nurture"),
        TransitionSpec("in_review", "disqualified", "Disqualify", reasons=DISQUALIFY_REASONS),
        TransitionSpec("nurture", "in_review", "Review again"),
        TransitionSpec("qualified", "handed_over", "Hand over to sales", effects=("hand_over",)),
        TransitionSpec("handed_over", "claimed", "Claim"),
        # Sales hands a pooled lead back to marketing, saying why.
        TransitionSpec("handed_over", "in_review", "Reject", reasons=DISQUALIFY_REASONS),
        # The claimer gives a lead back to the pool before any work on it was done.
        TransitionSpec("claimed", "handed_over", "Release"),
        TransitionSpec("claimed", "converted", "Convert"),
        TransitionSpec("claimed", "disqualified", "Close as not a fit", reasons=DISQUALIFY_REASONS),
    ),
)

_PIPELINE_OPEN = ("prospecting", "discovery", "proposal", "negotiation")

SALES_PIPELINE = WorkflowSpec(
    name="Sales pipeline",
    entity_type=EntityType.DEAL,
    project_type="Deal",
    icon="briefcase",
    steps=(
        StepSpec("prospecting", "Prospecting", OPEN, "#64748b", probability=10),
        StepSpec("discovery", "Discovery", OPEN, "#0ea5e9", probability=20),
        StepSpec(
            "proposal",
            "Proposal",
            OPEN,
            "#6366f1",
            probability=50,
            required_fields=("amount", "expected_close_date"),
        ),
        StepSpec("negotiation", "Negotiation", OPEN, "#f59e0b", probability=75),
        StepSpec("won", "Won", WON, "#16a34a", probability=100),
        StepSpec("lost", "Lost", LOST, "#ef4444", probability=0),
    ),
    transitions=(
        *_chain(_PIPELINE_OPEN, back=True),
        TransitionSpec("negotiation", "won", "Win", reasons=WIN_REASONS),
        *(TransitionSpec(key, "lost", "Lose", reasons=LOSS_REASONS) for key in _PIPELINE_OPEN),
    ),
)

_TARGET_OPEN = ("new_target", "contacted", "engaged", "qualified")

TARGET_PROSPECTING = WorkflowSpec(
    name="Target prospecting",
    entity_type=EntityType.TARGET,
    project_type="Target",
    icon="target",
    steps=(
        StepSpec("new_target", "New Target", OPEN, "#64748b"),
        StepSpec("contacted", "Contacted", OPEN, "#0ea5e9"),
        StepSpec("engaged", "Engaged", OPEN, "#6366f1"),
        StepSpec("qualified", "Qualified", OPEN, "#22c55e"),
        StepSpec("converted", "Converted", WON, "#16a34a"),
        StepSpec("dropped", "Dropped", LOST, "#ef4444"),
    ),
    transitions=(
        *_chain((*_TARGET_OPEN, "converted")),
        *(TransitionSpec(key, "dropped", "Drop", reasons=DROP_REASONS) for key in _TARGET_OPEN),
    ),
)

SUPPORT_TICKET = WorkflowSpec(
    name="Support ticket",
    entity_type=EntityType.WORK_ITEM,
    project_type="Support Ticket",
    icon="lifebuoy",
    steps=(
        StepSpec("open", "Open", OPEN, "#64748b"),
        StepSpec("in_progress", "In Progress", OPEN, "#0ea5e9"),
        StepSpec("resolved", "Resolved", WON, "#16a34a"),
        StepSpec("closed", "Closed", PARKED, "#94a3b8"),
    ),
    transitions=(
        TransitionSpec("open", "in_progress", "Start"),
        TransitionSpec("in_progress", "open", "Back to queue"),
        TransitionSpec("in_progress", "resolved", "Resolve", required_fields=("resolution",)),
        TransitionSpec("resolved", "in_progress", "Reopen"),
        TransitionSpec("resolved", "closed", "Close"),
    ),
)

DEFAULT_WORKFLOWS = (LEAD_TRIAGE, SALES_PIPELINE, TARGET_PROSPECTING, SUPPORT_TICKET)
