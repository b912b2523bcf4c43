"""Imports: CSV and XLSX files into targets, leads and accounts, previewed, committed
by a background job, undone from the audit trail (issue 16)."""
