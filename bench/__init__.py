"""Benchmark scripts (not tests): `python -m bench.run_all`, or one of them alone.

Every script starts its own `baton serve` process on 127.0.0.1 against a throw-away
data dir (embedded PostgreSQL) or a scratch database on the local PostgreSQL, and
removes both when it finishes. Results are reported in docs/benchmarks.md.
"""
