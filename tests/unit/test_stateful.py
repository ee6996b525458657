"""A template change that deletes or replaces a resource holding data is destructive."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import pytest

from orgkit.render.templates import stateful_losses

BASE = textwrap.dedent("""\
    Resources:
      Table:
        Type: AWS::DynamoDB::Table
        DeletionPolicy: !If [IsProd, Retain, Delete]
        Properties:
          TableName: !Sub "app-${Environment}-customers"
          KeySchema: [{AttributeName: id, KeyType: HASH}]
      Kept:
        Type: AWS::S3::Bucket
        DeletionPolicy: Retain
        Properties: {BucketName: kept}
      Bucket:
        Type: AWS::S3::Bucket
        Properties: {BucketName: data}
      Topic:
        Type: AWS::SNS::Topic
    """)

EDITS: dict[str, tuple[Callable[[str], str], list[str]]] = {
    "topic-removed": (lambda t: t.replace("  Topic:\n    Type: AWS::SNS::Topic\n", ""), []),
    "table-renamed": (
        lambda t: t.replace("customers", "clients"),
        ["replaces AWS::DynamoDB::Table Table (TableName changed)"],
    ),
    "key-changed": (
        lambda t: t.replace("AttributeName: id", "AttributeName: pk"),
        ["replaces AWS::DynamoDB::Table Table (KeySchema changed)"],
    ),
    "bucket-removed": (
        lambda t: t.replace(
            "  Bucket:\n    Type: AWS::S3::Bucket\n    Properties: {BucketName: data}\n", ""
        ),
        ["deletes AWS::S3::Bucket Bucket (removed from the template)"],
    ),
    "logical-id-changed": (
        lambda t: t.replace("  Table:", "  Renamed:"),
        [
            "deletes AWS::DynamoDB::Table Table where its DeletionPolicy is Delete (it depends "
            "on a condition) (removed from the template)"
        ],
    ),
    "retained-renamed": (
        lambda t: t.replace("BucketName: kept", "BucketName: moved"),
        # DeletionPolicy does not cover a replacement: UpdateReplacePolicy does.
        ["replaces AWS::S3::Bucket Kept (BucketName changed)"],
    ),
    "replace-policy-only-in-the-new-template": (
        lambda t: t.replace(
            "    DeletionPolicy: Retain\n    Properties: {BucketName: kept}",
            "    DeletionPolicy: Retain\n    UpdateReplacePolicy: Retain\n"
            "    Properties: {BucketName: moved}",
        ),
        ["replaces AWS::S3::Bucket Kept (BucketName changed)"],
    ),
    "condition-added": (
        lambda t: t.replace(
            "  Bucket:\n    Type: AWS::S3::Bucket\n",
            "  Bucket:\n    Type: AWS::S3::Bucket\n    Condition: IsProd\n",
        ),
        ["may delete AWS::S3::Bucket Bucket (its Condition is now IsProd)"],
    ),
    "type-changed": (
        lambda t: t.replace(
            "Type: AWS::S3::Bucket\n    Properties: {BucketName: data}", "Type: AWS::SQS::Queue"
        ),
        ["replaces AWS::S3::Bucket Bucket (type now AWS::SQS::Queue)"],
    ),
}


def test_an_unchanged_template_loses_nothing() -> None:
    assert stateful_losses(BASE, BASE) == []


@pytest.mark.parametrize("name", list(EDITS))
def test_losses(name: str) -> None:
    edit, expected = EDITS[name]
    after = edit(BASE)
    assert after != BASE, "the edit must change the template (else the test proves nothing)"
    assert stateful_losses(BASE, after) == expected


def test_a_replacement_retained_by_both_templates_loses_nothing() -> None:
    kept = BASE.replace(
        "    DeletionPolicy: Retain\n",
        "    DeletionPolicy: Retain\n    UpdateReplacePolicy: Retain\n",
    )
    assert kept != BASE
    assert stateful_losses(kept, kept.replace("BucketName: kept", "BucketName: moved")) == []
