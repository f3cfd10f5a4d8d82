"""The ``retain`` command line."""

from __future__ import annotations

from retain.cli.app import app, main

__all__ = ["app", "main"]
