"""The engine pool: timeouts, crashed workers, recovery, spawn only."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest

from service.engines.base import VoiceSettings
from service.engines.pool import SERVER_NICENESS, EnginePool, _Task, synthesize
from service.errors import SynthesisError, VoiceError
from tests import pool_tasks

TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def pool() -> Iterator[EnginePool]:
    """Two workers without engines and a short task timeout."""
    with EnginePool(2, task_timeout_s=TIMEOUT_S, warm_engines=()) as started:
        yield started


def wait_until_alive(pool: EnginePool, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not pool.alive():
        assert time.monotonic() < deadline, "the pool did not get all its workers back"
        time.sleep(0.05)


def test_pool_starts_its_workers(pool: EnginePool) -> None:
    assert pool.alive()
    assert len(pool.worker_pids()) == 2
    assert os.getpid() not in pool.worker_pids()


def test_pool_workers_are_spawned_not_forked(pool: EnginePool) -> None:
    assert pool.submit(pool_tasks.has_pytest_loaded).result() is False


def test_pool_workers_of_a_server_yield_the_cpu_to_it(pool: EnginePool) -> None:
    # synthesis must not starve the process that answers requests
    assert pool.submit(os.nice, 0).result(timeout=10) == os.nice(0)  # the CLI's keep its own
    with EnginePool(1, task_timeout_s=10, warm_engines=(), niceness=SERVER_NICENESS) as server_pool:
        assert server_pool.submit(os.nice, 0).result(timeout=10) == os.nice(0) + SERVER_NICENESS


def test_pool_frees_finished_tasks_without_the_cycle_collector(pool: EnginePool) -> None:
    # A result caught in a reference cycle lives until the collector's rare full
    # pass: in a server, minutes of finished audio chunks.
    gc.collect()
    gc.disable()
    try:
        futures = [pool.submit(pool_tasks.square, number) for number in range(20)]
        assert [future.result() for future in futures] == [n * n for n in range(20)]
        cancelled = pool.submit(pool_tasks.sleep_then_return, 0.3, 0)
        cancelled.cancel()
        del futures, cancelled
        time.sleep(0.8)  # the cancelled task ends; pebble's threads drop their references
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        caught = [type(o).__name__ for o in gc.garbage if isinstance(o, (_Task, Future))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert caught == []


@pytest.mark.slow
def test_pool_hanging_task_is_retried_once_then_fails_naming_it(
    pool: EnginePool, tmp_path: Path
) -> None:
    label = "segment 3f2a9c The sentence that hangs"
    future = pool.submit(pool_tasks.hang, str(tmp_path), label=label)
    with pytest.raises(SynthesisError) as raised:
        future.result(timeout=30)
    assert label in str(raised.value)
    assert "timed out" in str(raised.value)
    attempt_pids = {path.name for path in tmp_path.iterdir()}
    assert len(attempt_pids) == 2, "one attempt and exactly one retry, each in its own worker"
    assert pool.submit(pool_tasks.square, 7).result(timeout=30) == 49
    wait_until_alive(pool)


def test_pool_worker_killed_mid_task_is_retried_in_a_fresh_worker(
    pool: EnginePool, tmp_path: Path
) -> None:
    marker = tmp_path / "killed-once"
    pid = pool.submit(pool_tasks.die_once, str(marker), label="dies once").result(timeout=30)
    killed_pid = int(marker.read_text())
    assert pid != killed_pid
    wait_until_alive(pool)
    assert killed_pid not in pool.worker_pids()
    assert pool.submit(pool_tasks.square, 3).result(timeout=30) == 9


def test_pool_recovers_when_an_idle_worker_is_killed(pool: EnginePool) -> None:
    # pebble gives up its whole pool when a worker dies with no task running.
    victim = pool.worker_pids()[0]
    os.kill(victim, signal.SIGKILL)
    time.sleep(0.3)
    assert pool.submit(pool_tasks.square, 5).result(timeout=30) == 25
    wait_until_alive(pool)
    assert victim not in pool.worker_pids()


def test_pool_task_errors_reach_the_caller_without_retry(pool: EnginePool, tmp_path: Path) -> None:
    future = pool.submit(pool_tasks.fail_with_voice_error, str(tmp_path))
    with pytest.raises(VoiceError, match="no such voice"):
        future.result(timeout=30)
    assert len(list(tmp_path.iterdir())) == 1


def test_pool_sends_the_task_due_soonest_to_the_next_free_worker(tmp_path: Path) -> None:
    order = tmp_path / "order"
    with EnginePool(1, task_timeout_s=10.0, warm_engines=()) as one:
        busy = one.submit(pool_tasks.sleep_then_return, 0.5, 0)
        now = time.monotonic()
        # arrival order: a later chunk of a narration already playing, then one that
        # waits, cancelled, then a new narration's first chunk, due now
        later = one.submit(pool_tasks.note, str(order), "due in 60 s", due=now + 60)
        cancelled = one.submit(pool_tasks.note, str(order), "cancelled", due=now + 1)
        cancelled.cancel()
        sooner = one.submit(pool_tasks.note, str(order), "due in 5 s", due=now + 5)
        first = one.submit(pool_tasks.note, str(order), "due now")
        for future in (busy, later, sooner, first):
            future.result(timeout=30)
    assert order.read_text().splitlines() == ["due now", "due in 5 s", "due in 60 s"]


def test_pool_fails_thousands_of_waiting_tasks_without_recursing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # an article's chunks in another format are all submitted at once; when no worker
    # can be started, each fails as it is sent, and that must not recurse task by task
    unstarted = EnginePool(1, task_timeout_s=TIMEOUT_S, warm_engines=())

    def no_workers() -> None:
        raise SynthesisError("no engine worker could be started")

    monkeypatch.setattr(unstarted, "_admitted", 1)  # its one worker busy: tasks wait
    futures = [unstarted.submit(pool_tasks.square, n) for n in range(3000)]
    monkeypatch.setattr(unstarted, "_current_pool", no_workers)
    monkeypatch.setattr(unstarted, "_admitted", 0)  # the worker frees
    unstarted._dispatch()
    failures = {type(future.exception(timeout=5)).__name__ for future in futures}
    assert failures == {"SynthesisError"}
    unstarted.close()


def test_pool_submit_after_close_fails() -> None:
    closed = EnginePool(1, task_timeout_s=TIMEOUT_S, warm_engines=())
    closed.close()
    assert not closed.alive()
    with pytest.raises(SynthesisError, match="closed"):
        closed.submit(pool_tasks.square, 2).result(timeout=5)


def test_pool_rejects_zero_workers() -> None:
    with pytest.raises(ValueError, match="at least one worker"):
        EnginePool(0, task_timeout_s=TIMEOUT_S)


def test_pool_synthesis_leaves_the_parent_free_of_espeak(engine_pool: EnginePool) -> None:
    pcm = engine_pool.submit(
        synthesize, "The parent never loads eSpeak.", VoiceSettings("pyttsx3:gmw/en-us")
    ).result(timeout=30)
    assert pcm.frame_count > 0
    with open("/proc/self/maps", encoding="utf-8") as maps:
        assert "libespeak" not in maps.read()


def test_pool_keeps_stdout_clean() -> None:
    # The driver prints "Audio saved to ..."; nothing of it may reach the parent's stdout.
    script = (
        "from service.engines.base import VoiceSettings\n"
        "from service.engines.pool import EnginePool, synthesize\n"
        "if __name__ == '__main__':\n"
        "    with EnginePool(1, task_timeout_s=30) as pool:\n"
        "        pool.submit(synthesize, 'Quiet please.', VoiceSettings('pyttsx3:gmw/en-us'))"
        ".result()\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert completed.stdout == ""


def test_workers_of_the_listen_script_do_not_run_the_script_again(tmp_path: Path) -> None:
    # A console script like ``listen``: spawn would run it again in each worker,
    # importing the whole CLI there, unless the CLI names its package's __main__.
    script = tmp_path / "listen-like"
    script.write_text(
        "import sys\n"
        "from service.cli import _spawn_without_the_script\n"
        "from service.engines.pool import EnginePool\n"
        "from tests import pool_tasks\n"
        "if __name__ == '__main__':\n"
        "    if sys.argv[1] == 'fixed':\n"
        "        _spawn_without_the_script()\n"
        "    with EnginePool(1, task_timeout_s=60, warm_engines=()) as pool:\n"
        "        print(pool.submit(pool_tasks.has_module, 'click').result())\n",
        encoding="utf-8",
    )
    outputs = {}
    for mode in ("plain", "fixed"):
        done = subprocess.run(
            [sys.executable, str(script), mode],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=Path(__file__).parent.parent,
        )
        assert done.returncode == 0, done.stderr
        outputs[mode] = done.stdout.strip()
    assert outputs == {"plain": "True", "fixed": "False"}
