"""Keep collections and serve their feeds and chapters: what the publisher's endpoints call.

Each call opens one session (one transaction) on the library's database.
Filings wait for their audio facts (duration, exact size) until the MP3 is
made; every call that shows items records those of the filings made since
(:func:`service.library.filing.settle`), so a feed lists an item as soon as
its enclosure can be served, whichever node made it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cachetools import LRUCache

from service.audio.chapters import chapters_document
from service.db import Database
from service.db.collections import (
    CollectionSummary,
    check_collections,
    collection_items,
    collection_stamp,
    delete_collection,
    feed_source,
    get_collection,
    list_collections,
    put_collection,
    unfile_narration,
)
from service.errors import CollectionError, CollectionNotFoundError
from service.library.filing import file_plan, settle
from service.pipeline.objects import read_manifest
from service.pipeline.plan import NarrationPlan
from service.publish.channel import CollectionItem, check_slug, collection_slugs, parse_channel
from service.publish.feed import FeedLinks, FeedStamp, build_feed, feed_stamp
from service.store import Store

__all__ = ["Collections", "Feed", "FeedStamp", "collection_slugs"]

FEED_CACHE_BYTES = 32 * 1024 * 1024
"""Feeds kept built in each process (a feed of 1,000 items is about 900 KiB)."""
FEED_MAX_ITEMS = 5000
"""Most items a feed lists (the newest); podcast clients read far fewer."""
LISTED_ITEMS = 1000
"""Most items ``GET /api/collections/{slug}`` shows (the newest)."""


@dataclass(frozen=True)
class Feed:
    """A collection's podcast feed and its validators."""

    body: bytes
    """The RSS document."""
    stamp: FeedStamp
    """Its ETag and Last-Modified."""


class Collections:
    """The collections of one library database (opened on first use) over one audio store."""

    def __init__(self, database: Callable[[], Database], store: Store) -> None:
        self._database = database
        self._store = store
        # A feed's bytes follow from its stamp (the ETag hashes the collection's revision,
        # its creation and the base URL): a built feed is good until the stamp changes.
        self._feeds: LRUCache[str, Feed] = LRUCache(
            FEED_CACHE_BYTES, getsizeof=lambda feed: len(feed.body)
        )
        self._feeds_lock = threading.Lock()

    def put(self, slug: str, body: object) -> tuple[CollectionSummary, bool]:
        """Create or replace the channel of ``slug``; return it and whether it is new."""
        channel = parse_channel(slug, body)
        with self._database().session() as session:
            created = put_collection(session, channel)
        with self._database().session() as session:
            return get_collection(session, slug), created

    def summaries(self) -> list[CollectionSummary]:
        """Return every collection, with its counts of items."""
        with self._database().session() as session:
            settle(session, self._store)
        with self._database().session() as session:
            return list_collections(session)

    def get(self, slug: str) -> tuple[CollectionSummary, list[CollectionItem]]:
        """Return a collection and its newest :data:`LISTED_ITEMS` items, ready or not."""
        check_slug(slug)
        with self._database().session() as session:
            settle(session, self._store, slug)
        with self._database().session() as session:
            return get_collection(session, slug), collection_items(
                session, slug, limit=LISTED_ITEMS
            )

    def delete(self, slug: str) -> None:
        """Delete a collection and its filings (the narrations stay)."""
        check_slug(slug)
        with self._database().session() as session:
            delete_collection(session, slug)

    def remove(self, slug: str, narration_id: str) -> None:
        """Take a narration out of a collection."""
        check_slug(slug)
        with self._database().session() as session:
            unfile_narration(session, slug, narration_id)

    def check(self, slugs: Sequence[str]) -> None:
        """Refuse (422) slugs naming no collection, before a narration is made for them."""
        if not slugs:
            return
        with self._database().session() as session:
            try:
                check_collections(session, slugs)
            except CollectionNotFoundError as error:  # a field of the request, not the URL
                raise CollectionError(str(error)) from None

    def file(self, slugs: Sequence[str], plan: NarrationPlan) -> list[str]:
        """File the narration of ``plan`` in ``slugs``; return the collections it is new in."""
        if not slugs:
            return []
        with self._database().session() as session:
            return file_plan(session, self._store, slugs, plan)

    def stamp(self, slug: str, base_url: str) -> FeedStamp:
        """Return the feed's validators: one small query (and filings settled, when some wait)."""
        check_slug(slug)
        with self._database().session() as session:
            settle(session, self._store, slug)
            found = collection_stamp(session, slug)
        return feed_stamp(
            slug, found.created_at, found.revision, found.updated_at, FeedLinks(base_url)
        )

    def feed(self, slug: str, base_url: str, stamp: FeedStamp | None = None) -> Feed:
        """Return the podcast feed of ``slug``, its absolute URLs under ``base_url``.

        ``stamp`` (from :meth:`stamp`, just read) finds a feed built since the last change.
        """
        if stamp is not None:
            with self._feeds_lock:
                kept = self._feeds.get(stamp.etag)
            if kept is not None:
                return kept
        check_slug(slug)
        links = FeedLinks(base_url)
        with self._database().session() as session:
            if stamp is None:  # else the filings were settled as the stamp was read
                settle(session, self._store, slug)
            source = feed_source(session, slug, limit=FEED_MAX_ITEMS)
        fresh = feed_stamp(
            slug, source.stamp.created_at, source.stamp.revision, source.stamp.updated_at, links
        )
        body = build_feed(source.channel, source.items, links, updated_at=source.stamp.updated_at)
        built = Feed(body, fresh)
        with self._feeds_lock:
            self._feeds[fresh.etag] = built
        return built

    def chapters(self, narration_id: str) -> bytes | None:
        """Return a finished narration's Podcasting 2.0 JSON chapters, or None while it is made."""
        manifest = read_manifest(self._store, narration_id)
        if manifest is None:
            return None
        return json.dumps(
            chapters_document(manifest), ensure_ascii=False, separators=(",", ":")
        ).encode()
