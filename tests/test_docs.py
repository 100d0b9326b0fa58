"""The README tells the truth: every setting is documented and the API examples run as written."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from harness.webserver import running_server
from service.config import setting_fields, setting_types
from tests.audio_tools import decode
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_documents_every_setting() -> None:
    missing = [name for name in setting_fields() if f"`{name}`" not in README]
    assert missing == []


def _settings_table() -> dict[str, str]:
    """Return the README's settings table: variable -> default as written."""
    section = README.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(LISTEN_\w+)` \|([^|]*)\|", section, re.M)
    return {name: default.strip().strip("`") for name, default in rows}


def test_readme_settings_table_lists_exactly_the_settings_with_their_defaults() -> None:
    from service.config import _parse

    table = _settings_table()
    fields = setting_fields()
    assert sorted(set(fields) - set(table)) == [], "settings missing from the table"
    assert sorted(set(table) - set(fields)) == [], "table rows that are no setting"
    hints = setting_types()
    wrong = {
        name: (written, field.default)
        for name, written in table.items()
        for field in [fields[name]]
        if _parse(hints[field.name], written, name) != field.default
    }
    assert wrong == {}


def test_readme_quick_start_has_exactly_two_commands() -> None:
    quick = README.split("## Quick start", 1)[1].split("##", 1)[0]
    block = re.search(r"```sh\n(.*?)```", quick, re.S)
    assert block is not None
    commands = [line for line in block.group(1).splitlines() if line.strip()]
    assert [c.split("#")[0].strip() for c in commands] == ["make run", "make test"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci


@pytest.mark.slow
def test_readme_quick_start_command_line_runs_as_written(tmp_path: Path) -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    section = quick.split("**On the command line.**", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    script = block.group(1).replace(".venv/", f"{ROOT}/.venv/").replace("seeds/", f"{ROOT}/seeds/")
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "LISTEN_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert done.returncode == 0, done.stderr
    assert "[TITLE] Harbour town votes to rebuild its flooded sea wall" in done.stdout
    assert done.stdout.splitlines()[-1].startswith("story.mp3\t")
    assert len(decode(tmp_path / "story.mp3")) > 22050 * 30


@pytest.mark.server
def test_readme_api_examples_run_as_written(tmp_path: Path) -> None:
    section = README.split("## The web API", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    script = block.group(1).replace("@seeds/", f"@{ROOT / 'seeds'}/")
    with running_server(tmp_path / "cache") as base:
        script = script.replace("BASE=http://127.0.0.1:8000", f"BASE={base}")
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=180,
        )
    assert done.returncode == 0, done.stderr
    assert "\n206\n" in done.stdout
    assert (tmp_path / "story.mp3").read_bytes()[:3] == b"ID3"
    assert len(decode(tmp_path / "stream.mp3")) > 22050 * 3
    assert len(decode(tmp_path / "hello.mp3")) > 22050
    assert "WEBVTT" in done.stdout
    assert "<grapheme>NATO</grapheme>" in done.stdout
    assert re.search(r'"lexicon":\s*"newsroom"', done.stdout), done.stdout
    assert done.stdout.rstrip().endswith("204")


@pytest.mark.server
def test_readme_publisher_examples_run_as_written(tmp_path: Path) -> None:
    section = README.split("## For publishers", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    with running_server(tmp_path / "cache") as base:
        script = block.group(1).replace("BASE=http://127.0.0.1:8000", f"BASE={base}")
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=180,
        )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert '"slug":"daily"' in out and '"title":"The Daily Read"' in out
    assert "<enclosure " in out and 'type="application/json+chapters"' in out
    assert "</rss>304\n" in out  # the feed, then the conditional GET's status
    assert '"version":"1.2.0"' in out
    assert '"plays":1' in out and '"collection":"daily"' in out


def test_readme_make_run_takes_the_port_and_host() -> None:
    assert "`make run PORT=8080`" in README and "`make run HOST=0.0.0.0 PORT=8080`" in README
    outer_make = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}  # when `make test` runs this test
    done = subprocess.run(
        ["make", "--dry-run", "run", "HOST=0.0.0.0", "PORT=8080"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={key: value for key, value in os.environ.items() if key not in outer_make},
    )
    assert done.returncode == 0, done.stderr
    (serve,) = [line for line in done.stdout.splitlines() if " serve " in line]
    assert serve.split() == [
        ".venv/bin/listen", "serve", "--seed", "seeds", "--host", "0.0.0.0", "--port", "8080",
    ]  # fmt: skip
