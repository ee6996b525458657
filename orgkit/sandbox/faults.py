"""A fault layer on loopback in front of the sandbox's emulator: AWS as it behaves on a bad day.

A small reverse proxy (standard library only) that forwards to moto and, on the way:

- enforces per-API rates as token buckets (AWS Organizations' published ones by default) and
  answers TooManyRequestsException / Throttling past them;
- injects throttling errors and 5xx at given rates, drops or stalls connections;
- keeps CreateAccount IN_PROGRESS for a while (moto finishes it at once) or FAILS it with a
  reason, and keeps stack set operations RUNNING for a while;
- can kill a process after its n-th write (crash tests);
- counts calls, throttles and faults per operation.

Faults are injected *before* the request reaches moto, so the emulator never executes a call
whose answer is lost: on AWS such a call would be refused the second time (a duplicate name or
email), while moto would execute it twice (notes/moto.md). That case is tested with stubs
(tests/unit/test_accounts.py), not here. Nothing in orgkit's production code knows this layer.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Per-account service rates (requests per second, burst) for the services AWS throttles per
# account rather than per API. AWS publishes STS's AssumeRole rate (600 per second per account);
# IAM, Budgets and CloudFormation publish none for reads, so these are assumptions, stated in
# docs/performance.md: IAM 20/s, Budgets 10/s, CloudFormation 10/s, each burst 2 s' worth.
SERVICE_RATES: dict[str, tuple[float, int]] = {
    "sts": (600, 600),
    "iam": (20, 40),
    "budgets": (10, 20),
    "cloudformation": (10, 20),
}
READ_PREFIXES = ("Describe", "List", "Get")


@dataclass
class Faults:
    """What to inject. Rates are probabilities per request; times are seconds."""

    seed: int = 42
    throttle_rate: float = 0.0
    error_rate: float = 0.0  # 5xx
    drop_rate: float = 0.0  # connection closed without an answer
    stall_rate: float = 0.0
    stall_seconds: float = 2.0
    rates: dict[str, tuple[float, int]] = field(default_factory=dict)  # operation -> (rps, burst)
    # service (the signature's scope: iam, sts, budgets, ...) -> (rps, burst), one bucket per
    # service and calling account (the account of the credentials that signed the request)
    service_rates: dict[str, tuple[float, int]] = field(default_factory=dict)
    latency: tuple[float, float] = (0.0, 0.0)  # every call waits uniformly in [low, high] s
    account_creation_seconds: float = 0.0  # CreateAccount stays IN_PROGRESS this long
    fail_accounts: dict[str, str] = field(default_factory=dict)  # email -> FailureReason
    operation_seconds: float = 0.0  # stack set operations stay RUNNING this long
    kill_after_writes: int | None = None  # SIGKILL ``kill_pid`` after this many writes
    kill_pid: int | None = None


@dataclass
class Tally:
    """What went through the layer."""

    calls: Counter[str] = field(default_factory=Counter)
    throttled: Counter[str] = field(default_factory=Counter)
    # calls that got an answer, by (service, calling account): what per-account rates bound
    answered_by_account: Counter[tuple[str, str]] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    writes: int = 0
    killed: bool = False

    def report(self) -> str:
        """A few lines for a person."""
        lines = [
            f"{sum(self.calls.values())} calls, {sum(self.throttled.values())} throttled, "
            f"faults: {dict(self.faults) or 'none'}"
        ]
        for operation, count in self.calls.most_common(8):
            lines.append(f"  {operation:40s} {count:5d}  throttled {self.throttled[operation]}")
        return "\n".join(lines)


class _Bucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.capacity = rate, float(burst)
        self.tokens, self.stamp = float(burst), time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


def _operation(headers: Any, body: bytes) -> tuple[str, str]:
    """(service, operation) of a request: JSON protocols name it in X-Amz-Target, query
    protocols in the form body's Action."""
    target = headers.get("X-Amz-Target")
    if target:
        prefix, _, name = target.partition(".")
        return prefix, name
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    return "query", (form.get("Action") or ["?"])[0]


_CREDENTIAL = re.compile(r"Credential=([^/]+)/[^/]+/[^/]+/([^/]+)/")
_ROLE_ACCOUNT = re.compile(r"arn(?:%3A|:)aws(?:%3A|:)iam(?:%3A|:)(?:%3A|:)(\d{12})")
_ACCESS_KEY = re.compile(rb"<AccessKeyId>([^<]+)</AccessKeyId>")


def _signer(headers: Any) -> tuple[str, str]:
    """(access key id, service) from a SigV4 Authorization header; empty when unsigned."""
    found = _CREDENTIAL.search(headers.get("Authorization") or "")
    return (found.group(1), found.group(2)) if found else ("", "")


def _error(handler: BaseHTTPRequestHandler, status: int, code: str, json_protocol: bool) -> None:
    if json_protocol:
        payload = json.dumps({"__type": code, "message": "injected by the fault layer"}).encode()
        kind = "application/x-amz-json-1.1"
    else:
        payload = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
            f"<Message>injected by the fault layer</Message></Error>"
            f"<RequestId>faults</RequestId></ErrorResponse>"
        ).encode()
        kind = "text/xml"
    handler.send_response(status)
    handler.send_header("Content-Type", kind)
    handler.send_header("Content-Length", str(len(payload)))
    handler.send_header("x-amzn-ErrorType", code)
    handler.end_headers()
    handler.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client killed mid-request (the crash tests) resets its connection: not news."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FaultLayer:
    """The proxy: ``endpoint`` is where orgkit (AWS_ENDPOINT_URL) should point."""

    def __init__(self, upstream: str, faults: Faults) -> None:
        self.upstream = urllib.parse.urlparse(upstream)
        self.faults = faults
        self.tally = Tally()
        self.random = random.Random(faults.seed)  # noqa: S311 - repeatable faults, not secrets
        self.lock = threading.Lock()
        self.buckets = {op: _Bucket(*rate) for op, rate in faults.rates.items()}
        self.account_buckets: dict[tuple[str, str], _Bucket] = {}  # (service, account)
        self.key_accounts: dict[str, str] = {}  # access key id -> account (from AssumeRole)
        self.management_account = "123456789012"  # the sandbox's caller
        self.created: dict[str, float] = {}  # CreateAccount request id -> when
        self.emails: dict[str, str] = {}  # CreateAccount request id -> email
        self.names: dict[str, str] = {}  # CreateAccount request id -> account name
        self.operations: dict[str, float] = {}  # stack set operation id -> when
        layer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                return

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                layer.handle(self)

            # Every method AWS's REST APIs use (S3's HeadBucket, GuardDuty's and Security Hub's
            # PATCH, PUT and DELETE calls), not only the JSON and query protocols' POST.
            do_GET = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_POST  # noqa: N815

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    # -- the request path -------------------------------------------------------------------
    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        service, operation = _operation(handler.headers, body)
        json_protocol = service != "query"
        write = not operation.startswith(READ_PREFIXES) and operation != "AssumeRole"
        key, scope = _signer(handler.headers)
        with self.lock:
            self.tally.calls[operation] += 1
            roll = self.random.random()
            # Drawn only with latency on: the fault sequence of a seed stays what it was.
            delay = self.random.uniform(*self.faults.latency) if any(self.faults.latency) else 0.0
            f = self.faults
            bucket = self.buckets.get(operation)
            account = self.key_accounts.get(key, self.management_account)
            per_account = None
            if scope in f.service_rates:
                per_account = self.account_buckets.setdefault(
                    (scope, account), _Bucket(*f.service_rates[scope])
                )
        if delay:
            time.sleep(delay)
        if bucket is not None and not bucket.take():
            return self._throttle(handler, operation, json_protocol)
        if per_account is not None and not per_account.take():
            return self._throttle(handler, operation, json_protocol)
        if roll < f.throttle_rate:
            return self._throttle(handler, operation, json_protocol)
        roll -= f.throttle_rate
        if roll < f.error_rate:
            self._count("5xx")
            return _error(handler, 500, "InternalFailure", json_protocol)
        roll -= f.error_rate
        if roll < f.drop_rate:
            self._count("dropped")
            handler.close_connection = True
            return
        roll -= f.drop_rate
        if roll < f.stall_rate:
            self._count("stalled")
            time.sleep(f.stall_seconds)
        status, headers, payload = self._forward(handler, body)
        payload = self._rewrite(operation, body, payload, json_protocol)
        with self.lock:
            self.tally.answered_by_account[(scope or service, account)] += 1
            if operation == "AssumeRole" and status < 300:
                self._remember_key(body, payload)
        handler.send_response(status)
        head = handler.command == "HEAD"  # no body; the length is the upstream's
        for key, value in headers:
            if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                handler.send_header(key, value)
        length = dict((k.lower(), v) for k, v in headers).get("content-length", "0")
        handler.send_header("Content-Length", length if head else str(len(payload)))
        handler.end_headers()
        if not head:
            handler.wfile.write(payload)
        if write and status < 300:
            self._written()

    def _remember_key(self, request: bytes, payload: bytes) -> None:
        """The account an AssumeRole's credentials act in: per-account buckets need it."""
        role = _ROLE_ACCOUNT.search(request.decode("utf-8", "replace"))
        key = _ACCESS_KEY.search(payload)
        if role and key:
            self.key_accounts[key.group(1).decode()] = role.group(1)

    def _throttle(
        self, handler: BaseHTTPRequestHandler, operation: str, json_protocol: bool
    ) -> None:
        with self.lock:
            self.tally.throttled[operation] += 1
        code = "TooManyRequestsException" if json_protocol else "Throttling"
        _error(handler, 400, code, json_protocol)

    def _count(self, fault: str) -> None:
        with self.lock:
            self.tally.faults[fault] += 1

    def _forward(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, Any, bytes]:
        connection = HTTPConnection(
            self.upstream.hostname or "127.0.0.1", self.upstream.port, timeout=120
        )
        try:
            headers = {k: v for k, v in handler.headers.items() if k.lower() != "host"}
            headers["Host"] = self.upstream.netloc
            connection.request(handler.command, handler.path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def _written(self) -> None:
        with self.lock:
            self.tally.writes += 1
            due = self.faults.kill_after_writes is not None and (
                self.tally.writes >= self.faults.kill_after_writes
            )
            if due and not self.tally.killed and self.faults.kill_pid:
                self.tally.killed = True
                os.kill(self.faults.kill_pid, signal.SIGKILL)

    # -- what moto answers too soon ------------------------------------------------------------
    def _rewrite(
        self, operation: str, request: bytes, payload: bytes, json_protocol: bool
    ) -> bytes:
        f = self.faults
        now = time.monotonic()
        if operation == "CreateAccount" and json_protocol:
            data = json.loads(payload or b"{}")
            status = data.get("CreateAccountStatus", {})
            asked = json.loads(request or b"{}")
            if status.get("Id"):
                self.created[status["Id"]] = now
                self.emails[status["Id"]] = asked.get("Email", "")
                self.names[status["Id"]] = asked.get("AccountName", "")
        if operation == "ListCreateAccountStatus" and json_protocol:
            return self._listed_statuses(request, payload, now)
        if operation == "DescribeCreateAccountStatus" and json_protocol:
            data = json.loads(payload or b"{}")
            status = data.get("CreateAccountStatus", {})
            started = self.created.get(status.get("Id", ""))
            reason = f.fail_accounts.get(self.emails.get(status.get("Id", ""), ""))
            if reason:
                status.update(State="FAILED", FailureReason=reason)
                status.pop("AccountId", None)
            elif started is not None and now - started < f.account_creation_seconds:
                status["State"] = "IN_PROGRESS"
                status.pop("AccountId", None)
            return json.dumps(data).encode()
        if operation in (
            "CreateStackInstances",
            "UpdateStackInstances",
            "UpdateStackSet",
            "DeleteStackInstances",
        ):
            found = re.search(rb"<OperationId>([^<]+)</OperationId>", payload)
            if found:
                self.operations[found.group(1).decode()] = now
        if operation == "DescribeStackSetOperation" and f.operation_seconds:
            form = urllib.parse.parse_qs(request.decode("utf-8", "replace"))
            started = self.operations.get((form.get("OperationId") or [""])[0])
            if started is not None and now - started < f.operation_seconds:
                return payload.replace(b"<Status>SUCCEEDED</Status>", b"<Status>RUNNING</Status>")
        return payload

    def _listed_statuses(self, request: bytes, payload: bytes, now: float) -> bytes:
        """ListCreateAccountStatus as DescribeCreateAccountStatus answers: requests younger
        than ``account_creation_seconds`` are IN_PROGRESS (moto made their accounts at once)."""
        data = json.loads(payload or b"{}")
        states = json.loads(request or b"{}").get("States") or ["IN_PROGRESS", "SUCCEEDED"]
        young = {
            request_id
            for request_id, started in self.created.items()
            if now - started < self.faults.account_creation_seconds
        }
        listed = [s for s in data.get("CreateAccountStatuses", []) if s.get("Id") not in young]
        if "IN_PROGRESS" in states:
            listed += [
                {"Id": request_id, "State": "IN_PROGRESS", "AccountName": self.names[request_id]}
                for request_id in sorted(young)
            ]
        data["CreateAccountStatuses"] = [s for s in listed if s.get("State") in states]
        return json.dumps(data).encode()


@contextmanager
def fault_layer(
    upstream: str, faults: Faults, layer_class: type[FaultLayer] = FaultLayer
) -> Iterator[FaultLayer]:
    """Run the layer (a ``layer_class``) in front of ``upstream`` for the block's duration."""
    layer = layer_class(upstream, faults)
    thread = threading.Thread(target=layer.server.serve_forever, name="faults", daemon=True)
    thread.start()
    try:
        yield layer
    finally:
        layer.server.shutdown()
        layer.server.server_close()
