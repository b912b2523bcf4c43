"""The HTTP deal move of this checkout against a baseline commit, interleaved.

Two `baton serve` processes on one throw-away database of the local PostgreSQL (the
demo organization, migrated by this checkout): one runs this checkout's code, the
other the code of `--baseline` (its `baton` package from `git archive`, put first on
`PYTHONPATH`). One keep-alive client per server sends `POST /api/v1/deals/{id}/move`,
Prospecting ↔ Discovery, alternating between the two servers request by request (the
order swapped every round), each on its own half of the deals; DESIGN §7's reference
transaction runs between them, for the machine factor. On a machine shared with other
work only the ratio measured in the same round means something.

`python -m bench.move_ab [--baseline main] [--rounds 3] [--moves 300] [--json F]`
(the baseline's migrations must be a prefix of this checkout's).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

from bench.harness import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    LOCAL_PG_HOST,
    LOCAL_PG_PORT,
    Deployment,
    Http,
    Result,
    Server,
    deployment,
    finish,
    percentile,
    print_machine,
)
from bench.reference import ReferenceMover, machine_factor
from bench.sales import login
from bench.webhooks import _demo_via_owner

BUDGET_MOVE_P50_MS = 3.0
ROOT = Path(__file__).resolve().parent.parent


def baseline_tree(ref: str, into: Path) -> str:
    """The baseline's `baton` package, unpacked under `into`; its commit."""
    commit = subprocess.run(  # noqa: S603 - fixed git arguments
        ["git", "rev-parse", "--short", ref],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    archive = subprocess.run(  # noqa: S603 - fixed git arguments
        ["git", "archive", "--format=tar", commit, "baton"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return commit


class Mover:
    """One server, its keep-alive client and its deals."""

    def __init__(self, server: Server, deals: list[list[Any]], other: dict[Any, Any]) -> None:
        self.server = server
        self.deals = deals
        self.other = other
        self.client = Http(server.port)
        token = login(server.port, DEMO_EMAIL, DEMO_PASSWORD)
        self.headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        self.i = 0

    def move_once(self) -> float:
        deal = self.deals[self.i % len(self.deals)]
        self.i += 1
        target = self.other[deal[1]]
        body = json.dumps({"to_step_id": str(target), "version": deal[2]}).encode()
        started = time.perf_counter_ns()
        status, raw = self.client.call("POST", f"/api/v1/deals/{deal[0]}/move", body, self.headers)
        elapsed = (time.perf_counter_ns() - started) / 1e6
        if status != 200:
            raise RuntimeError(f"move answered {status}: {raw[:300]!r}")
        deal[1], deal[2] = target, json.loads(raw)["deal"]["version"]
        return elapsed


def run(deployed: Deployment, baseline: str, rounds: int, moves: int) -> list[Result]:
    demo = asyncio.run(_demo_via_owner(deployed))
    steps = demo["steps"]
    other = {steps["prospecting"]: steps["discovery"], steps["discovery"]: steps["prospecting"]}
    deals = [[r["id"], r["step_id"], r["version"]] for r in demo["deals"]]
    if len(deals) < 4:
        raise RuntimeError("the demo has too few open deals in Prospecting and Discovery")
    with tempfile.TemporaryDirectory(prefix="baton-baseline-") as tree:
        commit = baseline_tree(baseline, Path(tree))
        servers = {
            "baseline": Server(deployed, env={"PYTHONPATH": tree}),
            "this": Server(deployed),
        }
        try:
            for server in servers.values():
                server.start()
            for server in servers.values():
                server.wait_ready(timeout=240)
            movers = {
                name: Mover(server, deals[i::2], other)
                for i, (name, server) in enumerate(servers.items())
            }
            return asyncio.run(_rounds(deployed, movers, commit, rounds, moves))
        finally:
            for server in servers.values():
                server.stop()


async def _rounds(
    deployed: Deployment, movers: dict[str, Mover], commit: str, rounds: int, moves: int
) -> list[Result]:
    reference = ReferenceMover(
        {
            "host": LOCAL_PG_HOST,
            "port": LOCAL_PG_PORT,
            "user": "postgres",
            "database": deployed.database,
        }
    )
    await reference.open()
    timings: dict[str, list[float]] = {name: [] for name in movers}
    ratios: list[float] = []
    references: list[float] = []
    try:
        for mover in movers.values():
            for _ in range(20):  # warm-up: connections, prepared statements, caches
                mover.move_once()
        for round_no in range(rounds):
            order = list(movers) if round_no % 2 == 0 else list(reversed(movers))
            this_round: dict[str, list[float]] = {name: [] for name in movers}
            for _ in range(moves):
                for name in order:
                    this_round[name].append(movers[name].move_once())
                references.append(await reference.move_once() / 1e6)
            medians = {name: percentile(sorted(t), 50) for name, t in this_round.items()}
            ratios.append(medians["this"] / medians["baseline"])
            print(
                f"round {round_no + 1}: baseline {medians['baseline']:.3f} ms,"
                f" this {medians['this']:.3f} ms, ratio {ratios[-1]:.3f}"
            )
            for name, t in this_round.items():
                timings[name] += t
    finally:
        await reference.close()
        for mover in movers.values():
            mover.client.close()
    base = sorted(timings["baseline"])
    this = sorted(timings["this"])
    reference_p50 = percentile(sorted(references), 50)
    this_p50 = percentile(this, 50)
    return [
        Result("move A/B (HTTP)", f"baseline {commit} p50", percentile(base, 50), "ms"),
        Result(
            "move A/B (HTTP)",
            "this checkout p50",
            this_p50,
            "ms",
            f"≤ {BUDGET_MOVE_P50_MS} ms",
            this_p50 <= BUDGET_MOVE_P50_MS,
            f"{len(this)} moves each, interleaved",
        ),
        Result(
            "move A/B (HTTP)",
            "this ÷ baseline, median of rounds",
            percentile(sorted(ratios), 50),
            "x",
            note=", ".join(f"{r:.3f}" for r in ratios),
        ),
        Result("move A/B (HTTP)", f"baseline {commit} p99", percentile(base, 99), "ms"),
        Result("move A/B (HTTP)", "this checkout p99", percentile(this, 99), "ms"),
        Result(
            "move A/B (HTTP)",
            "reference transaction p50",
            reference_p50,
            "ms",
            note=f"machine factor {machine_factor(reference_p50):.2f} (DESIGN §7: 1.26 ms)",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--baseline", default="main", help="git ref of the baseline code")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--moves", type=int, default=300, help="moves per server per round")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    print_machine()
    with deployment("local") as deployed:
        results = run(deployed, args.baseline, args.rounds, args.moves)
    finish(results, "move A/B", args.json)


if __name__ == "__main__":
    main()
