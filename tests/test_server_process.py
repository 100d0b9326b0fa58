"""The real server process: what it logs, and how it is put together."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import SEED_ARTICLE
from tests.webserver import running_server

ENV = {"LISTEN_WORKERS": "1"}


def server_log(cache: Path) -> str:
    return "\n".join(log.read_text() for log in cache.parent.glob("server-*.log"))


def test_server_logs_each_seed_with_its_player_link(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with running_server(cache, env=ENV, args=("--seed", str(SEED_ARTICLE))):
        pass
    log = server_log(cache)
    assert re.search(rf"seed {re.escape(SEED_ARTICLE.name)}: /listen/[0-9a-f]{{32}} \(\w+\)", log)
    assert "Traceback" not in log
