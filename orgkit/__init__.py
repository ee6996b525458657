"""orgkit: bootstrap and govern a multi-account AWS Organization from one org.yaml."""

__version__ = "0.1.0"
