"""Read-only view of the live organization (the only package besides apply/ that uses boto3)."""

from orgkit.live.model import LiveAccount, LiveOrg, LiveOU, LivePolicy
from orgkit.live.reader import read_org
from orgkit.live.session import AwsContext

__all__ = ["AwsContext", "LiveAccount", "LiveOU", "LiveOrg", "LivePolicy", "read_org"]
