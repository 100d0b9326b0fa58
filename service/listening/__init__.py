"""Listening statistics without tracking: checked events in, counters per narration and day out.

``events`` checks what players report; ``milestones`` drops what a page view
already reported (in memory, or in Redis shared by every web node, for a few
hours, under a hash of the session id); ``recorder`` counts the rest and
writes the counts in batches (:mod:`service.db.stats`); ``plots`` draws them.
Nothing about a listener is kept but these counts.
"""
