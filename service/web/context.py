"""Reach the app's shared objects (settings, store, runner) from a request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app, request

from service.config import Settings
from service.jobs.base import JobRunner
from service.store import Store
from service.web.files import OpenFiles
from service.web.live import LiveRequests
from service.web.narrations import Narrations

EXTENSION = "listen"


@dataclass
class AppState:
    """The objects one app instance shares between requests."""

    settings: Settings
    store: Store
    runner: JobRunner
    narrations: Narrations
    live: LiveRequests
    """Live streams and waiting speech answers in progress."""
    open_files: OpenFiles = field(default_factory=OpenFiles)
    """Finished audio files kept open for range requests."""
    accel_prefix: str | None = None
    """The front's internal location of the local store, when the front sends files."""


def state() -> AppState:
    """Return the current app's state."""
    value: AppState = current_app.extensions[EXTENSION]
    return value


def settings() -> Settings:
    """Return the current app's settings."""
    return state().settings


def store() -> Store:
    """Return the current app's audio store."""
    return state().store


def narrations() -> Narrations:
    """Return the current app's narrations service."""
    return state().narrations


def live_place() -> Callable[[], None]:
    """Take a place for a live stream or speech wait of this request's client (503 if none).

    Return the call that gives the place back; call it when the answer ends.
    """
    return state().live.enter(request.remote_addr or "unknown")
