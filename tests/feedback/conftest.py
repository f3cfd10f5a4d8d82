"""A real SMTP server for the tests that close the loop by e-mail."""

from tests.messaging.conftest import start_server

__all__ = ["start_server"]
