"""one-box search: deals and work items get the search document of their name (issue 17)

Deals and work items gain `search_doc`, a generated `tsvector` of their folded name
(`baton.db.search`, the same shape as accounts' name), GIN-indexed over live rows,
and `baton_search_deals`/`baton_search_work_items`, the SECURITY DEFINER functions
that find a search's rows and ranks along that index (why a function: `function_sql`);
all six searched tables get `baton_search_capped_<table>`, which ranks only the first
`cap` matches (why: `capped_function_sql`).
The header's one search box (`baton.search`) asks them with the four of
revision 4c2e8b7d1f35. Adding a stored generated column rewrites each table once.
The SQL text is this revision's own copy of `baton.db.search` (a test compares them).

Revision ID: f3b9d6c1a8e2
Revises: f1b2c3d4e5a6
Create Date: 2026-12-07 14:20:00.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "f3b9d6c1a8e2"
down_revision = "f1b2c3d4e5a6"
branch_labels = None
depends_on = None

# `baton.db.search.DEALS.document` and `WORK_ITEMS.document`: the name alone.
NAME_DOCUMENT = (
    "setweight('''^''\\:1'::tsvector || to_tsvector('simple'::regconfig, regexp_replace(repl"
    "ace(replace(replace(translate(lower(coalesce(name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġ"
    "ģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeee"
    "eegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', '"
    "ae'), 'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace("
    "replace(replace(translate(lower(coalesce(name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħì"
    "íîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegg"
    "gghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae')"
    ", 'œ', 'oe'), '[[:punct:]]+', '', 'g')), 'A')"
)
TABLES = ("deals", "work_items")

# `baton.db.search.function_sql`: the rows a search finds, as the owner (why: there).
FUNCTION = """
CREATE FUNCTION baton_search_{table}(
    query tsquery, in_name tsquery, start tsquery, tail_from text, tail_to text
) RETURNS TABLE (id uuid, rank integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public ROWS 100 AS $$
    SELECT t.id,
           CASE WHEN t.search_doc @@ start THEN 0 WHEN t.search_doc @@ in_name THEN 1
                ELSE 2 END
    FROM {table} t
    WHERE t.tenant_id = nullif(current_setting('baton.tenant_id', true), '')::uuid
      AND t.deleted_at IS NULL
      AND (t.search_doc @@ query)
$$
"""


# `baton.db.search.capped_function_sql`: the first `cap` matches only, for the one box
# (why: there), on all six searched tables.
CAPPED_FUNCTION = """
CREATE FUNCTION baton_search_capped_{table}(
    query tsquery, in_name tsquery, start tsquery, tail_from text, tail_to text,
    cap integer
) RETURNS TABLE (id uuid, rank integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public ROWS 200 AS $$
    SELECT t.id,
           CASE WHEN t.search_doc @@ start THEN 0 WHEN t.search_doc @@ in_name THEN 1
                ELSE 2 END
    FROM {table} t
    WHERE t.tenant_id = nullif(current_setting('baton.tenant_id', true), '')::uuid
      AND t.deleted_at IS NULL
      AND (t.search_doc @@ query)
    LIMIT cap
$$
"""
CAPPED_FUNCTION_WITH_PHONE = """
CREATE FUNCTION baton_search_capped_{table}(
    query tsquery, in_name tsquery, start tsquery, tail_from text, tail_to text,
    cap integer
) RETURNS TABLE (id uuid, rank integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public ROWS 200 AS $$
    SELECT t.id,
           CASE WHEN t.search_doc @@ start THEN 0 WHEN t.search_doc @@ in_name THEN 1
                ELSE 2 END
    FROM {table} t
    WHERE t.tenant_id = nullif(current_setting('baton.tenant_id', true), '')::uuid
      AND t.deleted_at IS NULL
      AND (t.search_doc @@ query OR (t.phone_tail ~>=~ tail_from AND t.phone_tail ~<~ tail_to))
    LIMIT cap
$$
"""
CAPPED = {
    "accounts": CAPPED_FUNCTION,
    "contacts": CAPPED_FUNCTION_WITH_PHONE,
    "targets": CAPPED_FUNCTION_WITH_PHONE,
    "leads": CAPPED_FUNCTION_WITH_PHONE,
    "deals": CAPPED_FUNCTION,
    "work_items": CAPPED_FUNCTION,
}


def upgrade() -> None:
    for table in TABLES:
        op.add_column(
            table,
            sa.Column(
                "search_doc",
                postgresql.TSVECTOR(),
                sa.Computed(NAME_DOCUMENT, persisted=True),
                nullable=True,
            ),
        )
        op.create_index(
            f"ix_{table}_search",
            table,
            ["search_doc"],
            postgresql_using="gin",
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        op.execute(FUNCTION.strip().replace("{table}", table))
    for table, shape in CAPPED.items():
        op.execute(shape.strip().replace("{table}", table))


def downgrade() -> None:
    for table in CAPPED:
        op.execute(
            f"DROP FUNCTION baton_search_capped_{table}"
            "(tsquery, tsquery, tsquery, text, text, integer)"
        )
    for table in TABLES:
        op.execute(f"DROP FUNCTION baton_search_{table}(tsquery, tsquery, tsquery, text, text)")
        op.drop_index(f"ix_{table}_search", table_name=table)
        op.drop_column(table, "search_doc")
