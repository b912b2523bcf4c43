"""Imports every domain's tables so metadata (Alembic, grants, catalog tests) sees them all."""

from baton.accounts.models import Account, AccountTransaction, AccountWinback
from baton.activities.models import Activity
from baton.audit.models import AuditEntry
from baton.bulk.models import BulkRun
from baton.cadences.models import Cadence, CadenceEnrollment, CadenceStep
from baton.contacts.models import Contact
from baton.core.models import IdempotencyRecord, RateLimitBucket
from baton.deals.models import Deal, NextStepDigest, PipelineColumnTotal
from baton.exports.models import TenantExport
from baton.identity.models import AccessToken, ApiKey, Membership, Tenant, TenantSettings, User
from baton.imports.models import ImportBatch, ImportFile
from baton.jobs.models import JobError
from baton.leads.models import Lead, LeadEscalation, PoolEntry
from baton.notifications.models import Notification
from baton.reports.models import (
    activity_days,
    open_deal_totals,
    step_duration_days,
    workflow_move_days,
)
from baton.saved_views.models import SavedView
from baton.targets.models import Target
from baton.webhooks.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from baton.workflow.models import (
    ProjectType,
    Status,
    Workflow,
    WorkflowHistory,
    WorkflowStep,
    WorkflowTransition,
)
from baton.workitems.models import WorkItem

__all__ = [
    "AccessToken",
    "Account",
    "AccountTransaction",
    "AccountWinback",
    "Activity",
    "ApiKey",
    "AuditEntry",
    "BulkRun",
    "Cadence",
    "CadenceEnrollment",
    "CadenceStep",
    "Contact",
    "Deal",
    "IdempotencyRecord",
    "ImportBatch",
    "ImportFile",
    "JobError",
    "Lead",
    "LeadEscalation",
    "Membership",
    "NextStepDigest",
    "Notification",
    "OutboxEvent",
    "PipelineColumnTotal",
    "PoolEntry",
    "ProjectType",
    "RateLimitBucket",
    "SavedView",
    "Status",
    "Target",
    "Tenant",
    "TenantExport",
    "TenantSettings",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WorkItem",
    "Workflow",
    "WorkflowHistory",
    "WorkflowStep",
    "WorkflowTransition",
    "activity_days",
    "open_deal_totals",
    "step_duration_days",
    "workflow_move_days",
]
