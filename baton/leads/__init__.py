"""Leads: marketing's triage, the hand-over to sales and the pool sales claims from."""
