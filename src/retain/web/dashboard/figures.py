"""The kept figures a page shows: computed on the spot when there are none, and brought up
to date after the response when the store has changed since, so a page never waits for a
scan of a large store twice."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from fastapi import BackgroundTasks

from retain.analytics.insight_cache import is_current, load, refresh_insights, store_today
from retain.web.context import Workspace

log = logging.getLogger(__name__)
_refreshing = threading.Lock()  # one refresh at a time in this process
# Figures younger than this are shown as they are even when the store has changed since, so
# a store taking orders all day is not recomputed after every page view.
REFRESH_AFTER = timedelta(minutes=5)


def refresh(ws: Workspace) -> dict[str, dict[str, Any]]:
    """Compute and keep every page's figures now; returns them."""
    with _refreshing:
        done = refresh_insights(
            ws.app, timezone=ws.settings.store_timezone, gross_margin=ws.settings.gross_margin
        )
    return done.figures


def refresh_quietly(ws: Workspace) -> None:
    """A refresh after a response: skipped when one is already running, failures logged."""
    if not _refreshing.acquire(blocking=False):
        return
    try:
        refresh_insights(ws.app, timezone=ws.settings.store_timezone, gross_margin=ws.settings.gross_margin)
    except Exception:
        log.exception("refreshing the dashboard figures failed")
    finally:
        _refreshing.release()


def kept(ws: Workspace, name: str, tasks: BackgroundTasks) -> tuple[dict[str, Any], bool]:
    """The figures ``name`` and whether they are being brought up to date."""
    now = ws.app.now()
    with ws.app.unit_of_work() as uow:
        found = load(uow, name)
        if found is None:
            current = False
        else:
            current = now - computed_at(found) < REFRESH_AFTER or is_current(
                uow, found, store_today(now, ws.settings.store_timezone)
            )
    if found is None:
        return refresh(ws)[name], False
    if not current:
        tasks.add_task(refresh_quietly, ws)
    return found, not current


def computed_at(figures: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(figures["computed_at"])
