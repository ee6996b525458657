"""org-formation side by side with orgkit on the same emulator, organization and fault layer.

Run by hand (needs node 20, npm and the sandbox extra; never in CI):

    python benchmarks/peer.py                                # 100 and 300 accounts
    python benchmarks/peer.py --accounts 1000 --scenario tags --hand-changes

The peer is org-formation (npm ``aws-organization-formation``, pinned to PEER_VERSION). It is
installed with npm into benchmarks/.peer/ (git-ignored) the first time; nothing of it is
committed. For each size the organization of benchmarks/scale.py (with OU names unique in the
tree: unique_ou_paths) is generated into the embedded emulator, and for each scenario:

- the peer's own template (organization.yml: the master account, OUs nested with their
  accounts and SCPs, accounts with their emails and, for ``tags``, their tags, the SCPs) is
  written and bound with ``org-formation update`` straight to the emulator (no fault layer,
  untimed; the first time one OU level per run): org-formation plans against the state it
  keeps in S3, so a plan with no change needs a state that matches the template, as it would
  after the peer's own apply;
- orgkit's plan runs as in benchmarks/scale.py (same fault layer, same bound);
- the peer's plan-like command, ``org-formation create-change-set``, runs through a fresh fault
  layer with the same latency and rates (PeerLayer: plus two answers moto lacks). Its AWS SDK
  for JavaScript (v3) honours AWS_ENDPOINT_URL, so no shim is needed. It reads the whole
  organization and writes its change set to its S3 state bucket (an S3 write only);
- the row: both tools' wall time (of the process, node's start-up included for the peer),
  calls, calls per operation and throttled calls, the lower bound of scale.py for each tool's
  answered calls, and the ratios orgkit / peer and each / the bound of orgkit's calls.

``create`` runs the peer's ``update`` of 50 new accounts (CreateAccount IN_PROGRESS for 3 s)
beside orgkit's apply of 50 others. ``--hand-changes`` then changes the organization by hand
(straight to the emulator: a tag's value, a removed tag, two accounts moved to the root, a
detached SCP) and reports the changes each tool's plan shows (orgkit against org.yaml, the
peer against its template and state).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import yaml

BENCHMARKS = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARKS))

import scale  # noqa: E402

from orgkit.sandbox.faults import SERVICE_RATES, FaultLayer, Faults, fault_layer  # noqa: E402

PEER_PACKAGE = "aws-organization-formation"
PEER_VERSION = "1.0.17"
CACHE = BENCHMARKS / ".peer" / f"org-formation-{PEER_VERSION}"
CLI = CACHE / "node_modules" / PEER_PACKAGE / "dist" / "cli.js"
SCENARIOS = ("structure", "tags", "create")
MANAGEMENT = "123456789012"


def unique_ou_paths() -> list[str]:
    """scale.ou_paths' tree (50 OUs: 5, 15, 30) with every OU's name unique in the tree.

    org-formation's first apply of an existing organization misplaces accounts when OU names
    repeat under different parents (Leaf0 under every Mid, as in scale.ou_paths): measured,
    accounts of /Top0/Mid0 ended under /Top4/Mid0. The same shape with unique names makes the
    same calls."""
    paths = []
    for t in range(5):
        paths.append(f"/T{t}")
        for m in range(3):
            paths.append(f"/T{t}/T{t}M{m}")
            for leaf in range(2):
                paths.append(f"/T{t}/T{t}M{m}/T{t}M{m}L{leaf}")
    return paths


scale.ou_paths = unique_ou_paths  # generate() builds the tree from it


# -- the peer, installed on demand ----------------------------------------------------------
def install_peer() -> Path:
    """npm install the pinned peer into the cache folder unless it is there; its cli.js."""
    if CLI.exists():
        return CLI
    if not shutil.which("npm") or not shutil.which("node"):
        raise SystemExit("org-formation needs node and npm on PATH")
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "package.json").write_text('{"private": true}\n')
    subprocess.run(
        [
            "npm",
            "install",
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
            f"{PEER_PACKAGE}@{PEER_VERSION}",
        ],
        cwd=CACHE,
        check=True,
    )
    return CLI


# -- the peer's template ----------------------------------------------------------------------
def logical(name: str) -> str:
    """A CloudFormation logical id from a name or path."""
    return "".join(c for c in name.title() if c.isalnum())


def peer_template(data: dict[str, Any], depth: int = 3) -> dict[str, Any]:
    """org-formation's organization.yml for an orgkit org.yaml (as scale.variant builds it),
    with the OU tree cut at ``depth`` (an account below it in the OU above)."""
    resources: dict[str, Any] = {
        "MasterAccount": {
            "Type": "OC::ORG::MasterAccount",
            "Properties": {"AccountName": "Management", "AccountId": MANAGEMENT},
        },
        "OrganizationRoot": {"Type": "OC::ORG::OrganizationRoot", "Properties": {}},
    }
    for policy in data["policies"]:
        resources["Scp" + logical(policy["name"])] = {
            "Type": "OC::ORG::ServiceControlPolicy",
            "Properties": {"PolicyName": policy["name"], "PolicyDocument": scale.DENY},
        }
    by_ou: dict[str, list[str]] = {}
    for account in data["accounts"]:
        account_id = "Account" + logical(account["name"])
        properties: dict[str, Any] = {"AccountName": account["name"], "RootEmail": account["email"]}
        if account.get("tags"):
            properties["Tags"] = dict(account["tags"])
        resources[account_id] = {"Type": "OC::ORG::Account", "Properties": properties}
        ou = "/".join(account["ou"].split("/")[: depth + 1])
        by_ou.setdefault(ou, []).append(account_id)

    def ous(nodes: list[dict[str, Any]], prefix: str, level: int) -> list[dict[str, str]]:
        refs = []
        for node in nodes:
            path = f"{prefix}/{node['name']}"
            ou_id = "Ou" + logical(path)
            properties: dict[str, Any] = {"OrganizationalUnitName": node["name"]}
            below = node.get("children", []) if level < depth else []
            children = ous(below, path, level + 1)
            if children:
                properties["OrganizationalUnits"] = children
            if by_ou.get(path):
                properties["Accounts"] = [{"Ref": a} for a in by_ou[path]]
            if node.get("policies"):
                properties["ServiceControlPolicies"] = [
                    {"Ref": "Scp" + logical(p)} for p in node["policies"]
                ]
            resources[ou_id] = {"Type": "OC::ORG::OrganizationalUnit", "Properties": properties}
            refs.append({"Ref": ou_id})
        return refs

    ous(data["ous"], "", 1)
    return {
        "AWSTemplateFormatVersion": "2010-09-09-OC",
        "Description": "generated by benchmarks/peer.py",
        "Organization": resources,
    }


def write_template(folder: Path, data: dict[str, Any], depth: int = 3) -> Path:
    """The peer's template of ``data`` in ``folder``."""
    path = folder / "organization.yml"
    path.write_text(yaml.safe_dump(peer_template(data, depth), sort_keys=False))
    return path


# -- running the peer -------------------------------------------------------------------------
SEVERITY_LEVELS = "AWSSupport_20130415.DescribeSeverityLevels"


class PeerLayer(FaultLayer):
    """The fault layer with two answers as AWS gives them where moto differs, for the peer.

    - org-formation asks every account's support level (Support DescribeSeverityLevels); moto
      does not implement it and answers an HTML 500, which the peer's SDK fails to parse and
      the peer fails the whole read on. AWS answers an account on basic support with
      SubscriptionRequiredException, which the peer reads as "basic": this layer answers that,
      after the same latency and tally as every other call.
    - moto's CreateAccount answers State SUCCEEDED at once; AWS answers IN_PROGRESS. orgkit
      asks DescribeCreateAccountStatus after CreateAccount whatever it says (and so waits the
      fault layer's creation time); the peer polls only while CreateAccount's own answer is
      not SUCCEEDED, so without this it would skip the creation time orgkit is held to.

    Benchmark-only, peer-only: orgkit runs on the shared FaultLayer."""

    def _rewrite(
        self, operation: str, request: bytes, payload: bytes, json_protocol: bool
    ) -> bytes:
        payload = super()._rewrite(operation, request, payload, json_protocol)
        if operation == "CreateAccount" and self.faults.account_creation_seconds:
            data = json.loads(payload or b"{}")
            status = data.get("CreateAccountStatus", {})
            if status.get("State") == "SUCCEEDED":
                status["State"] = "IN_PROGRESS"
                status.pop("AccountId", None)
                return json.dumps(data).encode()
        return payload

    def _forward(self, handler: Any, body: bytes) -> tuple[int, Any, bytes]:
        if handler.headers.get("X-Amz-Target") == SEVERITY_LEVELS:
            payload = json.dumps(
                {
                    "__type": "SubscriptionRequiredException",
                    "message": "AWS Premium Support Subscription is required to use this service.",
                }
            ).encode()
            headers = [
                ("Content-Type", "application/x-amz-json-1.1"),
                ("x-amzn-ErrorType", "SubscriptionRequiredException"),
                ("Content-Length", str(len(payload))),
            ]
            return 400, headers, payload
        return super()._forward(handler, body)


def peer_layer(upstream: str, faults: Faults) -> AbstractContextManager[FaultLayer]:
    """PeerLayer in front of ``upstream`` for the block."""
    return fault_layer(upstream, faults, PeerLayer)


def run_peer(
    args: list[str], endpoint: str, env: dict[str, str], cwd: Path
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run org-formation with its SDK on ``endpoint``: (wall seconds, the process)."""
    peer_env = {
        **env,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "NODE_NO_WARNINGS": "1",
    }
    peer_env.pop("AWS_PROFILE", None)
    started = time.perf_counter()
    done = subprocess.run(
        ["node", str(CLI), *args, "--no-color", "--print-stack"],
        env=peer_env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    return time.perf_counter() - started, done


def change_set(done: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    """The changes of create-change-set's JSON output."""
    text = done.stdout
    start = text.find("{\n")
    if done.returncode or start < 0:
        raise SystemExit(
            f"org-formation failed ({done.returncode}):\n{done.stdout[-2000:]}\n"
            f"{done.stderr[-3000:]}"
        )
    changes: list[dict[str, Any]] = json.loads(text[start:])["changes"]
    return changes


def bind_state(template: Path, box: Any) -> dict[str, Any]:
    """org-formation's own apply of its template, straight to the emulator: binds what exists
    and commits its state. Returns what it did (time, writes) for the log."""
    with peer_layer(box.endpoint, Faults()) as layer:
        wall, done = run_peer(["update", str(template)], layer.endpoint, box.env, template.parent)
    if done.returncode:
        raise SystemExit(
            f"org-formation update failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return {"seconds": wall, "log": done.stdout.count("\n")}


def check_tree(box: Any) -> None:
    """The OU tree has scale.ou_paths' 50 OUs, each once (the peer's apply made no duplicate)."""
    org = box.client("organizations")
    found: list[str] = []
    parents = [(org.list_roots()["Roots"][0]["Id"], "")]
    while parents:
        parent, prefix = parents.pop()
        pages = org.get_paginator("list_organizational_units_for_parent").paginate(ParentId=parent)
        for page in pages:
            for ou in page["OrganizationalUnits"]:
                found.append(f"{prefix}/{ou['Name']}")
                parents.append((ou["Id"], found[-1]))
    if sorted(found) != sorted(scale.ou_paths()):
        raise SystemExit(f"the peer's apply left {len(found)} OUs, not the 50 generated: {found}")


def peer_row(
    box: Any, template: Path, scenario: str, args: argparse.Namespace, created: int = 0
) -> dict[str, Any]:
    """The peer's run through the fault layer."""
    faults = Faults(
        rates=scale.RATES,
        service_rates=SERVICE_RATES,
        latency=(args.latency[0] / 1000, args.latency[1] / 1000),
        account_creation_seconds=scale.CREATION_SECONDS if created else 0.0,
    )
    load = os.getloadavg()[0]
    command = ["update", str(template)] if created else ["create-change-set", str(template)]
    with peer_layer(box.endpoint, faults) as layer:
        wall, done = run_peer(command, layer.endpoint, box.env, template.parent)
    if created:
        if done.returncode:
            raise SystemExit(f"org-formation update failed:\n{done.stderr[-3000:]}")
        changes = None
    else:
        changes = len(change_set(done))
    tally = layer.tally
    bound, what = scale.lower_bound(tally, faults.latency, args.parallelism, created)
    return {
        "seconds": wall,
        "calls": sum(tally.calls.values()),
        "throttled": sum(tally.throttled.values()),
        "by_operation": dict(tally.calls.most_common()),
        "throttled_by_operation": dict(tally.throttled),
        "bound_seconds": bound,
        "bound_by": what,
        "changes": changes,
        "load": load,
    }


# -- hand changes ---------------------------------------------------------------------------
def hand_changes(box: Any, base: dict[str, Any]) -> list[str]:
    """Five changes made by hand, straight to the emulator, to accounts and OUs both tools
    manage: a tag's value, a removed tag, two moved accounts, a detached SCP."""
    org = box.client("organizations")
    ids = {
        a["Email"]: a["Id"]
        for page in org.get_paginator("list_accounts").paginate()
        for a in page["Accounts"]
    }
    accounts = base["accounts"]
    done = []
    first, second = ids[accounts[0]["email"]], ids[accounts[1]["email"]]
    org.tag_resource(ResourceId=first, Tags=[{"Key": "Team", "Value": "changed-by-hand"}])
    done.append(f"{accounts[0]['name']}: tag Team changed")
    org.untag_resource(ResourceId=second, TagKeys=["CostCenter"])
    done.append(f"{accounts[1]['name']}: tag CostCenter removed")
    root = org.list_roots()["Roots"][0]["Id"]
    for account in accounts[2:4]:
        account_id = ids[account["email"]]
        parent = org.list_parents(ChildId=account_id)["Parents"][0]["Id"]
        org.move_account(AccountId=account_id, SourceParentId=parent, DestinationParentId=root)
        done.append(f"{account['name']}: moved from {account['ou']} to the root")
    policies = {
        p["Name"]: p["Id"] for p in org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]
    }
    for node in scale.walk(base["ous"]):
        if node.get("policies"):
            policy = node["policies"][0]
            target = org.list_targets_for_policy(PolicyId=policies[policy])["Targets"][0]
            org.detach_policy(PolicyId=policies[policy], TargetId=target["TargetId"])
            done.append(f"{policy} detached from OU {node['name']}")
            break
    return done


def orgkit_plan_changes(box: Any, config: Path) -> list[str]:
    """orgkit's plan of ``config`` straight to the emulator: one line per change."""
    from orgkit import workflow
    from orgkit.live import AwsContext
    from orgkit.plan import PlanOptions

    planned = workflow.make_plan(config, AwsContext(), PlanOptions())
    return [f"{c.action.value} {c.address}" for c in planned.plan.changes]


# -- the run ---------------------------------------------------------------------------------
def show(row: dict[str, Any]) -> None:
    peer, orgkit = row["peer"], row["orgkit"]
    print(
        f"{row['accounts']:5d} {row['scenario']:10s} "
        f"orgkit {orgkit['process_seconds']:6.1f} s ({orgkit['orgkit_seconds']:.1f} in-process), "
        f"{orgkit['calls']} calls, {orgkit['throttled']} throttled, changes "
        f"{orgkit.get('changes', orgkit.get('applied'))} | "
        f"peer {peer['seconds']:6.1f} s, {peer['calls']} calls, {peer['throttled']} throttled, "
        f"changes {peer['changes']} | bound {row['bound_seconds']:.1f} s ({row['bound_by']}), "
        f"peer's own calls' bound {peer['bound_seconds']:.1f} s ({peer['bound_by']}) | "
        f"orgkit/peer {row['orgkit_over_peer']:.2f}, orgkit/bound {row['orgkit_over_bound']:.2f}, "
        f"peer/bound {row['peer_over_bound']:.2f} | load {orgkit['load']:.1f}/{peer['load']:.1f}",
        flush=True,
    )
    top = ", ".join(f"{op} {n}" for op, n in list(peer["by_operation"].items())[:12])
    print(f"      peer: {top}", flush=True)
    if peer["throttled_by_operation"]:
        print(f"      peer throttled: {peer['throttled_by_operation']}", flush=True)


def combine(
    scenario: str, size: int, orgkit: dict[str, Any], peer: dict[str, Any]
) -> dict[str, Any]:
    bound = orgkit["bound_seconds"]
    return {
        "scenario": scenario,
        "accounts": size,
        "bound_seconds": bound,
        "bound_by": orgkit["bound_by"],
        "orgkit_over_peer": orgkit["process_seconds"] / peer["seconds"],
        "orgkit_over_bound": orgkit["process_seconds"] / bound,
        "peer_over_bound": peer["seconds"] / bound,
        "orgkit": orgkit,
        "peer": peer,
    }


def run_size(
    box: Any, tmp: Path, size: int, args: argparse.Namespace, rows: list[dict[str, Any]]
) -> None:
    """Every wanted scenario at one size, appended to ``rows`` as each ends."""
    base = scale.generate(box, size)
    tags = scale.variant(base, "tags")
    structure = scale.variant(base, "structure")
    peer_dir = tmp / "peer"
    peer_dir.mkdir()
    # The peer's first apply of an existing organization creates a nested OU whose parent it has
    # not bound yet at the root, then "moves" it under its parent (AWS cannot move an OU: a new
    # one under the parent, the children moved, the old one deleted), next to the existing OU
    # of that name: moto allows the duplicate (AWS refuses it). Binding one level per apply
    # finds each OU under its bound parent instead. Done first, so that both tools read the
    # same organization in every row.
    started = time.perf_counter()
    for depth in (1, 2, 3):
        bound_state = bind_state(write_template(peer_dir, tags, depth), box)
    check_tree(box)
    print(
        f"seeded {size} accounts; peer state bound in {time.perf_counter() - started:.0f} s "
        f"({bound_state['seconds']:.0f} s update)",
        flush=True,
    )
    wanted = [s for s in SCENARIOS if s in args.scenario]
    orgkit_rows = {}
    for scenario in [s for s in ("structure", "tags") if s in wanted]:
        orgkit_rows[scenario] = scale.run_scenario(box, tmp, base, scenario, args)
    if "tags" in wanted:
        peer = peer_row(box, write_template(peer_dir, tags), "tags", args)
        rows.append(combine("tags", size, orgkit_rows["tags"], peer))
        show(rows[-1])
    if "structure" in wanted:
        bind_state(write_template(peer_dir, structure), box)  # untags every account
        peer = peer_row(box, write_template(peer_dir, structure), "structure", args)
        rows.append(combine("structure", size, orgkit_rows["structure"], peer))
        show(rows[-1])
        bind_state(write_template(peer_dir, tags), box)  # tags them again
    peer_tags = tags
    if "create" in wanted:
        orgkit = scale.run_scenario(box, tmp, base, "create", args)
        data = json.loads(json.dumps(tags))
        data["accounts"] += [
            {
                "name": f"Peer New {i:03d}",
                "email": f"peer-new-{i:03d}@example.org",
                "ou": "/T0",
                "environment": "dev",
            }
            for i in range(scale.NEW_ACCOUNTS)
        ]
        peer_tags = data  # its state has its new accounts now
        peer = peer_row(
            box, write_template(peer_dir, data), "create", args, created=scale.NEW_ACCOUNTS
        )
        org = box.client("organizations")
        created = sum(
            1
            for page in org.get_paginator("list_accounts").paginate()
            for a in page["Accounts"]
            if a["Email"].startswith("peer-new-")
        )
        peer["changes"] = created  # accounts the peer made
        rows.append(combine("create", size, orgkit, peer))
        show(rows[-1])
    if args.hand_changes:
        made = hand_changes(box, base)
        (tmp / "hand").mkdir()
        config = scale.write_config(tmp / "hand", tags)
        orgkit_found = orgkit_plan_changes(box, config)
        with peer_layer(box.endpoint, Faults()) as layer:
            _, done = run_peer(
                ["create-change-set", str(write_template(peer_dir, peer_tags))],
                layer.endpoint,
                box.env,
                peer_dir,
            )
        peer_found = change_set(done)
        print(f"hand changes: {made}", flush=True)
        print(f"  orgkit plan: {len(orgkit_found)}: {orgkit_found}", flush=True)
        print(
            f"  peer change set: {len(peer_found)}: {peer_found}; read "
            f"{sum(layer.tally.calls.values())} calls",
            flush=True,
        )
        rows.append(
            {
                "scenario": "hand-changes",
                "accounts": size,
                "made": made,
                "orgkit": orgkit_found,
                "peer": peer_found,
            }
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[100, 300])
    parser.add_argument("--scenario", nargs="+", choices=SCENARIOS, default=["structure", "tags"])
    parser.add_argument(
        "--hand-changes",
        action="store_true",
        help="then change the organization by hand and compare both plans",
    )
    parser.add_argument("--latency", type=float, nargs=2, default=[50, 100], metavar=("MS", "MS"))
    parser.add_argument("--parallelism", type=int, default=64)
    parser.add_argument("--json", type=Path, help="also write every row to this file")
    args = parser.parse_args()
    install_peer()

    from orgkit.sandbox.server import running_sandbox, sandbox_environment

    rows: list[dict[str, Any]] = []
    for size in args.accounts:
        with (
            running_sandbox(0) as box,
            sandbox_environment(box),
            tempfile.TemporaryDirectory() as tmp,
        ):
            box.reset(seed=42)
            box.create_organization()
            try:
                run_size(box, Path(tmp), size, args, rows)
            finally:
                if args.json:
                    args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
