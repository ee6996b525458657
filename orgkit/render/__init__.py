"""jinja2 → text: the sandboxed environment SCP files and CloudFormation templates render in,
template parsing and cfn-lint. Knows nothing of org.yaml's models (config/ builds the contexts).
"""
