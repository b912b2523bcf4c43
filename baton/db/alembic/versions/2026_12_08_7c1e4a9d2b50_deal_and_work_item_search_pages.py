"""deal and work item search pages, lead queues searched by page: `baton_search_page_deals`, `baton_search_page_work_items`, `baton_search_filtered_leads` (issue 14, defect 5)

The deals and work items lists take `q` now. Searched without another filter, their
page is read as the accounts', contacts' and targets' are: `baton_search_page_<table>`
answers the next page in (rank, id) order from the cursor's (rank, id), a few
thousand rows read at most whatever the word (why and how:
`baton.db.search.page_function_sql`). Their documents already hold the marked lexemes
(revision a6400433877f), whose copy of the function they use.

Every lead list is one queue (and `mine` one owner's): `baton_search_filtered_leads`
is the same page function within the queue and owner (`LEADS_PAGE`, this revision's
own copy of `page_function_sql(..., filtered=True)`; a test compares them), so a lead
search no longer ranks every match. Functions are executable by every role.

Revision ID: 7c1e4a9d2b50
Revises: a5b7c9e1d3f2
Create Date: 2026-12-08 01:30:00.000000+00:00
"""

from __future__ import annotations

import importlib

from alembic import op

revision = "7c1e4a9d2b50"
down_revision = "a5b7c9e1d3f2"
branch_labels = None
depends_on = None

TABLES = ("deals", "work_items")
# Names only, no phone: the shape without the phone tail.
PAGES = importlib.import_module(
    "baton.db.alembic.versions.2026_12_07_a6400433877f_list_search_pages"
)


LEADS_PAGE = """
CREATE FUNCTION baton_search_filtered_leads(
    query tsquery, in_name tsquery, start tsquery, tail_from text, tail_to text,
    name_hint tsquery, start_hint tsquery, other_hint tsquery,
    after_rank integer, after_id uuid, lim integer, probe integer,
    in_view text, in_owner uuid
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
        EXECUTE format('EXPLAIN (FORMAT JSON) SELECT 1 FROM leads t WHERE t.search_doc @@ %L::tsquery',
                       hint::text) INTO plan;
        ids := NULL;
        IF (plan->0->'Plan'->>'Plan Rows')::numeric <= probe THEN
            PERFORM set_config('enable_bitmapscan', 'on', true),
                    set_config('enable_sort', 'on', true);
            IF bucket = 0 THEN
                ids := ARRAY(SELECT t.id FROM leads t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.view = in_view AND (in_owner IS NULL OR t.sales_owner_id = in_owner)
                    AND t.search_doc @@ start_hint AND (t.search_doc || ''::tsvector) @@ start LIMIT probe + 1);
            ELSIF bucket = 1 THEN
                ids := ARRAY(SELECT t.id FROM leads t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.view = in_view AND (in_owner IS NULL OR t.sales_owner_id = in_owner)
                    AND t.search_doc @@ name_hint AND (t.search_doc || ''::tsvector) @@ in_name AND NOT (t.search_doc || ''::tsvector) @@ start LIMIT probe + 1);
            ELSE
                ids := ARRAY(SELECT t.id FROM leads t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.view = in_view AND (in_owner IS NULL OR t.sales_owner_id = in_owner)
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
                ids := ARRAY(SELECT t.id FROM leads t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.view = in_view AND (in_owner IS NULL OR t.sales_owner_id = in_owner) AND t.id > since
                    AND (t.search_doc || ''::tsvector) @@ start ORDER BY t.id LIMIT wanted);
            ELSIF bucket = 1 THEN
                ids := ARRAY(SELECT t.id FROM leads t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.view = in_view AND (in_owner IS NULL OR t.sales_owner_id = in_owner) AND t.id > since
                    AND (t.search_doc || ''::tsvector) @@ in_name AND NOT (t.search_doc || ''::tsvector) @@ start ORDER BY t.id LIMIT wanted);
            ELSE
                ids := ARRAY(SELECT t.id FROM leads t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.view = in_view AND (in_owner IS NULL OR t.sales_owner_id = in_owner) AND t.id > since
                    AND ((t.search_doc || ''::tsvector) @@ query OR (t.phone_tail ~>=~ tail_from AND t.phone_tail ~<~ tail_to)) AND NOT (t.search_doc || ''::tsvector) @@ in_name ORDER BY t.id LIMIT wanted);
            END IF;
        END IF;
        RETURN QUERY SELECT f.id, bucket FROM unnest(ids) f(id);
        wanted := wanted - cardinality(ids);
    END LOOP;
END
$$
"""
LEADS_SIGNATURE = (
    "(tsquery, tsquery, tsquery, text, text, tsquery, tsquery, tsquery, integer, uuid,"
    " integer, integer, text, uuid)"
)


def upgrade() -> None:
    for table in TABLES:
        op.execute(PAGES.PAGE_FUNCTION.strip().replace("{table}", table))
    op.execute(LEADS_PAGE.strip())


def downgrade() -> None:
    op.execute(f"DROP FUNCTION baton_search_filtered_leads{LEADS_SIGNATURE}")
    for table in TABLES:
        op.execute(f"DROP FUNCTION baton_search_page_{table}{PAGES.SIGNATURE}")
