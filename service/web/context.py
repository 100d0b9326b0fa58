"""Reach the app's shared objects (the library, its settings, live places) from a request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app, request

from service.config import Settings
from service.library import Library
from service.library.narrations import Narrations
from service.web.files import OpenFiles
from service.web.live import LiveRequests

EXTENSION = "listen"


@dataclass
class AppState:
    """The objects one app instance shares between requests."""

    library: Library
    """The front door to narrations, voices, the store and the job runner."""
    live: LiveRequests
    """Live streams and waiting speech answers in progress."""
    open_files: OpenFiles = field(default_factory=OpenFiles)
    """Finished audio files kept open for range requests."""
    accel_prefix: str | None = None
    """The front's internal location of the local store, when the front sends files."""

    @property
    def settings(self) -> Settings:
        """Return the app's settings."""
        return self.library.settings

    @property
    def narrations(self) -> Narrations:
        """Return the app's narrations service."""
        return self.library.narrations


def state() -> AppState:
    """Return the current app's state."""
    value: AppState = current_app.extensions[EXTENSION]
    return value


def library() -> Library:
    """Return the current app's library."""
    return state().library


def settings() -> Settings:
    """Return the current app's settings."""
    return state().library.settings


def narrations() -> Narrations:
    """Return the current app's narrations service."""
    return state().library.narrations


def live_place() -> Callable[[], None]:
    """Take a place for a live stream or speech wait of this request's client (503 if none).

    Return the call that gives the place back; call it when the answer ends.
    """
    return state().live.enter(request.remote_addr or "unknown")
