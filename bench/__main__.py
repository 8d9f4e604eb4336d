"""Run every benchmark: `python -m bench` (or `make bench`)."""

from __future__ import annotations

from bench import checkout, members_lookup, session_requests, z_report
from bench.harness import machine_description

BENCHMARKS = (
    session_requests,
    checkout,
    z_report,
    members_lookup,
)


def main() -> None:
    print(f"machine: {machine_description()}")
    for benchmark in BENCHMARKS:
        benchmark.main()


if __name__ == "__main__":
    main()
