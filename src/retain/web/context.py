"""What every page and endpoint of the workspace is built from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi.templating import Jinja2Templates

from retain import __version__
from retain.bootstrap import App
from retain.config import Settings
from retain.web.auth import Auth, csrf_input

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["version"] = __version__
templates.env.globals["csrf_input"] = csrf_input


@dataclass(frozen=True)
class Workspace:
    app: App
    settings: Settings
    auth: Auth
    templates: Jinja2Templates = templates
