"""File narrations in collections: what a feed item needs, from the plan and the finished audio.

A narration is filed as soon as it is asked for (its title and first
paragraph are known from the plan); its duration and exact size are known
once its MP3 is made, by whichever worker made it. :func:`settle` looks
those up in the store for the filings still without them, so a feed never
lists an item before its enclosure can be served, on any node.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from service.db.collections import file_narration, record_audio, unready_narrations
from service.pipeline.objects import audio_object, read_manifest
from service.pipeline.plan import NarrationPlan
from service.publish.channel import FiledNarration, clip_text, summary_of
from service.store import Store

log = logging.getLogger(__name__)

SETTLE_BATCH = 200
"""Unready filings looked up in the store per call of :func:`settle`."""


def filed_narration(plan: NarrationPlan, store: Store | None = None) -> FiledNarration:
    """Return what a collection keeps of ``plan``: with its audio facts if it is already made."""
    duration_ms = audio_bytes = None
    if store is not None:
        facts = audio_facts(store, plan.narration_id)
        if facts is not None:
            duration_ms, audio_bytes = facts
    return FiledNarration(
        narration_id=plan.narration_id,
        title=clip_text(plan.title, 1000) or plan.narration_id,
        summary=summary_of([(block.kind, block.text) for block in plan.blocks]),
        language=plan.language,
        duration_ms=duration_ms,
        audio_bytes=audio_bytes,
    )


def file_plan(
    session: Session,
    store: Store,
    slugs: Sequence[str],
    plan: NarrationPlan,
    *,
    filed_at: dt.datetime | None = None,
) -> list[str]:
    """File the narration of ``plan`` in ``slugs``; return the collections it is new in."""
    return file_narration(session, slugs, filed_narration(plan, store), filed_at=filed_at)


def audio_facts(store: Store, narration_id: str) -> tuple[int, int] | None:
    """Return a finished narration's MP3 duration and exact size, or None while it is made."""
    manifest = read_manifest(store, narration_id)
    if manifest is None:
        return None
    size = _recorded_size(manifest)
    if size is None:
        size = store.size(audio_object(narration_id, "mp3"))
    if size is None:  # the audio left the cache: its size comes back with it
        return None
    return int(manifest["duration_ms"]), size


def _recorded_size(manifest: Mapping[str, Any]) -> int | None:
    audio = manifest.get("audio")
    if isinstance(audio, Mapping):
        mp3 = audio.get("mp3")
        if isinstance(mp3, Mapping) and isinstance(mp3.get("bytes"), int):
            return int(mp3["bytes"])
    return None


def settle(session: Session, store: Store, slug: str | None = None) -> int:
    """Record the audio facts of filings (in ``slug``, or anywhere) whose MP3 is now made.

    Return how many narrations were settled. Cheap when none waits: one
    indexed query.
    """
    settled = 0
    for narration_id in unready_narrations(session, slug, limit=SETTLE_BATCH):
        facts = audio_facts(store, narration_id)
        if facts is not None:
            record_audio(session, narration_id, duration_ms=facts[0], audio_bytes=facts[1])
            settled += 1
    if settled:
        log.info("recorded the audio of %d filed narrations", settled)
    return settled
