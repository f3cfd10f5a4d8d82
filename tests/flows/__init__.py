"""Tests of lifecycle flows as files."""
