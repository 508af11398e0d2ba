"""Sharing dashboards: ``sse-widgets serve`` (Voila beside the hub) and ``sse-widgets demo``."""
