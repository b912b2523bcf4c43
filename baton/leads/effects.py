"""`hand_over` for leads: the qualified lead enters the sales pool.

The lead workflow's Qualified → Handed Over transition carries it. It writes the
pool entry (its claim due after the organization's claim SLA, `claim_sla_hours` of
the tenant settings, read when the lead enters the pool) and the "Handed over to
sales" timeline entry, in the move's transaction; the deferred
`lead_pool_consistent` trigger holds the step and the pool row together at commit.
"""

from __future__ import annotations

from baton.core.context import Ctx
from baton.core.schemas import Schema
from baton.leads.service import HANDED_OVER_SUBJECT, enter_pool
from baton.workflow.effects import EffectDefinition, MovedRecord, register
from baton.workflow.engine import Move
from baton.workflow.models import EntityType


class HandOverToSalesConfig(Schema):
    """Nothing to set: the pool is the whole sales team's."""


async def _run(ctx: Ctx, record: MovedRecord, move: Move, config: HandOverToSalesConfig) -> None:
    await enter_pool(ctx, record.id, HANDED_OVER_SUBJECT)


register(
    EffectDefinition(
        name="hand_over",
        summary="Put the lead in the sales pool for any salesperson to claim",
        config_model=HandOverToSalesConfig,
        run=_run,
        # `describe` has no database: the hours are the organization's setting.
        describe=lambda config: (
            "put the lead in the sales pool (claim within the organization's claim SLA)"
        ),
        entity_types=frozenset({EntityType.LEAD}),
    )
)
