"""Sessions, the snapshot model and the organization reader (boto3 lives here, in the kinds'
readers and writers, and nowhere else)."""

from orgkit.live.model import LiveAccount, LiveOrg, LiveOU, LivePolicy
from orgkit.live.reader import read_organization
from orgkit.live.session import AwsContext

__all__ = ["AwsContext", "LiveAccount", "LiveOU", "LiveOrg", "LivePolicy", "read_organization"]
