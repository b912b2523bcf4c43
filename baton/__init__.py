"""Baton: a CRM whose pipeline workflows the database itself enforces."""

__version__ = "0.1.0"
