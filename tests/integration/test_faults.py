"""AWS on a bad day, through the fault layer (orgkit/sandbox/faults.py) on loopback: throttling,
5xx, dropped connections, slow account creation and stack set operations, and apply killed at
ten points. Each time, the next apply converges with every account there exactly once."""

from __future__ import annotations

import collections
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orgkit import workflow
from orgkit.errors import AwsError
from orgkit.live import AwsContext
from orgkit.plan import PlanOptions
from orgkit.sandbox.faults import ORGANIZATIONS_RATES, Faults, fault_layer
from orgkit.sandbox.server import Sandbox
from tests.helpers import RecordingReporter, edit_yaml

ORG = Path(__file__).parent / "faults_org"
EMAILS = {"app-prod@example.com", "app-dev@example.com"}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    shutil.copytree(ORG, tmp_path / "org")
    return tmp_path / "org" / "org.yaml"


def accounts(box: Sandbox) -> collections.Counter[str]:
    pages = box.client("organizations").get_paginator("list_accounts").paginate()
    return collections.Counter(a["Email"] for page in pages for a in page["Accounts"])


def assert_converged_once(box: Sandbox, config: Path) -> None:
    found = accounts(box)
    assert {e: found[e] for e in EMAILS} == dict.fromkeys(EMAILS, 1), found
    planned = workflow.make_plan(config, AwsContext(), PlanOptions())
    assert planned.plan.in_sync, [c.address for c in planned.plan.changes]
    report = workflow.audit(config, AwsContext())
    assert report.in_sync, [f.address for f in report.findings]


def test_apply_converges_under_throttling_5xx_and_drops(
    sandbox: Sandbox, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 20% random throttling is the by-hand scenario (benchmarks/faults.py): botocore's adaptive
    # mode slows down for it (a minute here); the suite's share keeps the test short.
    faults = Faults(
        seed=7,
        throttle_rate=0.05,
        error_rate=0.05,
        drop_rate=0.01,
        rates=ORGANIZATIONS_RATES,
        account_creation_seconds=1.0,
        operation_seconds=0.5,
    )
    # Budgets' many small reads add time, not kinds of fault: this run leaves them out.
    edit_yaml(config, lambda data: data.pop("budgets"))
    with fault_layer(sandbox.endpoint, faults) as layer:
        monkeypatch.setenv("AWS_ENDPOINT_URL", layer.endpoint)
        aws = AwsContext()
        planned = workflow.make_plan(config, aws, PlanOptions())
        result, after = workflow.run_apply(planned, aws, RecordingReporter(), PlanOptions())
        assert after.in_sync and len(result.done) == len(planned.plan.changes)
        tally = layer.tally
    # The faults really happened: a test that injected nothing would prove nothing.
    assert sum(tally.throttled.values()) > 2 and tally.faults["5xx"] > 2
    assert tally.calls["DescribeCreateAccountStatus"] > 2  # polled while IN_PROGRESS
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.endpoint)
    assert_converged_once(sandbox, config)


def test_a_failed_account_creation_is_reported_and_the_rest_converges(
    sandbox: Sandbox, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    faults = Faults(fail_accounts={"app-dev@example.com": "ACCOUNT_LIMIT_EXCEEDED"})
    with fault_layer(sandbox.endpoint, faults) as layer:
        monkeypatch.setenv("AWS_ENDPOINT_URL", layer.endpoint)
        aws = AwsContext()
        planned = workflow.make_plan(config, aws, PlanOptions())
        with pytest.raises(AwsError) as caught:
            workflow.run_apply(planned, aws, RecordingReporter(), PlanOptions())
    error = caught.value
    assert "app-dev@example.com" in error.message and "ACCOUNT_LIMIT_EXCEEDED" in error.message
    assert "account quota" in (error.hint or "") and "apply stopped after" in error.message
    # Once AWS would let it through (moto made the account anyway), apply again converges.
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.endpoint)
    workflow.run_apply(
        workflow.make_plan(config, AwsContext(), PlanOptions()),
        AwsContext(),
        RecordingReporter(),
        PlanOptions(),
    )
    assert_converged_once(sandbox, config)


def orgkit(config: Path, *args: str, endpoint: str) -> subprocess.Popen[str]:
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint}
    return subprocess.Popen(
        [sys.executable, "-m", "orgkit", "--config", str(config), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


# The 22 writes of an apply of faults_org, in order: the lock table (1) and item (2), the policy
# type (3), the OUs (4, 5), the SCP (6) and its attachment (7), CreateAccount x2 (8, 9; kept
# IN_PROGRESS), the moves (10, 11), the roles (12-17), the budgets (18, 19), the stack set (20)
# and its instances (21; the operation kept RUNNING), the lock's release (22).
KILL_AFTER_WRITES = [1, 2, 4, 6, 8, 9, 11, 14, 17, 21]


@pytest.mark.parametrize("writes", KILL_AFTER_WRITES)
def test_kill_9_during_apply_then_apply_again_converges(
    sandbox: Sandbox, config: Path, writes: int
) -> None:
    faults = Faults(account_creation_seconds=2.0, operation_seconds=2.0, kill_after_writes=writes)
    with fault_layer(sandbox.endpoint, faults) as layer:
        process = orgkit(config, "apply", "--yes", endpoint=layer.endpoint)
        layer.faults.kill_pid = process.pid
        output, _ = process.communicate(timeout=120)
        assert process.returncode == -9, output  # killed, not finished
        assert layer.tally.writes >= writes
    # The runbook: the dead apply's lock is removed, and apply again.
    unlock = orgkit(config, "unlock", "--yes", endpoint=sandbox.endpoint)
    assert unlock.wait(timeout=60) == 0
    again = orgkit(config, "apply", "--yes", endpoint=sandbox.endpoint)
    output, _ = again.communicate(timeout=120)
    assert again.returncode == 0, output
    assert "matches org.yaml" in output
    assert_converged_once(sandbox, config)


def test_a_read_that_keeps_failing_fails_the_command_naming_the_call(
    sandbox: Sandbox, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never a partial snapshot: a read throttled past its retries stops plan, and says which."""
    import botocore.config

    from orgkit.live import session

    monkeypatch.setattr(session, "MAX_ATTEMPTS", 2)
    monkeypatch.setattr(
        session,
        "RETRY_CONFIG",
        botocore.config.Config(retries={"mode": "standard", "max_attempts": 2}),
    )
    faults = Faults(rates={"ListAccountsForParent": (0.0, 0)})  # always throttled
    with fault_layer(sandbox.endpoint, faults) as layer:
        monkeypatch.setenv("AWS_ENDPOINT_URL", layer.endpoint)
        with pytest.raises(AwsError) as caught:
            workflow.make_plan(config, AwsContext(), PlanOptions())
    assert "reading the accounts failed" in caught.value.message
    assert "ListAccountsForParent" in caught.value.message
    assert "TooManyRequestsException" in caught.value.message
