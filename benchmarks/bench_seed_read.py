"""Benchmark: the calls one plan of the seed organization makes, by service and operation.

Applies the repository's org.yaml (10 accounts, roles, budgets, 3 stack sets) in the embedded
sandbox, then plans again and counts every AWS call the read makes. Run by hand:

    python benchmarks/bench_seed_read.py
"""

from __future__ import annotations

import collections
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orgkit import workflow  # noqa: E402
from orgkit.live import AwsContext  # noqa: E402
from orgkit.live.member import MemberSessions  # noqa: E402
from orgkit.plan import Change, PlanOptions  # noqa: E402
from orgkit.sandbox.server import running_sandbox, sandbox_environment  # noqa: E402

CONFIG = Path(__file__).resolve().parents[1] / "org.yaml"


class Quiet:
    def change_started(self, change: Change) -> None: ...
    def change_done(self, change: Change, detail: str) -> None: ...
    def progress(self, change: Change, message: str) -> None: ...


def main() -> None:
    with running_sandbox(0) as box, sandbox_environment(box):
        box.create_organization()
        aws = AwsContext()
        planned = workflow.make_plan(CONFIG, aws, PlanOptions())
        started = time.perf_counter()
        workflow.run_apply(planned, aws, Quiet(), PlanOptions())
        print(
            f"apply of {len(planned.plan.changes)} changes (and re-plan): "
            f"{time.perf_counter() - started:.2f}s"
        )

        calls: collections.Counter[str] = collections.Counter()
        fresh = AwsContext()

        def count(service: str) -> Any:
            def hook(model: Any, **_: Any) -> None:
                calls[f"{service}.{model.name}"] += 1

            return hook

        original_client = AwsContext.client
        original_member = MemberSessions.client

        def client(self: AwsContext, service: str, region: str | None = None) -> Any:
            made = original_client(self, service, region)
            if not getattr(made, "_counted", False):
                made.meta.events.register("before-call.*.*", count(service))
                made._counted = True
            return made

        def member(
            self: MemberSessions, account_id: str, role: str, service: str, **kwargs: Any
        ) -> Any:
            made = original_member(self, account_id, role, service, **kwargs)
            if not getattr(made, "_counted", False):
                made.meta.events.register("before-call.*.*", count(f"member {service}"))
                made._counted = True
            return made

        AwsContext.client = client  # type: ignore[method-assign]
        MemberSessions.client = member  # type: ignore[method-assign]
        started = time.perf_counter()
        again = workflow.make_plan(CONFIG, fresh, PlanOptions())
        seconds = time.perf_counter() - started
        assert again.plan.empty
        print(f"plan of the applied org: {seconds:.2f}s, {sum(calls.values())} calls")
        by_service: collections.Counter[str] = collections.Counter()
        for name, n in calls.items():
            by_service[name.split(".")[0]] += n
        for service, n in by_service.most_common():
            print(f"  {service:24s} {n:4d}")
        for name, n in sorted(calls.items(), key=lambda kv: -kv[1]):
            print(f"    {name:52s} {n:4d}")


if __name__ == "__main__":
    main()
