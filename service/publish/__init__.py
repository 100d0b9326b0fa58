"""Publish narrations: collections as podcast channels, and their feeds.

``channel`` checks what a publisher says about a collection, ``feed`` writes
the RSS. Both are pure (no store, no database), so the database's modules
below the pipeline can use the rules; storage is in
:mod:`service.db.collections`, and filing a narration (its plan and finished
audio) in :mod:`service.library.filing`. Nothing here imports Flask.
"""
