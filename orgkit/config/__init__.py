"""Desired state: org.yaml's pydantic models, loading with file/line errors, and validation."""

from orgkit.config.loader import Config, load_config
from orgkit.config.models import AccountSpec, OrgSpec, OUSpec, PolicySpec

__all__ = ["AccountSpec", "Config", "OUSpec", "OrgSpec", "PolicySpec", "load_config"]
