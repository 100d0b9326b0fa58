"""The ``listen`` command as a new user meets it: exact one-line errors, files like any other."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SEEDS

LISTEN = [sys.executable, "-m", "service"]
NOTE = SEEDS / "short-note.txt"


def _listen(*args: str, cwd: Path, umask: int | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LISTEN, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={key: value for key, value in os.environ.items() if not key.startswith("LISTEN_")},
        preexec_fn=None if umask is None else (lambda: os.umask(umask)),
    )


def _one_line_error(done: subprocess.CompletedProcess[str], exit_code: int = 2) -> str:
    assert done.returncode == exit_code, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("listen: error: ")
    return lines[0].removeprefix("listen: error: ")


# --- a broken install --------------------------------------------------------------


@pytest.mark.slow
def test_cli_missing_package_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    # None in sys.modules is how Python itself marks a module that must not be imported:
    # lxml then raises the very ImportError a plain install without lxml_html_clean gives.
    page = SEEDS / "newsroom-page.html"
    script = (
        "import sys; sys.modules['lxml_html_clean'] = None; "
        f"sys.argv = ['listen', 'extract', {str(page)!r}]; "
        "from service.cli import main; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    message = _one_line_error(done, exit_code=1)
    assert message.startswith("a package listen needs is missing or broken: ")
    assert "lxml_html_clean" in message and "reinstall" in message


# --- inputs, named once and exactly ------------------------------------------------


def test_cli_extract_names_a_missing_file_once(tmp_path: Path) -> None:
    assert _one_line_error(_listen("extract", "missing.txt", cwd=tmp_path)) == (
        "missing.txt: no such file"
    )


def test_cli_extract_names_the_input_of_a_message_that_does_not(tmp_path: Path) -> None:
    (tmp_path / "blank.txt").write_text("  \n\n")
    assert _one_line_error(_listen("extract", "blank.txt", cwd=tmp_path)) == (
        "blank.txt: the input is empty"
    )


@pytest.mark.parametrize("url", ["ftp://example.org/story.html", "file:///etc/hostname"])
def test_cli_other_schemes_are_not_taken_for_files(tmp_path: Path, url: str) -> None:
    scheme = url.split(":", 1)[0]
    for command in ("extract", "narrate"):
        assert _one_line_error(_listen(command, url, cwd=tmp_path)) == (
            f"{url}: only http and https addresses are fetched, not {scheme}"
        )


def test_cli_address_without_scheme_says_how_to_fetch_it(tmp_path: Path) -> None:
    message = _one_line_error(_listen("extract", "www.example.com/story", cwd=tmp_path))
    assert message == (
        "www.example.com/story: no such file; to fetch a web page, give its address "
        "with https:// in front"
    )


def test_cli_private_address_says_how_to_allow_it(tmp_path: Path) -> None:
    message = _one_line_error(_listen("narrate", "http://127.0.0.1:9/story", cwd=tmp_path))
    assert message.endswith("set LISTEN_ALLOW_PRIVATE_URLS=1 to allow private addresses")


# --- output files ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["-o", "x.flac"],
            "cannot write x.flac: .flac is not a format listen writes; "
            "name the file .mp3, .ogg (or .opus) or .wav",
        ),
        (
            ["-o", "x.m4a", "--format", "mp3"],
            "cannot write x.m4a: .m4a is not a format listen writes; "
            "name the file .mp3, .ogg (or .opus) or .wav",
        ),
        (
            ["--format", "wav", "-o", "x.mp3"],
            "the format wav does not match the file name x.mp3; "
            "name the file .wav, or leave the format out",
        ),
        (
            ["--format", "mp3", "-o", "x.opus"],
            "the format mp3 does not match the file name x.opus; "
            "name the file .mp3, or leave the format out",
        ),
    ],
)
@pytest.mark.slow
def test_cli_narrate_refuses_a_suffix_it_cannot_write(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    done = _listen("narrate", str(NOTE), "--cache-dir", "cache", *args, cwd=tmp_path)
    assert _one_line_error(done) == expected
    assert sorted(path.name for path in tmp_path.iterdir()) == []  # nothing read, nothing made


@pytest.mark.slow
def test_cli_narrate_writes_ogg_opus_under_opus(tmp_path: Path) -> None:
    done = _listen("narrate", str(NOTE), "--cache-dir", "cache", "-o", "note.opus", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "note.opus").read_bytes()[:4] == b"OggS"


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
@pytest.mark.slow
def test_cli_narrate_files_follow_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    done = _listen(
        "narrate", str(NOTE), "--cache-dir", "cache", "-o", "note.mp3",
        "--timings", "t.json", "--captions", "c.vtt",
        cwd=tmp_path, umask=umask,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for name in ("note.mp3", "t.json", "c.vtt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]


@pytest.mark.slow
def test_cli_narrate_over_a_file_keeps_its_permissions(tmp_path: Path) -> None:
    out = tmp_path / "note.mp3"
    out.write_bytes(b"old")
    out.chmod(0o640)
    done = _listen("narrate", str(NOTE), "--cache-dir", "cache", "-o", "note.mp3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert out.read_bytes()[:3] == b"ID3"


# --- the server --------------------------------------------------------------------


def test_cli_serve_on_a_busy_port_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _listen("serve", "--port", str(port), cwd=tmp_path)
    assert _one_line_error(done) == (
        f"port {port} on 127.0.0.1 is in use; choose another with --port (or LISTEN_PORT)"
    )


@pytest.mark.slow
def test_cli_serve_on_an_address_not_of_this_machine_is_one_line(tmp_path: Path) -> None:
    done = _listen("serve", "--host", "192.0.2.1", "--port", "8000", cwd=tmp_path)
    assert _one_line_error(done) == (
        "cannot serve on 192.0.2.1: it is not an address of this machine"
    )
