"""Benchmark: the memory that member-account clients cost, without an emulator.

Makes one IAM client in each of N member accounts the way a read makes them (32 threads, through
``AwsContext.members()``), with credentials that need no AssumeRole (the STS call is replaced by
fixed credentials), and prints the process's resident memory before and after, and its peak
(VmHWM). With ``--trace`` it also prints where the memory still held was allocated (tracemalloc;
that slows the run and adds its own overhead to the RSS figures). Run by hand:

    python benchmarks/member_memory.py --accounts 1000
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orgkit.live.member import MemberSessions  # noqa: E402
from orgkit.live.session import AwsContext  # noqa: E402

ROLE = "OrganizationAccountAccessRole"


def memory(field: str) -> float:
    """A field of /proc/self/status (VmRSS, VmHWM) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--trace", action="store_true", help="show the top allocation sites")
    args = parser.parse_args()
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(variable, "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

    expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    fixed = {"access_key": "a", "secret_key": "s", "token": "t", "expiry_time": expiry.isoformat()}

    def first_credentials(self: MemberSessions, *_: Any) -> dict[str, str]:
        return fixed

    MemberSessions._first_credentials = first_credentials  # type: ignore[method-assign,assignment]
    aws = AwsContext()
    aws._caller = {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/bench"}
    members = aws.members()
    for service in ("sts", "organizations", "budgets"):  # what every read makes first
        aws.client(service)
    members.client("000000000000", ROLE, "iam")
    print(f"before: RSS {memory('VmRSS'):.1f} MiB, peak {memory('VmHWM'):.1f} MiB")
    if args.trace:
        tracemalloc.start(25)

    def one(n: int) -> None:
        client = members.client(f"{n:012d}", ROLE, "iam")
        client._request_signer._credentials.get_frozen_credentials()

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(one, range(1, args.accounts + 1)))
    print(
        f"after {args.accounts} accounts: RSS {memory('VmRSS'):.1f} MiB, "
        f"peak {memory('VmHWM'):.1f} MiB"
    )
    if args.trace:
        snapshot = tracemalloc.take_snapshot()
        for stat in snapshot.statistics("traceback")[:8]:
            print(f"{stat.size / 2**20:6.1f} MiB in {stat.count} blocks")
            for line in stat.traceback.format()[-8:]:
                print("   ", line)


if __name__ == "__main__":
    main()
