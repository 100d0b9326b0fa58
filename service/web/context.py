"""Reach the app's shared objects (settings, store, runner) from a request."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app

from service.config import Settings
from service.jobs.base import JobRunner
from service.store import Store
from service.web.files import OpenFiles
from service.web.narrations import Narrations

EXTENSION = "listen"


@dataclass
class AppState:
    """The objects one app instance shares between requests."""

    settings: Settings
    store: Store
    runner: JobRunner
    narrations: Narrations
    open_files: OpenFiles = field(default_factory=OpenFiles)
    """Finished audio files kept open for range requests."""


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
