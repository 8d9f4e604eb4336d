"""Benchmarks: each runs against a real Kassa server over HTTP and prints its figures.

`make bench` (or `python -m bench`) runs them all on SQLite, and on PostgreSQL when
`KASSA_BENCH_POSTGRES_URL` names a server (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432).
"""
