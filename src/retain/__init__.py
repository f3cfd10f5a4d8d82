"""Retain: a self-hosted customer-retention engine for online stores."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
