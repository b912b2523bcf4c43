"""list search: words anywhere in names, domains, emails and phones (issue 14, defect 5)

Accounts, contacts, targets and leads gain `search_doc`, a generated `tsvector` of
their folded words (`baton.db.search`), GIN-indexed over live rows; contacts, targets
and leads also `phone_tail`, the phone's digits reversed, in a `text_pattern_ops`
btree, so the end of a number is a prefix search. `baton_search_<table>` finds a
search's rows and ranks as the owner (SECURITY DEFINER): under RLS the app role's own
query could use neither index (`@@` and `LIKE` are not leakproof). Adding a stored generated column rewrites each table once.
The SQL text is this revision's own copy of `baton.db.search` at the time (a test
compares them).

Revision ID: 4c2e8b7d1f35
Revises: c4e7a9d2b816
Create Date: 2026-12-07 02:30:00.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "4c2e8b7d1f35"
down_revision = "c4e7a9d2b816"
branch_labels = None
depends_on = None

ACCOUNTS_DOCUMENT = (
    "setweight('''^''\\:1'::tsvector || to_tsvector('simple'::regconfig, regexp_replace(replac"
    "e(replace(replace(translate(lower(coalesce(name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħì"
    "íîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggg"
    "hhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ"
    "', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(re"
    "place(translate(lower(coalesce(name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļ"
    "ľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiij"
    "klllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '["
    "[:punct:]]+', '', 'g')), 'A') || setweight(to_tsvector('simple'::regconfig, regexp_repla"
    "ce(replace(replace(replace(translate(lower(coalesce(domain, '')), 'àáâãäåāăąçćĉċčďđèéêëē"
    "ĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddee"
    "eeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ'"
    ", 'ae'), 'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace"
    "(replace(replace(translate(lower(coalesce(tax_id, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħ"
    "ìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeeggg"
    "ghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), '"
    "œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g')), 'B')"
)
CONTACTS_DOCUMENT = (
    "setweight('''^''\\:1'::tsvector || to_tsvector('simple'::regconfig, regexp_replace(replac"
    "e(replace(replace(translate(lower(coalesce(first_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝ"
    "ğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeee"
    "eegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae"
    "'), 'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(repl"
    "ace(replace(translate(lower(coalesce(first_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħì"
    "íîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggg"
    "hhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ"
    "', 'oe'), '[[:punct:]]+', '', 'g') || ' ' || regexp_replace(replace(replace(replace(tran"
    "slate(lower(coalesce(last_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñń"
    "ņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijkllll"
    "lnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:pun"
    "ct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(replace(translate(l"
    "ower(coalesce(last_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõö"
    "øōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnoo"
    "ooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:]]+'"
    ", '', 'g')), 'A') || setweight(to_tsvector('simple'::regconfig, regexp_replace(replace(r"
    "eplace(replace(translate(lower(coalesce(email, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíî"
    "ïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghh"
    "iiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ',"
    " 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(repl"
    "ace(translate(lower(coalesce(title, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľ"
    "ŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijk"
    "lllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[["
    ":punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(replace(transla"
    "te(lower(coalesce(phone, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõö"
    "øōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnoo"
    "ooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:][:s"
    "pace:]]+', ' ', 'g') || ' ' || coalesce(regexp_replace(phone, '[^0-9]+', '', 'g'), '')),"
    " 'B')"
)
TARGETS_DOCUMENT = (
    "setweight('''^''\\:1'::tsvector || to_tsvector('simple'::regconfig, regexp_replace(replac"
    "e(replace(replace(translate(lower(coalesce(company_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėę"
    "ěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeee"
    "eeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', '"
    "ae'), 'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(re"
    "place(replace(translate(lower(coalesce(company_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġ"
    "ģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeee"
    "gggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae')"
    ", 'œ', 'oe'), '[[:punct:]]+', '', 'g')), 'A') || setweight(to_tsvector('simple'::regconf"
    "ig, regexp_replace(replace(replace(replace(translate(lower(coalesce(contact_name, '')), "
    "'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž"
    "', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyy"
    "zzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || "
    "regexp_replace(replace(replace(replace(translate(lower(coalesce(email, '')), 'àáâãäåāăąç"
    "ćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaa"
    "aacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß',"
    " 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_repl"
    "ace(replace(replace(replace(translate(lower(coalesce(phone, '')), 'àáâãäåāăąçćĉċčďđèéêëē"
    "ĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddee"
    "eeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ'"
    ", 'ae'), 'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || coalesce(regexp_replac"
    "e(phone, '[^0-9]+', '', 'g'), '')), 'B')"
)
LEADS_DOCUMENT = (
    "setweight('''^''\\:1'::tsvector || to_tsvector('simple'::regconfig, regexp_replace(replac"
    "e(replace(replace(translate(lower(coalesce(company_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėę"
    "ěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeee"
    "eeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', '"
    "ae'), 'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(re"
    "place(replace(translate(lower(coalesce(company_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġ"
    "ģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeee"
    "gggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae')"
    ", 'œ', 'oe'), '[[:punct:]]+', '', 'g')), 'A') || setweight(to_tsvector('simple'::regconf"
    "ig, regexp_replace(replace(replace(replace(translate(lower(coalesce(contact_name, '')), "
    "'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž"
    "', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyy"
    "zzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || "
    "regexp_replace(replace(replace(replace(translate(lower(coalesce(email, '')), 'àáâãäåāăąç"
    "ćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaa"
    "aacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß',"
    " 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_repl"
    "ace(replace(replace(replace(translate(lower(coalesce(phone, '')), 'àáâãäåāăąçćĉċčďđèéêëē"
    "ĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddee"
    "eeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ'"
    ", 'ae'), 'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || coalesce(regexp_replac"
    "e(phone, '[^0-9]+', '', 'g'), '')), 'B')"
)
PHONE_TAIL = "reverse(regexp_replace(phone, '[^0-9]+', '', 'g'))"
DOCUMENTS = {
    "accounts": ACCOUNTS_DOCUMENT,
    "contacts": CONTACTS_DOCUMENT,
    "targets": TARGETS_DOCUMENT,
    "leads": LEADS_DOCUMENT,
}
WITH_PHONE = ("contacts", "targets", "leads")

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
FUNCTION_WITH_PHONE = """
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
      AND (t.search_doc @@ query OR (t.phone_tail ~>=~ tail_from AND t.phone_tail ~<~ tail_to))
$$
"""


def upgrade() -> None:
    for table, document in DOCUMENTS.items():
        op.add_column(
            table,
            sa.Column(
                "search_doc",
                postgresql.TSVECTOR(),
                sa.Computed(document, persisted=True),
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
    for table in WITH_PHONE:
        op.add_column(
            table,
            sa.Column(
                "phone_tail", sa.Text(), sa.Computed(PHONE_TAIL, persisted=True), nullable=True
            ),
        )
        op.create_index(
            f"ix_{table}_phone_tail",
            table,
            ["tenant_id", "phone_tail"],
            postgresql_ops={"phone_tail": "text_pattern_ops"},
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
    for table in DOCUMENTS:
        shape = FUNCTION_WITH_PHONE if table in WITH_PHONE else FUNCTION
        op.execute(shape.strip().replace("{table}", table))


def downgrade() -> None:
    for table in DOCUMENTS:
        op.execute(f"DROP FUNCTION baton_search_{table}(tsquery, tsquery, tsquery, text, text)")
    for table in WITH_PHONE:
        op.drop_index(f"ix_{table}_phone_tail", table_name=table)
        op.drop_column(table, "phone_tail")
    for table in DOCUMENTS:
        op.drop_index(f"ix_{table}_search", table_name=table)
        op.drop_column(table, "search_doc")
