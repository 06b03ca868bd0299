"""Tidings: an Exchange-class mail and collaboration server."""

__version__ = "0.1.0"
