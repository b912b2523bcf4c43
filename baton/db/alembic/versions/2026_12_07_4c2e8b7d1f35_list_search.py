"""list search: words anywhere in names, domains, emails and phones (issue 14, defect 5)

Accounts, contacts, targets and leads gain `search_doc`, a generated `tsvector` of
their folded words (`baton.db.search`), GIN-indexed over live rows; contacts, targets
and leads also `phone_tail`, the phone's digits reversed, in a `text_pattern_ops`
btree, so the end of a number is a prefix search. Adding a stored generated column rewrites each table once.
The SQL text is this revision's own copy of `baton.db.search` at the time (a test
compares them).

Revision ID: 4c2e8b7d1f35
Revises: 9d3f6a2c8e14
Create Date: 2026-12-07 02:30:00.000000+00:00
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
    "setweight(to_tsvector('simple'::regconfig, regexp_replace(replace(replace(replace(transl"
    "ate(lower(coalesce(name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõö"
    "øōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnoo"
    "ooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:][:s"
    "pace:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(replace(translate(lower(co"
    "alesce(name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţ"
    "ťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrss"
    "sstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:]]+', '', 'g')),"
    " 'A') || setweight(to_tsvector('simple'::regconfig, regexp_replace(replace(replace(repla"
    "ce(translate(lower(coalesce(domain, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľ"
    "ŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijk"
    "lllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[["
    ":punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(replace(transla"
    "te(lower(coalesce(tax_id, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõ"
    "öøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnno"
    "oooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:][:"
    "space:]]+', ' ', 'g')), 'B')"
)
CONTACTS_DOCUMENT = (
    "setweight(to_tsvector('simple'::regconfig, regexp_replace(replace(replace(replace(transl"
    "ate(lower(coalesce(first_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņ"
    "ňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllll"
    "nnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punc"
    "t:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(replace(translate(lo"
    "wer(coalesce(first_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõö"
    "øōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnoo"
    "ooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:]]+'"
    ", '', 'g') || ' ' || regexp_replace(replace(replace(replace(translate(lower(coalesce(las"
    "t_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúû"
    "üũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrssssttt"
    "uuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:][:space:]]+', ' ', '"
    "g') || ' ' || regexp_replace(replace(replace(replace(translate(lower(coalesce(last_name,"
    " '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűų"
    "ŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuu"
    "uuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:]]+', '', 'g')), 'A') || set"
    "weight(to_tsvector('simple'::regconfig, regexp_replace(replace(replace(replace(translate"
    "(lower(coalesce(email, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøō"
    "ŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnoooo"
    "ooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:][:spa"
    "ce:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(replace(translate(lower(coal"
    "esce(title, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţť"
    "ŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsss"
    "stttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:][:space:]]+', ' "
    "', 'g') || ' ' || regexp_replace(replace(replace(replace(translate(lower(coalesce(phone,"
    " '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűų"
    "ŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuu"
    "uuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || "
    "' ' || coalesce(regexp_replace(phone, '[^0-9]+', '', 'g'), '')), 'B')"
)
TARGETS_DOCUMENT = (
    "setweight(to_tsvector('simple'::regconfig, regexp_replace(replace(replace(replace(transl"
    "ate(lower(coalesce(company_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñ"
    "ńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklll"
    "llnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:pu"
    "nct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(replace(translate("
    "lower(coalesce(company_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňò"
    "óôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnn"
    "nnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:"
    "]]+', '', 'g')), 'A') || setweight(to_tsvector('simple'::regconfig, regexp_replace(repla"
    "ce(replace(replace(translate(lower(coalesce(contact_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕė"
    "ęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeee"
    "eeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', "
    "'ae'), 'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(r"
    "eplace(replace(translate(lower(coalesce(email, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíî"
    "ïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghh"
    "iiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ',"
    " 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(repl"
    "ace(translate(lower(coalesce(phone, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľ"
    "ŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijk"
    "lllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[["
    ":punct:][:space:]]+', ' ', 'g') || ' ' || coalesce(regexp_replace(phone, '[^0-9]+', '', "
    "'g'), '')), 'B')"
)
LEADS_DOCUMENT = (
    "setweight(to_tsvector('simple'::regconfig, regexp_replace(replace(replace(replace(transl"
    "ate(lower(coalesce(company_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñ"
    "ńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklll"
    "llnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:pu"
    "nct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(replace(translate("
    "lower(coalesce(company_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňò"
    "óôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnn"
    "nnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:"
    "]]+', '', 'g')), 'A') || setweight(to_tsvector('simple'::regconfig, regexp_replace(repla"
    "ce(replace(replace(translate(lower(coalesce(contact_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕė"
    "ęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeee"
    "eeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', "
    "'ae'), 'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(r"
    "eplace(replace(translate(lower(coalesce(email, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíî"
    "ïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghh"
    "iiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ',"
    " 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(repl"
    "ace(translate(lower(coalesce(phone, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľ"
    "ŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijk"
    "lllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[["
    ":punct:][:space:]]+', ' ', 'g') || ' ' || coalesce(regexp_replace(phone, '[^0-9]+', '', "
    "'g'), '')), 'B')"
)
PHONE_TAIL = "reverse(regexp_replace(phone, '[^0-9]+', '', 'g'))"
DOCUMENTS = {
    "accounts": ACCOUNTS_DOCUMENT,
    "contacts": CONTACTS_DOCUMENT,
    "targets": TARGETS_DOCUMENT,
    "leads": LEADS_DOCUMENT,
}
WITH_PHONE = ("contacts", "targets", "leads")


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
