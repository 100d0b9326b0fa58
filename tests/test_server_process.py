"""The real server process: what it logs, and its allocator (jemalloc, not in its children)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.webserver import engine_workers, running_server, server_process, web_worker
from service.malloc import JEMALLOC_CONF
from tests.conftest import SEED_ARTICLE

pytestmark = pytest.mark.server

ENV = {"LISTEN_WORKERS": "1"}


def server_log(cache: Path) -> str:
    return "\n".join(log.read_text() for log in cache.parent.glob("server-*.log"))


def test_server_logs_each_seed_with_its_player_link(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with running_server(cache, env=ENV, args=("--seed", str(SEED_ARTICLE))) as base:
        pass
    log = server_log(cache)
    link = rf"{re.escape(base)}/listen/[0-9a-f]{{32}}"
    assert re.search(rf"seed {re.escape(SEED_ARTICLE.name)}: {link} \(\w+\)", log), log
    assert "Traceback" not in log


def maps(process: object) -> str:
    return Path(f"/proc/{process.pid}/maps").read_text()  # type: ignore[attr-defined]


def environ(process: object) -> dict[str, str]:
    raw = Path(f"/proc/{process.pid}/environ").read_bytes()  # type: ignore[attr-defined]
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)


def test_malloc_server_runs_on_jemalloc_and_its_engine_workers_do_not(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with running_server(cache, env=ENV) as base:
        server = server_process(base)
        assert "libjemalloc" in maps(server)
        assert environ(server)["MALLOC_CONF"] == JEMALLOC_CONF
        assert "libjemalloc" in maps(web_worker(base))
        engines = engine_workers(base)
        assert len(engines) == 1
        # Children get the environment the server was started with: no preload, no settings.
        assert "libjemalloc" not in maps(engines[0])
        assert not {"LD_PRELOAD", "MALLOC_CONF"} & set(environ(engines[0]))
    log = server_log(cache)
    assert "runs on the jemalloc allocator" in log
    assert "Traceback" not in log


def test_the_servers_master_loads_neither_the_app_nor_the_database(tmp_path: Path) -> None:
    # gunicorn's master only watches its workers: what it loads stays in memory for good
    with running_server(tmp_path / "cache", env=ENV) as base:
        master, worker = maps(server_process(base)), maps(web_worker(base))
    for library in ("sqlalchemy", "markupsafe", "lxml"):
        assert f"/{library}/" in worker, library  # the app's own C extensions, loaded there
        assert f"/{library}/" not in master, library


def test_malloc_system_allocator_when_asked(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with running_server(cache, env={**ENV, "LISTEN_MALLOC": "system"}) as base:
        assert "libjemalloc" not in maps(web_worker(base))
    assert "runs on the system allocator" in server_log(cache)


def test_malloc_operators_own_settings_win_and_reach_the_children(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with running_server(cache, env={**ENV, "MALLOC_CONF": "narenas:1"}) as base:
        assert environ(server_process(base))["MALLOC_CONF"] == "narenas:1"
        assert environ(engine_workers(base)[0])["MALLOC_CONF"] == "narenas:1"
    with running_server(cache, env={**ENV, "LD_PRELOAD": "libjemalloc.so.2"}) as base:
        # Already loaded: no second run; the engine workers keep the operator's preload.
        assert "libjemalloc" in maps(web_worker(base))
        assert "libjemalloc" in maps(engine_workers(base)[0])


def test_malloc_unknown_allocator_is_a_one_line_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "service", "serve", "--port", "1"],
        env={**os.environ, "LISTEN_MALLOC": "tcmalloc", "LISTEN_CACHE_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "listen: error: LISTEN_MALLOC must be one of jemalloc, system, not 'tcmalloc'"
    ]
