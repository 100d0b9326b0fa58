"""Scale out for real: two web nodes, two RQ workers, Redis and an S3 store, all on loopback.

Every piece is the real thing started by the fixtures: Debian's redis-server,
SeaweedFS's S3 gateway, ``listen serve`` twice and ``listen worker`` twice
(each worker with one engine process). The tests run in file order on one
xdist worker (the ``seaweed`` group), and the last one takes Redis away.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask

from harness.api import Reply, call
from harness.corpus import article_text
from harness.redis_server import RedisServer, running_redis
from harness.seaweed import REGION, TEST_BUCKET, SeaweedS3
from harness.webserver import running_server
from service.config import Settings
from service.jobs.rq import JOB_RETRIES
from service.store import open_store
from service.web import close_app, create_app

pytestmark = [pytest.mark.scale, pytest.mark.xdist_group("seaweed")]

VOICE = "pyttsx3:gmw/en-us"
DONE_TIMEOUT_S = 60.0


def create(node: str, text: str) -> Reply:
    return call(node, "/api/narrations", body={"text": text, "voice": VOICE})


def wait_done(node: str, narration_id: str, timeout_s: float = DONE_TIMEOUT_S) -> dict[str, Any]:
    """Poll a narration's status until it is done; fail on failed or timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        reply = call(node, f"/api/narrations/{narration_id}")
        if reply.status == 200:
            body: dict[str, Any] = reply.json()
            assert body["status"] == "done", body
            return body
        assert reply.status == 202, (reply.status, reply.body[:300])
        time.sleep(0.1)
    raise AssertionError(f"narration {narration_id} not done within {timeout_s} s")


def metric(node: str, name: str, labels: str = "") -> float:
    """Read one sample from a node's /metrics."""
    text = call(node, "/metrics").body.decode()
    pattern = rf"^{re.escape(name)}{re.escape(labels)} (\S+)$"
    found = re.search(pattern, text, re.M)
    assert found is not None, f"{name}{labels} missing from /metrics:\n{text}"
    return float(found.group(1))


def children_of(pid: int) -> list[int]:
    """Return every descendant process of ``pid``."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid:
            found += [int(entry.name), *children_of(int(entry.name))]
    return found


def maps_espeak(pid: int) -> bool:
    """Tell whether a process has libespeak-ng mapped."""
    try:
        return "espeak" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def listening_pid(port: int) -> int:
    """Return the pid of the process whose command line serves ``--port port`` (the master)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in argv and str(port).encode() in argv:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            parent_argv = Path(f"/proc/{parent}/cmdline").read_bytes().split(b"\0")
            if str(port).encode() not in parent_argv:
                return int(entry.name)
    raise AssertionError(f"no server process on port {port}")


@dataclass
class Cluster:
    """Two web nodes and RQ workers on one Redis and one S3 prefix."""

    redis: RedisServer
    nodes: list[str]
    env: dict[str, str]
    folder: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start_worker(self) -> subprocess.Popen[bytes]:
        """Start one ``listen worker`` and return once RQ lists it."""
        from redis import Redis
        from rq import Worker

        log = open(self.folder / f"worker-{len(self.workers)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "service", "worker"],
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.workers.append(process)
        connection = Redis.from_url(self.redis.url)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, self.log_of(process)
            if any(w.pid == process.pid for w in Worker.all(connection=connection)):
                connection.close()
                return process
            time.sleep(0.1)
        raise AssertionError(f"worker did not start:\n{self.log_of(process)}")

    def log_of(self, process: subprocess.Popen[bytes]) -> str:
        return (self.folder / f"worker-{self.workers.index(process)}.log").read_text()

    def stop_workers(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.terminate()
        for process in self.workers:
            with suppress(subprocess.TimeoutExpired):
                process.wait(15)
            # The engine processes of a killed worker lose their parent: end them too.
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(15)


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


@pytest.fixture(scope="module")
def cluster(
    redis_server: RedisServer, seaweed: SeaweedS3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp("cluster")
    env = {
        "LISTEN_REDIS_URL": redis_server.url,
        "LISTEN_STORE_URL": f"s3://{TEST_BUCKET}/scale-{uuid.uuid4().hex[:8]}",
        "LISTEN_S3_ENDPOINT_URL": seaweed.endpoint_url,
        "LISTEN_WORKERS": "1",
        "LISTEN_VOICE": VOICE,
        "LISTEN_RATE_LIMIT_PER_MINUTE": "1000",
        "AWS_ACCESS_KEY_ID": seaweed.access_key,
        "AWS_SECRET_ACCESS_KEY": seaweed.secret_key,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(folder / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(folder / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    cluster = Cluster(redis_server, [], env, folder)
    with ExitStack() as stack:
        stack.callback(cluster.stop_workers)
        starting = [threading.Thread(target=cluster.start_worker) for _ in range(2)]
        for thread in starting:
            thread.start()
        for index in range(2):
            cache = folder / f"node-{index}" / "cache"
            cache.mkdir(parents=True)
            cluster.nodes.append(stack.enter_context(running_server(cache, env=env)))
        for thread in starting:
            thread.join()
        assert len(cluster.workers) == 2
        yield cluster


@pytest.fixture(scope="module")
def finished(cluster: Cluster) -> dict[str, Any]:
    """A short narration made through the cluster, done."""
    node_a, _node_b = cluster.nodes
    reply = create(node_a, article_text(120, seed=101))
    assert reply.status in (200, 202), reply.body
    return wait_done(node_a, reply.json()["id"])


def test_scale_narration_created_on_one_node_streams_and_downloads_from_the_other(
    cluster: Cluster,
) -> None:
    node_a, node_b = cluster.nodes
    reply = create(node_a, article_text(1500, seed=102))
    assert reply.status == 202, reply.body
    narration_id = reply.json()["id"]
    # Listen on node B while a worker is still synthesising what node A queued.
    parts = urlsplit(node_b)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.request("GET", f"/api/narrations/{narration_id}/stream.mp3")
    stream = connection.getresponse()
    assert stream.status == 200
    assert stream.headers["Content-Type"] == "audio/mpeg"
    first = stream.read(1024)
    during = call(node_b, f"/api/narrations/{narration_id}").json()
    streamed = first + stream.read()
    connection.close()
    assert first[:2] in (b"\xff\xfb", b"\xff\xf3", b"ID")  # an MPEG frame (or a tag) first
    assert during["status"] in ("queued", "running"), during
    assert during["chunks_done"] < during["chunks_total"]

    done = wait_done(node_b, narration_id)
    assert done["chunks_done"] == done["chunks_total"]
    download = call(node_b, f"/api/narrations/{narration_id}/audio.mp3?download=1")
    assert download.status == 200
    assert download.headers["ETag"] == f'"{hashlib.sha256(download.body).hexdigest()}"'
    assert download.headers["Content-Disposition"].startswith("attachment; filename=")
    assert (
        download.headers["Content-Disposition"].endswith('.mp3"')
        or ".mp3" in (download.headers["Content-Disposition"])
    )
    assert len(streamed) > 0.5 * len(download.body)
    timings = call(node_a, f"/api/narrations/{narration_id}/timings.json").json()
    assert timings["narration_id"] == narration_id


def test_scale_identical_requests_to_both_nodes_make_one_job(cluster: Cluster) -> None:
    node_a, node_b = cluster.nodes
    started_before = metric(node_a, "listen_jobs_started_total")
    succeeded_before = metric(node_b, "listen_jobs_finished_total", '{outcome="succeeded"}')
    text = article_text(200, seed=103)
    replies: list[Reply] = []

    def post(node: str) -> None:
        replies.append(create(node, text))

    posting = [threading.Thread(target=post, args=(node,)) for node in (node_a, node_b) * 3]
    for thread in posting:
        thread.start()
    for thread in posting:
        thread.join()
    assert {reply.status for reply in replies} <= {200, 202}
    assert len({reply.json()["id"] for reply in replies}) == 1
    wait_done(node_b, replies[0].json()["id"])
    assert create(node_b, text).status == 200  # finished: answered from the store
    assert metric(node_b, "listen_jobs_started_total") == started_before + 1
    deadline = time.monotonic() + 5  # the worker counts its success just after the manifest
    while metric(node_a, "listen_jobs_finished_total", '{outcome="succeeded"}') == (
        succeeded_before
    ):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert metric(node_a, "listen_jobs_finished_total", '{outcome="succeeded"}') == (
        succeeded_before + 1
    )
    assert metric(node_a, "listen_workers") >= 2
    served_before = metric(node_a, "listen_audio_bytes_served_total")
    audio = call(node_b, f"/api/narrations/{replies[0].json()['id']}/audio.mp3")
    assert metric(node_a, "listen_audio_bytes_served_total") == served_before + len(audio.body)


def test_scale_web_processes_never_load_an_engine(
    cluster: Cluster, finished: dict[str, Any]
) -> None:
    for node in cluster.nodes:
        master = listening_pid(urlsplit(node).port or 0)
        web_processes = [master, *children_of(master)]
        assert len(web_processes) >= 2  # gunicorn's master and its worker
        assert not any(maps_espeak(pid) for pid in web_processes)
    for worker in cluster.workers:
        assert not maps_espeak(worker.pid)  # the worker process itself: engines live below it
        assert any(maps_espeak(pid) for pid in children_of(worker.pid))


def test_scale_audio_from_s3_is_served_like_a_local_file(
    cluster: Cluster, finished: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    narration_id = finished["id"]
    # Copy the narration's objects into a local folder and serve both side by side.
    local_app = create_app({"cache_dir": tmp_path / "local", "workers": 1})
    local_store = local_app.extensions["listen"].library.store
    for name, value in cluster.env.items():
        monkeypatch.setenv(name, value)
    s3_store = open_store(Settings.from_env().store)
    for name in ("plan.json", "timings.json", "audio.mp3", "audio.mp3.sha256"):
        key = f"narrations/{narration_id}/{name}"
        data = s3_store.get(key)
        assert data is not None, key
        local_store.put(key, data)
    try:
        _compare(local_app, cluster.nodes[1], narration_id)
    finally:
        close_app(local_app)


def _compare(local_app: Flask, node: str, narration_id: str) -> None:
    url = f"/api/narrations/{narration_id}/audio.mp3"
    whole = call(node, url)
    assert whole.status == 200
    size = len(whole.body)
    etag = whole.headers["ETag"]
    assert etag == f'"{hashlib.sha256(whole.body).hexdigest()}"'
    client = local_app.test_client()
    cases: list[dict[str, str]] = [
        {},
        {"Range": "bytes=0-1"},
        {"Range": f"bytes={size - 100}-"},
        {"Range": "bytes=-50"},
        {"Range": f"bytes={size + 10}-"},
        {"If-None-Match": etag},
        {"If-None-Match": '"something-else"'},
        {"Range": "bytes=10-19", "If-Range": etag},
        {"Range": "bytes=10-19", "If-Range": '"stale"'},
        {"Range": "bytes=abc"},
        {"Range": "items=0-1"},
        {"Range": "bytes=0-1,5-6"},
        {"Range": "bytes=-0"},
    ]
    for headers in cases:
        remote = call(node, url, headers=headers)
        local = client.get(url, headers=headers)
        local_body = local.get_data()
        local.close()
        assert remote.status == local.status_code, headers
        assert remote.body == local_body, headers
        for name in ("ETag", "Content-Range", "Content-Length", "Accept-Ranges"):
            assert remote.headers.get(name) == local.headers.get(name), (headers, name)
        if remote.status in (200, 206, 304):
            assert "immutable" in remote.headers["Cache-Control"], headers
            assert "immutable" in local.headers["Cache-Control"], headers
    assert call(node, url, headers={"Range": "bytes=0-1"}).body == whole.body[:2]
    download = call(node, url + "?download=1")
    local = client.get(url + "?download=1")
    assert download.headers["Content-Disposition"] == local.headers["Content-Disposition"]
    local.close()


def test_scale_worker_killed_mid_job_is_retried_and_completes(cluster: Cluster) -> None:
    from redis import Redis
    from rq import Worker
    from rq.job import Job

    node_a, node_b = cluster.nodes
    reply = create(node_a, article_text(5000, seed=104))
    assert reply.status == 202, reply.body
    narration_id = reply.json()["id"]
    connection = Redis.from_url(cluster.redis.url)
    deadline = time.monotonic() + 30
    while True:  # wait until a worker has made some of it
        state = call(node_b, f"/api/narrations/{narration_id}").json()
        if state["status"] == "running" and state["chunks_done"] > 0:
            break
        assert time.monotonic() < deadline, state
        time.sleep(0.05)
    worker_name = Job.fetch(narration_id, connection=connection).worker_name
    pid = next(w.pid for w in Worker.all(connection=connection) if w.name == worker_name)
    victim = next(process for process in cluster.workers if process.pid == pid)
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    killed_at = time.monotonic()
    statuses = set()
    while True:
        state = call(node_b, f"/api/narrations/{narration_id}").json()
        statuses.add(state["status"])
        if state["status"] == "done":
            break
        assert state["status"] != "failed", state
        assert time.monotonic() - killed_at < DONE_TIMEOUT_S, state
        time.sleep(0.2)
    retried = Job.fetch(narration_id, connection=connection)
    assert retried.worker_name != worker_name  # the other worker finished it
    assert retried.retries_left == JOB_RETRIES - 1  # through RQ's abandoned-job retry
    connection.close()
    audio = call(node_a, f"/api/narrations/{narration_id}/audio.mp3")
    assert audio.status == 200
    assert audio.headers["ETag"] == f'"{hashlib.sha256(audio.body).hexdigest()}"'
    timings = call(node_a, f"/api/narrations/{narration_id}/timings.json").json()
    assert timings["duration_ms"] > 60_000
    cluster.start_worker()  # back to two workers for the tests that follow


def test_scale_redis_down_refuses_new_work_but_serves_finished_audio(
    cluster: Cluster, finished: dict[str, Any]
) -> None:
    node_a, node_b = cluster.nodes
    narration_id = finished["id"]
    cluster.redis.stop()
    try:
        refused = create(node_a, article_text(80, seed=105))
        assert refused.status == 503, refused.body
        assert int(refused.headers["Retry-After"]) > 0
        assert refused.json()["type"].endswith("queue-unavailable")
        for node in (node_a, node_b):
            assert call(node, f"/api/narrations/{narration_id}").json()["status"] == "done"
            audio = call(node, f"/api/narrations/{narration_id}/audio.mp3")
            assert audio.status == 200
            assert len(audio.body) > 1000
            assert call(node, "/healthz").status == 503
            assert metric(node, "listen_queue_up") == 0
    finally:
        cluster.redis.start()
    deadline = time.monotonic() + 10
    while (reply := create(node_b, article_text(80, seed=105))).status == 503:
        assert time.monotonic() < deadline, reply.body
        time.sleep(0.2)
    assert reply.status == 202, reply.body
    wait_done(node_a, reply.json()["id"], timeout_s=30)
    assert call(node_a, "/healthz").status == 200


def test_scale_metrics_in_process(tmp_path: Path) -> None:
    app = create_app({"cache_dir": tmp_path / "cache", "workers": 1})
    try:
        reply = app.test_client().get("/metrics")
        text = reply.get_data(as_text=True)
        assert reply.status_code == 200
        assert reply.mimetype == "text/plain"
        for name in (
            "listen_queue_up 1.0",
            "listen_jobs_queued 0.0",
            "listen_jobs_running 0.0",
            "listen_jobs_started_total 0.0",
            'listen_sentences_total{cache="hit"} 0.0',
            "listen_synthesis_seconds_count 0.0",
            "listen_audio_bytes_served_total 0.0",
        ):
            assert name in text, name
    finally:
        close_app(app)


def test_scale_worker_needs_redis(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTEN_")}
    done = subprocess.run(
        [sys.executable, "-m", "service", "worker", "--burst"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert done.stderr.strip() == (
        "listen: error: set LISTEN_REDIS_URL=redis://host:port/db to run a worker"
    )
