"""Bulk actions on lists: one request, one audited change per row."""
