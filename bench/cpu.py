"""Where a cold CLI narration spends its CPU, against the raw engine pipeline.

Wall-clock ratios (``bench.narrate``) move with the load on a shared machine;
CPU seconds (user + system, this process and its children) barely do. This
benchmark splits a cold ``listen narrate`` of a real article into its parts,
each the fastest of several runs in a fresh process:

- the interpreter alone, and the CLI process up to planning (imports, reading,
  language, plan);
- one engine worker's start: spawn, imports, eSpeak loaded (a pool of one,
  started and closed with no task);
- the audio work per minute of speech: eSpeak through pyttsx3, trimming and
  levelling, resampling, MP3 frames (lameenc, LAME ``-q 7``, 48 kbps);
- the whole ``listen narrate`` of the article, and the baseline
  ``espeak-ng -s 175 ... -w`` then ``lame -q 7 -b 48``.

    python -m bench.cpu [--runs 5] [--words 400]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.narrate import RATE_WPM, VOICE, baseline_command, narrate_command
from bench.results import write_section
from harness.corpus import real_article

PYTHON = sys.executable

_CHILD_CPU = """
import json, resource, sys
def cpu():
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
"""

_PLAN = (
    _CHILD_CPU
    + """
if __name__ == "__main__":
    from service.cli import main  # what the listen script imports
    from service.config import Settings
    from service.pipeline.prepare import prepare_plan
    from service.text.load import load_article_from_text
    settings = Settings.from_env()
    plan = prepare_plan(load_article_from_text(open(sys.argv[1]).read(), settings.input), settings)
    print(cpu())
"""
)

_WORKER = (
    _CHILD_CPU
    + """
if __name__ == "__main__":
    from service.config import Settings
    from service.engines.pool import EnginePool
    settings = Settings.from_env()
    before = cpu()
    with EnginePool(1, task_timeout_s=60, settings=settings.engines) as pool:
        pool.start()
    print(cpu() - before)
"""
)

_AUDIO = (
    _CHILD_CPU
    + """
if __name__ == "__main__":
    from service.audio.clip import shape_clip
    from service.audio.mp3 import encode_frames
    from service.audio.pcm import mono16_at
    from service.config import Settings
    from service.engines.registry import resolve_engine
    from service.pipeline.prepare import prepare_plan
    from service.text.load import load_article_from_text
    settings = Settings.from_env()
    plan = prepare_plan(load_article_from_text(open(sys.argv[1]).read(), settings.input), settings)
    voice = plan.voice
    engine = resolve_engine(voice.engine, settings.engines)
    engine.synthesize("Warm up.", voice)
    sentences = [clip.spoken for chunk in plan.chunks for clip in chunk.clips]
    t0 = cpu(); pcms = [engine.synthesize(s, voice) for s in sentences]
    t1 = cpu(); shaped = [shape_clip(p, target_dbfs=-20.0) for p in pcms]
    rate = plan.output.sample_rate_hz
    t2 = cpu(); at_rate = b"".join(mono16_at(p, rate) for p in shaped)
    kbps = plan.output.mp3_bitrate_kbps
    t3 = cpu(); encode_frames(at_rate, sample_rate_hz=rate, bitrate_kbps=kbps)
    t4 = cpu()
    minutes = sum(len(p.data) / p.sample_width_bytes / p.sample_rate_hz for p in pcms) / 60
    print(json.dumps({"synth": t1 - t0, "shape": t2 - t1, "resample": t3 - t2,
                      "encode": t4 - t3, "minutes": minutes}))
"""
)


def _cpu_of(script: str, *args: str) -> str:
    """Run ``script`` in a fresh Python and return the last line it prints."""
    env = {**os.environ, "LISTEN_VOICE": VOICE, "LISTEN_RATE_WPM": str(RATE_WPM)}
    done = subprocess.run(
        [PYTHON, "-c", script, *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
        env=env,
    )
    return done.stdout.strip().splitlines()[-1]


def _command_cpu(command: list[str], *, shell: bool = False) -> float:
    """Return the CPU seconds of ``command`` and every process it waited for."""
    args: str | list[str] = " ".join(command) if shell else command
    child = subprocess.Popen(
        args, shell=shell, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _pid, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{args!r} failed with exit code {child.returncode}")
    return usage.ru_utime + usage.ru_stime


PARTS = (
    ("the interpreter alone (`python -c pass`)", "bare"),
    ("the CLI process up to a plan: imports, reading, language, planning", "plan"),
    ("one engine worker's start (spawn, imports, eSpeak loaded); a narration starts two", "worker"),
    ("eSpeak through pyttsx3, every sentence", "synth"),
    ("trimming and levelling the clips (pydub)", "shape"),
    ("resampling to the output rate (none when the voice speaks at it)", "resample"),
    ("MP3 frames (lameenc, LAME -q 7, 48 kbps)", "encode"),
    ("the rest: the workers' first-task imports, writing the file, tags, timings", "rest"),
    ("**whole `listen narrate`**", "ours"),
    ("baseline `espeak-ng` then `lame -q 7 -b 48`", "baseline"),
)
AUDIO_WORK = ("synth", "shape", "resample", "encode")


def measure(words: int, runs: int, work: Path) -> dict[str, float]:
    """Return the least CPU seconds of each part for a real article of about ``words``."""
    article = work / f"article-{words}.txt"
    article.write_text(real_article(words), encoding="utf-8")
    seen: dict[str, list[float]] = {}
    for attempt in range(runs):
        audio = json.loads(_cpu_of(_AUDIO, str(article)))
        cache = work / f"cache-{words}-{attempt}"
        figures = {
            "bare": _command_cpu([PYTHON, "-c", "pass"]),
            "plan": float(_cpu_of(_PLAN, str(article))),
            "worker": float(_cpu_of(_WORKER)),
            **{key: audio[key] for key in (*AUDIO_WORK, "minutes")},
            "ours": _command_cpu(narrate_command(article, work / "o.mp3", cache)),
            "baseline": _command_cpu(baseline_command(article, work / "b.mp3"), shell=True),
        }
        shutil.rmtree(cache)
        for key, value in figures.items():
            seen.setdefault(key, []).append(value)
        print(f"{words} words, run {attempt + 1}: {figures}", flush=True)
    best = {key: min(values) for key, values in seen.items()}
    best["words"] = len(article.read_text(encoding="utf-8").split())
    known = best["plan"] + 2 * best["worker"] + sum(best[key] for key in AUDIO_WORK)
    best["rest"] = max(0.0, best["ours"] - known)
    return best


def main() -> None:
    """Measure each part, print the table and write it to RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="400,3500")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="listen-cpu-") as folder:
        columns = [measure(int(size), args.runs, Path(folder)) for size in args.sizes.split(",")]
    heads = [f"{c['words']:,.0f} words ({c['minutes']:.0f} min)" for c in columns]
    lines = [
        "## Where a cold narration's CPU goes (`python -m bench.cpu`)",
        "",
        f"Real articles, cold, eSpeak voice at {RATE_WPM} wpm. CPU seconds (user + system, "
        f"children included), the least of {args.runs} runs each: CPU time barely moves with "
        "the load on a shared machine, where wall time does.",
        "",
        "| part | " + " | ".join(heads) + " |",
        "|---|" + "---:|" * len(columns),
        *[
            f"| {name} | " + " | ".join(f"{c[key]:.2f}" for c in columns) + " |"
            for name, key in PARTS
        ],
        "| ours / baseline, CPU | "
        + " | ".join(f"{c['ours'] / c['baseline']:.2f}x" for c in columns)
        + " |",
        "",
        "The audio work (eSpeak, shaping, resampling, LAME) costs about what the baseline "
        "does, most of it the same LAME encoder at the same quality. What the baseline does "
        "not pay is starting Python three times before the first sentence: the CLI and two "
        "engine workers, each importing the pipeline, pydub and pebble (whose import alone "
        "loads asyncio). Two cores run the workers side by side, so the wall time is about "
        "half the audio work plus the start-up on the critical path.",
    ]
    markdown = "\n".join(lines)
    print(markdown)
    write_section("cpu", markdown)


if __name__ == "__main__":
    main()
