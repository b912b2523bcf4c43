"""Catalog rules: RLS everywhere, tenant_id in every key (Citus-ready), enums = CHECKs."""

from __future__ import annotations

import re

import asyncpg

import baton.models  # noqa: F401
from baton.accounts.models import ActivityLevel, Tenure
from baton.activities.models import ActivityStatus, ActivityType
from baton.cadences.models import CadenceStepType, EnrollmentStatus
from baton.config import Settings
from baton.db.base import Base
from baton.deals.models import DealOutcome
from baton.identity.models import CredentialKind, Role
from baton.jobs.ddl import PROCRASTINATE_TABLES
from baton.leads.models import LeadView

TENANT_KINDS = {"tenant", "tenant_operational"}
TENANT_TABLES = {t.name for t in Base.metadata.tables.values() if t.info["tenancy"] in TENANT_KINDS}


async def test_every_table_declares_its_tenancy_and_exists(owner_conn: asyncpg.Connection) -> None:
    declared = {t.name: t.info.get("tenancy") for t in Base.metadata.tables.values()}
    assert all(kind in {"tenant", "tenant_operational", "global"} for kind in declared.values())
    in_db = {
        r["tablename"]
        for r in await owner_conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        )
    }
    # procrastinate's tables come from its schema file (the jobs migration), not models.
    assert in_db - {"alembic_version", *PROCRASTINATE_TABLES} == set(declared)


async def test_tenant_tables_force_row_level_security(owner_conn: asyncpg.Connection) -> None:
    rows = await owner_conn.fetch(
        "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class"
        " WHERE relname = ANY($1::text[]) AND relkind = 'r'",
        list(TENANT_TABLES),
    )
    assert {r["relname"] for r in rows} == TENANT_TABLES
    for row in rows:
        assert row["relrowsecurity"], row["relname"]
        assert row["relforcerowsecurity"], row["relname"]
    policies = await owner_conn.fetch(
        "SELECT tablename, qual, with_check FROM pg_policies WHERE policyname = 'tenant_isolation'"
    )
    by_table = {p["tablename"]: p for p in policies}
    for table in TENANT_TABLES:
        policy = by_table[table]
        # Inline comparison with the setting; never a function call per row.
        assert "current_setting('baton.tenant_id'::text, true)" in policy["qual"], table
        assert policy["with_check"] == policy["qual"], table


async def test_tenant_keys_include_tenant_id(owner_conn: asyncpg.Connection) -> None:
    """Every PK/UNIQUE of a tenant table, and every FK between tenant tables, has tenant_id."""
    constraints = await owner_conn.fetch(
        """
        SELECT c.conname, c.contype, rel.relname AS tbl, ref.relname AS ref_tbl,
               ARRAY(SELECT a.attname FROM unnest(c.conkey) k
                     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k)::text[] AS cols,
               ARRAY(SELECT a.attname FROM unnest(c.confkey) k
                     JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k)::text[] AS ref_cols
        FROM pg_constraint c
        JOIN pg_class rel ON rel.oid = c.conrelid
        LEFT JOIN pg_class ref ON ref.oid = c.confrelid
        WHERE c.contype IN ('p', 'u', 'f') AND rel.relname = ANY($1::text[])
        """,
        list(TENANT_TABLES),
    )
    assert constraints
    offenders = []
    for c in constraints:
        if c["contype"] in ("p", "u") and "tenant_id" not in c["cols"]:
            offenders.append(c["conname"])
        if c["contype"] == "f" and c["ref_tbl"] in TENANT_TABLES:
            position = c["cols"].index("tenant_id") if "tenant_id" in c["cols"] else -1
            if position < 0 or c["ref_cols"][position] != "tenant_id":
                offenders.append(c["conname"])
    indexes = await owner_conn.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY($1::text[])"
        " AND indexdef LIKE 'CREATE UNIQUE%'",
        list(TENANT_TABLES),
    )
    offenders += [i["indexname"] for i in indexes if "tenant_id" not in i["indexdef"]]
    assert offenders == []


async def test_business_tables_are_audited(owner_conn: asyncpg.Connection) -> None:
    audited = {
        r["tbl"]
        for r in await owner_conn.fetch(
            "SELECT tgrelid::regclass::text AS tbl FROM pg_trigger WHERE tgname = 'audit'"
        )
    }
    expected = {
        t.name
        for t in Base.metadata.tables.values()
        if t.info["tenancy"] == "tenant" and t.info.get("audited", True)
    }
    assert expected <= audited


async def test_check_constraints_list_exactly_the_python_enums(
    owner_conn: asyncpg.Connection,
) -> None:
    def values_of(definition: str) -> set[str]:
        return set(re.findall(r"'([^']+)'", definition))

    checks = {
        r["conname"]: r["def"]
        for r in await owner_conn.fetch(
            "SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE contype = 'c'"
        )
    }
    assert values_of(checks["ck_memberships_role_valid"]) == {r.value for r in Role}
    assert values_of(checks["ck_access_tokens_kind_valid"]) == {k.value for k in CredentialKind}
    assert values_of(checks["ck_cadence_steps_type_valid"]) == {t.value for t in CadenceStepType}
    assert values_of(checks["ck_cadence_enrollments_status_valid"]) == {
        s.value for s in EnrollmentStatus
    }
    assert values_of(checks["ck_deals_outcome_valid"]) == {o.value for o in DealOutcome}
    assert values_of(checks["ck_leads_view_valid"]) == {v.value for v in LeadView}
    assert values_of(checks["ck_activities_type_valid"]) == {t.value for t in ActivityType}
    assert values_of(checks["ck_activities_status_valid"]) == {s.value for s in ActivityStatus}
    assert values_of(checks["ck_account_winbacks_tenure_valid"]) == {t.value for t in Tenure}
    assert values_of(checks["ck_account_winbacks_activity_valid"]) == {
        a.value for a in ActivityLevel
    }


async def test_app_role_is_unprivileged(owner_conn: asyncpg.Connection, settings: Settings) -> None:
    role = await owner_conn.fetchrow(
        "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = $1",
        settings.app_db_role,
    )
    assert role is not None
    assert not any(role.values())
    owned = await owner_conn.fetchval(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = $1",
        settings.app_db_role,
    )
    assert owned == 0
    audit_privileges = await owner_conn.fetch(
        "SELECT privilege_type FROM information_schema.role_table_grants"
        " WHERE table_name = 'audit_log' AND grantee = $1",
        settings.app_db_role,
    )
    assert {p["privilege_type"] for p in audit_privileges} == {"INSERT"}
