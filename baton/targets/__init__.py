"""Targets: prospecting lists worked from first contact to a converted account and deal."""
