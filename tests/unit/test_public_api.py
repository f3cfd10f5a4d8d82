from __future__ import annotations

import retain


def test_the_public_api_is_exactly_what_is_documented() -> None:
    assert retain.__all__ == ["__version__"]
    assert retain.__version__ == "0.1.0"
