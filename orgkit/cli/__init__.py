"""Thin Click commands: parse options, build the context, call one service, show one view."""
