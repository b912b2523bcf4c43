"""organization locale: money written as the organization's people read it

`tenant_settings.locale` (a BCP 47 tag, `en-US` for every organization until an
admin chooses another) decides how pages write money and read typed amounts
(`baton.core.locales`, `baton.web.formatting.money`). Authentication answers it in
the same round trip as the member's time zone, so a page costs no statement more:
`baton_authenticate` is created again with a `locale` column (its result type
changes, so it is dropped first).

Revision ID: c4e8a1f6d2b9
Revises: b7d2e9f4a1c6
Create Date: 2026-12-07 17:30:00.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from baton.db import ddl

revision = "c4e8a1f6d2b9"
down_revision = "b7d2e9f4a1c6"
branch_labels = None
depends_on = None


def _replace_function(created: str) -> None:
    op.execute("DROP FUNCTION baton_authenticate(uuid, bytea, text, text)")
    op.execute(created)


def upgrade() -> None:
    op.add_column(
        "tenant_settings",
        sa.Column("locale", sa.String(35), server_default=sa.text("'en-US'"), nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_tenant_settings_locale_length"),
        "tenant_settings",
        "length(locale) BETWEEN 2 AND 35",
    )
    _replace_function(ddl.AUTHENTICATE_FUNCTION_V3)


def downgrade() -> None:
    _replace_function(ddl.AUTHENTICATE_FUNCTION_V2)
    op.drop_constraint(op.f("ck_tenant_settings_locale_length"), "tenant_settings", type_="check")
    op.drop_column("tenant_settings", "locale")
