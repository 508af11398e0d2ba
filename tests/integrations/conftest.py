"""Integration tests publish from fresh processes to a real Jupyter server per module."""
