"""Bulk fixtures: the deals' organization (an admin, a salesperson, an account)."""

from tests.deals.conftest import Org, org

__all__ = ["Org", "org"]
