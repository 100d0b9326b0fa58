"""hibari's American English phonemizer, loaded once for every engine worker to share.

The engine pool's fork server imports this module before it forks the workers
(:attr:`HibariEngine.fork_preload <service.engines.hibari_engine.HibariEngine>`):
the lexicons and the tagger, about 100 MB of Python objects, are then loaded
once and shared copy-on-write by every worker, instead of once in each. They
are frozen out of the garbage collector's reach (a collection writes to every
object it visits, which would copy the pages) and the heap is trimmed, so that
what the workers allocate later lands in pages of their own.

Importing this module starts no thread and loads no model or speech library:
processes are forked from the one that imports it.
"""

from __future__ import annotations

import gc
from typing import Any

from hibari.g2p import G2P

from service.engines import hibari_engine  # noqa: F401  (its imports are shared too)
from service.engines.hibari_model import trim_heap

PHONEMIZERS: dict[bool, Any] = {False: G2P(british=False)}
"""hibari's phonemizers by ``british``: the American one, which the default voice uses."""

gc.collect()
gc.freeze()
trim_heap()
