"""list search pages: every rank an index lookup of its own, a page at most a few thousand rows read (issue 14, part 5)

The six searched tables' `search_doc` gains marked lexemes (`baton.db.search`,
`NAME_MARK`, `FIRST_MARK`, `OTHER_MARK`): every word of the name as `~word`, the
name's first word as `^word`, every other word as `%word`, so the rows of each rank
(the name starts with the query, every word in the name, the rest) are found along
the GIN index without reading the rows of the other ranks. `baton_search_page_<table>`
(accounts, contacts, targets) answers the next page of a search in (rank, id) order
from the cursor's (rank, id), reading a rank whole along the index or walking it in id order,
whichever the planner's estimate says is cheaper, a few thousand rows at most
whatever the word (why and how: `page_function_sql`). A generated column's expression
cannot be altered: each `search_doc` and its index are dropped and made again, which
rewrites each table once. The SQL text is this revision's own copy of
`baton.db.search` (a test compares them); the downgrade puts back the documents of
revisions 4c2e8b7d1f35 and f3b9d6c1a8e2.

Revision ID: a6400433877f
Revises: d6a2f8c4e1b7
Create Date: 2026-12-07 21:20:00.000000+00:00
"""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "a6400433877f"
down_revision = "d6a2f8c4e1b7"
branch_labels = None
depends_on = None

ACCOUNTS_DOCUMENT = (
    "setweight('''^''\\:1'::tsvector || to_tsvector('simple'::regconfig, regexp_replace(re"
    "place(replace(replace(translate(lower(coalesce(name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėę"
    "ěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccdde"
    "eeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss')"
    ", 'æ', 'ae'), 'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replac"
    "e(replace(replace(replace(translate(lower(coalesce(name, '')), 'àáâãäåāăąçćĉċčďđèéêë"
    "ēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccc"
    "cddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', '"
    "ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:]]+', '', 'g')), 'A') || setweight(to_tsvect"
    "or('simple'::regconfig, regexp_replace(replace(replace(replace(translate(lower(coale"
    "sce(domain, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝ"
    "şšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooo"
    "oorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:][:sp"
    "ace:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(replace(translate(lower"
    "(coalesce(tax_id, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏ"
    "őŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnno"
    "oooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct"
    ":][:space:]]+', ' ', 'g')), 'B') || array_to_tsvector(string_to_array('~' || replace"
    "(btrim(regexp_replace(regexp_replace(replace(replace(replace(translate(lower(coalesc"
    "e(name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţť"
    "ŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorr"
    "rsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:][:space:"
    "]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(replace(translate(lower(coa"
    "lesce(name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝ"
    "şšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooo"
    "oorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:]]+',"
    " '', 'g'), '[[:space:]]+', ' ', 'g')), ' ', ' ~') || ' ^' || split_part(btrim(regexp"
    "_replace(regexp_replace(replace(replace(replace(translate(lower(coalesce(name, '')),"
    " 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵý"
    "ÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuu"
    "uuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g"
    "') || ' ' || regexp_replace(replace(replace(replace(translate(lower(coalesce(name, '"
    "')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭů"
    "űųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttu"
    "uuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:]]+', '', 'g'), '["
    "[:space:]]+', ' ', 'g')), ' ', 1) || ' %' || replace(btrim(regexp_replace(regexp_rep"
    "lace(replace(replace(replace(translate(lower(coalesce(domain, '')), 'àáâãäåāăąçćĉċčď"
    "đèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaa"
    "acccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), '"
    "ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || rege"
    "xp_replace(replace(replace(replace(translate(lower(coalesce(tax_id, '')), 'àáâãäåāăą"
    "çćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aa"
    "aaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzz"
    "z'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g'), '[[:spa"
    "ce:]]+', ' ', 'g')), ' ', ' %'), ' '))"
)
CONTACTS_DOCUMENT = (
    "setweight('''^''\\:1'::tsvector || to_tsvector('simple'::regconfig, regexp_replace(re"
    "place(replace(replace(translate(lower(coalesce(first_name, '')), 'àáâãäåāăąçćĉċčďđèé"
    "êëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacc"
    "cccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß',"
    " 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_"
    "replace(replace(replace(replace(translate(lower(coalesce(first_name, '')), 'àáâãäåāă"
    "ąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'a"
    "aaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyz"
    "zz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:]]+', '', 'g') || ' ' || regexp_"
    "replace(replace(replace(replace(translate(lower(coalesce(last_name, '')), 'àáâãäåāăą"
    "çćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aa"
    "aaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzz"
    "z'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' |"
    "| regexp_replace(replace(replace(replace(translate(lower(coalesce(last_name, '')), '"
    "àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷ"
    "źżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuu"
    "uuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:]]+', '', 'g')), 'A') ||"
    " setweight(to_tsvector('simple'::regconfig, regexp_replace(replace(replace(replace(t"
    "ranslate(lower(coalesce(email, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀ"
    "łñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiii"
    "ijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe"
    "'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(repl"
    "ace(translate(lower(coalesce(title, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵ"
    "ķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiii"
    "iiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ'"
    ", 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace"
    "(replace(translate(lower(coalesce(phone, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩ"
    "īĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggg"
    "hhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae')"
    ", 'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || coalesce(regexp_replace(p"
    "hone, '[^0-9]+', '', 'g'), '')), 'B') || array_to_tsvector(string_to_array('~' || re"
    "place(btrim(regexp_replace(regexp_replace(replace(replace(replace(translate(lower(co"
    "alesce(first_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøō"
    "ŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnn"
    "ooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punc"
    "t:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(replace(translat"
    "e(lower(coalesce(first_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñ"
    "ńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiij"
    "klllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe')"
    ", '[[:punct:]]+', '', 'g') || ' ' || regexp_replace(replace(replace(replace(translat"
    "e(lower(coalesce(last_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñń"
    "ņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijk"
    "lllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'),"
    " '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(replace"
    "(translate(lower(coalesce(last_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįı"
    "ĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhii"
    "iiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ"
    "', 'oe'), '[[:punct:]]+', '', 'g'), '[[:space:]]+', ' ', 'g')), ' ', ' ~') || ' ^' |"
    "| split_part(btrim(regexp_replace(regexp_replace(replace(replace(replace(translate(l"
    "ower(coalesce(first_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņň"
    "òóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijkll"
    "lllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '"
    "[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(replace(t"
    "ranslate(lower(coalesce(first_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵ"
    "ķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiii"
    "iiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ'"
    ", 'oe'), '[[:punct:]]+', '', 'g') || ' ' || regexp_replace(replace(replace(replace(t"
    "ranslate(lower(coalesce(last_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķ"
    "ĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiii"
    "iiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ',"
    " 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace("
    "replace(translate(lower(coalesce(last_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìí"
    "îïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeeg"
    "ggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'a"
    "e'), 'œ', 'oe'), '[[:punct:]]+', '', 'g'), '[[:space:]]+', ' ', 'g')), ' ', 1) || ' "
    "%' || replace(btrim(regexp_replace(regexp_replace(replace(replace(replace(translate("
    "lower(coalesce(email, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõ"
    "öøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijkllllln"
    "nnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:p"
    "unct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(replace(trans"
    "late(lower(coalesce(title, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņ"
    "ňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijkl"
    "llllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), "
    "'[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(replace("
    "translate(lower(coalesce(phone, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľ"
    "ŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiii"
    "iijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'o"
    "e'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || coalesce(regexp_replace(phone, '[^"
    "0-9]+', '', 'g'), ''), '[[:space:]]+', ' ', 'g')), ' ', ' %'), ' '))"
)
TARGETS_DOCUMENT = (
    "setweight('''^''\\:1'::tsvector || to_tsvector('simple'::regconfig, regexp_replace(re"
    "place(replace(replace(translate(lower(coalesce(company_name, '')), 'àáâãäåāăąçćĉċčďđ"
    "èéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaa"
    "cccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß"
    "', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regex"
    "p_replace(replace(replace(replace(translate(lower(coalesce(company_name, '')), 'àáâã"
    "äåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž'"
    ", 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuw"
    "yyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:]]+', '', 'g')), 'A') || set"
    "weight(to_tsvector('simple'::regconfig, regexp_replace(replace(replace(replace(trans"
    "late(lower(coalesce(contact_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺ"
    "ļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiii"
    "iiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', "
    "'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(r"
    "eplace(translate(lower(coalesce(email, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭ"
    "įıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghh"
    "iiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), "
    "'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(repl"
    "ace(replace(translate(lower(coalesce(phone, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìí"
    "îïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeeg"
    "ggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'a"
    "e'), 'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || coalesce(regexp_replac"
    "e(phone, '[^0-9]+', '', 'g'), '')), 'B') || array_to_tsvector(string_to_array('~' ||"
    " replace(btrim(regexp_replace(regexp_replace(replace(replace(replace(translate(lower"
    "(coalesce(company_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòó"
    "ôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijkllll"
    "lnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[["
    ":punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(replace(tra"
    "nslate(lower(coalesce(company_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵ"
    "ķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiii"
    "iiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ'"
    ", 'oe'), '[[:punct:]]+', '', 'g'), '[[:space:]]+', ' ', 'g')), ' ', ' ~') || ' ^' ||"
    " split_part(btrim(regexp_replace(regexp_replace(replace(replace(replace(translate(lo"
    "wer(coalesce(company_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņ"
    "ňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijkl"
    "llllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), "
    "'[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(replace("
    "translate(lower(coalesce(company_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭ"
    "įıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghh"
    "iiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), "
    "'œ', 'oe'), '[[:punct:]]+', '', 'g'), '[[:space:]]+', ' ', 'g')), ' ', 1) || ' %' ||"
    " replace(btrim(regexp_replace(regexp_replace(replace(replace(replace(translate(lower"
    "(coalesce(contact_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòó"
    "ôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijkllll"
    "lnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[["
    ":punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(replace(tra"
    "nslate(lower(coalesce(email, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñ"
    "ńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiij"
    "klllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe')"
    ", '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(replac"
    "e(translate(lower(coalesce(phone, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺ"
    "ļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiii"
    "iiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', "
    "'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || coalesce(regexp_replace(phone, '"
    "[^0-9]+', '', 'g'), ''), '[[:space:]]+', ' ', 'g')), ' ', ' %'), ' '))"
)
LEADS_DOCUMENT = (
    "setweight('''^''\\:1'::tsvector || to_tsvector('simple'::regconfig, regexp_replace(re"
    "place(replace(replace(translate(lower(coalesce(company_name, '')), 'àáâãäåāăąçćĉċčďđ"
    "èéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaa"
    "cccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß"
    "', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regex"
    "p_replace(replace(replace(replace(translate(lower(coalesce(company_name, '')), 'àáâã"
    "äåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž'"
    ", 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuw"
    "yyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:]]+', '', 'g')), 'A') || set"
    "weight(to_tsvector('simple'::regconfig, regexp_replace(replace(replace(replace(trans"
    "late(lower(coalesce(contact_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺ"
    "ļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiii"
    "iiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', "
    "'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(r"
    "eplace(translate(lower(coalesce(email, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭ"
    "įıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghh"
    "iiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), "
    "'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(repl"
    "ace(replace(translate(lower(coalesce(phone, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìí"
    "îïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeeg"
    "ggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'a"
    "e'), 'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || coalesce(regexp_replac"
    "e(phone, '[^0-9]+', '', 'g'), '')), 'B') || array_to_tsvector(string_to_array('~' ||"
    " replace(btrim(regexp_replace(regexp_replace(replace(replace(replace(translate(lower"
    "(coalesce(company_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòó"
    "ôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijkllll"
    "lnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[["
    ":punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(replace(tra"
    "nslate(lower(coalesce(company_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵ"
    "ķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiii"
    "iiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ'"
    ", 'oe'), '[[:punct:]]+', '', 'g'), '[[:space:]]+', ' ', 'g')), ' ', ' ~') || ' ^' ||"
    " split_part(btrim(regexp_replace(regexp_replace(replace(replace(replace(translate(lo"
    "wer(coalesce(company_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņ"
    "ňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijkl"
    "llllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), "
    "'[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(replace("
    "translate(lower(coalesce(company_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭ"
    "įıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghh"
    "iiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), "
    "'œ', 'oe'), '[[:punct:]]+', '', 'g'), '[[:space:]]+', ' ', 'g')), ' ', 1) || ' %' ||"
    " replace(btrim(regexp_replace(regexp_replace(replace(replace(replace(translate(lower"
    "(coalesce(contact_name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòó"
    "ôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijkllll"
    "lnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[["
    ":punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(replace(tra"
    "nslate(lower(coalesce(email, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñ"
    "ńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiij"
    "klllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe')"
    ", '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(replac"
    "e(translate(lower(coalesce(phone, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺ"
    "ļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiii"
    "iiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', "
    "'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || coalesce(regexp_replace(phone, '"
    "[^0-9]+', '', 'g'), ''), '[[:space:]]+', ' ', 'g')), ' ', ' %'), ' '))"
)
NAME_DOCUMENT = (
    "setweight('''^''\\:1'::tsvector || to_tsvector('simple'::regconfig, regexp_replace(re"
    "place(replace(replace(translate(lower(coalesce(name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėę"
    "ěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccdde"
    "eeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss')"
    ", 'æ', 'ae'), 'œ', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replac"
    "e(replace(replace(replace(translate(lower(coalesce(name, '')), 'àáâãäåāăąçćĉċčďđèéêë"
    "ēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccc"
    "cddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', '"
    "ss'), 'æ', 'ae'), 'œ', 'oe'), '[[:punct:]]+', '', 'g')), 'A') || array_to_tsvector(s"
    "tring_to_array('~' || replace(btrim(regexp_replace(regexp_replace(replace(replace(re"
    "place(translate(lower(coalesce(name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįı"
    "ĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhii"
    "iiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ"
    "', 'oe'), '[[:punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replac"
    "e(replace(translate(lower(coalesce(name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩ"
    "īĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggg"
    "hhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae')"
    ", 'œ', 'oe'), '[[:punct:]]+', '', 'g'), '[[:space:]]+', ' ', 'g')), ' ', ' ~') || ' "
    "^' || split_part(btrim(regexp_replace(regexp_replace(replace(replace(replace(transla"
    "te(lower(coalesce(name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòó"
    "ôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijkllll"
    "lnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), '[["
    ":punct:][:space:]]+', ' ', 'g') || ' ' || regexp_replace(replace(replace(replace(tra"
    "nslate(lower(coalesce(name, '')), 'àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñń"
    "ņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž', 'aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijk"
    "lllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'),"
    " '[[:punct:]]+', '', 'g'), '[[:space:]]+', ' ', 'g')), ' ', 1), ' '))"
)
DOCUMENTS = {
    "accounts": ACCOUNTS_DOCUMENT,
    "contacts": CONTACTS_DOCUMENT,
    "targets": TARGETS_DOCUMENT,
    "leads": LEADS_DOCUMENT,
    "deals": NAME_DOCUMENT,
    "work_items": NAME_DOCUMENT,
}

# `baton.db.search.page_function_sql` (why: there).
PAGE_FUNCTION = """
CREATE FUNCTION baton_search_page_{table}(
    query tsquery, in_name tsquery, start tsquery, tail_from text, tail_to text,
    name_hint tsquery, start_hint tsquery, other_hint tsquery,
    after_rank integer, after_id uuid, lim integer, probe integer
) RETURNS TABLE (id uuid, rank integer)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public
SET plan_cache_mode = force_custom_plan SET enable_seqscan = off
SET enable_bitmapscan = on SET enable_sort = on ROWS 50 AS $$
DECLARE
    tenant constant uuid := nullif(current_setting('baton.tenant_id', true), '')::uuid;
    nil constant uuid := '00000000-0000-0000-0000-000000000000';
    bucket integer;
    since uuid;
    wanted integer := lim;
    hint tsquery;
    plan json;
    ids uuid[];
BEGIN
    FOR bucket IN coalesce(after_rank, 0)..2 LOOP
        EXIT WHEN wanted <= 0;
        since := CASE WHEN bucket = after_rank THEN coalesce(after_id, nil) ELSE nil END;
        hint := CASE bucket WHEN 0 THEN start_hint WHEN 1 THEN name_hint ELSE other_hint END;
        EXECUTE format('EXPLAIN (FORMAT JSON) SELECT 1 FROM {table} t WHERE t.search_doc @@ %L::tsquery',
                       hint::text) INTO plan;
        ids := NULL;
        IF (plan->0->'Plan'->>'Plan Rows')::numeric <= probe THEN
            PERFORM set_config('enable_bitmapscan', 'on', true),
                    set_config('enable_sort', 'on', true);
            IF bucket = 0 THEN
                ids := ARRAY(SELECT t.id FROM {table} t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL
                    AND t.search_doc @@ start_hint AND (t.search_doc || ''::tsvector) @@ start LIMIT probe + 1);
            ELSIF bucket = 1 THEN
                ids := ARRAY(SELECT t.id FROM {table} t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL
                    AND t.search_doc @@ name_hint AND (t.search_doc || ''::tsvector) @@ in_name AND NOT (t.search_doc || ''::tsvector) @@ start LIMIT probe + 1);
            ELSE
                ids := ARRAY(SELECT t.id FROM {table} t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL
                    AND (t.search_doc @@ other_hint) AND NOT (t.search_doc || ''::tsvector) @@ in_name LIMIT probe + 1);
            END IF;
            IF cardinality(ids) > probe THEN
                ids := NULL;
            ELSE
                ids := ARRAY(SELECT f.id FROM unnest(ids) f(id) WHERE f.id > since
                             ORDER BY f.id LIMIT wanted);
            END IF;
        END IF;
        IF ids IS NULL THEN
            PERFORM set_config('enable_bitmapscan', 'off', true),
                    set_config('enable_sort', 'off', true);
            IF bucket = 0 THEN
                ids := ARRAY(SELECT t.id FROM {table} t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.id > since
                    AND (t.search_doc || ''::tsvector) @@ start ORDER BY t.id LIMIT wanted);
            ELSIF bucket = 1 THEN
                ids := ARRAY(SELECT t.id FROM {table} t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.id > since
                    AND (t.search_doc || ''::tsvector) @@ in_name AND NOT (t.search_doc || ''::tsvector) @@ start ORDER BY t.id LIMIT wanted);
            ELSE
                ids := ARRAY(SELECT t.id FROM {table} t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.id > since
                    AND ((t.search_doc || ''::tsvector) @@ query) AND NOT (t.search_doc || ''::tsvector) @@ in_name ORDER BY t.id LIMIT wanted);
            END IF;
        END IF;
        RETURN QUERY SELECT f.id, bucket FROM unnest(ids) f(id);
        wanted := wanted - cardinality(ids);
    END LOOP;
END
$$
"""
PAGE_FUNCTION_WITH_PHONE = """
CREATE FUNCTION baton_search_page_{table}(
    query tsquery, in_name tsquery, start tsquery, tail_from text, tail_to text,
    name_hint tsquery, start_hint tsquery, other_hint tsquery,
    after_rank integer, after_id uuid, lim integer, probe integer
) RETURNS TABLE (id uuid, rank integer)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public
SET plan_cache_mode = force_custom_plan SET enable_seqscan = off
SET enable_bitmapscan = on SET enable_sort = on ROWS 50 AS $$
DECLARE
    tenant constant uuid := nullif(current_setting('baton.tenant_id', true), '')::uuid;
    nil constant uuid := '00000000-0000-0000-0000-000000000000';
    bucket integer;
    since uuid;
    wanted integer := lim;
    hint tsquery;
    plan json;
    ids uuid[];
BEGIN
    FOR bucket IN coalesce(after_rank, 0)..2 LOOP
        EXIT WHEN wanted <= 0;
        since := CASE WHEN bucket = after_rank THEN coalesce(after_id, nil) ELSE nil END;
        hint := CASE bucket WHEN 0 THEN start_hint WHEN 1 THEN name_hint ELSE other_hint END;
        EXECUTE format('EXPLAIN (FORMAT JSON) SELECT 1 FROM {table} t WHERE t.search_doc @@ %L::tsquery',
                       hint::text) INTO plan;
        ids := NULL;
        IF (plan->0->'Plan'->>'Plan Rows')::numeric <= probe THEN
            PERFORM set_config('enable_bitmapscan', 'on', true),
                    set_config('enable_sort', 'on', true);
            IF bucket = 0 THEN
                ids := ARRAY(SELECT t.id FROM {table} t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL
                    AND t.search_doc @@ start_hint AND (t.search_doc || ''::tsvector) @@ start LIMIT probe + 1);
            ELSIF bucket = 1 THEN
                ids := ARRAY(SELECT t.id FROM {table} t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL
                    AND t.search_doc @@ name_hint AND (t.search_doc || ''::tsvector) @@ in_name AND NOT (t.search_doc || ''::tsvector) @@ start LIMIT probe + 1);
            ELSE
                ids := ARRAY(SELECT t.id FROM {table} t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL
                    AND (t.search_doc @@ other_hint OR (t.phone_tail ~>=~ tail_from AND t.phone_tail ~<~ tail_to)) AND NOT (t.search_doc || ''::tsvector) @@ in_name LIMIT probe + 1);
            END IF;
            IF cardinality(ids) > probe THEN
                ids := NULL;
            ELSE
                ids := ARRAY(SELECT f.id FROM unnest(ids) f(id) WHERE f.id > since
                             ORDER BY f.id LIMIT wanted);
            END IF;
        END IF;
        IF ids IS NULL THEN
            PERFORM set_config('enable_bitmapscan', 'off', true),
                    set_config('enable_sort', 'off', true);
            IF bucket = 0 THEN
                ids := ARRAY(SELECT t.id FROM {table} t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.id > since
                    AND (t.search_doc || ''::tsvector) @@ start ORDER BY t.id LIMIT wanted);
            ELSIF bucket = 1 THEN
                ids := ARRAY(SELECT t.id FROM {table} t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.id > since
                    AND (t.search_doc || ''::tsvector) @@ in_name AND NOT (t.search_doc || ''::tsvector) @@ start ORDER BY t.id LIMIT wanted);
            ELSE
                ids := ARRAY(SELECT t.id FROM {table} t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.id > since
                    AND ((t.search_doc || ''::tsvector) @@ query OR (t.phone_tail ~>=~ tail_from AND t.phone_tail ~<~ tail_to)) AND NOT (t.search_doc || ''::tsvector) @@ in_name ORDER BY t.id LIMIT wanted);
            END IF;
        END IF;
        RETURN QUERY SELECT f.id, bucket FROM unnest(ids) f(id);
        wanted := wanted - cardinality(ids);
    END LOOP;
END
$$
"""
PAGED = {
    "accounts": PAGE_FUNCTION,
    "contacts": PAGE_FUNCTION_WITH_PHONE,
    "targets": PAGE_FUNCTION_WITH_PHONE,
}
SIGNATURE = "(tsquery, tsquery, tsquery, text, text, tsquery, tsquery, tsquery, integer, uuid, integer, integer)"


def _documents(revision: str) -> dict[str, str]:
    """The documents an earlier revision made (its own copy), for the downgrade."""
    if revision == "one_box":
        one_box = importlib.import_module(
            "baton.db.alembic.versions.2026_12_07_f3b9d6c1a8e2_one_box_search"
        )
        return {"deals": one_box.NAME_DOCUMENT, "work_items": one_box.NAME_DOCUMENT}
    lists = importlib.import_module("baton.db.alembic.versions.2026_12_07_4c2e8b7d1f35_list_search")
    return dict(lists.DOCUMENTS)


def _remake(table: str, document: str) -> None:
    op.drop_index(f"ix_{table}_search", table_name=table)
    op.drop_column(table, "search_doc")
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


def upgrade() -> None:
    for table, document in DOCUMENTS.items():
        _remake(table, document)
    for table, shape in PAGED.items():
        op.execute(shape.strip().replace("{table}", table))


def downgrade() -> None:
    for table in PAGED:
        op.execute(f"DROP FUNCTION baton_search_page_{table}{SIGNATURE}")
    for table, document in {**_documents("lists"), **_documents("one_box")}.items():
        _remake(table, document)
