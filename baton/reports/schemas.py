"""The reports' answers (docs/api.md, "Reports"): one shape per report.

Money is a decimal string with 2 places in the report's `currency`; rates are
fractions (0.25 = 25 %) or null when there is nothing to divide by; durations are
seconds, except the win-rate's cycle, in days.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from baton.core.schemas import Schema
from baton.workflow.schemas import StepAnalyticsOut


class StageFigures(Schema):
    step_id: uuid.UUID
    key: str
    name: str
    count: int
    amount: Decimal
    weighted: Decimal


class PipelineTotal(Schema):
    count: int
    amount: Decimal
    weighted: Decimal


class PipelineReport(Schema):
    """Open deals per open step; exactly these fields (see the service for currency)."""

    currency: str
    stages: list[StageFigures]
    total: PipelineTotal


class CurrencyCount(Schema):
    currency: str
    count: int


class ForecastFigures(Schema):
    count: int
    pipeline: Decimal
    best_case: Decimal
    commit: Decimal
    weighted: Decimal
    won_count: int
    won: Decimal


class ForecastMonth(ForecastFigures):
    # YYYY-MM
    month: str


class Undated(Schema):
    count: int
    amount: Decimal


class ForecastReport(Schema):
    currency: str
    since: datetime
    until: datetime
    commit_probability: int
    best_case_probability: int
    months: list[ForecastMonth]
    total: ForecastFigures
    undated: Undated
    other_currencies: list[CurrencyCount]


class WinFigures(Schema):
    won: int
    lost: int
    win_rate: float | None
    won_amount: Decimal
    average_cycle_days: float | None


class OwnerWinFigures(WinFigures):
    owner_id: uuid.UUID
    name: str


class ReasonCount(Schema):
    reason: str = Field(description="The reason's code, as recorded on the move")
    label: str = Field(
        description="What people read: the workflow's label for the code, else the code in words"
    )
    count: int


class WinRateReport(Schema):
    currency: str
    since: datetime
    until: datetime
    owners: list[OwnerWinFigures]
    total: WinFigures
    win_reasons: list[ReasonCount]
    loss_reasons: list[ReasonCount]


class StageConversionReport(Schema):
    workflow_id: uuid.UUID
    since: datetime
    until: datetime
    steps: list[StepAnalyticsOut]


class FunnelStage(Schema):
    key: Literal["created", "qualified", "claimed", "converted"]
    count: int
    share_of_created: float | None
    median_seconds_from_previous: float | None


class LeadFunnelReport(Schema):
    since: datetime
    until: datetime
    stages: list[FunnelStage]
    claim_sla_hours: int
    claimed_within_sla: int
    claimed_within_sla_rate: float | None
    rejected_reasons: list[ReasonCount]


class ActivityFigures(Schema):
    done: int
    overdue: int
    due_today: int


class OwnerActivityFigures(ActivityFigures):
    # Null: activities nobody owns.
    owner_id: uuid.UUID | None
    name: str


class ActivityReport(Schema):
    since: datetime
    until: datetime
    owners: list[OwnerActivityFigures]
    total: ActivityFigures


class AdherenceFigures(Schema):
    due: int
    on_time: int
    late: int
    not_done: int
    on_time_rate: float | None


class OwnerAdherenceFigures(AdherenceFigures):
    owner_id: uuid.UUID | None
    name: str


class CadenceAdherenceReport(Schema):
    since: datetime
    until: datetime
    owners: list[OwnerAdherenceFigures]
    total: AdherenceFigures


class SourceFigures(Schema):
    # Null: leads without a source.
    source: str | None
    created: int
    qualified: int
    qualification_rate: float | None
    # Created per week, aligned with the report's `weeks`.
    weeks: list[int]


class SourcesTotal(Schema):
    created: int
    qualified: int
    qualification_rate: float | None


class SourcesReport(Schema):
    since: datetime
    until: datetime
    # The Monday of each week (YYYY-MM-DD), in the organization's calendar.
    weeks: list[str]
    sources: list[SourceFigures]
    total: SourcesTotal
    median_triage_seconds: float | None
    triaged: int
    rejected_reasons: list[ReasonCount]
    nurture_backlog: int
