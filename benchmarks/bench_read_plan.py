"""Benchmark: read and plan a large organization (run by hand, never in CI).

Builds an organization of N accounts in M OUs with P SCPs on moto's server (loopback), then
measures orgkit's live read (calls per API, wall time), config load and pure planning (time and
peak memory). An optional per-request latency stands in for the network: moto answers in
microseconds, AWS in tens of milliseconds, and never as fast as its throttles allow.

    python benchmarks/bench_read_plan.py --accounts 1000 --ous 50 --latency-ms 20

Results are written to docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

import boto3
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orgkit import workflow  # noqa: E402
from orgkit.config import load_config  # noqa: E402
from orgkit.live import AwsContext  # noqa: E402
from orgkit.plan import plan  # noqa: E402

# Published Organizations throttles (requests per second) for the calls the reader makes; the
# floor is what AWS allows at best, whatever the tool.
THROTTLES = {
    "ListAccountsForParent": 5,
    "ListOrganizationalUnitsForParent": 5,
    "DescribePolicy": 2,
    "ListTargetsForPolicy": 5,
    "ListPolicies": 5,
    "ListRoots": 5,
    "DescribeOrganization": 5,
    "ListCreateAccountStatus": 5,
    "ListTagsForResource": 5,
    "GetCallerIdentity": 100,
}


def serve(latency: dict[str, float]) -> str:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    app = DomainDispatcherApplication(create_backend_app)

    def slow(environ: Any, start_response: Any) -> Any:
        if latency["seconds"]:
            time.sleep(latency["seconds"])
        return app(environ, start_response)

    server = make_server("127.0.0.1", 0, slow, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


def build(endpoint: str, accounts: int, ous: int, policies: int) -> dict[str, Any]:
    org = boto3.client("organizations", endpoint_url=endpoint, region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    top = max(1, ous // 10)
    ou_specs, ou_ids = [], []
    for t in range(top):
        parent = org.create_organizational_unit(ParentId=root, Name=f"Top{t}")[
            "OrganizationalUnit"
        ]["Id"]
        children = []
        for c in range(ous // top - 1):
            child = org.create_organizational_unit(ParentId=parent, Name=f"Unit{c}")[
                "OrganizationalUnit"
            ]["Id"]
            ou_ids.append((child, f"/Top{t}/Unit{c}"))
            children.append({"name": f"Unit{c}"})
        ou_ids.append((parent, f"/Top{t}"))
        ou_specs.append({"name": f"Top{t}", "children": children})
    account_specs = []
    for i in range(accounts):
        ou_id, path = ou_ids[i % len(ou_ids)]
        email = f"acct-{i:05d}@example.org"
        status = org.create_account(Email=email, AccountName=f"Account {i:05d}")
        account_id = status["CreateAccountStatus"]["AccountId"]
        org.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=ou_id)
        account_specs.append(
            {"name": f"Account {i:05d}", "email": email, "ou": path, "environment": "dev"}
        )
    policy_specs = []
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}
        ],
    }
    for p in range(policies):
        policy_id = org.create_policy(
            Name=f"scp-{p}",
            Description="",
            Type="SERVICE_CONTROL_POLICY",
            Content=json.dumps(document),
        )["Policy"]["PolicySummary"]["Id"]
        target, _ = ou_ids[p % len(ou_ids)]
        org.attach_policy(PolicyId=policy_id, TargetId=target)
        policy_specs.append({"name": f"scp-{p}", "file": "scps/deny.json"})
        for spec in ou_specs:
            if ou_ids[p % len(ou_ids)][1] == f"/{spec['name']}":
                spec.setdefault("policies", []).append(f"scp-{p}")
            for child in spec["children"]:
                if ou_ids[p % len(ou_ids)][1] == f"/{spec['name']}/{child['name']}":
                    child.setdefault("policies", []).append(f"scp-{p}")
    return {
        "version": 1,
        "organization": {"name": "Bench", "management_account_id": "123456789012"},
        "policies": policy_specs,
        "ous": ou_specs,
        "accounts": account_specs,
        "_document": document,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--ous", type=int, default=50)
    parser.add_argument("--policies", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()

    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    latency = {"seconds": 0.0}
    endpoint = serve(latency)
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    started = time.perf_counter()
    data = build(endpoint, args.accounts, args.ous, args.policies)
    print(
        f"built {args.accounts} accounts, {args.ous} OUs, {args.policies} SCPs in "
        f"{time.perf_counter() - started:.1f}s"
    )

    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        (base / "scps").mkdir()
        (base / "scps" / "deny.json").write_text(json.dumps(data.pop("_document")))
        (base / "org.yaml").write_text(yaml.safe_dump(data, sort_keys=False))

        started = time.perf_counter()
        config = load_config(base / "org.yaml")
        load_seconds = time.perf_counter() - started

        latency["seconds"] = args.latency_ms / 1000
        aws = AwsContext()
        calls: collections.Counter[str] = collections.Counter()
        client = aws.client("organizations")
        client.meta.events.register(
            "before-call.*.*", lambda model, **_: calls.update([model.name])
        )
        tracemalloc.start()
        started = time.perf_counter()
        live = workflow.read_live(config, aws)
        read_seconds = time.perf_counter() - started
        _, read_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()

        latency["seconds"] = 0.0
        started = time.perf_counter()
        result = plan(config, live)
        plan_seconds = time.perf_counter() - started
        _, plan_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    floor = max((count / THROTTLES.get(op, 5) for op, count in calls.items()), default=0)
    print(f"load_config:   {load_seconds * 1000:8.1f} ms")
    print(
        f"read_live:     {read_seconds * 1000:8.1f} ms at {args.latency_ms:g} ms/request, "
        f"{sum(calls.values())} calls, peak {read_peak / 2**20:.1f} MiB"
    )
    print(
        f"plan:          {plan_seconds * 1000:8.1f} ms, peak {plan_peak / 2**20:.1f} MiB, "
        f"{len(result.changes)} changes"
    )
    print(f"AWS throttle floor for these calls (busiest API alone): {floor:.1f} s")
    for op, count in sorted(calls.items(), key=lambda kv: -kv[1]):
        print(f"  {op:36s} {count:5d}")


if __name__ == "__main__":
    main()
