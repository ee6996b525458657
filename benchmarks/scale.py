"""Scale benchmark: plan, drift and apply of large generated organizations near AWS's throttles.

One command (run by hand, never in CI; needs the sandbox extra):

    python benchmarks/scale.py                                  # 100, 300 and 1000 accounts
    python benchmarks/scale.py --accounts 1000 --scenario tags roles-budgets

For each size it starts the embedded emulator, generates an organization straight into it (50
OUs three levels deep, 20 SCPs attached to OUs, N accounts spread over the OUs, two tags each),
and runs the scenarios through the fault layer (orgkit/sandbox/faults.py): 50-100 ms latency per
call, AWS Organizations' per-API rates as token buckets, and per-account buckets for STS, IAM,
Budgets and CloudFormation (SERVICE_RATES, assumptions stated in docs/performance.md).

Scenarios (org.yaml as each needs it; the organization is seeded to match it):

  structure       plan, no change: OUs, accounts, policies (no tags, roles or budgets declared)
  tags            plan, no change: every account's two tags declared
  roles-budgets   plan, no change: tags, the StackSet execution role in every member account
                  and a budget per account (seeded first)
  changes         plan with 10 changes (4 tags, 3 moves, 2 new OUs, 1 detached SCP)
  drift           orgkit drift of everything (tags, roles, budgets, and a stack set with an
                  instance in every account, seeded first)
  create          apply of 50 new accounts (CreateAccount IN_PROGRESS for 3 s each)
  onboard         apply of one project into the roles-budgets organization: an OU, three
                  accounts, their roles (the project's deployment role) and budgets
  onboard-target  the same onboarding (of another project) with --target project:NAME
  target          plan, no change, --target ou:/Top0 (a fifth of the accounts) in the
                  roles-budgets organization

Each scenario runs orgkit in a child process (so its peak memory is its own, not the
emulator's) and reports: wall time, planning time without I/O, calls per operation, throttled
calls, peak RSS, and the lower bound the calls imply with the ratio wall / bound. The bound is
the largest of: each rate-limited API's answered calls beyond its burst divided by its rate
(per account for the per-account services), and all answered calls times the mean latency
divided by the parallelism any client could use (--parallelism, 64 by default); for account
creation also ceil(N / 5 in flight) x the creation time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from orgkit.quotas import ORGANIZATIONS_RATES  # noqa: E402
from orgkit.sandbox.faults import (  # noqa: E402
    SERVICE_RATES,
    Faults,
    fault_layer,
)

SCENARIOS = (
    "structure",
    "tags",
    "roles-budgets",
    "target",
    "changes",
    "drift",
    "create",
    "onboard",
    "onboard-target",
)
PER_ACCOUNT = ("roles-budgets", "target", "drift", "onboard", "onboard-target")
# The --target each targeted scenario plans or applies with.
TARGETS = {"target": ["ou:/Top0"], "onboard-target": ["project:nextapp"]}
DENY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}],
}
ALERTS_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Description: An alerts topic in every account (the drift scenario's stack set).
Resources:
  Alerts:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: scale-alerts
"""
ENVIRONMENTS = ("dev", "staging", "prod")
RATES = {**ORGANIZATIONS_RATES, "ListCreateAccountStatus": (5, 8)}
CREATION_SECONDS = 3.0
NEW_ACCOUNTS = 50


# -- the generated organization ----------------------------------------------------------------
def ou_paths() -> list[str]:
    """50 OUs, three levels: 5 top, 15 below them, 30 below those."""
    paths = []
    for t in range(5):
        paths.append(f"/Top{t}")
        for m in range(3):
            paths.append(f"/Top{t}/Mid{m}")
            for leaf in range(2):
                paths.append(f"/Top{t}/Mid{m}/Leaf{leaf}")
    return paths


def generate(box: Any, accounts: int) -> dict[str, Any]:
    """Seed the organization into the emulator with raw boto3 (no fault layer, no orgkit) and
    return the org.yaml that matches it (structure and tags)."""
    org = box.client("organizations")
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    ids: dict[str, str] = {"/": root}
    for path in ou_paths():
        parent, _, name = path.rpartition("/")
        made = org.create_organizational_unit(ParentId=ids[parent or "/"], Name=name)
        ids[path] = made["OrganizationalUnit"]["Id"]
    paths = ou_paths()
    policies = []
    attached: dict[str, list[str]] = {}
    for p in range(20):
        policy_id = org.create_policy(
            Name=f"scp-{p:02d}",
            Description="",
            Type="SERVICE_CONTROL_POLICY",
            Content=json.dumps(DENY),
        )["Policy"]["PolicySummary"]["Id"]
        target = paths[(p * 7) % len(paths)]
        org.attach_policy(PolicyId=policy_id, TargetId=ids[target])
        attached.setdefault(target, []).append(f"scp-{p:02d}")
        policies.append({"name": f"scp-{p:02d}", "file": "scps/deny.json"})

    def one(i: int) -> dict[str, Any]:
        path = paths[i % len(paths)]
        email = f"acct-{i:05d}@example.org"
        environment = ENVIRONMENTS[i % 3]
        tags = {"Team": f"team-{i % 17}", "CostCenter": f"cc-{i % 5}"}
        status = org.create_account(
            Email=email,
            AccountName=f"Account {i:05d}",
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )["CreateAccountStatus"]
        org.move_account(
            AccountId=status["AccountId"], SourceParentId=root, DestinationParentId=ids[path]
        )
        return {
            "name": f"Account {i:05d}",
            "email": email,
            "ou": path,
            "environment": environment,
            "tags": tags,
        }

    with ThreadPoolExecutor(8) as pool:
        account_specs = list(pool.map(one, range(accounts)))

    def tree(prefix: str) -> list[dict[str, Any]]:
        children = [p for p in paths if p.rpartition("/")[0] == prefix]
        out = []
        for path in children:
            node: dict[str, Any] = {"name": path.rpartition("/")[2]}
            if attached.get(path):
                node["policies"] = attached[path]
            below = tree(path)
            if below:
                node["children"] = below
            out.append(node)
        return out

    return {
        "version": 1,
        "organization": {"name": "Scale", "management_account_id": "123456789012"},
        "policies": policies,
        "ous": tree(""),
        "accounts": account_specs,
    }


def variant(base: dict[str, Any], scenario: str) -> dict[str, Any]:
    """org.yaml for a scenario."""
    data = json.loads(json.dumps(base))
    if scenario == "structure":
        for account in data["accounts"]:
            account.pop("tags")
        return data
    if scenario in PER_ACCOUNT:
        data["stackset_roles"] = {
            "administration_role": "AWSCloudFormationStackSetAdministrationRole",
            "execution_role": "AWSCloudFormationStackSetExecutionRole",
        }
        data["budgets"] = {
            "currency": "USD",
            "amounts": {"dev": 100, "staging": 200, "prod": 500},
            "notifications": [{"type": "ACTUAL", "threshold": 80}],
            "emails": ["billing@example.org"],
        }
    if scenario == "drift":
        data["stack_sets"] = [
            {
                "name": "alerts",
                "template": "templates/alerts.yaml",
                "targets": {"ous": ["/"]},
                "regions": ["us-east-1"],
            }
        ]
    if scenario == "changes":
        accounts = data["accounts"]
        for account in accounts[:4]:
            account["tags"]["Team"] = "moved-team"
        paths = ou_paths()
        for n, account in enumerate(accounts[4:7]):
            account["ou"] = paths[(paths.index(account["ou"]) + 1 + n) % len(paths)]
        data["ous"][0]["children"].append({"name": "NewA"})
        data["ous"][1]["children"].append({"name": "NewB"})
        for node in walk(data["ous"]):
            if node.get("policies"):
                node["policies"] = node["policies"][1:]
                break
    if scenario in ("onboard", "onboard-target"):
        # Two projects, so that either scenario can run after the other on one organization.
        name = "newapp" if scenario == "onboard" else "nextapp"
        title = name.capitalize()
        data["projects"] = [
            {
                "name": name,
                "display_name": title,
                "deployment_role": {
                    "name": f"{title}DeploymentRole",
                    "trust": {"github": {"repository": f"example/{name}", "branches": ["main"]}},
                },
            }
        ]
        data["ous"].append({"name": title})
        data["accounts"] += [
            {
                "name": f"{title} {env}",
                "email": f"{name}-{env}@example.org",
                "ou": f"/{title}",
                "environment": env,
                "project": name,
            }
            for env in ENVIRONMENTS
        ]
    if scenario == "create":
        data["accounts"] += [
            {
                "name": f"New {i:03d}",
                "email": f"new-{i:03d}@example.org",
                "ou": ou_paths()[0],
                "environment": "dev",
            }
            for i in range(NEW_ACCOUNTS)
        ]
        for account in data["accounts"]:
            account.pop("tags", None)
    return data


def walk(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for node in nodes:
        out.append(node)
        out += walk(node.get("children", []))
    return out


def write_config(folder: Path, data: dict[str, Any]) -> Path:
    (folder / "scps").mkdir(exist_ok=True)
    (folder / "scps" / "deny.json").write_text(json.dumps(DENY))
    (folder / "templates").mkdir(exist_ok=True)
    (folder / "templates" / "alerts.yaml").write_text(ALERTS_TEMPLATE)
    path = folder / "org.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def seed_roles_and_budgets(config_path: Path) -> int:
    """Create what roles-budgets declares with orgkit's own handlers (straight to the
    emulator, in parallel): the roles and budgets then match org.yaml exactly."""
    from orgkit import workflow
    from orgkit.kinds import kind_of
    from orgkit.kinds.base import ApplyContext, Ids
    from orgkit.live import AwsContext
    from orgkit.plan import PlanOptions

    aws = AwsContext()
    planned = workflow.make_plan(config_path, aws, PlanOptions())
    ctx = ApplyContext(aws, Ids(planned.live), Quiet(), planned.live.management_account_id)
    changes = [c for c in planned.plan.changes if c.kind in ("deployment_role", "budget")]

    def run(change: Any) -> None:
        kind_of(change.kind).handlers[change.action](ctx, [change])

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(run, changes))
    return len(changes)


def seed_stack_instances(config_path: Path) -> int:
    """Create the drift scenario's stack set and its instance in every account with orgkit's
    own handlers (the set, then its instances in one batch)."""
    from orgkit import workflow
    from orgkit.kinds import kind_of
    from orgkit.kinds.base import ApplyContext, Ids
    from orgkit.live import AwsContext
    from orgkit.plan import PlanOptions

    aws = AwsContext()
    planned = workflow.make_plan(config_path, aws, PlanOptions())
    ctx = ApplyContext(aws, Ids(planned.live), Quiet(), planned.live.management_account_id)
    made = 0
    for kind in ("stack_set", "stack_instance"):
        changes = [c for c in planned.plan.changes if c.kind == kind]
        if changes:
            kind_of(kind).handlers[changes[0].action](ctx, changes)
            made += len(changes)
    return made


class Quiet:
    def change_started(self, change: object) -> None: ...
    def change_done(self, change: object, detail: str) -> None: ...
    def progress(self, change: object, message: str) -> None: ...


def peak_rss_mib() -> float:
    """This process's peak resident memory (VmHWM): unlike ru_maxrss, it does not carry over
    the parent's peak (the emulator's) from before the exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- the child: orgkit itself, timed ------------------------------------------------------------
def child(command: str, config_path: str, *targets: str) -> None:
    from orgkit import workflow
    from orgkit.live import AwsContext
    from orgkit.plan import PlanOptions, plan
    from orgkit.target import Target

    aws = AwsContext()
    target = Target.parse(targets)
    started = time.perf_counter()
    result: dict[str, Any] = {}
    if command == "plan":
        planned = workflow.make_plan(config_path, aws, PlanOptions(), target=target)
        result["changes"] = len(planned.plan.changes)
        result["change_kinds"] = dict(Counter(c.kind for c in planned.plan.changes))
        before = time.perf_counter()
        plan(planned.config, planned.live, PlanOptions(), target)
        result["planning_seconds"] = time.perf_counter() - before
    elif command == "drift":
        report = workflow.audit(config_path, aws)
        result["findings"] = len(report.findings)
    elif command == "apply":
        planned = workflow.make_plan(config_path, aws, PlanOptions(), target=target)
        applied, after = workflow.run_apply(planned, aws, Quiet(), PlanOptions(), lint=False)
        result["applied"] = len(applied.done)
        result["left"] = len(after.changes)
    result["wall_seconds"] = time.perf_counter() - started
    result["peak_rss_mib"] = peak_rss_mib()
    print("RESULT " + json.dumps(result))


# -- the bound ---------------------------------------------------------------------------------
APPLY_OPERATIONS = {
    "CreateAccount",
    "DescribeCreateAccountStatus",
    "ListCreateAccountStatus",
    "MoveAccount",
}


def lower_bound(
    tally: Any, latency: tuple[float, float], parallelism: int, created: int = 0
) -> tuple[float, str]:
    """The time any tool needs for these calls, and what sets it. An apply is a read, the
    creations, and a read again, one after the other: its bound is the sum of the three."""
    answered = Counter(
        {op: n - tally.throttled[op] for op, n in tally.calls.items() if n - tally.throttled[op]}
    )
    if created:
        reads = Counter({op: n // 2 for op, n in answered.items() if op not in APPLY_OPERATIONS})
        halves = Counter(
            {k: n // 2 for k, n in tally.answered_by_account.items() if k[0] in SERVICE_RATES}
        )
        read, _ = _bound(reads, halves, latency, parallelism)
        create_calls = Counter({op: answered[op] for op in APPLY_OPERATIONS})
        rate, burst = RATES["CreateAccount"]
        creation = max(max(0, created - burst) / rate, math.ceil(created / 5) * CREATION_SECONDS)
        return 2 * read + creation, (
            f"2 reads of {read:.1f} s + {created} creations: CreateAccount "
            f"{rate:g}/s burst {burst}, 5 in flight, {CREATION_SECONDS:g} s each "
            f"({sum(create_calls.values())} apply calls)"
        )
    per_account = Counter(
        {k: n for k, n in tally.answered_by_account.items() if k[0] in SERVICE_RATES}
    )
    return _bound(answered, per_account, latency, parallelism)


def _bound(
    answered: Counter[str],
    per_account: Counter[tuple[str, str]],
    latency: tuple[float, float],
    parallelism: int,
) -> tuple[float, str]:
    candidates: dict[str, float] = {}
    for op, (rate, burst) in RATES.items():
        if answered[op]:
            candidates[op] = max(0, answered[op] - burst) / rate
    for (service, account), n in per_account.items():
        rate, burst = SERVICE_RATES[service]
        candidates[f"{service} (account {account})"] = max(0, n - burst) / rate
    mean = sum(latency) / 2
    candidates[f"latency x calls / {parallelism}"] = sum(answered.values()) * mean / parallelism
    name = max(candidates, key=lambda k: candidates[k])
    return candidates[name], name


def run_scenario(
    box: Any, folder: Path, base: dict[str, Any], scenario: str, args: argparse.Namespace
) -> dict[str, Any]:
    data = variant(base, scenario)
    sub = folder / scenario
    sub.mkdir(exist_ok=True)
    config = write_config(sub, data)
    command = {
        "drift": "drift",
        "create": "apply",
        "onboard": "apply",
        "onboard-target": "apply",
    }.get(scenario, "plan")
    faults = Faults(
        rates=RATES,
        service_rates=SERVICE_RATES,
        latency=(args.latency[0] / 1000, args.latency[1] / 1000),
        account_creation_seconds=CREATION_SECONDS if command == "apply" else 0.0,
    )
    load = os.getloadavg()[0]
    with fault_layer(box.endpoint, faults) as layer:
        # The fault layer has AWS's rates: orgkit paces as it does on AWS.
        env = {**os.environ, "AWS_ENDPOINT_URL": layer.endpoint, "ORGKIT_PACING": "on"}
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, __file__, "--child", command, str(config), *TARGETS.get(scenario, [])],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        raise SystemExit(f"{scenario} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads(lines[-1][len("RESULT ") :])
    tally = layer.tally
    created = {
        "create": NEW_ACCOUNTS,
        "onboard": len(ENVIRONMENTS),
        "onboard-target": len(ENVIRONMENTS),
    }.get(scenario, 0)
    bound, what = lower_bound(tally, faults.latency, args.parallelism, created)
    return {
        "scenario": scenario,
        "accounts": len(base["accounts"]),
        "orgkit_seconds": result["wall_seconds"],
        "process_seconds": wall,
        "calls": sum(tally.calls.values()),
        "throttled": sum(tally.throttled.values()),
        "by_operation": dict(tally.calls.most_common()),
        "throttled_by_operation": dict(tally.throttled),
        "bound_seconds": bound,
        "bound_by": what,
        "ratio": result["wall_seconds"] / bound if bound else None,
        "load": load,
        **{k: v for k, v in result.items() if k != "wall_seconds"},
    }


def show(row: dict[str, Any]) -> None:
    extra = {
        k: round(row[k], 3) if isinstance(row[k], float) else row[k]
        for k in ("changes", "change_kinds", "findings", "applied", "left", "planning_seconds")
        if k in row
    }
    print(
        f"{row['accounts']:5d} {row['scenario']:14s} {row['orgkit_seconds']:7.1f} s  "
        f"calls {row['calls']:5d}  throttled {row['throttled']:4d}  "
        f"peak {row['peak_rss_mib']:5.0f} MiB  bound {row['bound_seconds']:6.1f} s "
        f"({row['bound_by']})  ratio {row['ratio']:.2f}  load {row['load']:.1f}  {extra}",
        flush=True,
    )
    top = ", ".join(f"{op} {n}" for op, n in list(row["by_operation"].items())[:8])
    print(f"      {top}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--scenario", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--latency", type=float, nargs=2, default=[50, 100], metavar=("MS", "MS"))
    parser.add_argument("--parallelism", type=int, default=64)
    parser.add_argument("--json", type=Path, help="also write every row to this file")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    from orgkit.sandbox.server import running_sandbox, sandbox_environment

    rows = []
    for size in args.accounts:
        with (
            running_sandbox(0) as box,
            sandbox_environment(box),
            tempfile.TemporaryDirectory() as tmp,
        ):
            box.reset(seed=42)  # moto's state is per process: one organization per size
            box.create_organization()
            started = time.perf_counter()
            base = generate(box, size)
            print(f"seeded {size} accounts in {time.perf_counter() - started:.0f} s", flush=True)
            seeded = False
            for scenario in [s for s in SCENARIOS if s in args.scenario]:
                if scenario in PER_ACCOUNT and not seeded:
                    sub = Path(tmp) / "seed"
                    sub.mkdir()
                    started = time.perf_counter()
                    made = seed_roles_and_budgets(write_config(sub, variant(base, "roles-budgets")))
                    print(
                        f"seeded {made} roles and budgets in {time.perf_counter() - started:.0f} s",
                        flush=True,
                    )
                    seeded = True
                if scenario == "drift":
                    sub = Path(tmp) / "stack-instances"
                    sub.mkdir()
                    started = time.perf_counter()
                    made = seed_stack_instances(write_config(sub, variant(base, "drift")))
                    print(
                        f"seeded a stack set and {made - 1} instances in "
                        f"{time.perf_counter() - started:.0f} s",
                        flush=True,
                    )
                row = run_scenario(box, Path(tmp), base, scenario, args)
                show(row)
                rows.append(row)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
