"""deal origin and lead contacts: a claimed lead's person becomes the deal's contact

Claims, assignments and conversions opened a deal without the lead's person: the
account said "No contacts yet" and the need, source and notes stayed behind on the
lead. Deals gain `source`, `need` and `notes` (the limits of the lead's columns), and
the leads already claimed or converted are backfilled as a claim now does it
(`contacts.matching`): the account's contact with the lead's email, else the one
with its phone digits when one side has no email (gaining the email it lacked), else
a new contact; the deal's contact when it had none; its source, need and notes from
the lead, and a converted target's notes onto its deal.

Run per organization with its tenant set, as the app would, so it holds for an owner
that row-level security applies to.

Revision ID: 5b8e2d41c9a7
Revises: 8195f60e1ea5
Create Date: 2026-12-07 02:10:00.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5b8e2d41c9a7"
down_revision = "8195f60e1ea5"
branch_labels = None
depends_on = None

_LIMITS = {"source": 100, "need": 2000, "notes": 10000}

_DIGITS = "nullif(regexp_replace({0}, '\\D', '', 'g'), '')"
_SAME_PERSON = (
    f"(c.email = l.email OR ({_DIGITS.format('c.phone')} = {_DIGITS.format('l.phone')}"
    " AND (c.email IS NULL OR l.email IS NULL)))"
)
_HANDED_OVER = "l.deal_id IS NOT NULL AND l.account_id IS NOT NULL AND l.deleted_at IS NULL"

# A contact found by phone that lacks the lead's email gains it: one email per
# contact, one contact per email and account (the unique index).
_FILL_EMAIL = f"""
WITH wanted AS (
    SELECT DISTINCT ON (c.account_id, l.email) c.id AS contact_id, l.email
    FROM leads l
    JOIN contacts c ON c.tenant_id = l.tenant_id AND c.account_id = l.account_id
    WHERE {_HANDED_OVER} AND l.email IS NOT NULL AND c.deleted_at IS NULL
      AND c.email IS NULL AND {_DIGITS.format("c.phone")} = {_DIGITS.format("l.phone")}
      AND NOT EXISTS (
          SELECT 1 FROM contacts e
          WHERE e.tenant_id = l.tenant_id AND e.account_id = l.account_id
            AND e.email = l.email AND e.deleted_at IS NULL)
    ORDER BY c.account_id, l.email, c.created_at, c.id
), one_each AS (
    SELECT DISTINCT ON (contact_id) contact_id, email FROM wanted ORDER BY contact_id, email
)
UPDATE contacts c SET email = o.email, version = c.version + 1, updated_at = now()
FROM one_each o WHERE c.tenant_id = current_setting('baton.tenant_id')::uuid
  AND c.id = o.contact_id
"""

# The name split at its first space, else the email's local part, else a stand-in
# naming the company (`contacts.matching.person_of`).
_ADD_CONTACTS = f"""
INSERT INTO contacts (tenant_id, id, account_id, first_name, last_name, email, phone)
SELECT DISTINCT ON (l.account_id, coalesce(l.email, {_DIGITS.format("l.phone")}))
    l.tenant_id, baton_uuid7(), l.account_id,
    left(coalesce(nullif(split_part(btrim(l.contact_name), ' ', 1), ''),
                  split_part(l.email, '@', 1), 'Contact at ' || btrim(l.company_name)), 100),
    left(nullif(btrim(substr(btrim(l.contact_name),
                             length(split_part(btrim(l.contact_name), ' ', 1)) + 1)), ''), 100),
    l.email, l.phone
FROM leads l
JOIN accounts a ON a.tenant_id = l.tenant_id AND a.id = l.account_id AND a.deleted_at IS NULL
WHERE {_HANDED_OVER} AND coalesce(l.email, l.phone) IS NOT NULL
  AND NOT EXISTS (
      SELECT 1 FROM contacts c
      WHERE c.tenant_id = l.tenant_id AND c.account_id = l.account_id
        AND c.deleted_at IS NULL AND {_SAME_PERSON})
ORDER BY l.account_id, coalesce(l.email, {_DIGITS.format("l.phone")}), l.id
"""

_LINK_DEALS = f"""
UPDATE deals d SET
    contact_id = coalesce(d.contact_id, (
        SELECT c.id FROM contacts c
        WHERE c.tenant_id = d.tenant_id AND c.account_id = d.account_id
          AND c.deleted_at IS NULL AND {_SAME_PERSON}
        ORDER BY (c.email = l.email) IS TRUE DESC, c.created_at, c.id
        LIMIT 1)),
    source = coalesce(d.source, l.source),
    need = coalesce(d.need, l.need),
    notes = coalesce(d.notes, l.notes),
    version = d.version + 1,
    updated_at = now()
FROM leads l
WHERE l.tenant_id = d.tenant_id AND l.deal_id = d.id AND {_HANDED_OVER}
  AND d.tenant_id = current_setting('baton.tenant_id')::uuid
"""

_TARGET_NOTES = """
UPDATE deals d SET notes = t.notes, version = d.version + 1, updated_at = now()
FROM targets t
WHERE t.tenant_id = d.tenant_id AND t.converted_deal_id = d.id
  AND t.notes IS NOT NULL AND d.notes IS NULL
  AND d.tenant_id = current_setting('baton.tenant_id')::uuid
"""


def upgrade() -> None:
    for column, limit in _LIMITS.items():
        op.add_column(
            "deals",
            sa.Column(column, sa.String(limit) if column == "source" else sa.Text(), nullable=True),
        )
        op.create_check_constraint(
            op.f(f"ck_deals_{column}_length"),
            "deals",
            f"{column} IS NULL OR length({column}) <= {limit}",
        )
    connection = op.get_bind()
    tenants = connection.execute(sa.text("SELECT id FROM tenants ORDER BY id")).scalars().all()
    for tenant_id in tenants:
        connection.execute(
            sa.text("SELECT set_config('baton.tenant_id', :tenant, true)"),
            {"tenant": str(tenant_id)},
        )
        for statement in (_FILL_EMAIL, _ADD_CONTACTS, _LINK_DEALS, _TARGET_NOTES):
            connection.execute(sa.text(statement))
    connection.execute(sa.text("SELECT set_config('baton.tenant_id', '', true)"))


def downgrade() -> None:
    # The contacts the backfill added stay: they are people of the account now, and
    # may have deals and activities of their own since.
    for column in _LIMITS:
        op.drop_constraint(op.f(f"ck_deals_{column}_length"), "deals", type_="check")
        op.drop_column("deals", column)
