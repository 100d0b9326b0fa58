"""Faults through the real server: killed workers and servers, full and read-only disks,
listeners who hang up, identical requests at once, and eviction under a listener."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from harness.api import call, create
from harness.corpus import article_text
from harness.webserver import engine_workers, running_server, server_process, web_worker

pytestmark = pytest.mark.server

ENV = {"LISTEN_WORKERS": "1", "LISTEN_VOICE": "pyttsx3:gmw/en-us"}


def state(base: str, made: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(call(base, made["status_url"])[2]))


def wait_until(base: str, made: dict[str, Any], *statuses: str, timeout_s: float = 120) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = state(base, made)
        if now["status"] in statuses:
            return now
        time.sleep(0.05)
    raise AssertionError(f"{made['id']} never reached {statuses}: {state(base, made)}")


def assert_whole_audio(base: str, made: dict[str, Any]) -> bytes:
    """Fetch the finished MP3 and check its bytes against its ETag (the content hash)."""
    status, headers, data = call(base, made["audio_url"])
    assert status == 200
    assert headers["ETag"].strip('"') == hashlib.sha256(data).hexdigest()
    return data


@contextmanager
def tmpfs(mount_point: Path, size: str) -> Iterator[Path]:
    """Mount a small tmpfs at ``mount_point`` (the tests run as root)."""
    assert os.geteuid() == 0, "mounting a tmpfs needs root"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
                   check=True)  # fmt: skip
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


def remount(mount_point: Path, mode: str) -> None:
    """Remount read-only or read-write, waiting out a moment when a lock file is open."""
    for _attempt in range(50):
        done = subprocess.run(["mount", "-o", f"remount,{mode}", str(mount_point)], check=False)
        if done.returncode == 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"could not remount {mount_point} {mode}")


def test_faults_engine_worker_killed_mid_segment_is_retried_and_the_pool_recovers(
    tmp_path: Path,
) -> None:
    with running_server(tmp_path / "cache", env=ENV) as base:
        made = create(base, article_text(2500, seed=11))
        wait_until(base, made, "running")
        killed = [worker.pid for worker in engine_workers(base)]
        assert len(killed) == 1
        time.sleep(0.2)  # well inside a segment: synthesis of this article takes seconds
        os.kill(killed[0], signal.SIGKILL)
        final = wait_until(base, made, "done", "failed")
        if final["status"] == "failed":
            assert final["error"], "a failed job says why"
        else:
            assert_whole_audio(base, made)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            replaced = [worker.pid for worker in engine_workers(base)]
            if len(replaced) == 1 and replaced != killed:
                break
            time.sleep(0.1)
        assert len(replaced) == 1 and replaced != killed
        after = create(base, "After the crash\n\nThe next story is read as usual.")
        assert wait_until(base, after, "done", "failed")["status"] == "done"
        assert_whole_audio(base, after)
        assert call(base, "/healthz")[0] == 200


def test_faults_server_killed_mid_write_leaves_nothing_half_made(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with running_server(cache, env=ENV) as base:
        made = create(base, article_text(6000, seed=12))
        deadline = time.monotonic() + 60
        while state(base, made)["chunks_done"] < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        server = server_process(base)
        os.killpg(server.pid, signal.SIGKILL)  # the server, its web worker and engines at once
        server.wait(10)
    narration = cache / "narrations" / made["id"]
    assert not (narration / "audio.mp3").exists()
    assert not (narration / "timings.json").exists()
    for path in cache.rglob("*"):
        if path.is_file() and ".tmp" not in path.parts and ".locks" not in path.parts:
            assert path.stat().st_size > 0, path
    orphans = set((cache / ".tmp").iterdir())
    with running_server(cache, env=ENV) as base:
        assert not orphans & set((cache / ".tmp").iterdir()), "the killed writers' files go"
        status, _headers, body = call(base, made["audio_url"])
        assert status == 409, "no partial file is served"
        assert json.loads(body)["narration_status"] in ("queued", "running")
        assert wait_until(base, made, "done", timeout_s=180)["status"] == "done"
        data = assert_whole_audio(base, made)
        timings = json.loads(call(base, made["timings_url"])[2])
        assert timings["blocks"][-1]["end_ms"] <= timings["duration_ms"]
        assert len(data) > 48_000 / 8 * timings["duration_ms"] / 1000 * 0.95


def test_faults_full_then_read_only_disk_fails_jobs_clearly_and_keeps_serving(
    tmp_path: Path,
) -> None:
    # The cache is the mount point itself, so the server's log stays off the small disk.
    with tmpfs(tmp_path / "disk", "6m") as cache, running_server(cache, env=ENV) as base:
        cached = create(base, "Cached before\n\nThis story was read while there was room.")
        wait_until(base, cached, "done")
        before = assert_whole_audio(base, cached)
        filler = cache / "filler"
        with open(filler, "wb") as file:
            try:
                while True:
                    file.write(b"\0" * 65536)
            except OSError:
                pass
        os.truncate(filler, filler.stat().st_size - 400_000)  # room for a plan, not the audio
        status, _headers, body = call(base, "/api/narrations", body={"text": article_text(3000)})
        if status == 503:  # the plan itself did not fit: refused at once, with the reason
            assert "disk is full" in json.loads(body)["detail"]
        else:
            failed = wait_until(base, json.loads(body), "done", "failed")
            assert failed["status"] == "failed" and "disk is full" in failed["error"]
        assert assert_whole_audio(base, cached) == before
        assert call(base, "/livez")[0] == 200
        filler.unlink()
        remount(cache, "ro")
        status, _headers, body = call(base, "/api/narrations", body={"text": article_text(500)})
        assert status == 503 and "read-only" in json.loads(body)["detail"]
        assert assert_whole_audio(base, cached) == before
        assert call(base, cached["captions_url"])[0] == 200
        assert call(base, cached["status_url"])[0] == 200
        assert call(base, "/healthz")[0] == 503
        remount(cache, "rw")
        again = create(base, "Room again\n\nThe disk is writable and has room once more.")
        assert wait_until(base, again, "done", "failed")["status"] == "done"


def hang_up_mid_stream(base: str, stream_url: str) -> None:
    """Start a stream, read its first bytes, then reset the connection."""
    netloc = urllib.parse.urlsplit(base).netloc
    host, port = netloc.split(":")
    listener = socket.create_connection((host, int(port)), timeout=30)
    listener.sendall(f"GET {stream_url} HTTP/1.1\r\nHost: {netloc}\r\n\r\n".encode())
    assert listener.recv(4096).startswith(b"HTTP/1.1 200")
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
    listener.close()  # a reset, as when a phone loses its signal


def test_faults_listener_hanging_up_mid_stream_still_fills_the_cache(tmp_path: Path) -> None:
    # Four web threads: were a hung-up stream to keep its thread, six of them would leave
    # none to answer, and the requests below would time out.
    with running_server(tmp_path / "cache", env={**ENV, "LISTEN_THREADS": "4"}) as base:
        worker = web_worker(base)
        threads_at_start = worker.num_threads()
        engines = sorted(p.pid for p in engine_workers(base))
        for round_number in range(3):
            made_all = [
                create(base, article_text(1000, seed=100 * round_number + i)) for i in range(2)
            ]
            for made in made_all:
                hang_up_mid_stream(base, made["stream_url"])
            for made in made_all:
                assert wait_until(base, made, "done", "failed")["status"] == "done"
                assert_whole_audio(base, made)
        time.sleep(0.5)
        assert worker.num_threads() == threads_at_start  # every pool was full from the start
        assert sorted(p.pid for p in engine_workers(base)) == engines
        assert web_worker(base).pid == worker.pid
        started = time.monotonic()
        assert call(base, "/livez", timeout_s=5)[0] == 200
        assert time.monotonic() - started < 1


def test_faults_identical_posts_at_once_on_the_real_server_make_one_job(tmp_path: Path) -> None:
    with running_server(tmp_path / "cache", env=ENV) as base:
        text = article_text(900, seed=30)
        with ThreadPoolExecutor(20) as threads:
            answers = list(threads.map(lambda _: create(base, text), range(20)))
        assert len({answer["id"] for answer in answers}) == 1
        wait_until(base, answers[0], "done")
        metrics = call(base, "/metrics")[2].decode()
        started = [line for line in metrics.splitlines() if line.startswith("listen_jobs_started")]
        assert started and float(started[0].split()[-1]) == 1.0, started


def test_faults_eviction_to_zero_never_cuts_a_stream_short(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with running_server(cache, env=ENV) as base:
        made = create(base, article_text(6000, seed=40))
        wait_until(base, made, "done", timeout_s=180)
        etag = call(base, made["audio_url"])[1]["ETag"].strip('"')
        request = urllib.request.Request(base + made["audio_url"])
        with urllib.request.urlopen(request, timeout=60) as answer:
            size = int(answer.headers["Content-Length"])
            assert size > 4_000_000
            received = [answer.read(65536)]
            time.sleep(0.2)
            pruned = subprocess.run(
                [sys.executable, "-m", "service", "cache", "prune", "--max-mb", "0",
                 "--cache-dir", str(cache)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            assert "removed" in pruned.stdout
            while chunk := answer.read(65536):
                received.append(chunk)
                time.sleep(0.001)
        data = b"".join(received)
        assert len(data) == size
        assert hashlib.sha256(data).hexdigest() == etag
