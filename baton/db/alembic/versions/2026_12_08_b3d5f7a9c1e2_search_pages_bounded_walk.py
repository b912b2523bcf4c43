"""search pages walk a bounded number of rows: `baton_search_page_<table>` and
`baton_search_filtered_leads` stop a walk of a rank after 5 x `probe` rows and read the
rest of it as a bitmap of the search index (issue 14, defect 5; issue 19, part 6)

A rank estimated above `probe` rows was walked in id order until the page was full; a
prefix that matches nothing, estimated at 22 000 rows, walked every row of the tenant
(1.9 s at 100 000 accounts, 48 s at 1 000 000). Now a walk ends after 5 x `probe` rows
and, without a full page, takes the rest of the rank after its last row along the GIN
index (why: `baton.db.search.page_function_sql`). Same signatures, same answers; this
revision's copies of the functions are the module's (a test compares).

Revision ID: b3d5f7a9c1e2
Revises: 7c1e4a9d2b50
Create Date: 2026-12-08 02:40:00.000000+00:00
"""

from __future__ import annotations

import importlib

from alembic import op

revision = "b3d5f7a9c1e2"
down_revision = "7c1e4a9d2b50"
branch_labels = None
depends_on = None

PAGES = importlib.import_module(
    "baton.db.alembic.versions.2026_12_07_a6400433877f_list_search_pages"
)
MORE_PAGES = importlib.import_module(
    "baton.db.alembic.versions.2026_12_08_7c1e4a9d2b50_deal_and_work_item_search_pages"
)

# The tables with a page function, and whether their document has a phone.
PHONES = {
    "accounts": False,
    "contacts": True,
    "targets": True,
    "deals": False,
    "work_items": False,
}

PAGE_FUNCTION = """
CREATE FUNCTION baton_search_page_{table}(
    query tsquery, in_name tsquery, start tsquery, tail_from text, tail_to text,
    name_hint tsquery, start_hint tsquery, other_hint tsquery,
    after_rank integer, after_id uuid, lim integer, probe integer
) RETURNS TABLE (id uuid, rank integer)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public
SET plan_cache_mode = force_custom_plan SET enable_seqscan = off
SET enable_bitmapscan = on SET enable_indexscan = on SET enable_sort = on
ROWS 50 AS $$
DECLARE
    tenant constant uuid := nullif(current_setting('baton.tenant_id', true), '')::uuid;
    nil constant uuid := '00000000-0000-0000-0000-000000000000';
    bucket integer;
    since uuid;
    wanted integer := lim;
    hint tsquery;
    plan json;
    ids uuid[];
    walk_rows constant integer := greatest(probe, 1) * 5;
    edge uuid;
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
                ids := ARRAY(SELECT t.id FROM (SELECT t.id, t.search_doc FROM {table} t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.id > since ORDER BY t.id LIMIT walk_rows) t
                    WHERE (t.search_doc || ''::tsvector) @@ start LIMIT wanted);
            ELSIF bucket = 1 THEN
                ids := ARRAY(SELECT t.id FROM (SELECT t.id, t.search_doc FROM {table} t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.id > since ORDER BY t.id LIMIT walk_rows) t
                    WHERE (t.search_doc || ''::tsvector) @@ in_name AND NOT (t.search_doc || ''::tsvector) @@ start LIMIT wanted);
            ELSE
                ids := ARRAY(SELECT t.id FROM (SELECT t.id, t.search_doc FROM {table} t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.id > since ORDER BY t.id LIMIT walk_rows) t
                    WHERE ((t.search_doc || ''::tsvector) @@ query) AND NOT (t.search_doc || ''::tsvector) @@ in_name LIMIT wanted);
            END IF;
            IF cardinality(ids) < wanted THEN
                edge := (SELECT t.id FROM {table} t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.id > since
                         ORDER BY t.id OFFSET walk_rows - 1 LIMIT 1);
                IF edge IS NOT NULL THEN
                    PERFORM set_config('enable_bitmapscan', 'on', true),
                            set_config('enable_indexscan', 'off', true),
                            set_config('enable_sort', 'on', true);
                    IF bucket = 0 THEN
                        ids := ids || ARRAY(SELECT t.id FROM {table} t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.id > edge
                            AND t.search_doc @@ start_hint AND (t.search_doc || ''::tsvector) @@ start ORDER BY t.id LIMIT wanted - cardinality(ids));
                    ELSIF bucket = 1 THEN
                        ids := ids || ARRAY(SELECT t.id FROM {table} t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.id > edge
                            AND t.search_doc @@ name_hint AND (t.search_doc || ''::tsvector) @@ in_name AND NOT (t.search_doc || ''::tsvector) @@ start ORDER BY t.id LIMIT wanted - cardinality(ids));
                    ELSE
                        ids := ids || ARRAY(SELECT t.id FROM {table} t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.id > edge
                            AND (t.search_doc @@ other_hint) AND NOT (t.search_doc || ''::tsvector) @@ in_name ORDER BY t.id LIMIT wanted - cardinality(ids));
                    END IF;
                    PERFORM set_config('enable_indexscan', 'on', true);
                END IF;
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
SET enable_bitmapscan = on SET enable_indexscan = on SET enable_sort = on
ROWS 50 AS $$
DECLARE
    tenant constant uuid := nullif(current_setting('baton.tenant_id', true), '')::uuid;
    nil constant uuid := '00000000-0000-0000-0000-000000000000';
    bucket integer;
    since uuid;
    wanted integer := lim;
    hint tsquery;
    plan json;
    ids uuid[];
    walk_rows constant integer := greatest(probe, 1) * 5;
    edge uuid;
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
                ids := ARRAY(SELECT t.id FROM (SELECT t.id, t.search_doc, t.phone_tail FROM {table} t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.id > since ORDER BY t.id LIMIT walk_rows) t
                    WHERE (t.search_doc || ''::tsvector) @@ start LIMIT wanted);
            ELSIF bucket = 1 THEN
                ids := ARRAY(SELECT t.id FROM (SELECT t.id, t.search_doc, t.phone_tail FROM {table} t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.id > since ORDER BY t.id LIMIT walk_rows) t
                    WHERE (t.search_doc || ''::tsvector) @@ in_name AND NOT (t.search_doc || ''::tsvector) @@ start LIMIT wanted);
            ELSE
                ids := ARRAY(SELECT t.id FROM (SELECT t.id, t.search_doc, t.phone_tail FROM {table} t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.id > since ORDER BY t.id LIMIT walk_rows) t
                    WHERE ((t.search_doc || ''::tsvector) @@ query OR (t.phone_tail ~>=~ tail_from AND t.phone_tail ~<~ tail_to)) AND NOT (t.search_doc || ''::tsvector) @@ in_name LIMIT wanted);
            END IF;
            IF cardinality(ids) < wanted THEN
                edge := (SELECT t.id FROM {table} t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.id > since
                         ORDER BY t.id OFFSET walk_rows - 1 LIMIT 1);
                IF edge IS NOT NULL THEN
                    PERFORM set_config('enable_bitmapscan', 'on', true),
                            set_config('enable_indexscan', 'off', true),
                            set_config('enable_sort', 'on', true);
                    IF bucket = 0 THEN
                        ids := ids || ARRAY(SELECT t.id FROM {table} t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.id > edge
                            AND t.search_doc @@ start_hint AND (t.search_doc || ''::tsvector) @@ start ORDER BY t.id LIMIT wanted - cardinality(ids));
                    ELSIF bucket = 1 THEN
                        ids := ids || ARRAY(SELECT t.id FROM {table} t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.id > edge
                            AND t.search_doc @@ name_hint AND (t.search_doc || ''::tsvector) @@ in_name AND NOT (t.search_doc || ''::tsvector) @@ start ORDER BY t.id LIMIT wanted - cardinality(ids));
                    ELSE
                        ids := ids || ARRAY(SELECT t.id FROM {table} t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.id > edge
                            AND (t.search_doc @@ other_hint OR (t.phone_tail ~>=~ tail_from AND t.phone_tail ~<~ tail_to)) AND NOT (t.search_doc || ''::tsvector) @@ in_name ORDER BY t.id LIMIT wanted - cardinality(ids));
                    END IF;
                    PERFORM set_config('enable_indexscan', 'on', true);
                END IF;
            END IF;
        END IF;
        RETURN QUERY SELECT f.id, bucket FROM unnest(ids) f(id);
        wanted := wanted - cardinality(ids);
    END LOOP;
END
$$
"""

LEADS_PAGE = """
CREATE FUNCTION baton_search_filtered_leads(
    query tsquery, in_name tsquery, start tsquery, tail_from text, tail_to text,
    name_hint tsquery, start_hint tsquery, other_hint tsquery,
    after_rank integer, after_id uuid, lim integer, probe integer,
    in_view text, in_owner uuid
) RETURNS TABLE (id uuid, rank integer)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public
SET plan_cache_mode = force_custom_plan SET enable_seqscan = off
SET enable_bitmapscan = on SET enable_indexscan = on SET enable_sort = on
ROWS 50 AS $$
DECLARE
    tenant constant uuid := nullif(current_setting('baton.tenant_id', true), '')::uuid;
    nil constant uuid := '00000000-0000-0000-0000-000000000000';
    bucket integer;
    since uuid;
    wanted integer := lim;
    hint tsquery;
    plan json;
    ids uuid[];
    walk_rows constant integer := greatest(probe, 1) * 5;
    edge uuid;
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
                ids := ARRAY(SELECT t.id FROM (SELECT t.id, t.search_doc, t.phone_tail FROM leads t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.view = in_view AND (in_owner IS NULL OR t.sales_owner_id = in_owner) AND t.id > since ORDER BY t.id LIMIT walk_rows) t
                    WHERE (t.search_doc || ''::tsvector) @@ start LIMIT wanted);
            ELSIF bucket = 1 THEN
                ids := ARRAY(SELECT t.id FROM (SELECT t.id, t.search_doc, t.phone_tail FROM leads t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.view = in_view AND (in_owner IS NULL OR t.sales_owner_id = in_owner) AND t.id > since ORDER BY t.id LIMIT walk_rows) t
                    WHERE (t.search_doc || ''::tsvector) @@ in_name AND NOT (t.search_doc || ''::tsvector) @@ start LIMIT wanted);
            ELSE
                ids := ARRAY(SELECT t.id FROM (SELECT t.id, t.search_doc, t.phone_tail FROM leads t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.view = in_view AND (in_owner IS NULL OR t.sales_owner_id = in_owner) AND t.id > since ORDER BY t.id LIMIT walk_rows) t
                    WHERE ((t.search_doc || ''::tsvector) @@ query OR (t.phone_tail ~>=~ tail_from AND t.phone_tail ~<~ tail_to)) AND NOT (t.search_doc || ''::tsvector) @@ in_name LIMIT wanted);
            END IF;
            IF cardinality(ids) < wanted THEN
                edge := (SELECT t.id FROM leads t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.view = in_view AND (in_owner IS NULL OR t.sales_owner_id = in_owner) AND t.id > since
                         ORDER BY t.id OFFSET walk_rows - 1 LIMIT 1);
                IF edge IS NOT NULL THEN
                    PERFORM set_config('enable_bitmapscan', 'on', true),
                            set_config('enable_indexscan', 'off', true),
                            set_config('enable_sort', 'on', true);
                    IF bucket = 0 THEN
                        ids := ids || ARRAY(SELECT t.id FROM leads t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.view = in_view AND (in_owner IS NULL OR t.sales_owner_id = in_owner) AND t.id > edge
                            AND t.search_doc @@ start_hint AND (t.search_doc || ''::tsvector) @@ start ORDER BY t.id LIMIT wanted - cardinality(ids));
                    ELSIF bucket = 1 THEN
                        ids := ids || ARRAY(SELECT t.id FROM leads t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.view = in_view AND (in_owner IS NULL OR t.sales_owner_id = in_owner) AND t.id > edge
                            AND t.search_doc @@ name_hint AND (t.search_doc || ''::tsvector) @@ in_name AND NOT (t.search_doc || ''::tsvector) @@ start ORDER BY t.id LIMIT wanted - cardinality(ids));
                    ELSE
                        ids := ids || ARRAY(SELECT t.id FROM leads t WHERE t.tenant_id = tenant AND t.deleted_at IS NULL AND t.view = in_view AND (in_owner IS NULL OR t.sales_owner_id = in_owner) AND t.id > edge
                            AND (t.search_doc @@ other_hint OR (t.phone_tail ~>=~ tail_from AND t.phone_tail ~<~ tail_to)) AND NOT (t.search_doc || ''::tsvector) @@ in_name ORDER BY t.id LIMIT wanted - cardinality(ids));
                    END IF;
                    PERFORM set_config('enable_indexscan', 'on', true);
                END IF;
            END IF;
        END IF;
        RETURN QUERY SELECT f.id, bucket FROM unnest(ids) f(id);
        wanted := wanted - cardinality(ids);
    END LOOP;
END
$$
"""


def _replacing(sql: str) -> str:
    """The same signature: replaced in place, its grants kept."""
    return sql.strip().replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def upgrade() -> None:
    for table, phone in PHONES.items():
        shape = PAGE_FUNCTION_WITH_PHONE if phone else PAGE_FUNCTION
        op.execute(_replacing(shape.replace("{table}", table)))
    op.execute(_replacing(LEADS_PAGE))


def downgrade() -> None:
    for table, shape in PAGES.PAGED.items():
        op.execute(_replacing(shape.replace("{table}", table)))
    for table in MORE_PAGES.TABLES:
        op.execute(_replacing(MORE_PAGES.PAGES.PAGE_FUNCTION.replace("{table}", table)))
    op.execute(_replacing(MORE_PAGES.LEADS_PAGE))
