"""Publish narrations: collections as podcast channels, and their feeds.

``channel`` checks what a publisher says about a collection, ``feed`` writes
the RSS, ``filing`` takes what a feed item needs from a narration's plan and
finished audio. Storage is in :mod:`service.db.collections`. Nothing here
imports Flask.
"""
