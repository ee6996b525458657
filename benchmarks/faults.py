"""The reliability scenarios by hand, one command: AWS on a bad day, on the embedded emulator.

    python benchmarks/faults.py            # every scenario
    python benchmarks/faults.py throttle   # one of: throttle, crash, together

throttle  the seed org.yaml applied through the fault layer: 20% throttling, 5% 5xx, 2% dropped
          connections, AWS Organizations' per-API rates, CreateAccount IN_PROGRESS for 3 s and
          stack set operations RUNNING for 2 s; then checks every account exists once and drift
          is in sync.
crash     tests/integration/faults_org applied and killed (SIGKILL) after its n-th write, for ten
          n; then `orgkit unlock --yes` and `orgkit apply --yes` again; checks convergence.
together  two `orgkit apply --yes` started at the same moment: one applies, the other is refused
          naming the holder; never both writing.

Each prints what it injected and the result. Needs the sandbox extra (moto).
"""

from __future__ import annotations

import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from orgkit import workflow  # noqa: E402
from orgkit.live import AwsContext  # noqa: E402
from orgkit.plan import PlanOptions  # noqa: E402
from orgkit.quotas import ORGANIZATIONS_RATES  # noqa: E402
from orgkit.sandbox.faults import Faults, fault_layer  # noqa: E402
from orgkit.sandbox.server import Sandbox, running_sandbox, sandbox_environment  # noqa: E402


class Quiet:
    def change_started(self, change: object) -> None: ...
    def change_done(self, change: object, detail: str) -> None: ...
    def progress(self, change: object, message: str) -> None: ...


def _error_line(output: str) -> str:
    """The refused apply's error line (its output starts with the plan it showed)."""
    lines = [line for line in output.splitlines() if "another apply is running" in line]
    return (lines[0] if lines else output.splitlines()[0])[:150]


def copy(folder: Path) -> Path:
    target = Path(tempfile.mkdtemp()) / "org"
    if folder == REPO:
        target.mkdir()
        shutil.copy(REPO / "org.yaml", target / "org.yaml")
        for name in ("scps", "policies", "templates"):
            shutil.copytree(REPO / name, target / name)
    else:
        shutil.copytree(folder, target)
    return target / "org.yaml"


def verdict(box: Sandbox, config: Path) -> str:
    pages = box.client("organizations").get_paginator("list_accounts").paginate()
    emails = collections.Counter(a["Email"] for page in pages for a in page["Accounts"])
    twice = [e for e, n in emails.items() if n > 1]
    os.environ["AWS_ENDPOINT_URL"] = box.endpoint
    report = workflow.audit(config, AwsContext())
    ok = not twice and report.in_sync
    return (
        f"{'CONVERGED' if ok else 'NOT CONVERGED'}: {len(emails)} accounts, duplicates "
        f"{twice or 'none'}, drift {'in sync' if report.in_sync else report.to_dict()}"
    )


def orgkit(config: Path, endpoint: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "orgkit", "--config", str(config), *args],
        env={**os.environ, "AWS_ENDPOINT_URL": endpoint},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def throttle(box: Sandbox) -> None:
    config = copy(REPO)
    faults = Faults(
        throttle_rate=0.2,
        error_rate=0.05,
        drop_rate=0.02,
        rates=ORGANIZATIONS_RATES,
        account_creation_seconds=3,
        operation_seconds=2,
    )
    print(
        "throttle: injecting 20% throttling, 5% 5xx, 2% dropped connections, Organizations'"
        " rates, CreateAccount IN_PROGRESS 3 s, operations RUNNING 2 s"
    )
    with fault_layer(box.endpoint, faults) as layer:
        os.environ["AWS_ENDPOINT_URL"] = layer.endpoint
        started = time.monotonic()
        aws = AwsContext()
        planned = workflow.make_plan(config, aws, PlanOptions())
        result, _ = workflow.run_apply(planned, aws, Quiet(), PlanOptions())
        print(f"  applied {len(result.done)} changes in {time.monotonic() - started:.0f} s")
        print("  " + layer.tally.report().replace("\n", "\n  "))
    print("  " + verdict(box, config))


def crash(box: Sandbox) -> None:
    for writes in (1, 2, 4, 6, 8, 9, 11, 14, 17, 21):
        box.reset(seed=42)
        box.create_organization()
        config = copy(REPO / "tests" / "integration" / "faults_org")
        faults = Faults(account_creation_seconds=2, operation_seconds=2, kill_after_writes=writes)
        with fault_layer(box.endpoint, faults) as layer:
            process = orgkit(config, layer.endpoint, "apply", "--yes")
            layer.faults.kill_pid = process.pid
            process.communicate(timeout=120)
        orgkit(config, box.endpoint, "unlock", "--yes").wait(timeout=60)
        again = orgkit(config, box.endpoint, "apply", "--yes")
        again.communicate(timeout=120)
        print(
            f"crash: SIGKILL after write {writes:2d} (exit {process.returncode}); apply again "
            f"exit {again.returncode}; {verdict(box, config)}"
        )


def together(box: Sandbox) -> None:
    box.reset(seed=42)
    box.create_organization()
    config = copy(REPO / "tests" / "integration" / "faults_org")
    faults = Faults(account_creation_seconds=2)
    with fault_layer(box.endpoint, faults) as layer:
        first = orgkit(config, layer.endpoint, "apply", "--yes")
        second = orgkit(config, layer.endpoint, "apply", "--yes")
        outputs = [p.communicate(timeout=180)[0] for p in (first, second)]
    codes = (first.returncode, second.returncode)
    refused = [o for o in outputs if "another apply is running" in o]
    print(
        f"together: exit codes {codes}; refused {len(refused)} "
        f"({_error_line(refused[0]) if refused else 'none: the second came after'})"
    )
    print("  " + verdict(box, config))


def main() -> None:
    chosen = sys.argv[1:] or ["throttle", "crash", "together"]
    with running_sandbox(0) as box, sandbox_environment(box):
        box.create_organization()
        for name in chosen:
            {"throttle": throttle, "crash": crash, "together": together}[name](box)


if __name__ == "__main__":
    main()
