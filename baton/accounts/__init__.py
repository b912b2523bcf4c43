"""Accounts: the companies a team sells to, their ledger and their computed status."""
