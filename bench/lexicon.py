"""What a pronunciation lexicon costs: planning with 1,000 rules, re-narration after a rule.

1. Planning a real 10,000-word article (English article bodies of the
   development set in ``../shared/aeb-dev``, distinct sentences) with and
   without a 1,000-rule lexicon built from the article's own names and words,
   in alternating pairs, every cache of the text stage emptied before each
   run. The machine is shared, so the process's CPU time is the figure (it
   does not count the time other processes hold the cores); wall time is
   shown beside it. Also timed: applying the same rules as one ``regex``
   named list and as one alternation, the two designs the word index replaced.
2. The seed article narrated cold, then again after a lexicon with one rule
   for "NATO" is added, through a running service (``POST /api/narrations``
   until done) and through ``listen narrate``: the second run re-makes only
   the sentences that say NATO.
"""

from __future__ import annotations

import collections
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import regex

from bench.results import write_section
from harness import devset
from service.config import Settings
from service.pipeline.prepare import prepare_plan
from service.text import segment
from service.text.article import Article
from service.text.lexicon.matcher import LexiconMatcher
from service.text.lexicon.model import Lexicon, parse_lexicon
from service.text.load import load_article

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "nato-expansion-medium.txt"
WORDS = 10_000
RULES = 1_000
PAIRS = 21
NATO_RULE = {"match": "NATO", "say": "North Atlantic Treaty Organization"}
IPA_POOL = ("ˈtɛstɪŋ", "pɑɡəˈniːni", "ˈdʒɪf", "stˈoʊltənbɜːɡ", "həˈloʊ", "ˈnɑːtoʊ")


def _bodies() -> list[str]:
    truth = devset.truths()
    return [truth[name]["articleBody"] for name in devset.page_names()]


def real_article(folder: Path, words: int = WORDS) -> Path:
    """Write about ``words`` words of real English article bodies to a file and return it."""
    parts, count = ["Ten thousand words of news"], 0
    for body in _bodies():
        ascii_share = sum(c.isascii() for c in body) / max(1, len(body))
        if ascii_share < 0.99 or len(body.split()) < 150:
            continue
        parts.append(body)
        count += len(body.split())
        if count >= words:
            break
    path = folder / "article.txt"
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    return path


def names_lexicon(article: Article, rules: int = RULES, present: int = 100) -> Lexicon:
    """Return a publisher-like lexicon: names, ``present`` of them in the article, the rest not.

    The absent names are real ones too: capitalised words of the other pages of the set.
    """
    pattern = re.compile(r"\b[A-Z][a-z]{3,}\b")
    own = collections.Counter(pattern.findall(article.text))
    terms = [t for t, _ in own.most_common(present)]
    seen = {t.casefold() for t in own}
    for body in _bodies():
        for name in pattern.findall(body):
            if name.casefold() not in seen and len(terms) < rules:
                seen.add(name.casefold())
                terms.append(name)
    data: list[dict[str, object]] = [
        {"match": term, "ipa": IPA_POOL[n % len(IPA_POOL)]}
        if n % 2
        else {"match": term, "say": term.upper()}
        for n, term in enumerate(terms)
    ]
    return parse_lexicon(data, "names")


def lexicon_for(article: Article, rules: int = RULES, regex_rules: int = 0) -> Lexicon:
    """Return a lexicon of the article's most frequent names and words, half say, half ipa."""
    names = collections.Counter(re.findall(r"\b[A-Z][a-z]{3,}(?: [A-Z][a-z]{3,})?\b", article.text))
    words = collections.Counter(re.findall(r"\b[a-z]{6,}\b", article.text))
    terms = [t for t, _ in names.most_common(rules // 2)]
    seen = {t.casefold() for t in terms}
    terms += [t for t, _ in words.most_common(rules) if t.casefold() not in seen][
        : rules - len(terms)
    ]
    data: list[dict[str, object]] = []
    for number, term in enumerate(terms[: rules - regex_rules]):
        if number % 2:
            data.append({"match": term, "ipa": IPA_POOL[number % len(IPA_POOL)]})
        else:
            data.append({"match": term, "say": term.upper(), "ignore_case": number % 10 == 0})
    for number in range(regex_rules):
        data.append({"match": rf"v{number}\d+(?:\.\d+)*", "regex": True, "say": "a version"})
    return parse_lexicon(data, "bench")


def plan_seconds(
    article: Article, settings: Settings, lexicon: Lexicon | None
) -> tuple[float, float]:
    """Plan ``article`` cold (text caches emptied); return the CPU and wall seconds it took."""
    segment._spoken.cache_clear()
    cpu, wall = time.process_time(), time.perf_counter()
    prepare_plan(article, settings, lexicon=lexicon)
    return time.process_time() - cpu, time.perf_counter() - wall


def apply_alone(article: Article, lexicon: Lexicon) -> float:
    """Return the best of 15 times to apply ``lexicon`` to every sentence, as planning does."""
    from service.engines.base import VoiceSettings
    from service.pipeline.pronounce import Pronouncer
    from service.text.segment import segment_article

    sentences = [s.spoken for b in segment_article(article) for s in b.sentences]
    voice = VoiceSettings("pyttsx3:gmw/en-us")
    best = float("inf")
    for _ in range(15):
        started = time.process_time()
        pronounce = Pronouncer(lexicon)
        for sentence in sentences:
            pronounce(sentence, voice)
        best = min(best, time.process_time() - started)
    return best


def apply_seconds(article: Article, lexicon: Lexicon) -> dict[str, float]:
    """Time four ways to find the lexicon's literal terms in every sentence (CPU, best of 5)."""
    from service.text.segment import segment_article

    sentences = [s.spoken for b in segment_article(article) for s in b.sentences]
    terms = [rule.match for rule in lexicon.rules if not rule.regex]
    matcher = LexiconMatcher(lexicon)
    named = regex.compile(r"(?<!\w)(?:\L<terms>)(?!\w)", terms=terms)
    alternation = re.compile(
        r"(?<!\w)(?:" + "|".join(map(re.escape, sorted(terms, key=len, reverse=True))) + r")(?!\w)"
    )
    ways = {
        "Aho-Corasick automaton (used)": matcher._literal_matches,
        "word by word through an index of first words (before)": matcher._scan_words,
        "regex named list": lambda text: list(named.finditer(text)),
        "one alternation (re)": lambda text: list(alternation.finditer(text)),
    }
    found = {}
    for name, way in ways.items():
        best = float("inf")
        for _ in range(5):
            started = time.process_time()
            for sentence in sentences:
                way(sentence)
            best = min(best, time.process_time() - started)
        found[name] = best
    return found


def planning(folder: Path) -> str:
    settings = Settings.from_env({}, cache_dir=folder / "cache")
    article = load_article(str(real_article(folder)), settings.input)
    lexicons = {
        "1,000 names, 100 of them in the article": names_lexicon(article),
        "the article's 1,000 most frequent names and words": lexicon_for(article),
        "the same, 990 literal + 10 regex rules": lexicon_for(article, regex_rules=10),
    }
    prepare_plan(article, settings)  # voices, engine versions: loaded once, outside the timing
    plain = _clips(article, settings, None)
    matched = {
        label: sum(a != b for a, b in zip(plain, _clips(article, settings, lx), strict=True))
        for label, lx in lexicons.items()
    }
    rows = []
    for label, lexicon in lexicons.items():
        base, ruled = [], []
        for _ in range(PAIRS):
            base.append(plan_seconds(article, settings, None))
            ruled.append(plan_seconds(article, settings, lexicon))
        cpu_ratios = [r[0] / b[0] for r, b in zip(ruled, base, strict=True)]
        wall_ratios = [r[1] / b[1] for r, b in zip(ruled, base, strict=True)]
        rows.append(
            f"| {label} | {matched[label]} of {len(plain)} | "
            f"{statistics.median(b[0] for b in base) * 1000:.0f} ms | "
            f"{statistics.median(r[0] for r in ruled) * 1000:.0f} ms | "
            f"**{statistics.median(cpu_ratios):.3f}x** | {statistics.median(wall_ratios):.3f}x | "
            f"{apply_alone(article, lexicon) * 1000:.1f} ms |"
        )
    ways = apply_seconds(article, lexicons["the article's 1,000 most frequent names and words"])
    lines = [
        f"Planning a real {article.word_count:,}-word article (English article bodies of the "
        f"development set, distinct sentences), cold (text caches emptied each run), {PAIRS} "
        f"alternating pairs, CPU time of the process (load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores while it ran); medians:",
        "",
        "| 1,000-rule lexicon | sentences changed | plan without (CPU) | plan with (CPU) | "
        "ratio of pairs (CPU) | ratio of pairs (wall) | applying alone (best, CPU) |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Finding the 1,000 most frequent names and words in every sentence (CPU, best of 5):",
        "",
        "| method | time |",
        "|---|---|",
        *(f"| {name} | {seconds * 1000:.1f} ms |" for name, seconds in ways.items()),
    ]
    return "\n".join(lines)


def _clips(article: Article, settings: Settings, lexicon: Lexicon | None) -> list[str]:
    plan = prepare_plan(article, settings, lexicon=lexicon)
    return [clip.spoken for chunk in plan.chunks for clip in chunk.clips]


def renarrate(folder: Path) -> str:
    listen = [sys.executable, "-m", "service"]
    lexicon = folder / "nato.json"
    lexicon.write_text(json.dumps([NATO_RULE]), "utf-8")
    cold, again, cached_plain, cached_ruled, started = [], [], [], [], []
    sentences_with = sentences_all = 0
    for run in range(3):
        env = {**os.environ, "LISTEN_CACHE_DIR": str(folder / f"cache{run}")}

        def timed(*args: str, env: dict[str, str] = env) -> float:
            started = time.perf_counter()
            subprocess.run([*listen, *args], env=env, check=True, capture_output=True)
            return time.perf_counter() - started

        subprocess.run(
            [*listen, "lexicon", "import", "nato", str(lexicon)],
            env=env,
            check=True,
            capture_output=True,
        )
        out = folder / f"out{run}"
        cold.append(timed("narrate", str(SEED), "-o", f"{out}a.mp3", "--timings", f"{out}a.json"))
        again.append(timed("narrate", str(SEED), "-o", f"{out}b.mp3", "--lexicon", "nato"))
        # the same again, all from the cache: what a run costs before any work
        cached_plain.append(timed("narrate", str(SEED), "-o", f"{out}c.mp3"))
        cached_ruled.append(timed("narrate", str(SEED), "-o", f"{out}d.mp3", "--lexicon", "nato"))
        # one new sentence: what a run that synthesises anything costs (its engines start)
        note = folder / f"note{run}.txt"
        note.write_text(f"A short note, number {run}, about the harbour.\n", encoding="utf-8")
        started.append(timed("narrate", str(note), "-o", f"{out}e.mp3"))
        manifest = json.loads(Path(f"{out}a.json").read_text(encoding="utf-8"))
        spoken = [s["spoken"] for b in manifest["blocks"] for s in b["sentences"]]
        sentences_all = len(spoken)
        sentences_with = sum(bool(re.search(r"(?<!\w)NATO(?!\w)", s)) for s in spoken)
    ratios = [a / c for a, c in zip(again, cold, strict=True)]
    settings = Settings.from_env({}, cache_dir=folder / "plan")
    seed = load_article(str(SEED), settings.input)
    nato = parse_lexicon(json.loads(lexicon.read_text("utf-8")), "nato")
    before = prepare_plan(seed, settings).chunks
    after = prepare_plan(seed, settings, lexicon=nato).chunks
    remade = sum(a.chunk_key != b.chunk_key for a, b in zip(before, after, strict=True))
    fixed_plain, fixed_ruled = statistics.median(cached_plain), statistics.median(cached_ruled)
    one_sentence = statistics.median(started)
    work_cold = statistics.median(cold) - one_sentence
    work_again = statistics.median(again) - one_sentence - (fixed_ruled - fixed_plain)
    return (
        f"`listen narrate` of the seed article ({sentences_all} sentences, {sentences_with} say "
        f"NATO: {sentences_with / sentences_all:.0%}), cold, then again with a lexicon whose one "
        f"rule says NATO in full, 3 runs each on a fresh cache: cold "
        f"{statistics.median(cold):.2f} s, with the rule {statistics.median(again):.2f} s "
        f"(median ratio {statistics.median(ratios):.2f}x). Most of a run here is fixed: the same "
        f"commands again, all from the cache, took {fixed_plain:.2f} s without a lexicon and "
        f"{fixed_ruled:.2f} s with one (process start; with a lexicon, importing SQLAlchemy and "
        f"opening the library database too), and a run that synthesises one new sentence took "
        f"{one_sentence:.2f} s (its engine processes start). Beyond that, the work was "
        f"{work_cold:.2f} s cold and {work_again:.2f} s with the rule "
        f"({work_again / work_cold:.0%}). The rule re-synthesises only the {sentences_with} "
        f"sentences that say NATO; their chunks ({remade} of {len(before)}) are encoded again "
        "as a whole. A running service keeps its engines started, so there the time follows "
        "the sentences (above)."
    )


def _call(url: str, body: object | None = None, method: str = "GET") -> dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer: dict[str, Any] = json.load(response)
    return answer


def _sentences_made(base: str) -> int:
    with urllib.request.urlopen(base + "/metrics", timeout=60) as response:
        metrics = response.read().decode()
    found = re.search(r'^listen_sentences_total\{cache="miss"\} ([0-9.e+]+)$', metrics, re.M)
    return int(float(found.group(1))) if found else 0


def _narrated(base: str, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """Create a narration and poll its status until it is done; return the seconds and status."""
    started = time.perf_counter()
    status = _call(base + "/api/narrations", body, "POST")
    while status["status"] not in ("done", "failed"):
        time.sleep(0.01)
        status = _call(base + status["status_url"])
    if status["status"] != "done":
        raise RuntimeError(f"narration failed: {status.get('error')}")
    return time.perf_counter() - started, status


def renarrate_service(folder: Path) -> str:
    """Narrate the seed through a running service, then again with a rule for NATO."""
    from harness.webserver import running_server

    text = SEED.read_text(encoding="utf-8")
    cold, again, made = [], [], []
    voice = ""
    for run in range(3):
        cache = folder / f"service{run}" / "cache"
        cache.mkdir(parents=True)
        with running_server(cache) as base:
            seconds, status = _narrated(base, {"text": text})
            cold.append(seconds)
            voice = status["voice"]
            _call(base + "/api/lexicons/nato", {"rules": [NATO_RULE]}, "PUT")
            before = _sentences_made(base)
            seconds, status = _narrated(base, {"text": text, "lexicon": "nato"})
            again.append(seconds)
            made.append(_sentences_made(base) - before)
            assert status["lexicon"] == "nato", status
    ratios = [a / c for a, c in zip(again, cold, strict=True)]
    return (
        f"Through a running service (`POST /api/narrations`, polled until done; voice {voice}), "
        f"3 runs on a fresh cache: cold {statistics.median(cold):.2f} s, again with the rule "
        f"{statistics.median(again):.2f} s, median ratio {statistics.median(ratios):.2f}x; "
        f"sentences synthesised the second time: {statistics.median(made):.0f}."
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-lexicon-") as scratch:
        folder = Path(scratch)
        plan_part = planning(folder)
        print(plan_part, flush=True)
        renarrate_part = renarrate_service(folder) + "\n\n" + renarrate(folder)
        print(renarrate_part, flush=True)
    write_section(
        "lexicon",
        "## Pronunciation lexicons (`python -m bench.lexicon`)\n\n"
        + plan_part
        + "\n\n"
        + renarrate_part,
    )


if __name__ == "__main__":
    main()
