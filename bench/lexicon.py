"""What a pronunciation lexicon costs: planning with 1,000 rules, re-narration after a rule.

1. Planning a real 10,000-word article (English article bodies of the
   development set in ``../shared/aeb-dev``, distinct sentences) with and
   without a 1,000-rule lexicon built from the article's own names and words,
   in alternating pairs, every cache of the text stage emptied before each
   run. Also timed: applying the same rules as one ``regex`` named list and as
   one alternation, the two designs the word index replaced.
2. ``listen narrate`` of the seed article, cold, then again after a lexicon
   with one rule for "NATO" is added: the second run re-makes only the
   sentences that say NATO.
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
from pathlib import Path

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


def plan_seconds(article: Article, settings: Settings, lexicon: Lexicon | None) -> float:
    """Plan ``article`` cold (text caches emptied) and return the seconds it took."""
    segment._spoken.cache_clear()
    started = time.perf_counter()
    prepare_plan(article, settings, lexicon=lexicon)
    return time.perf_counter() - started


def apply_alone(article: Article, lexicon: Lexicon) -> float:
    """Return the best of 15 times to apply ``lexicon`` to every sentence, as planning does."""
    from service.engines.base import VoiceSettings
    from service.pipeline.pronounce import Pronouncer
    from service.text.segment import segment_article

    sentences = [s.spoken for b in segment_article(article) for s in b.sentences]
    voice = VoiceSettings("pyttsx3:gmw/en-us")
    best = float("inf")
    for _ in range(15):
        started = time.perf_counter()
        pronounce = Pronouncer(lexicon)
        for sentence in sentences:
            pronounce(sentence, voice)
        best = min(best, time.perf_counter() - started)
    return best


def apply_seconds(article: Article, lexicon: Lexicon) -> dict[str, float]:
    """Time three ways to find the lexicon's literal terms in every sentence (best of 3)."""
    from service.text.segment import segment_article

    sentences = [s.spoken for b in segment_article(article) for s in b.sentences]
    terms = [rule.match for rule in lexicon.rules if not rule.regex]
    matcher = LexiconMatcher(lexicon)
    named = regex.compile(r"(?<!\w)(?:\L<terms>)(?!\w)", terms=terms)
    alternation = re.compile(
        r"(?<!\w)(?:" + "|".join(map(re.escape, sorted(terms, key=len, reverse=True))) + r")(?!\w)"
    )
    ways = {
        "word index (used)": lambda text: matcher.apply(text),
        "regex named list": lambda text: list(named.finditer(text)),
        "one alternation (re)": lambda text: list(alternation.finditer(text)),
    }
    found = {}
    for name, way in ways.items():
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            for sentence in sentences:
                way(sentence)
            best = min(best, time.perf_counter() - started)
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
        ratios = [r / b for r, b in zip(ruled, base, strict=True)]
        rows.append(
            f"| {label} | {matched[label]} of {len(plain)} | "
            f"{statistics.median(base) * 1000:.0f} / {min(base) * 1000:.0f} ms | "
            f"{statistics.median(ruled) * 1000:.0f} / {min(ruled) * 1000:.0f} ms | "
            f"{statistics.median(ratios):.3f}x / {min(ruled) / min(base):.3f}x | "
            f"{apply_alone(article, lexicon) * 1000:.1f} ms |"
        )
    ways = apply_seconds(article, lexicons["the article's 1,000 most frequent names and words"])
    lines = [
        f"Planning a real {article.word_count:,}-word article (English article bodies of the "
        f"development set, distinct sentences), cold (text caches emptied each run), {PAIRS} "
        "alternating pairs; medians:",
        "",
        "| 1,000-rule lexicon | sentences changed | plan without (median / best) | plan with "
        "(median / best) | ratio (median of pairs / of bests) | applying alone (best) |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        "Applying the 1,000 most frequent names and words to every sentence (best of 3):",
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
    lexicon.write_text(
        json.dumps([{"match": "NATO", "say": "North Atlantic Treaty Organization"}]), "utf-8"
    )
    cold, again = [], []
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
    return (
        f"`listen narrate` of the seed article ({sentences_all} sentences, {sentences_with} say "
        f"NATO: {sentences_with / sentences_all:.0%}), cold, then again with a lexicon whose one "
        f"rule says NATO in full, 3 runs each on a fresh cache: cold "
        f"{statistics.median(cold):.2f} s, with the rule {statistics.median(again):.2f} s, "
        f"median ratio {statistics.median(ratios):.2f}x (process start, opening the database and "
        f"planning included). The rule re-synthesises only the {sentences_with} sentences that "
        f"say NATO, but their chunks ({remade} of {len(before)}) are encoded again as a whole, "
        "and MP3 encoding costs more than eSpeak's synthesis: re-narration follows the chunks "
        "touched, not the sentences."
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-lexicon-") as scratch:
        folder = Path(scratch)
        plan_part = planning(folder)
        print(plan_part, flush=True)
        renarrate_part = renarrate(folder)
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
