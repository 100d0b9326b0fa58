"""Scale-out figures: narrations per minute with 1 and 2 RQ workers, and time to first audio byte.

Throughput: a batch of distinct articles is queued on Redis and timed until
every manifest is in the store, with one ``listen worker`` and then two (each
with one engine process), alternating, on a fresh store each run.

Time to first byte: ``POST /api/narrations`` then ``GET stream.mp3`` until the
first byte, through ``listen serve`` in process and through ``listen serve`` +
one ``listen worker`` on Redis, interleaved, same article sizes, new articles
each time (nothing cached).

    python -m bench.scale [--articles 8] [--words 400] [--runs 2] [--ttfb-runs 10]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from urllib.parse import urlsplit

from bench.results import write_section
from harness.corpus import article_text
from harness.redis_server import RedisServer, running_redis
from harness.webserver import running_server

VOICE = "pyttsx3:gmw/en-us"


def base_env(cache: Path, redis_url: str = "") -> dict[str, str]:
    """Return the environment of every process of one setup."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTEN_")}
    env.update(
        {
            "LISTEN_CACHE_DIR": str(cache),
            "LISTEN_WORKERS": "1",
            "LISTEN_VOICE": VOICE,
            "LISTEN_RATE_LIMIT_PER_MINUTE": "100000",
        }
    )
    if redis_url:
        env["LISTEN_REDIS_URL"] = redis_url
    return env


@contextmanager
def workers(count: int, env: dict[str, str], redis_url: str, log_dir: Path) -> Iterator[None]:
    """Run ``count`` ``listen worker`` processes; return once RQ lists them all."""
    from redis import Redis
    from rq import Worker

    processes = []
    for index in range(count):
        with open(log_dir / f"worker-{index}.log", "wb") as log:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "service", "worker"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    connection = Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + 120
        pids = {p.pid for p in processes}
        while pids - {w.pid for w in Worker.all(connection=connection)}:
            if time.monotonic() > deadline:
                raise RuntimeError("workers did not start")
            time.sleep(0.1)
        yield
    finally:
        connection.close()
        for process in processes:
            process.terminate()
        for process in processes:
            with suppress(subprocess.TimeoutExpired):
                process.wait(15)
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def throughput_run(redis: RedisServer, worker_count: int, texts: list[str], work: Path) -> float:
    """Return narrations per minute for ``texts`` with ``worker_count`` workers."""
    from service.config import Settings
    from service.jobs.rq import RQRunner
    from service.pipeline.objects import read_manifest
    from service.pipeline.prepare import prepare_plan
    from service.store import open_store
    from service.text.load import load_article_from_text

    cache = work / f"cache-{worker_count}-{time.monotonic_ns()}"
    env = base_env(cache, redis.url)
    settings = Settings.from_env(env)
    store = open_store(settings.store)
    plans = [
        prepare_plan(load_article_from_text(text, settings.input, kind="text"), settings)
        for text in texts
    ]
    runner = RQRunner(settings, store)
    try:
        with workers(worker_count, env, redis.url, work):
            started = time.monotonic()
            for plan in plans:
                runner.submit(plan, ("mp3",))
            waiting = {plan.narration_id for plan in plans}
            while waiting:
                waiting = {n for n in waiting if read_manifest(store, n) is None}
                time.sleep(0.05)
            elapsed = time.monotonic() - started
    finally:
        runner.close()
        shutil.rmtree(cache, ignore_errors=True)
    return len(plans) * 60 / elapsed


def first_byte_s(node: str, text: str) -> float:
    """Return seconds from POSTing ``text`` to the first byte of its stream."""
    parts = urlsplit(node)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    started = time.monotonic()
    connection.request(
        "POST",
        "/api/narrations",
        body=json.dumps({"text": text, "voice": VOICE}),
        headers={"Content-Type": "application/json"},
    )
    created = connection.getresponse()
    narration_id = json.loads(created.read())["id"]
    connection.request("GET", f"/api/narrations/{narration_id}/stream.mp3")
    stream = connection.getresponse()
    if not stream.read(1):
        raise RuntimeError(f"empty stream for {narration_id}")
    elapsed = time.monotonic() - started
    stream.read()
    connection.close()
    return elapsed


def ttfb(redis: RedisServer, runs: int, words: int, work: Path) -> tuple[list[float], list[float]]:
    """Measure time to first byte in process and through RQ, interleaved."""
    in_process: list[float] = []
    through_rq: list[float] = []
    local_cache, rq_cache = work / "ttfb-local" / "cache", work / "ttfb-rq" / "cache"
    local_cache.mkdir(parents=True)
    rq_cache.mkdir(parents=True)
    rq_env = base_env(rq_cache, redis.url)
    with ExitStack() as stack:
        stack.enter_context(workers(1, rq_env, redis.url, rq_cache.parent))
        local_node = stack.enter_context(running_server(local_cache, env=base_env(local_cache)))
        rq_node = stack.enter_context(running_server(rq_cache, env=rq_env))
        first_byte_s(local_node, article_text(words, seed=999))  # warm both sides up
        first_byte_s(rq_node, article_text(words, seed=999))
        for run in range(runs):
            text = article_text(words, seed=1000 + run)
            in_process.append(first_byte_s(local_node, text))
            through_rq.append(first_byte_s(rq_node, text))
    return in_process, through_rq


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=8, help="Articles per throughput batch.")
    parser.add_argument("--words", type=int, default=400, help="Words per article.")
    parser.add_argument("--runs", type=int, default=2, help="Throughput runs per worker count.")
    parser.add_argument("--ttfb-runs", type=int, default=10, help="First-byte samples per side.")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    rates: dict[int, list[float]] = {1: [], 2: []}
    try:
        with running_redis() as redis:
            for run in range(args.runs):
                for count in (1, 2):
                    texts = [
                        article_text(args.words, seed=10_000 * count + 100 * run + i)
                        for i in range(args.articles)
                    ]
                    rate = throughput_run(redis, count, texts, work)
                    rates[count].append(rate)
                    print(f"{count} worker(s): {rate:.1f} narrations/min", file=sys.stderr)
            in_process, through_rq = ttfb(redis, args.ttfb_runs, args.words, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    local_ms = statistics.median(in_process) * 1000
    rq_ms = statistics.median(through_rq) * 1000
    markdown = f"""## Scale-out (`python -m bench.scale`)

Throughput: {args.articles} distinct {args.words}-word articles queued on Redis, timed
until every manifest is in the store; `listen worker` processes with one engine each,
fresh store per run, median of {args.runs} runs, 1 and 2 workers alternating.

| workers | narrations per minute | speed-up |
|---|---|---|
| 1 | {one:.1f} | 1.00x |
| 2 | {two:.1f} | {two / one:.2f}x |

Time to first audio byte (POST, then GET `stream.mp3` until its first byte), median of
{args.ttfb_runs}, {args.words}-word articles, nothing cached, sides interleaved:

| runner | first byte (ms) |
|---|---|
| in process (`listen serve`) | {local_ms:.0f} |
| RQ (`listen serve` + `listen worker`, Redis) | {rq_ms:.0f} |
| RQ minus in process | {rq_ms - local_ms:+.0f} |
"""
    print(markdown)
    write_section("scale", markdown)


if __name__ == "__main__":
    main()
