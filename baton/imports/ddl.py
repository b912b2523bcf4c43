"""SQL the imports migration emits.

`baton_import_trail(table, batch)`: what one import batch did to a table, from the
audit trail — per row, the first change that carried the batch's id: `insert` or
`update`, the row's image before it (an update's) and the version it left. The
app role may not read `audit_log`, so this runs as the owner, confined to the
transaction's tenant and to the tables imports write. Undo reads it to delete what
the batch created, restore what it updated, and find rows someone changed since.
"""

from __future__ import annotations

# The tables an import writes (baton.imports.kinds), which the trail may read.
IMPORTED_TABLES = ("targets", "leads", "accounts", "contacts", "account_transactions", "deals")


def _trail_function(tables: tuple[str, ...]) -> str:
    names = ", ".join(f"'{name}'" for name in tables)
    # The names are this module's constants, never input.
    return _TRAIL_TEMPLATE.replace("__TABLES__", names)


_TRAIL_TEMPLATE = """
CREATE FUNCTION baton_import_trail(p_table text, p_batch uuid)
RETURNS TABLE (row_id uuid, action text, before jsonb, left_version integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT DISTINCT ON (a.row_id) a.row_id, a.action, a.before,
           (a.after ->> 'version')::integer
    FROM audit_log a
    WHERE a.tenant_id = nullif(current_setting('baton.tenant_id', true), '')::uuid
      AND p_table IN (__TABLES__)
      AND a.table_name = p_table
      AND a.action IN ('insert', 'update')
      AND a.after ->> 'import_batch_id' = p_batch::text
      AND (a.before IS NULL OR a.before ->> 'import_batch_id' IS DISTINCT FROM p_batch::text)
    ORDER BY a.row_id, a.at, a.id
$$
"""


# As the imports revision created it (targets, leads, accounts, contacts).
IMPORT_TRAIL_FUNCTION_V1 = _trail_function(("targets", "leads", "accounts", "contacts"))
IMPORT_TRAIL_FUNCTION = _trail_function(IMPORTED_TABLES)

DROP_IMPORT_TRAIL_FUNCTION = "DROP FUNCTION IF EXISTS baton_import_trail(text, uuid)"
