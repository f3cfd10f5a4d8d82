"""Lifecycle flows as files: the YAML/JSON reader and the library of flows Retain ships."""
