"""The problem details format (RFC 9457) of every error answer: its media type and type URIs.

Apart from :mod:`service.web.problems` because the server's master process
writes nginx's error pages in this format without loading Flask.
"""

from __future__ import annotations

PROBLEM_BASE = "https://listen.invalid/problems/"
"""Where every problem's ``type`` URI starts (the rest is its title, in words)."""
PROBLEM_TYPE = "application/problem+json"
"""The media type of every error answer."""
