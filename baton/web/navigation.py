"""The sidebar: each entry names the roles that may use it; others never see it."""

from __future__ import annotations

from dataclasses import dataclass

from baton.identity.models import Role

ALL_ROLES = frozenset(Role)
WRITERS = frozenset({Role.ADMIN, Role.MANAGER, Role.MARKETING, Role.SALES})
# Workflow configuration: admins change it, managers read it.
WORKFLOW_READERS = frozenset({Role.ADMIN, Role.MANAGER})
# The lead queues (DESIGN §5): marketing's side triages, sales' side claims; managers
# and admins work both. Viewers work no queue and see none of them (Targets they read).
MARKETING_SIDE = frozenset({Role.ADMIN, Role.MANAGER, Role.MARKETING})
SALES_SIDE = frozenset({Role.ADMIN, Role.MANAGER, Role.SALES})
# Lists that oversee both sides: the converted archive and every salesperson's leads.
SUPERVISORS = frozenset({Role.ADMIN, Role.MANAGER})


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str
    roles: frozenset[Role]


# Domains append their pages here (leads, pipeline, targets …) with their roles.
SIDEBAR: list[NavItem] = [
    NavItem("Home", "/", ALL_ROLES),
    NavItem("Lead Inbox", "/leads/inbox", MARKETING_SIDE),
    NavItem("Sales Inbox", "/leads/pool", SALES_SIDE),
    NavItem("My Leads", "/leads/mine", SALES_SIDE),
    NavItem("Nurture", "/leads/nurture", MARKETING_SIDE),
    NavItem("Disqualified", "/leads/disqualified", MARKETING_SIDE),
    NavItem("Converted", "/leads/converted", SUPERVISORS),
    NavItem("Team's leads", "/leads/team", SUPERVISORS),
    NavItem("Pipeline", "/pipeline", ALL_ROLES),
    NavItem("Accounts", "/accounts", ALL_ROLES),
    NavItem("Contacts", "/contacts", ALL_ROLES),
    NavItem("Targets", "/targets", ALL_ROLES),
    NavItem("Activities", "/activities", ALL_ROLES),
    NavItem("Imports", "/imports", WRITERS),
    NavItem("Work items", "/work-items", ALL_ROLES),
    NavItem("Workflows", "/workflow/workflows", WORKFLOW_READERS),
    NavItem("Statuses", "/workflow/statuses", WORKFLOW_READERS),
    NavItem("Project types", "/workflow/project-types", WORKFLOW_READERS),
    NavItem("Team", "/team", frozenset({Role.ADMIN})),
    NavItem("Organization", "/settings/organization", frozenset({Role.ADMIN})),
    NavItem("Jobs", "/jobs", frozenset({Role.ADMIN})),
    NavItem("Webhooks", "/webhooks", frozenset({Role.ADMIN})),
    NavItem("Audit", "/audit", frozenset({Role.ADMIN})),
    NavItem("API keys", "/settings/api-keys", WRITERS),
    NavItem("My account", "/account", ALL_ROLES),
]


def sidebar_for(role: str) -> list[NavItem]:
    return [item for item in SIDEBAR if role in item.roles]
