"""The embedded sandbox: moto's server on loopback standing in for AWS.

Everything emulator-specific lives here (and in tests/), never in the production code paths:
orgkit talks to the sandbox over HTTP through boto3 exactly as it talks to AWS.
"""
