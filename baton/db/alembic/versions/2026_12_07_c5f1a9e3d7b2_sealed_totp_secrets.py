"""sealed TOTP secrets: `users.totp_secret` holds an AES-GCM sealed value

The two-factor seed is encrypted with a key derived from the application secret
(`baton.identity.sealing`, `v1.<key id>.<base64url>`, 92 characters), so the column
grows to 128. The migration does not have the application secret (it runs with the
owner's URL only): a plaintext seed left from before is sealed by the app the first
time it reads it (the member's next sign-in with a code), docs/operations.md §
"Two-factor seeds". The downgrade refuses while any sealed value exists: the older
code would take it for a base32 seed.

Revision ID: c5f1a9e3d7b2
Revises: a3e8c5d1f7b9
Create Date: 2026-12-07 17:45:00.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c5f1a9e3d7b2"
down_revision = "a3e8c5d1f7b9"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column(
        "users", "totp_secret", type_=sa.String(length=128), existing_type=sa.String(length=64)
    )


def downgrade() -> None:
    op.execute(
        """
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM users WHERE totp_secret LIKE 'v1.%') THEN
        RAISE EXCEPTION 'users.totp_secret holds sealed two-factor seeds, which the older'
            ' code cannot read: have those members turn two-factor sign-in off first';
    END IF;
END
$$
"""
    )
    op.alter_column(
        "users", "totp_secret", type_=sa.String(length=64), existing_type=sa.String(length=128)
    )
