"""`listen lexicon`, `listen db upgrade`, `listen narrate --lexicon`: on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.postgres_server import PostgresServer
from tests.conftest import ROOT, SEED_ARTICLE

LISTEN = [sys.executable, "-m", "service"]
RULES = {
    "sites": ["example.com"],
    "rules": [
        {"match": "NATO", "say": "North Atlantic Treaty Organization"},
        {"match": "Stoltenberg", "ipa": "ˈstɔltənbɛrk"},
        {"match": r"v\d+", "regex": True, "say": "version"},
    ],
}


def listen(
    *args: str, env: dict[str, str], stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LISTEN, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
        cwd=ROOT,
        env={**os.environ, **env},
        check=False,
    )


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    environment = {"LISTEN_CACHE_DIR": str(tmp_path / "cache"), "LISTEN_DATABASE_URL": database_url}
    if database_url.startswith("postgresql"):
        done = listen("db", "upgrade", env=environment)
        assert done.returncode == 0, done.stderr
        assert "migrated from an empty database to revision" in done.stdout
    return environment


@pytest.mark.slow
def test_cli_lexicon_import_list_show_export_delete(env: dict[str, str], tmp_path: Path) -> None:
    rules = tmp_path / "news.json"
    rules.write_text(json.dumps(RULES), encoding="utf-8")
    done = listen("lexicon", "import", "news", str(rules), env=env)
    assert (done.returncode, done.stdout) == (0, "imported news: 3 rules, sites example.com\n")
    assert listen("lexicon", "import", "news", str(rules), env=env).stdout.startswith("replaced")
    assert listen("lexicon", "list", env=env).stdout == "news\t3 rules\texample.com\n"
    shown = listen("lexicon", "show", "news", env=env).stdout.splitlines()
    assert shown[:2] == ["lexicon news: 3 rules", "sites: example.com"]
    assert shown[3].split() == ["2", "Stoltenberg", "->", "/ˈstɔltənbɛrk/"]
    exported = json.loads(listen("lexicon", "export", "news", env=env).stdout)
    assert exported == {"name": "news", **RULES}
    done = listen("lexicon", "delete", "news", env=env)
    assert (done.returncode, done.stdout) == (0, "deleted news\n")
    assert listen("lexicon", "list", env=env).stdout == ""


@pytest.mark.slow
def test_cli_lexicon_pls_in_and_out(env: dict[str, str], tmp_path: Path) -> None:
    pls = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<lexicon version="1.0" xmlns="http://www.w3.org/2005/01/pronunciation-lexicon"'
        ' alphabet="ipa" xml:lang="en-GB">'
        "<lexeme><grapheme>GIF</grapheme><phoneme>dʒɪf</phoneme></lexeme></lexicon>"
    )
    done = listen("lexicon", "import", "gifs", "-", env=env, stdin=pls)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "gifs.pls"
    assert listen("lexicon", "export", "gifs", "-o", str(out), env=env).stdout == f"{out}\n"
    text = out.read_text(encoding="utf-8")
    assert "<grapheme>GIF</grapheme>" in text and "<phoneme>dʒɪf</phoneme>" in text
    assert 'xml:lang="en-GB"' in text


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("lexicon", "show", "missing"), None, "no lexicon is called 'missing'"),
        (("lexicon", "delete", "missing"), None, "no lexicon is called 'missing'"),
        (("lexicon", "import", "a b", "-"), "[]", "'a b' cannot name a lexicon"),
        (("lexicon", "import", "x", "missing.json"), None, "missing.json: no such file"),
        (("lexicon", "import", "x", "-"), "{", "is not valid JSON"),
        (
            ("lexicon", "import", "x", "-"),
            '[{"match": "(a+)+", "regex": true, "say": "x"}]',
            "nested quantifiers",
        ),
        (
            ("lexicon", "import", "x", "-"),
            json.dumps([{"match": f"w{i}", "say": "x"} for i in range(10_001)]),
            "at most 10,000 are allowed",
        ),
        (("narrate", str(SEED_ARTICLE), "--lexicon", "missing"), None, "no lexicon is called"),
    ],
    ids=[
        "show-missing",
        "delete-missing",
        "bad-name",
        "missing-file",
        "bad-json",
        "catastrophic-regex",
        "too-many-rules",
        "narrate-missing",
    ],
)
def test_cli_lexicon_bad_input_is_one_line(
    env: dict[str, str], args: tuple[str, ...], stdin: str | None, message: str
) -> None:
    done = listen(*args, env=env, stdin=stdin)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert done.stderr.startswith("listen: error: ")


@pytest.mark.slow
def test_cli_export_to_pls_refuses_regex_rules(env: dict[str, str]) -> None:
    listen("lexicon", "import", "news", "-", env=env, stdin=json.dumps(RULES))
    done = listen("lexicon", "export", "news", "--format", "pls", env=env)
    assert done.returncode == 2 and "export the lexicon as JSON" in done.stderr


@pytest.mark.slow
def test_cli_narrate_with_lexicon_reads_the_rules(env: dict[str, str], tmp_path: Path) -> None:
    listen("lexicon", "import", "news", "-", env=env, stdin=json.dumps(RULES))
    plain = listen(
        "narrate",
        str(SEED_ARTICLE),
        "-o",
        str(tmp_path / "a.mp3"),
        "--timings",
        str(tmp_path / "a.json"),
        env=env,
        timeout=300,
    )
    assert plain.returncode == 0, plain.stderr
    ruled = listen(
        "narrate",
        str(SEED_ARTICLE),
        "-o",
        str(tmp_path / "b.mp3"),
        "--lexicon",
        "news",
        "--timings",
        str(tmp_path / "b.json"),
        env=env,
        timeout=300,
    )
    assert ruled.returncode == 0, ruled.stderr
    before = json.loads((tmp_path / "a.json").read_text())
    after = json.loads((tmp_path / "b.json").read_text())
    assert before["narration_id"] != after["narration_id"]
    # the expansion lengthens the sentences that say NATO; those without a term keep
    # their length (to an MP3 frame or two where a chunk's end moved)
    longer = 0
    for block_a, block_b in zip(before["blocks"], after["blocks"], strict=True):
        for a, b in zip(block_a["sentences"], block_b["sentences"], strict=True):
            duration_a, duration_b = a["end_ms"] - a["start_ms"], b["end_ms"] - b["start_ms"]
            if re.search(r"(?<!\w)NATO(?!\w)", a["spoken"]):
                assert duration_b > duration_a + 500
                longer += 1
            elif not re.search(r"Stoltenberg|(?<!\w)v\d", a["spoken"]):
                assert abs(duration_b - duration_a) <= 60
    assert longer >= 3


def test_cli_serve_refuses_a_shared_database_that_needs_migrating(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    url = postgres.create_database()
    try:
        env = {"LISTEN_CACHE_DIR": str(tmp_path), "LISTEN_DATABASE_URL": url}
        for command in (["serve", "--port", "0"], ["worker"]):
            extra = {"LISTEN_REDIS_URL": "redis://127.0.0.1:1/0"} if command == ["worker"] else {}
            done = listen(*command, env={**env, **extra}, timeout=60)
            assert done.returncode == 1
            assert done.stderr.count("\n") == 1
            assert "needs migrating" in done.stderr and "run `listen db upgrade`" in done.stderr
    finally:
        postgres.drop_database(url)


@pytest.mark.slow
def test_cli_serve_starts_with_only_a_warning_when_the_database_is_unreachable(
    tmp_path: Path,
) -> None:
    import socket

    from harness.ports import free_port

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            "LISTEN_CACHE_DIR": str(tmp_path),
            "LISTEN_DATABASE_URL": f"postgresql://u@127.0.0.1:{free_port()}/x",
        }
        done = listen("serve", "--port", str(port), env=env, timeout=60)
    # past the database check, the next one (the port) is what stops it
    lines = done.stderr.splitlines()
    assert lines[0].startswith("listen: warning: cannot reach the database"), done.stderr
    assert "in use" in lines[-1] and done.returncode == 2


@pytest.mark.slow
def test_cli_narrate_of_a_url_uses_its_sites_lexicon(env: dict[str, str], tmp_path: Path) -> None:
    from harness.webserver import serving_page

    site = {"sites": ["localhost"], "rules": [RULES["rules"][0]]}
    listen("lexicon", "import", "local", "-", env=env, stdin=json.dumps(site))
    page = b"<html><body><article><h1>Summit</h1><p>NATO met today.</p></article></body></html>"
    env = {**env, "LISTEN_ALLOW_PRIVATE_URLS": "1"}
    with serving_page(page) as base:
        for host, lexicon in (("localhost", "local"), ("127.0.0.1", None)):
            timings = tmp_path / f"{host}.json"
            url = base.replace("127.0.0.1", host) + "/story"
            args = ("narrate", url, "-o", str(tmp_path / f"{host}.mp3"), "--timings", str(timings))
            done = listen(*args, env=env, timeout=300)
            assert done.returncode == 0, done.stderr
            manifest = json.loads(timings.read_text())
            assert manifest["lexicon"] == lexicon
        # --no-cache still finds the lexicon in the library database
        done = listen(
            "narrate",
            base.replace("127.0.0.1", "localhost") + "/story",
            "--no-cache",
            "-o",
            str(tmp_path / "scratch.mp3"),
            "--timings",
            str(tmp_path / "scratch.json"),
            env=env,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads((tmp_path / "scratch.json").read_text())["lexicon"] == "local"
