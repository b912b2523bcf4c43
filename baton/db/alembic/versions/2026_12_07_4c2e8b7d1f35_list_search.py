"""list search: words anywhere in names, domains, emails and phones (issue 14, defect 5)

Accounts, contacts and targets gain `search_doc`, a generated `tsvector` of their
folded words (`baton.db.search`), GIN-indexed over live rows; contacts and targets also
`phone_tail`, the phone's digits reversed, in a `text_pattern_ops` btree, so the end of
a number is a prefix search. Adding a stored generated column rewrites each table once.
The SQL text is this revision's own copy of `baton.db.search` at the time (a test
compares them).

Revision ID: 4c2e8b7d1f35
Revises: 9d3f6a2c8e14
Create Date: 2026-12-07 02:55:00.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "4c2e8b7d1f35"
down_revision = "9d3f6a2c8e14"
branch_labels = None
depends_on = None

ACCOUNTS_DOCUMENT = (
    "setweight(to_tsvector('simple'::regconfig, regexp_replace(translate(lower(coalesce(name,"
    " '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűų"
    "ŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuu"
    "uuuwyyyzzz'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(translate(lowe"
    "r(coalesce(name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřś"
    "ŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooor"
    "rrsssstttuuuuuuuuuuwyyyzzz'), '[[:punct:]]+', '', 'g')), 'A') || setweight(to_tsvector('"
    "simple'::regconfig, regexp_replace(translate(lower(coalesce(domain, '')), 'àáâãäåāăąçćĉċ"
    "čďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaac"
    "ccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), '[[:pun"
    "ct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(translate(lower(coalesce(tax_id, ''"
    ")), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿ"
    "ŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuu"
    "wyyyzzz'), '[[:punct:][:space:]]+', ' ', 'g')), 'B')"
)
CONTACTS_DOCUMENT = (
    "setweight(to_tsvector('simple'::regconfig, regexp_replace(translate(lower(coalesce(first"
    "_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûü"
    "ũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttu"
    "uuuuuuuuuwyyyzzz'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(translat"
    "e(lower(coalesce(first_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňò"
    "óôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnn"
    "nnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), '[[:punct:]]+', '', 'g') || ' ' || regexp_repl"
    "ace(translate(lower(coalesce(last_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵ"
    "ķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiii"
    "iijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), '[[:punct:][:space:]]+', ' ', 'g') "
    "|| ' ' || regexp_replace(translate(lower(coalesce(last_name, '')), 'àáâãäåāăąçćĉċčďđèéêë"
    "ēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccdde"
    "eeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), '[[:punct:]]+'"
    ", '', 'g')), 'A') || setweight(to_tsvector('simple'::regconfig, regexp_replace(translate"
    "(lower(coalesce(email, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøō"
    "ŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnoooo"
    "ooooorrrsssstttuuuuuuuuuuwyyyzzz'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_"
    "replace(translate(lower(coalesce(title, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵ"
    "ķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiii"
    "iijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), '[[:punct:][:space:]]+', ' ', 'g') "
    "|| ' ' || regexp_replace(translate(lower(coalesce(phone, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėę"
    "ěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeee"
    "eeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), '[[:punct:][:space"
    ":]]+', ' ', 'g') || ' ' || coalesce(regexp_replace(phone, '[^0-9]+', '', 'g'), '')), 'B'"
    ")"
)
TARGETS_DOCUMENT = (
    "setweight(to_tsvector('simple'::regconfig, regexp_replace(translate(lower(coalesce(compa"
    "ny_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùú"
    "ûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstt"
    "tuuuuuuuuuuwyyyzzz'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(transl"
    "ate(lower(coalesce(company_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñ"
    "ńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklll"
    "llnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), '[[:punct:]]+', '', 'g')), 'A') || setweig"
    "ht(to_tsvector('simple'::regconfig, regexp_replace(translate(lower(coalesce(contact_name"
    ", '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůű"
    "ųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuu"
    "uuuuwyyyzzz'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(translate(low"
    "er(coalesce(email, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗ"
    "řśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnoooooooo"
    "orrrsssstttuuuuuuuuuuwyyyzzz'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_repl"
    "ace(translate(lower(coalesce(phone, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľ"
    "ŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijk"
    "lllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), '[[:punct:][:space:]]+', ' ', 'g') || '"
    " ' || coalesce(regexp_replace(phone, '[^0-9]+', '', 'g'), '')), 'B')"
)
PHONE_TAIL = "reverse(regexp_replace(phone, '[^0-9]+', '', 'g'))"
DOCUMENTS = {
    "accounts": ACCOUNTS_DOCUMENT,
    "contacts": CONTACTS_DOCUMENT,
    "targets": TARGETS_DOCUMENT,
}
WITH_PHONE = ("contacts", "targets")


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


def downgrade() -> None:
    for table in WITH_PHONE:
        op.drop_index(f"ix_{table}_phone_tail", table_name=table)
        op.drop_column(table, "phone_tail")
    for table in DOCUMENTS:
        op.drop_index(f"ix_{table}_search", table_name=table)
        op.drop_column(table, "search_doc")
