"""Files engines derive once: made whole or not at all, checked when used, shared by racers."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest

from service.config import EngineSettings
from service.engines.derived import STALE_TEMP_S, derived_folder, engine_cache_root


def _writer(calls: list[str], text: str = "made"):  # type: ignore[no-untyped-def]
    def build(into: Path) -> None:
        calls.append(str(into))
        (into / "data.bin").write_text(text)

    return build


def test_files_are_made_once_then_found(tmp_path: Path) -> None:
    settings = EngineSettings(engine_cache_dir=str(tmp_path))
    calls: list[str] = []
    first = derived_folder(settings, "thing", "v1", _writer(calls))
    again = derived_folder(settings, "thing", "v1", _writer(calls))
    assert first is not None and first == again and len(calls) == 1
    assert (first / "data.bin").read_text() == "made"
    assert first.stat().st_mode & 0o777 == 0o755  # other users of a shared cache read it
    # what they are made from names the folder: another version is made beside it
    other = derived_folder(settings, "thing", "v2", _writer(calls))
    assert other is not None and other != first and len(calls) == 2
    # nothing temporary is left behind
    assert sorted(path.name.startswith(".") for path in tmp_path.iterdir()) == [False, False]


def test_a_changed_or_missing_file_is_made_again(tmp_path: Path) -> None:
    settings = EngineSettings(engine_cache_dir=str(tmp_path))
    calls: list[str] = []
    folder = derived_folder(settings, "thing", "v1", _writer(calls))
    assert folder is not None
    (folder / "data.bin").write_text("mad")
    assert derived_folder(settings, "thing", "v1", _writer(calls)) == folder
    assert (folder / "data.bin").read_text() == "made" and len(calls) == 2
    (folder / "data.bin").unlink()
    assert derived_folder(settings, "thing", "v1", _writer(calls)) == folder
    assert (folder / "data.bin").read_text() == "made" and len(calls) == 3


def test_a_build_that_fails_leaves_nothing(tmp_path: Path) -> None:
    settings = EngineSettings(engine_cache_dir=str(tmp_path))

    def broken(into: Path) -> None:
        (into / "half.bin").write_text("half")
        raise RuntimeError("the package is broken")

    with pytest.raises(RuntimeError, match="broken"):
        derived_folder(settings, "thing", "v1", broken)
    assert list(tmp_path.iterdir()) == []


def test_two_processes_building_at_once_share_the_first_folder(tmp_path: Path) -> None:
    settings = EngineSettings(engine_cache_dir=str(tmp_path))
    calls: list[str] = []

    def slow_build(into: Path) -> None:
        # another process finishes the same folder while this one is still building
        inner = derived_folder(settings, "thing", "v1", _writer(calls, "first"))
        assert inner is not None
        (into / "data.bin").write_text("second")

    folder = derived_folder(settings, "thing", "v1", slow_build)
    assert folder is not None and (folder / "data.bin").read_text() == "first"
    assert [path.name for path in tmp_path.iterdir()] == [folder.name]


def test_temporary_folders_of_killed_processes_are_cleared(tmp_path: Path) -> None:
    settings = EngineSettings(engine_cache_dir=str(tmp_path))
    old = tmp_path / ".thing-abc.partial"
    old.mkdir()
    (old / "data.bin").write_text("half")
    then = time.time() - STALE_TEMP_S - 60
    os.utime(old, (then, then))
    recent = tmp_path / ".thing-def.partial"  # a process building right now
    recent.mkdir()
    derived_folder(settings, "thing", "v1", _writer([]))
    assert not old.exists() and recent.exists()


def test_nowhere_to_keep_the_files_is_said_once_and_not_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "a file").write_text("")
    settings = EngineSettings(engine_cache_dir=str(tmp_path / "a file" / "engines"))
    calls: list[str] = []
    with caplog.at_level(logging.WARNING, logger="service.engines.derived"):
        assert derived_folder(settings, "thing", "v1", _writer(calls)) is None
        assert derived_folder(settings, "thing", "v1", _writer(calls)) is None
    warnings = [r for r in caplog.records if "LISTEN_ENGINE_CACHE_DIR" in r.getMessage()]
    assert len(warnings) == 1 and calls == []


def test_the_cache_is_the_users_unless_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert engine_cache_root(EngineSettings()) == tmp_path / "xdg" / "listen-service" / "engines"
    assert engine_cache_root(EngineSettings(engine_cache_dir=str(tmp_path))) == tmp_path
