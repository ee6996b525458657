"""Two applies at once: one holds the organization's lock, the other is refused naming it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from orgkit import workflow
from orgkit.apply import lock
from orgkit.errors import SafetyError
from orgkit.live import AwsContext
from orgkit.plan import PlanOptions
from orgkit.sandbox.server import Sandbox
from tests.cli.test_cli import run
from tests.helpers import RecordingReporter, is_write

REGION = "us-east-1"


def organization_id(box: Sandbox) -> str:
    return str(box.client("organizations").describe_organization()["Organization"]["Id"])


def org_writes(calls: list[str]) -> list[str]:
    return [c for c in calls if not c.startswith("dynamodb.") and is_write(c.split(".", 1)[1])]


def test_an_apply_while_another_holds_the_lock_is_refused_naming_it(
    sandbox: Sandbox, seed_dir: Path, aws_calls: list[str]
) -> None:
    org = organization_id(sandbox)
    lock.acquire(AwsContext(), REGION, org)
    aws_calls.clear()
    refused = run(seed_dir / "org.yaml", "apply", "--yes")
    assert refused.exit_code == 1, refused.output
    assert "another apply is running on this organization: arn:aws:" in refused.stderr
    assert "orgkit unlock" in refused.stderr
    assert org_writes(aws_calls) == []

    unlocked = run(seed_dir / "org.yaml", "unlock", "--yes")
    assert unlocked.exit_code == 0 and "Removed the apply lock" in unlocked.stdout
    assert run(seed_dir / "org.yaml", "unlock", "--yes").stdout.strip() == "No apply lock is held."
    applied = run(seed_dir / "org.yaml", "apply", "--yes")
    assert applied.exit_code == 0, applied.output
    assert lock.read_lock(AwsContext(), REGION, org) is None  # released after apply


def test_an_expired_lock_is_taken_over(sandbox: Sandbox, seed_dir: Path) -> None:
    org = organization_id(sandbox)
    lock.acquire(AwsContext(), REGION, org, seconds=-1)  # its holder died long ago
    applied = run(seed_dir / "org.yaml", "apply", "--yes")
    assert applied.exit_code == 0, applied.output


def test_racing_applies_get_exactly_one_lock(sandbox: Sandbox) -> None:
    org = organization_id(sandbox)
    lock._table(AwsContext(), REGION)
    tokens: list[str] = []
    refused: list[str] = []
    start = threading.Barrier(8)

    def contender() -> None:
        aws = AwsContext()
        start.wait()
        try:
            tokens.append(lock.acquire(aws, REGION, org))
        except lock.LockHeld as exc:
            refused.append(exc.message)

    threads = [threading.Thread(target=contender) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(tokens) == 1 and len(refused) == 7


def test_a_broken_lock_is_not_renewed_or_released_by_its_old_holder(sandbox: Sandbox) -> None:
    aws, org = AwsContext(), organization_id(sandbox)
    token = lock.acquire(aws, REGION, org)
    assert lock.renew(aws, REGION, org, token)
    held = lock.read_lock(aws, REGION, org)
    assert held is not None and held.token == token
    assert lock.break_lock(aws, REGION, org, held)
    other = lock.acquire(aws, REGION, org)
    assert not lock.renew(aws, REGION, org, token)
    lock.release(aws, REGION, org, token)  # not ours any more: leaves the new holder alone
    assert lock.read_lock(aws, REGION, org) is not None
    lock.release(aws, REGION, org, other)
    assert lock.read_lock(aws, REGION, org) is None


def test_a_change_while_the_plan_is_shown_applies_nothing(
    sandbox: Sandbox, seed_dir: Path, aws_calls: list[str]
) -> None:
    def someone_else_meanwhile(plan: object) -> bool:
        org = sandbox.client("organizations")
        org.create_organizational_unit(ParentId=org.list_roots()["Roots"][0]["Id"], Name="Security")
        aws_calls.clear()
        return True

    with pytest.raises(SafetyError, match="changed while the plan was shown"):
        workflow.apply(
            seed_dir / "org.yaml",
            AwsContext(),
            PlanOptions(),
            RecordingReporter(),
            confirm=someone_else_meanwhile,
        )
    assert org_writes(aws_calls) == []


def test_two_applies_started_together_never_both_write(sandbox: Sandbox, tmp_path: Path) -> None:
    import os
    import shutil
    import subprocess
    import sys

    shutil.copytree(Path(__file__).parent / "faults_org", tmp_path / "org")
    config = tmp_path / "org" / "org.yaml"
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "orgkit", "--config", str(config), "apply", "--yes"],
            env={**os.environ},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    assert sum("Apply complete" in o for o in outputs) == 1, outputs
    other = next(o for o in outputs if "Apply complete" not in o)
    assert (
        "another apply is running" in other
        or "changed while the plan was shown" in other
        or "No changes" in other
    ), other
    emails = [
        a["Email"]
        for p in sandbox.client("organizations").get_paginator("list_accounts").paginate()
        for a in p["Accounts"]
    ]
    assert sorted(e for e in emails if e.startswith("app-")) == [
        "app-dev@example.com",
        "app-prod@example.com",
    ]


def test_unlock_removes_only_the_lock_it_showed(sandbox: Sandbox) -> None:
    aws, org = AwsContext(), organization_id(sandbox)
    first = lock.acquire(aws, REGION, org)
    shown = lock.read_lock(aws, REGION, org)
    assert shown is not None
    lock.release(aws, REGION, org, first)
    lock.acquire(aws, REGION, org)  # someone else, meanwhile
    assert not lock.break_lock(aws, REGION, org, shown)
    assert lock.read_lock(aws, REGION, org) is not None


def test_a_retried_put_of_our_own_lock_is_ours(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The put succeeded but its answer was lost; botocore retries it and the condition fails:
    the lock there is ours (same token), not another apply's."""
    import uuid

    aws, org = AwsContext(), organization_id(sandbox)
    token = lock.acquire(aws, REGION, org)
    monkeypatch.setattr(lock.uuid, "uuid4", lambda: uuid.UUID(token))
    assert lock.acquire(aws, REGION, org) == token


def test_a_lost_lock_stops_apply_before_its_next_step(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    shutil.copytree(Path(__file__).parent / "faults_org", tmp_path / "org")
    config = tmp_path / "org" / "org.yaml"
    aws, org = AwsContext(), organization_id(sandbox)
    real = lock.holding

    def holding_then_broken(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        manager = real(*args, **kwargs)  # type: ignore[arg-type]

        class Broken:
            def __enter__(self) -> lock.Held:
                held = manager.__enter__()
                held.lost.set()  # as the keeper does when `orgkit unlock` removed it
                return held

            def __exit__(self, *exc: object) -> object:
                return manager.__exit__(*exc)  # type: ignore[arg-type]

        return Broken()

    monkeypatch.setattr(lock, "holding", holding_then_broken)
    with pytest.raises(SafetyError, match="the apply lock was lost"):
        workflow.apply(config, aws, PlanOptions(), RecordingReporter())
    assert lock.read_lock(aws, REGION, org) is None
