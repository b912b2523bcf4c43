"""List search: words anywhere in names, domains, emails and phones, ranked (issue 14, defect 5).

Who uses it: the list queries of accounts, contacts, leads and targets (`<domain>/queries.py`),
the one-box search over those and deals and work items (`baton.search`), and the
migrations that create their search columns. The embedded PostgreSQL has no
`pg_trgm`, so matching is PostgreSQL full-text search plus one normalised prefix index:

- **The document** (`document_sql`): a `tsvector` stored as a generated column
  `search_doc`, GIN-indexed. Its text is *folded* — lower case, common Latin accents
  dropped and `ß`, `æ`, `œ` spelled `ss`, `ae`, `oe` (`fold_sql`, the same map as
  `fold` in Python), every run of punctuation and white space made one space — and
  parsed with the `simple` configuration (no stemming, no stop words). So the parser
  never sees an email or a host name whole ('simple' would keep `anna@feinkost.de` as
  one lexeme, so "feinkost" would not find it): the email is the words
  `anna feinkost de`, the domain `nordhafen feinkost de`. The name is weighted `A`,
  everything else `B`. A name also gives its words with punctuation
  dropped (`O'Brien` → `o`, `brien` and `obrien`), and a phone its digits as one
  token (`+49 40 123-456` → `49`, `40`, `123`, `456`, `4940123456`).
- **The phone tail** (`phone_tail_sql`): the phone's digits reversed, in a btree with
  `text_pattern_ops`, so the end of a number is a prefix search: "040 123456" finds
  `+49 40 123456` (the query's digits with leading zeros dropped, `40123456`, are the
  stored digits' tail). This is the part full-text search cannot do.

A query (`parse`) is its folded words, at most `MAX_WORDS` of at most `MAX_WORD` letters;
each is a prefix (`word:*`) and all must match (AND), in any field. A query of a phone
number (digits and `+ ( ) - . /` and spaces only, at least `MIN_PHONE_DIGITS` digits)
also matches the phone tail. A query with no letter or digit (only spaces or
punctuation) matches nothing.

**Finding** (`found`, `function_sql`): `baton_search_<table>(…)` answers the ids of
the live rows of the current tenant that match, with their rank, as the function's
owner — under row-level security the app role's own query could use neither index
(see `function_sql`). The list query joins those ids to the table under its own RLS.

**Ranking**, best first, then creation order (id) within a rank:
0. the name starts with the query as typed, the last word a prefix ("nordhafen fein"
   → "Nordhafen Feinkost GmbH"): a phrase query from the sentinel lexeme `START`,
   which every document has at position 1, just before the name;
1. every word is a prefix of a word of the name ("feinkost" → "Nordhafen Feinkost");
2. everything else (found by the domain, the email, the phone, the contact's name).
The rank is a small integer, so paging while searching is a keyset on (rank, id): the
cursor carries both (`pagination.next_page`), and a cursor of a plain list is refused in a
search (422); a search's cursor given to the plain list pages it by id.

**Paging without ranking every match** (`page`, `page_function_sql`): the lists without
other filters ask `baton_search_page_<table>` for the next page after the cursor's (rank,
id); it finds each rank on its own along the index (the marked lexemes, `NAME_MARK`) and
reads at most a few thousand rows whatever the word, in exactly the order above — no cap.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Computed,
    Index,
    Integer,
    Text,
    Uuid,
    and_,
    bindparam,
    case,
    cast,
    column,
    func,
    literal,
    literal_column,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlalchemy.orm import mapped_column

from baton.core.errors import FieldError, ValidationFailed
from baton.core.pagination import PageRequest

# A lexeme at position 1 of every document, before the name. No query word can be it
# (words are letters and digits), so only `Search.start` asks for it.
START = "^"
# Marked lexemes, besides the words (`_marks_sql`): every word of the name as
# `~word`, the name's first word as `^word`, every other word (domain, email, phone,
# contact) as `%word`. The parser never makes a lexeme starting with a punctuation
# mark, so a query for `'~feink':*` finds exactly the names holding a word starting
# with "feink" — where `'feink':*A` would find every row holding it anywhere and drop
# the others only after reading them (weights are not in the GIN index).
NAME_MARK = "~"
FIRST_MARK = "^"
OTHER_MARK = "%"
# A rank with at most this many rows is read whole from the GIN index and sorted; one
# with more is walked in id order (`page_function_sql`).
PROBE = 1000
MAX_WORDS = 8
MAX_WORD = 64
MIN_PHONE_DIGITS = 4

# Accented Latin letters (lower case: `fold` lowers first) and their base letter. The
# same map is used in SQL (`translate`, immutable, so a generated column may use it)
# and in Python, so a query is folded exactly as the document was.
_ACCENTED = (
    "àáâãäåāăąçćĉċčďđèéêëēĕėęěĝğġģĥħìíîïĩīĭįıĵķĺļľŀłñńņňòóôõöøōŏőŕŗřśŝşšţťŧùúûüũūŭůűųŵýÿŷźżž"
)
_PLAIN = "aaaaaaaaacccccddeeeeeeeeegggghhiiiiiiiiijklllllnnnnooooooooorrrsssstttuuuuuuuuuuwyyyzzz"
assert len(_ACCENTED) == len(_PLAIN)  # a typo in the map fails at import
_FOLD = str.maketrans(_ACCENTED, _PLAIN)
# Letters written as two: "Weiß" is found by "weiss" (and by "weiß").
_LIGATURES = (("ß", "ss"), ("æ", "ae"), ("œ", "oe"))
_WORD = re.compile(r"[^\W_]+")
_PHONE = re.compile(r"[\d\s+()./-]+")
_SCHEME = re.compile(r"\b[a-z][a-z0-9+.-]*://|\bwww\.")


def fold(text: str) -> str:
    """Lower case, accents of `_ACCENTED` dropped, `_LIGATURES` spelled out — what
    `fold_sql` does in SQL."""
    folded = text.lower().translate(_FOLD)
    for letter, spelled in _LIGATURES:
        folded = folded.replace(letter, spelled)
    return folded


def _folded_sql(expression: str) -> str:
    folded = f"translate(lower(coalesce({expression}, '')), '{_ACCENTED}', '{_PLAIN}')"
    for letter, spelled in _LIGATURES:
        folded = f"replace({folded}, '{letter}', '{spelled}')"
    return folded


def fold_sql(expression: str) -> str:
    """SQL text: the folded expression with every run of punctuation and space one
    space (NULL is empty). Immutable, for generated columns."""
    return f"regexp_replace({_folded_sql(expression)}, '[[:punct:][:space:]]+', ' ', 'g')"


def _joined_sql(expression: str) -> str:
    """SQL text: the folded expression with punctuation dropped (`O'Brien` → `obrien`)."""
    return f"regexp_replace({_folded_sql(expression)}, '[[:punct:]]+', '', 'g')"


def digits_sql(expression: str) -> str:
    """SQL text: the digits of the expression (NULL stays NULL)."""
    return f"regexp_replace({expression}, '[^0-9]+', '', 'g')"


def document_sql(names: tuple[str, ...], others: tuple[str, ...], phones: tuple[str, ...]) -> str:
    """SQL text of the `search_doc` generated column: `names` weighted A (words, and
    words with punctuation dropped), `others` (domains, emails, contact names) and
    `phones` (groups of digits, and all its digits as one token) weighted B."""
    name_text = " || ' ' || ".join(
        part for name in names for part in (fold_sql(name), _joined_sql(name))
    )
    other_parts = [fold_sql(other) for other in others]
    other_parts += [
        f"{fold_sql(phone)} || ' ' || coalesce({digits_sql(phone)}, '')" for phone in phones
    ]
    # The sentinel first, so "the name starts with" is a phrase query (`Search.start`).
    document = (
        # `\\:` — the text is a SQLAlchemy `text()`, where `:1` would be a bind parameter.
        f"setweight('''{START}''\\:1'::tsvector || to_tsvector('simple'::regconfig, {name_text}),"
        " 'A')"
    )
    other_text = " || ' ' || ".join(other_parts) if other_parts else None
    if other_text is not None:
        document += f" || setweight(to_tsvector('simple'::regconfig, {other_text}), 'B')"
    return f"{document} || {_marks_sql(name_text, other_text)}"


def _words_sql(text_sql: str) -> str:
    """SQL text: the text's runs of white space one space, trimmed."""
    return f"btrim(regexp_replace({text_sql}, '[[:space:]]+', ' ', 'g'))"


def _marks_sql(name_text: str, other_text: str | None) -> str:
    """SQL text of the marked lexemes (`NAME_MARK`, `FIRST_MARK`, `OTHER_MARK`): a
    `tsvector` without positions, so each rank's rows are an index lookup of their own
    (`page_function_sql`)."""
    names = _words_sql(name_text)
    marks = (
        f"'{NAME_MARK}' || replace({names}, ' ', ' {NAME_MARK}')"
        f" || ' {FIRST_MARK}' || split_part({names}, ' ', 1)"
    )
    if other_text is not None:
        marks += f" || ' {OTHER_MARK}' || replace({_words_sql(other_text)}, ' ', ' {OTHER_MARK}')"
    return f"array_to_tsvector(string_to_array({marks}, ' '))"


def phone_tail_sql(phone: str) -> str:
    """SQL text of the `phone_tail` generated column: the phone's digits, reversed."""
    return f"reverse({digits_sql(phone)})"


@dataclass(frozen=True)
class Fields:
    """What one table's document is made of (`document_sql`)."""

    names: tuple[str, ...]
    others: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()

    @property
    def document(self) -> str:
        return document_sql(self.names, self.others, self.phones)

    @property
    def has_phone(self) -> bool:
        return bool(self.phones)


SEARCHED = ("accounts", "contacts", "targets", "leads", "deals", "work_items")
# How far a walk of a search rank goes, in `probe`s, before the rest of the rank is read as
# a bitmap of the GIN index (`page_function_sql`).
WALK_ROWS_PER_PROBE = 5
# The tables whose lists page a search with `page_function_sql` (their documents have
# the marked lexemes).
PAGED = ("accounts", "contacts", "targets", "deals", "work_items")
# The search functions' signatures (`function_sql`, `capped_function_sql`), for the
# app role's grants.
FUNCTIONS = (
    *(f"baton_search_{table}(tsquery, tsquery, tsquery, text, text)" for table in SEARCHED),
    *(
        f"baton_search_capped_{table}(tsquery, tsquery, tsquery, text, text, integer)"
        for table in SEARCHED
    ),
    *(
        f"baton_search_page_{table}(tsquery, tsquery, tsquery, text, text, tsquery, tsquery,"
        " tsquery, integer, uuid, integer, integer)"
        for table in PAGED
    ),
    "baton_search_filtered_leads(tsquery, tsquery, tsquery, text, text, tsquery, tsquery,"
    " tsquery, integer, uuid, integer, integer, text, uuid)",
)

# The searched tables. The migration that made their columns holds its own copy of the
# SQL text (revisions keep their text); a test compares the two.
ACCOUNTS = Fields(names=("name",), others=("domain", "tax_id"))
CONTACTS = Fields(names=("first_name", "last_name"), others=("email", "title"), phones=("phone",))
TARGETS = Fields(names=("company_name",), others=("contact_name", "email"), phones=("phone",))
LEADS = Fields(names=("company_name",), others=("contact_name", "email"), phones=("phone",))
# Deals and work items: their name only (the one-box search, `baton.search`).
DEALS = Fields(names=("name",))
WORK_ITEMS = Fields(names=("name",))


@dataclass(frozen=True)
class Search:
    """A parsed query. `words` empty: it matches nothing."""

    words: tuple[str, ...]
    phone_tail: str | None

    def tsquery(self, weights: str = "") -> str:
        """`'w1':* & 'w2':*` (restricted to `weights`, e.g. `A`, when given), for
        `to_tsquery('simple', …)`. Words hold letters and digits only, so quoting cannot
        break."""
        return " & ".join(f"'{word}':*{weights}" for word in self.words)

    def start(self) -> str:
        """`'^' <-> 'w1':A <-> 'w2':*A`, a `tsquery` literal: the name starts with the
        words as typed (the last one a prefix). Cast, not parsed: `to_tsquery` would
        drop the sentinel."""
        *whole, last = self.words
        lexemes = [f"'{START}'", *(f"'{word}':A" for word in whole), f"'{last}':*A"]
        return " <-> ".join(lexemes)

    def name_hint(self) -> str:
        """`'~w1':* & '~w2':*`, a `tsquery` literal: every word starts a word of the name
        (`NAME_MARK`). The same rows as `tsquery("A")`, found along the index alone."""
        return " & ".join(f"'{NAME_MARK}{word}':*" for word in self.words)

    def start_hint(self) -> str:
        """`'^w1' & '~w2':*` (`'^w1':*` for one word), a `tsquery` literal: the name's
        first word and the others in the name — every row `start()` finds, and few
        others."""
        first, *others = self.words
        if not others:
            return f"'{FIRST_MARK}{first}':*"
        return " & ".join([f"'{FIRST_MARK}{first}'", *(f"'{NAME_MARK}{w}':*" for w in others)])

    def other_hint(self) -> str:
        """A `tsquery` literal: every word anywhere, and one of them only outside the
        name (`OTHER_MARK`, not `NAME_MARK`) — the rows of rank 2."""
        outside = " | ".join(
            f"'{OTHER_MARK}{word}':* & !'{NAME_MARK}{word}':*" for word in self.words
        )
        return f"{self.tsquery()} & ( {outside} )"

    def tail_range(self) -> tuple[str | None, str | None]:
        """The `phone_tail` range of a phone-number query, `[tail, tail + 1)` in byte
        order (`~>=~`, `~<~`); else (None, None)."""
        if self.phone_tail is None:
            return None, None
        return self.phone_tail, self.phone_tail[:-1] + chr(ord(self.phone_tail[-1]) + 1)


def parse(q: str) -> Search:
    """The words of a query and, for a phone number, its digits reversed (see the module)."""
    folded = _SCHEME.sub(" ", fold(q))
    words = tuple(word[:MAX_WORD] for word in _WORD.findall(folded))[:MAX_WORDS]
    tail = None
    digits = re.sub(r"\D", "", q).lstrip("0")
    if _PHONE.fullmatch(q.strip()) and len(digits) >= MIN_PHONE_DIGITS:
        tail = digits[::-1]
    return Search(words=words, phone_tail=tail)


def function_sql(table: str, *, phone: bool) -> str:
    """SQL text of `baton_search_<table>(query, in_name, start, tail_from, tail_to)`:
    the live rows of the current tenant that match, each with its rank.

    Why a function: under row-level security PostgreSQL evaluates a condition that is
    not LEAKPROOF only after the policy's, so it never uses an index for it — and `@@`
    and `LIKE` are not leakproof: searched in the app role's own query, every row of
    the tenant was read (a sequential scan, 220 ms at 100 000 accounts). The function
    runs as its owner (SECURITY DEFINER): with an owner that is a superuser or has
    BYPASSRLS (the embedded server's, most self-hosted ones) the GIN and tail indexes
    serve it; otherwise RLS still applies inside it and it is as slow as a scan, never
    wrong. It keeps to `baton.tenant_id` itself, as the policies do (nothing without the
    setting), and answers ids and ranks only: the caller joins them to the table under
    its own RLS, so role visibility (leads, targets) decides what is shown.
    """
    tail = " OR (t.phone_tail ~>=~ tail_from AND t.phone_tail ~<~ tail_to)" if phone else ""
    return (
        f"CREATE FUNCTION baton_search_{table}(\n"  # noqa: S608 - our own table names
        "    query tsquery, in_name tsquery, start tsquery, tail_from text, tail_to text\n"
        ") RETURNS TABLE (id uuid, rank integer)\n"
        "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public ROWS 100 AS $$\n"
        "    SELECT t.id,\n"
        "           CASE WHEN t.search_doc @@ start THEN 0 WHEN t.search_doc @@ in_name THEN 1\n"
        "                ELSE 2 END\n"
        f"    FROM {table} t\n"
        "    WHERE t.tenant_id = nullif(current_setting('baton.tenant_id', true), '')::uuid\n"
        "      AND t.deleted_at IS NULL\n"
        f"      AND (t.search_doc @@ query{tail})\n"
        "$$"
    )


def capped_function_sql(table: str, *, phone: bool) -> str:
    """SQL text of `baton_search_capped_<table>(…, cap)`: as `function_sql`, but only
    the first `cap` matching rows the index finds are ranked (in the order the bitmap
    heap scan reads them: the table's physical order, roughly the oldest first).

    Why: ranking reads every match from the heap, one random block each; a word most
    rows hold (`gmbh`: 57 000 of 100 000) took seconds for the one-box search's six
    tables. Capped, a search costs at most `cap` heap reads per table whatever the
    word. The caller learns that the cap was reached (it gets `cap` rows) and says so:
    the best of the first `cap`, not of all.
    """
    body = function_sql(table, phone=phone)
    body = body.replace(
        f"CREATE FUNCTION baton_search_{table}(\n"
        "    query tsquery, in_name tsquery, start tsquery, tail_from text, tail_to text\n",
        f"CREATE FUNCTION baton_search_capped_{table}(\n"
        "    query tsquery, in_name tsquery, start tsquery, tail_from text, tail_to text,\n"
        "    cap integer\n",
    )
    return body.replace("\n$$", "\n    LIMIT cap\n$$").replace(" ROWS 100 AS $$", " ROWS 200 AS $$")


# The lists that page a search within a filter of their own (`page_function_sql`'s
# `filtered`): the leads, by queue (`view`) and, for `mine`, sales owner. Row-level
# security decides which leads a role sees; within each queue a role may list
# (`baton.leads.service.VIEWS_BY_ROLE`) it sees every lead of the queue (and of its
# own `mine`), so the function's page is the one the caller's query keeps.
FILTERED = {"leads": "t.view = in_view AND (in_owner IS NULL OR t.sales_owner_id = in_owner)"}
FILTERED_ARGUMENTS = "in_view text, in_owner uuid"


def _by_rank(indent: str, lines_of: Callable[[int], tuple[str, ...]]) -> list[str]:
    """PL/pgSQL running `lines_of(rank)` for the loop's `bucket` (0, 1 or 2): the statements
    differ by rank only in their conditions, which must be literal for the planner."""
    lines: list[str] = []
    for rank in (0, 1, 2):
        opening = ("IF", "ELSIF", "ELSE")[rank] + (f" bucket = {rank} THEN" if rank < 2 else "")
        lines.append(indent + opening)
        lines += [f"{indent}    {line}" for line in lines_of(rank)]
    lines.append(f"{indent}END IF;")
    return lines


def page_function_sql(table: str, *, phone: bool, filtered: bool = False) -> str:
    """SQL text of `baton_search_page_<table>(…, after_rank, after_id, lim, probe)`: the
    next `lim` rows of a search in (rank, id) order after the cursor's (rank, id) — a
    page of exactly the order `function_sql` ranks, without ranking every match.

    Why: ranking every match reads each from the heap; a word most rows hold (`gmbh`,
    57 000 of 100 000) took 125 to 530 ms a page. Here each rank is a set of its own,
    found along the GIN index by its marked lexemes (`NAME_MARK`, `FIRST_MARK`,
    `OTHER_MARK`), and a page needs only the first rows by id of one or two ranks. Each
    rank is read one of two ways, chosen by the planner's estimate of its candidates
    (`EXPLAIN` of the lookup, a fraction of a millisecond):

    - a rank of at most `probe` rows is *read whole* along the GIN index, sorted by id
      and cut (at most `probe` + 1 rows read: if the estimate was low and more come,
      the rank is walked instead);
    - a bigger rank is *walked* in id order along the primary key, each row tested,
      until the page is full: about `lim` times rows / rank's rows reads, a few thousand
      at most — and no bitmap of tens of thousands of rows is built. The walk stops
      after `WALK_ROWS_PER_PROBE` x `probe` rows: an estimate can be wrong by any
      amount (a prefix that matches nothing, estimated at 22 000 rows, walked every row
      of the tenant: 1.9 s at 100 000 accounts, 48 s at 1 000 000). A walk that ends so
      without a full page takes the rest of the rank after the last row it read as a
      bitmap of the GIN index, sorted and cut: sparse there, by what the walk saw.

    The order is the same either way, so every match stays reachable page by page and
    no row comes twice. The planner settings are the function's own (restored on
    return): custom plans (a generic plan of these statements reads whole ranks), no
    sequential scan, and for the walk no bitmap and no sort, so it stays on the primary
    key; the walk and the checks test the document through `|| ''`, which no index
    answers. As `function_sql`: as the owner, keeping to `baton.tenant_id` itself, ids
    and ranks only.
    """
    tail = " OR (t.phone_tail ~>=~ tail_from AND t.phone_tail ~<~ tail_to)" if phone else ""
    live = f"FROM {table} t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL"
    name = f"baton_search_page_{table}"
    arguments = "    after_rank integer, after_id uuid, lim integer, probe integer"
    if filtered:
        # `baton_search_filtered_<table>`: the rows of the list's own filter only (its
        # index serves the walk: `ix_leads_view` is in id order within a queue).
        live += f" AND {FILTERED[table]}"
        name = f"baton_search_filtered_{table}"
        arguments += f",\n    {FILTERED_ARGUMENTS}"
    doc = "(t.search_doc || ''::tsvector)"
    # The walk's rows: the next `walk_rows` in id order after the cursor.
    carried = "t.id, t.search_doc" + (", t.phone_tail" if phone else "")
    window = f"SELECT {carried} {live} AND t.id > since ORDER BY t.id LIMIT walk_rows"
    exact = {
        0: f"{doc} @@ start",
        1: f"{doc} @@ in_name AND NOT {doc} @@ start",
        2: f"({doc} @@ query{tail}) AND NOT {doc} @@ in_name",
    }
    hinted = {
        0: f"t.search_doc @@ start_hint AND {exact[0]}",
        1: f"t.search_doc @@ name_hint AND {exact[1]}",
        2: f"(t.search_doc @@ other_hint{tail}) AND NOT {doc} @@ in_name",
    }
    lines = [
        f"CREATE FUNCTION {name}(",
        "    query tsquery, in_name tsquery, start tsquery, tail_from text, tail_to text,",
        "    name_hint tsquery, start_hint tsquery, other_hint tsquery,",
        arguments,
        ") RETURNS TABLE (id uuid, rank integer)",
        "LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public",
        "SET plan_cache_mode = force_custom_plan SET enable_seqscan = off",
        "SET enable_bitmapscan = on SET enable_indexscan = on SET enable_sort = on",
        "ROWS 50 AS $$",
        "DECLARE",
        "    tenant constant uuid := nullif(current_setting('baton.tenant_id', true), '')::uuid;",
        "    nil constant uuid := '00000000-0000-0000-0000-000000000000';",
        "    bucket integer;",
        "    since uuid;",
        "    wanted integer := lim;",
        "    hint tsquery;",
        "    plan json;",
        "    ids uuid[];",
        f"    walk_rows constant integer := greatest(probe, 1) * {WALK_ROWS_PER_PROBE};",
        "    edge uuid;",
        "BEGIN",
        "    FOR bucket IN coalesce(after_rank, 0)..2 LOOP",
        "        EXIT WHEN wanted <= 0;",
        "        since := CASE WHEN bucket = after_rank THEN coalesce(after_id, nil) ELSE nil END;",
        "        hint := CASE bucket WHEN 0 THEN start_hint WHEN 1 THEN name_hint"
        " ELSE other_hint END;",
        f"        EXECUTE format('EXPLAIN (FORMAT JSON) SELECT 1 FROM {table} t"  # noqa: S608
        " WHERE t.search_doc @@ %L::tsquery',",
        "                       hint::text) INTO plan;",
        "        ids := NULL;",
        "        IF (plan->0->'Plan'->>'Plan Rows')::numeric <= probe THEN",
        "            PERFORM set_config('enable_bitmapscan', 'on', true),",
        "                    set_config('enable_sort', 'on', true);",
        *_by_rank(
            "            ",
            lambda rank: (
                f"ids := ARRAY(SELECT t.id {live}",
                f"    AND {hinted[rank]} LIMIT probe + 1);",
            ),
        ),
        "            IF cardinality(ids) > probe THEN",
        "                ids := NULL;",
        "            ELSE",
        "                ids := ARRAY(SELECT f.id FROM unnest(ids) f(id) WHERE f.id > since",
        "                             ORDER BY f.id LIMIT wanted);",
        "            END IF;",
        "        END IF;",
        "        IF ids IS NULL THEN",
        "            PERFORM set_config('enable_bitmapscan', 'off', true),",
        "                    set_config('enable_sort', 'off', true);",
        *_by_rank(
            "            ",
            lambda rank: (
                f"ids := ARRAY(SELECT t.id FROM ({window}) t",  # noqa: S608
                f"    WHERE {exact[rank]} LIMIT wanted);",
            ),
        ),
        "            IF cardinality(ids) < wanted THEN",
        # The walk's last row, when it read all `walk_rows` (none: the rows ran out).
        f"                edge := (SELECT t.id {live} AND t.id > since",
        "                         ORDER BY t.id OFFSET walk_rows - 1 LIMIT 1);",
        "                IF edge IS NOT NULL THEN",
        "                    PERFORM set_config('enable_bitmapscan', 'on', true),",
        "                            set_config('enable_indexscan', 'off', true),",
        "                            set_config('enable_sort', 'on', true);",
        *_by_rank(
            "                    ",
            lambda rank: (
                f"ids := ids || ARRAY(SELECT t.id {live} AND t.id > edge",
                f"    AND {hinted[rank]} ORDER BY t.id LIMIT wanted - cardinality(ids));",
            ),
        ),
        "                    PERFORM set_config('enable_indexscan', 'on', true);",
        "                END IF;",
        "            END IF;",
        "        END IF;",
        "        RETURN QUERY SELECT f.id, bucket FROM unnest(ids) f(id);",
        "        wanted := wanted - cardinality(ids);",
        "    END LOOP;",
        "END",
        "$$",
    ]
    return "\n".join(lines)


def _value(value: Any, type_: Any, bind: str | None, name: str) -> Any:
    """A search's argument: a literal, or with `bind` the named parameter
    `<bind>_<name>` (`bound_values` gives its value for another search)."""
    if bind is None:
        return literal(value, type_)
    return bindparam(f"{bind}_{name}", value, type_=type_)


def _common(search: Search, bind: str | None) -> list[Any]:
    """The arguments every search function takes first: query, in_name, start, the
    phone tail's range."""
    simple: Any = literal_column("'simple'")
    tail_from, tail_to = search.tail_range()
    return [
        func.to_tsquery(simple, _value(search.tsquery(), Text, bind, "query")),
        func.to_tsquery(simple, _value(search.tsquery("A"), Text, bind, "in_name")),
        cast(_value(search.start(), Text, bind, "start"), TSQUERY),
        _value(tail_from, Text, bind, "tail_from"),
        _value(tail_to, Text, bind, "tail_to"),
    ]


def bound_values(
    search: Search,
    bind: str,
    start: tuple[int, uuid.UUID] | None = None,
    limit: int | None = None,
    probe: int = PROBE,
) -> dict[str, Any]:
    """The values of the named parameters a statement built with `bind` holds
    (`found`, `page`, `rank_of`, `after`): a statement compiled once serves every
    search of its shape (`baton.deals.queries.list_shown`)."""
    tail_from, tail_to = search.tail_range()
    return {
        f"{bind}_query": search.tsquery(),
        f"{bind}_in_name": search.tsquery("A"),
        f"{bind}_start": search.start(),
        f"{bind}_tail_from": tail_from,
        f"{bind}_tail_to": tail_to,
        f"{bind}_name_hint": search.name_hint(),
        f"{bind}_start_hint": search.start_hint(),
        f"{bind}_other_hint": search.other_hint(),
        f"{bind}_after_rank": None if start is None else start[0],
        f"{bind}_after_id": None if start is None else start[1],
        f"{bind}_limit": limit,
        f"{bind}_probe": probe,
    }


def page(
    table: str,
    search: Search,
    start: tuple[int, uuid.UUID] | None,
    limit: int,
    probe: int = PROBE,
    *,
    bind: str | None = None,
    within: tuple[str, uuid.UUID | None] | None = None,
) -> Any:
    """The next `limit` rows of a search after `start` in (rank, id) order
    (`page_function_sql`): a FROM item with the columns `id` and `search_rank`. `probe`:
    the most rows of a rank read whole (`PROBE`; tests lower it to walk small ranks).
    `bind`: every argument a named parameter (`bound_values`). `within`: the list's
    own filter (`FILTERED`; the leads' queue and sales owner)."""
    arguments = [
        *_common(search, bind),
        cast(_value(search.name_hint(), Text, bind, "name_hint"), TSQUERY),
        cast(_value(search.start_hint(), Text, bind, "start_hint"), TSQUERY),
        cast(_value(search.other_hint(), Text, bind, "other_hint"), TSQUERY),
        _value(None if start is None else start[0], Integer, bind, "after_rank"),
        _value(None if start is None else start[1], Uuid, bind, "after_id"),
        _value(limit, Integer, bind, "limit"),
        _value(probe, Integer, bind, "probe"),
    ]
    name = f"baton_search_page_{table}"
    if within is not None:
        name = f"baton_search_filtered_{table}"
        arguments += [literal(within[0], Text), literal(within[1], Uuid)]
    rows = (
        getattr(func, name)(*arguments)
        .table_valued(column("id", Uuid), column("rank", Integer))
        .alias(f"page_{table}")
    )
    return select(rows.c.id, rows.c.rank.label("search_rank")).subquery(f"first_{table}")


def found(table: str, search: Search, cap: int | None = None, *, bind: str | None = None) -> Any:
    """The rows of `table` a search finds (`function_sql`): a FROM item with the columns
    `id` and `rank`, to join to the table and order by (rank, id). With `cap`, only the
    first `cap` matches are ranked (`capped_function_sql`). Only for a search with
    words (`Search.words`): one without matches nothing. `bind`: every argument a
    named parameter (`bound_values`)."""
    arguments = _common(search, bind)
    name = f"baton_search_{table}"
    if cap is not None:
        name = f"baton_search_capped_{table}"
        arguments.append(literal(cap, Integer))
    return (
        getattr(func, name)(*arguments)
        .table_valued(column("id", Uuid), column("rank", Integer))
        .alias(f"found_{table}")
    )


def first_rows(
    table: str, search: Search, start: tuple[int, uuid.UUID] | None, limit: int | None
) -> Any:
    """A page of a search with no other filter, as a FROM item (`id`, `search_rank`):
    `page`, so only the page's rows are read from the table, however many match
    (`limit` None, an export: every match, ranked whole). Only for tables whose RLS is
    the tenant alone (accounts, contacts, targets), which the function already keeps
    to; the caller still joins the table under RLS."""
    if limit is not None:
        return page(table, search, start, limit)
    found_rows = found(table, search)
    return (
        select(found_rows.c.id, found_rows.c.rank.label("search_rank"))
        .where(after(found_rows.c.rank, found_rows.c.id, start))
        .order_by(found_rows.c.rank, found_rows.c.id)
        .subquery(f"first_{table}")
    )


def after(
    rank: Any, row_id: Any, cursor: tuple[int, uuid.UUID] | None, *, bind: str | None = None
) -> ColumnElement[bool]:
    """Keyset condition: rows after the cursor's (rank, id) in (rank, id) order."""
    if cursor is None:
        return literal(True)
    return and_(
        tuple_(rank, row_id)
        > tuple_(
            _value(cursor[0], Integer, bind, "after_rank"),
            _value(cursor[1], Uuid, bind, "after_id"),
        )
    )


def rank_of(document: Any, search: Search, *, bind: str | None = None) -> Any:
    """A found row's rank computed again from its document (`function_sql`'s CASE),
    for the few rows of a page: 0 the name starts with the words, 1 every word in the
    name, else 2. The tail match of a phone query is rank 2 too."""
    simple: Any = literal_column("'simple'")
    start = cast(_value(search.start(), Text, bind, "start"), TSQUERY)
    in_name = func.to_tsquery(simple, _value(search.tsquery("A"), Text, bind, "in_name"))
    return case((document.op("@@")(start), 0), (document.op("@@")(in_name), 1), else_=2)


def position(page: PageRequest) -> tuple[int, uuid.UUID] | None:
    """The (rank, id) a search's page starts after; a plain list's cursor is 422."""
    if page.after is None:
        return None
    if page.after_rank is None:
        raise ValidationFailed(
            errors=[FieldError("cursor", "is not a valid cursor for this search")]
        )
    return page.after_rank, page.after


# ------------------------------------------------------------------ model columns

# The columns this module adds: derived, never part of an answer.
DERIVED = frozenset({"search_doc", "phone_tail"})


def answered_columns(table: Any) -> list[Any]:
    """A Core table's columns without the search columns (`DERIVED`)."""
    return [column for column in table.c if column.key not in DERIVED]


def document_column(fields: Fields) -> Any:
    """The `search_doc` column of a model. Deferred and raising: rows never carry it
    (only the WHERE and the rank read it)."""
    return mapped_column(
        TSVECTOR,
        Computed(fields.document, persisted=True),
        deferred=True,
        deferred_raiseload=True,
    )


def phone_tail_column(phone: str = "phone") -> Any:
    """The `phone_tail` column of a model with a phone (deferred and raising too)."""
    return mapped_column(
        Text,
        Computed(phone_tail_sql(phone), persisted=True),
        deferred=True,
        deferred_raiseload=True,
    )


def indexes(table: str, *, phone: bool) -> tuple[Index, ...]:
    """The GIN index on the document and, with a phone, the btree on its tail; both of
    live rows only (lists never show deleted ones). The GIN index has no `tenant_id`
    (that needs `btree_gin`): RLS filters the rows it finds."""
    found = [
        Index(
            f"ix_{table}_search",
            "search_doc",
            postgresql_using="gin",
            postgresql_where=text("deleted_at IS NULL"),
        )
    ]
    if phone:
        found.append(
            Index(
                f"ix_{table}_phone_tail",
                "tenant_id",
                "phone_tail",
                postgresql_ops={"phone_tail": "text_pattern_ops"},
                postgresql_where=text("deleted_at IS NULL"),
            )
        )
    return tuple(found)
