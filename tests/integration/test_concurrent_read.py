"""The concurrent read on the emulator: the same snapshot as the kinds read one after another,
and a read that fails still fails the command."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from orgkit import workflow
from orgkit.config import load_config
from orgkit.errors import AwsError
from orgkit.kinds import REGISTRY
from orgkit.kinds import role as role_module
from orgkit.kinds.base import ReadContext
from orgkit.live import AwsContext
from orgkit.plan import PlanOptions, plan
from orgkit.sandbox.server import Sandbox
from tests.cli.test_cli import run
from tests.helpers import account_ids, converged

SMALL_ORG = Path(__file__).parent / "faults_org"  # OUs, SCP, accounts, roles, budgets, stack set


@pytest.fixture
def applied(sandbox: Sandbox, tmp_path: Path) -> Path:
    shutil.copytree(SMALL_ORG, tmp_path / "org")
    config = tmp_path / "org" / "org.yaml"
    converged(config)
    return config


def test_the_concurrent_read_is_the_sequential_read(sandbox: Sandbox, applied: Path) -> None:
    config = load_config(applied)
    aws = AwsContext()
    ctx = ReadContext(aws, config)
    sequential = workflow.read_organization_as_manager(config, aws)
    for kind in REGISTRY.values():
        sequential = kind.read(ctx, sequential)
    concurrent = workflow.read_live(config, AwsContext())
    assert concurrent == sequential
    assert len(concurrent.accounts) == len(account_ids(sandbox))
    assert concurrent.roles and concurrent.budgets and concurrent.stack_sets
    assert plan(config, concurrent, PlanOptions()) == plan(config, sequential, PlanOptions())


def test_a_member_account_read_that_fails_fails_the_plan(
    sandbox: Sandbox, applied: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = sorted(account_ids(sandbox).values())[1]
    original = role_module._read_role

    def failing(iam: Any, probe: Any, name: str, oidc: bool | None) -> Any:
        if probe.account_id == victim:
            raise ClientError(
                {"Error": {"Code": "ServiceUnavailable", "Message": "still failing"}}, "GetRole"
            )
        return original(iam, probe, name, oidc)

    monkeypatch.setattr(role_module, "_read_role", failing)
    with pytest.raises(AwsError, match=f"reading roles in account {victim}"):
        workflow.make_plan(applied, AwsContext(), PlanOptions())
    result = run(applied, "plan")
    assert result.exit_code == 1
    assert f"reading roles in account {victim}" in result.output
    assert "Traceback" not in result.output
