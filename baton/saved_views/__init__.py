"""Saved views: a list's filters and sort kept by name, private or shared."""
