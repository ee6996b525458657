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
from orgkit.apply.executor import apply_plan
from orgkit.changes import Change
from orgkit.errors import AwsError
from orgkit.kinds.base import Poll
from orgkit.live import AwsContext
from orgkit.plan import PlanOptions
from orgkit.quotas import ORGANIZATIONS_RATES
from orgkit.sandbox.faults import Faults, Tally, fault_layer
from orgkit.sandbox.server import Sandbox
from tests.helpers import RecordingReporter, account_ids, edit_yaml, structure_only

ORG = Path(__file__).parent / "faults_org"
EMAILS = {"app-prod@example.com", "app-dev@example.com"}
QUICK_POLL = Poll(first_delay=0.25, max_delay=1.0, timeout=120.0)


@pytest.fixture(autouse=True)
def paced(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """The layer has AWS's rates, so orgkit paces its calls as on AWS (the sandbox turns pacing
    off)."""
    monkeypatch.setenv("ORGKIT_PACING", "on")


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


def bad_day() -> Faults:
    """The reliability issue's bar: 20% throttling, 5% 5xx and dropped connections on every
    call, Organizations' per-API rates on top, slow account creation and operations."""
    return Faults(
        seed=7,
        throttle_rate=0.20,
        error_rate=0.05,
        drop_rate=0.01,
        rates=ORGANIZATIONS_RATES,
        account_creation_seconds=1.0,
        operation_seconds=0.5,
    )


def quick_apply(planned: workflow.Planned, aws: AwsContext) -> list[Change]:
    """Apply a plan through ``aws``, looking at asynchronous work more often than on AWS (where
    an account takes minutes): the faults are the same, the waits shorter."""
    result = apply_plan(
        planned.plan,
        aws,
        planned.live,
        RecordingReporter(),
        account_poll=QUICK_POLL,
        stack_poll=QUICK_POLL,
    )
    assert len(result.done) == len(planned.plan.changes)
    return list(planned.plan.changes)


def apply_on_a_bad_day(sandbox: Sandbox, config: Path) -> Tally:
    """Apply ``config`` through the fault layer; check it converged once; the faults seen."""
    with fault_layer(sandbox.endpoint, bad_day()) as layer:
        planned = workflow.make_plan(config, AwsContext(), PlanOptions())
        with pytest.MonkeyPatch.context() as patch:  # clients are made as apply goes
            patch.setenv("AWS_ENDPOINT_URL", layer.endpoint)
            assert quick_apply(planned, AwsContext())
        tally = layer.tally
    # The faults really happened: a test that injected nothing would prove nothing.
    assert sum(tally.throttled.values()) > 3 and tally.faults["5xx"] > 0, tally
    assert_converged_once(sandbox, config)
    return tally


def test_structure_apply_converges_under_throttling_5xx_and_drops(
    sandbox: Sandbox, config: Path
) -> None:
    """OUs, the SCP and its attachment, and the accounts (kept IN_PROGRESS a while)."""
    edit_yaml(config, structure_only)
    tally = apply_on_a_bad_day(sandbox, config)
    assert tally.calls["DescribeCreateAccountStatus"] > 2  # polled while IN_PROGRESS


def test_roles_and_stack_sets_apply_converges_under_throttling_5xx_and_drops(
    sandbox: Sandbox, config: Path, tmp_path: Path
) -> None:
    """The per-account writes (roles in each account, the stack set and its instances, the
    operation kept RUNNING a while) on the structure applied before."""
    structure = tmp_path / "org" / "structure.yaml"
    shutil.copy(config, structure)
    edit_yaml(structure, structure_only)
    quick_apply(workflow.make_plan(structure, AwsContext(), PlanOptions()), AwsContext())
    # Budgets' many small reads add time, not kinds of fault: this run leaves them out.
    edit_yaml(config, lambda data: data.pop("budgets"))
    tally = apply_on_a_bad_day(sandbox, config)
    assert tally.calls["CreateRole"] and tally.calls["DescribeStackSetOperation"] > 1


def test_plan_under_throttling_and_5xx_sees_everything(
    sandbox: Sandbox, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan on a bad day says exactly what it says on a good one: no read is skipped or cut
    short silently."""
    edit_yaml(config, lambda data: data.pop("budgets"))
    quick_apply(workflow.make_plan(config, AwsContext(), PlanOptions()), AwsContext())
    # A hand change for the plan to find: the prod account moved to the Dev OU.
    client = sandbox.client("organizations")
    prod = account_ids(sandbox)["app-prod@example.com"]
    root = client.list_roots()["Roots"][0]["Id"]
    ous = client.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]
    client.move_account(
        AccountId=prod,
        SourceParentId=client.list_parents(ChildId=prod)["Parents"][0]["Id"],
        DestinationParentId=next(ou["Id"] for ou in ous if ou["Name"] == "Dev"),
    )
    clean = workflow.make_plan(config, AwsContext(), PlanOptions()).plan
    with fault_layer(sandbox.endpoint, bad_day()) as layer:
        monkeypatch.setenv("AWS_ENDPOINT_URL", layer.endpoint)
        faulty = workflow.make_plan(config, AwsContext(), PlanOptions()).plan
        tally = layer.tally
    assert sum(tally.throttled.values()) > 3 and tally.faults["5xx"] > 0, tally
    assert [c.address for c in clean.changes] == ['account["app-prod@example.com"]']
    assert faulty.canonical_changes() == clean.canonical_changes()


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
    assert "reading the OU tree and accounts failed" in caught.value.message
    assert "ListAccountsForParent" in caught.value.message
    assert "TooManyRequestsException" in caught.value.message
