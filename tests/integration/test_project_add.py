"""`orgkit project add` on a served sandbox: the seed applied, a project added, then the plan
holds that project's changes and nothing else; apply converges and drift finds nothing."""

from __future__ import annotations

import difflib
import json
from collections import Counter
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from ruamel.yaml import YAML

from orgkit import workflow
from orgkit.cli.main import cli
from orgkit.config import load_config
from orgkit.live import AwsContext
from orgkit.plan import Action, Change, PlanOptions
from orgkit.plan.target import reach
from orgkit.sandbox.server import Sandbox
from orgkit.target import Target
from tests.helpers import RecordingReporter, account_ids, converged, replan, sides

NEW = "acme"
# The guardrails that name every project (scps/, policies/): adding one updates them.
PROJECT_GUARDRAILS = {"tagging", "protect-platform-data", "protect-security-services"}


def _strings(value: Any) -> Counter[str]:
    """Every string in a JSON value (keys too), counted."""
    if isinstance(value, str):
        return Counter([value])
    found: Counter[str] = Counter()
    if isinstance(value, dict):
        for key, item in value.items():
            found[key] += 1
            found += _strings(item)
    elif isinstance(value, list):
        for item in value:
            found += _strings(item)
    return found


def _acme_only(change: Change, emails: set[str]) -> bool:
    """The change is about one of the new project's accounts, or a guardrail update that only
    adds strings naming acme (its tables, buckets, role) to the policy's document."""
    if any(f'"{email}"' in change.address for email in emails):
        return True
    before, after = sides(change)
    if change.kind == "policy" and change.action is Action.UPDATE:
        added = _strings(after["content"]) - _strings(before["content"])
        removed = _strings(before["content"]) - _strings(after["content"])
        return bool(added) and all(NEW in s.lower() for s in added) and not removed
    return False


def lighter_seed(config: Path) -> None:
    """The seed without what takes the emulator longest and says nothing about a new project:
    the security services (delegated administrators, the trail) and the stack sets other than
    security-baseline (which every account gets). Edited with ruamel.yaml: comments kept."""
    rt = YAML(typ="rt")
    data = rt.load(config.read_text())
    del data["security"]
    data["stack_sets"] = [s for s in data["stack_sets"] if s["name"] == "security-baseline"]
    data["accounts"] = [a for a in data["accounts"] if a["ou"] != "/Sandbox"]
    with config.open("w") as stream:
        rt.dump(data, stream)


def test_project_add_then_plan_holds_only_its_changes_then_apply_converges(
    sandbox: Sandbox, seed_dir: Path
) -> None:
    config = seed_dir / "org.yaml"
    lighter_seed(config)
    converged(config)
    original = config.read_bytes()

    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(config),
            "project",
            "add",
            NEW,
            "--github-repo",
            "delatsi-llc/acme",
            "--budget",
            "prod=800",
        ],
    )
    assert result.exit_code == 0, result.output
    edited = config.read_bytes()
    steps = difflib.SequenceMatcher(
        None, original.splitlines(keepends=True), edited.splitlines(keepends=True)
    ).get_opcodes()
    assert {tag for tag, *_ in steps} == {"equal", "insert"}  # only lines added
    spec = load_config(config).spec
    emails = {a.email for a in spec.accounts if a.project == NEW}
    assert emails == {f"acme-{e}@delatsi-llc.com" for e in ("dev", "staging", "prod")}

    planned = replan(config)
    changes = planned.plan.changes
    stray = [c.address for c in changes if not _acme_only(c, emails)]
    assert stray == [], [sides(c) for c in changes if c.address == stray[0]]
    kinds = Counter(c.kind for c in changes)
    assert kinds["account"] == 3
    assert kinds["budget"] == 3
    roles = Counter(c.address.split(" -> ")[1] for c in changes if c.kind == "deployment_role")
    assert roles == {
        '"AcmeDeploymentRole"]': 3,
        '"AWSCloudFormationStackSetExecutionRole"]': 3,
        '"OrgkitReadOnly"]': 3,  # the seed's organization.read_role
    }
    assert kinds["stack_instance"] == 3  # security-baseline, one per account, us-east-1
    assert {c.address for c in changes if c.kind == "policy"} <= {
        f'policy["{name}"]' for name in PROJECT_GUARDRAILS
    }
    assert all(c.action is Action.CREATE for c in changes if c.kind != "policy")
    budget = next(c for c in changes if c.kind == "budget" and "acme-prod" in c.address)
    assert sides(budget)[1]["amount"] == 800

    # Onboarding with --target: the same changes, read inside acme's accounts only; and a
    # targeted plan of anything is what the whole plan keeps for that target.
    check_targets_against_the_whole_plan(sandbox, config, planned)
    aws = AwsContext()
    targeted = workflow.make_plan(config, aws, PlanOptions(), target=Target.parse(["project:acme"]))
    assert targeted.plan.canonical_changes() == planned.plan.canonical_changes()
    _, left = workflow.run_apply(targeted, aws, RecordingReporter(), PlanOptions(), lint=False)
    assert left.in_sync and left.target is not None

    after = replan(config)
    assert after.plan.empty, after.plan.to_dict()
    ids = account_ids(sandbox)
    assert emails <= set(ids)
    report = workflow.audit(config, AwsContext())
    assert report.in_sync, json.dumps(report.to_dict(), indent=2)

    listed = CliRunner().invoke(cli, ["--config", str(config), "project", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    acme = next(p for p in json.loads(listed.output)["projects"] if p["name"] == NEW)
    assert {a["email"]: a["id"] for a in acme["accounts"]} == {e: ids[e] for e in emails}


def check_targets_against_the_whole_plan(
    sandbox: Sandbox, config: Path, whole: workflow.Planned
) -> None:
    """For targets of each sort, the targeted plan (its narrower read) holds exactly the changes
    and unmanaged things of the whole plan that the target keeps."""
    org = sandbox.client("organizations")
    # Something unmanaged, so that the comparison covers it: an OU made by hand under /Sandbox.
    sandbox_ou = next(o for o in whole.live.ous if o.path == "/Sandbox")
    org.create_organizational_unit(ParentId=sandbox_ou.id, Name="Hand-made")
    whole = replan(config)
    for targets in (
        ["project:acme"],
        ["project:themisguard"],
        ["ou:/Sandbox"],
        ["ou:/Production"],
        ["account:Security Tooling"],
        ["ou:/Non-Production", "account:acme-prod@delatsi-llc.com"],
    ):
        target = Target.parse(targets)
        within = reach(target, whole.config.spec, whole.live)
        kept, unmanaged = within.within(whole.plan.changes, whole.plan.unmanaged)
        targeted = workflow.make_plan(config, AwsContext(), PlanOptions(), target=target)
        assert [c.to_dict() for c in targeted.plan.changes] == [c.to_dict() for c in kept], targets
        assert list(targeted.plan.unmanaged) == unmanaged, targets
    sandbox_plan = workflow.make_plan(
        config, AwsContext(), PlanOptions(), target=Target.parse(["ou:/Sandbox"])
    )
    assert 'ou["/Sandbox/Hand-made"]' in [u.address for u in sandbox_plan.plan.unmanaged]
