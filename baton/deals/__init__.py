"""Deals: opportunities on the sales-pipeline workflow, closed won or lost with a reason."""
