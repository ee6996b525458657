"""Semantic comparison of SCP documents: what does and does not count as a change."""

from __future__ import annotations

import json
from typing import Any

import pytest

from orgkit.policy_doc import equivalent, normalize


def doc(*statements: dict[str, Any], version: str | None = "2012-10-17") -> dict[str, Any]:
    """A policy document with these statements."""
    out: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        out = {"Version": version, **out}
    return out


DENY: dict[str, Any] = {
    "Effect": "Deny",
    "Action": ["s3:DeleteBucket", "s3:PutBucketPolicy"],
    "Resource": "*",
}
ALLOW: dict[str, Any] = {"Sid": "AllowAll", "Effect": "Allow", "Action": "*", "Resource": "*"}
REGION: dict[str, Any] = {
    "Effect": "Deny",
    "NotAction": ["iam:*", "organizations:*"],
    "Resource": "*",
    "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "us-west-2"]}},
}

EQUIVALENT = [
    pytest.param(doc(DENY), doc(DENY), id="identical"),
    pytest.param(
        doc(DENY),
        {
            "Statement": [{"Resource": "*", "Action": DENY["Action"], "Effect": "Deny"}],
            "Version": "2012-10-17",
        },
        id="key-order",
    ),
    pytest.param(
        doc(DENY), json.loads(json.dumps(doc(DENY), indent=8)), id="whitespace-after-parse"
    ),
    pytest.param(
        doc(DENY),
        doc({**DENY, "Action": ["s3:PutBucketPolicy", "s3:DeleteBucket"]}),
        id="action-order",
    ),
    pytest.param(
        doc(DENY),
        doc({**DENY, "Action": [*DENY["Action"], "s3:DeleteBucket"]}),
        id="duplicate-action",
    ),
    pytest.param(doc(ALLOW), doc({**ALLOW, "Action": ["*"]}), id="action-string-vs-list"),
    pytest.param(doc(ALLOW), doc({**ALLOW, "Resource": ["*"]}), id="resource-string-vs-list"),
    pytest.param(
        doc(REGION),
        doc({**REGION, "NotAction": ["organizations:*", "iam:*"]}),
        id="notaction-order",
    ),
    pytest.param(
        doc({**DENY, "NotResource": ["arn:b", "arn:a"]}),
        doc({**DENY, "NotResource": ["arn:a", "arn:b"]}),
        id="notresource-order",
    ),
    pytest.param(doc(DENY, ALLOW), doc(ALLOW, DENY), id="statement-order"),
    pytest.param(
        {"Version": "2012-10-17", "Statement": ALLOW}, doc(ALLOW), id="statement-object-vs-list"
    ),
    pytest.param(
        doc(REGION),
        doc(
            {
                **REGION,
                "Condition": {
                    "StringNotEquals": {"aws:RequestedRegion": ["us-west-2", "us-east-1"]}
                },
            }
        ),
        id="condition-value-order",
    ),
    pytest.param(
        doc({**DENY, "Condition": {"StringEquals": {"aws:PrincipalTag/team": "ops"}}}),
        doc({**DENY, "Condition": {"StringEquals": {"aws:PrincipalTag/team": ["ops"]}}}),
        id="condition-value-string-vs-list",
    ),
]

DIFFERENT = [
    pytest.param(doc(DENY), doc({**DENY, "Action": ["s3:DeleteBucket"]}), id="action-removed"),
    pytest.param(doc(DENY), doc({**DENY, "Effect": "Allow"}), id="effect"),
    pytest.param(doc(DENY), doc({**DENY, "Resource": "arn:aws:s3:::b"}), id="resource"),
    pytest.param(
        doc({**DENY, "Action": "s3:*"}),
        doc({**DENY, "NotAction": "s3:*"}),
        id="action-vs-notaction",
    ),
    pytest.param(doc(DENY), doc(DENY, ALLOW), id="statement-added"),
    pytest.param(doc(DENY), doc({**DENY, "Sid": "Named"}), id="sid-added"),
    pytest.param(doc(DENY), doc(DENY, version="2008-10-17"), id="version"),
    pytest.param(
        doc(REGION),
        doc({**REGION, "Condition": {"StringEquals": REGION["Condition"]["StringNotEquals"]}}),
        id="condition-operator",
    ),
    pytest.param(
        doc(REGION),
        doc({**REGION, "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1"]}}}),
        id="condition-value-removed",
    ),
    pytest.param(doc(DENY), None, id="live-not-read"),
]


@pytest.mark.parametrize(("a", "b"), EQUIVALENT)
def test_equivalent(a: Any, b: Any) -> None:
    assert equivalent(a, b)
    assert equivalent(b, a)


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_not_equivalent(a: Any, b: Any) -> None:
    assert not equivalent(a, b)
    assert not equivalent(b, a)


def test_normalize_canonical_form() -> None:
    normalized = normalize(
        {
            "Version": "2012-10-17",
            "Statement": {
                "Effect": "Deny",
                "Action": ["b:Y", "a:X", "b:Y"],
                "Resource": "*",
                "Condition": {"StringEquals": {"k": ["2", "1"]}, "Null": None},
            },
        }
    )

    assert normalized == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": ["a:X", "b:Y"],
                "Resource": ["*"],
                "Condition": {"StringEquals": {"k": ["1", "2"]}, "Null": None},
            }
        ],
    }


def test_normalize_is_idempotent() -> None:
    once = normalize(doc(DENY, ALLOW, REGION))

    assert normalize(once) == once


def test_normalize_does_not_modify_its_input() -> None:
    original = doc({**DENY, "Action": ["z:Z", "a:A"]}, ALLOW)
    snapshot = json.dumps(original)

    normalize(original)

    assert json.dumps(original) == snapshot


@pytest.mark.parametrize("value", [None, "text", 3, ["a"]], ids=["none", "str", "int", "list"])
def test_normalize_leaves_non_documents_alone(value: Any) -> None:
    assert normalize(value) == value
