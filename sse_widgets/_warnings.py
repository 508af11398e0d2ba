"""The package's own warning category, so users (and our tests) can filter it."""

from __future__ import annotations


class SSEWidgetsWarning(UserWarning):
    """Something went wrong delivering live events; the user's code keeps running."""
