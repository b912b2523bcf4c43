"""Data out: every list as CSV or XLSX (streamed), the whole organization as a ZIP."""
