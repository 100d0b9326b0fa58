"""Write finished audio files chunk by chunk, never holding the whole file in memory."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, Protocol

import imageio_ffmpeg

from service.audio.chapters import Chapter
from service.audio.mp3 import frame_info, id3_tag, info_frame, samples_per_frame
from service.errors import OutputError


class AudioWriter(Protocol):
    """Receive chunks in order, then finish the file."""

    def write(self, data: bytes) -> None:
        """Append one chunk."""
        ...

    def finish(self) -> None:
        """Complete the file (headers, flush, fsync)."""
        ...

    def abort(self) -> None:
        """Stop writing; the caller deletes the temp file."""
        ...


class Mp3Writer:
    """Write ID3 tag, an Info frame with the exact frame count, then the frames.

    Chapters are known by title at the start and timed at the end: the tag is
    written first with every time at 0, and overwritten in place (same size)
    by :meth:`finish` once :meth:`time_chapters` has given the times.
    """

    def __init__(
        self,
        path: Path,
        *,
        title: str,
        artist: str | None,
        album: str | None,
        language: str | None,
        chapter_titles: Sequence[str] = (),
    ) -> None:
        self._file: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed in finish/abort
        self._tag = functools.partial(
            id3_tag, title=title, artist=artist, album=album, language=language
        )
        self._chapter_titles = tuple(chapter_titles)
        self._chapters: tuple[Chapter, ...] = ()
        untimed = tuple(Chapter(0, 0, name) for name in self._chapter_titles)
        tag = self._tag(chapters=untimed)
        self._tag_bytes = len(tag)
        self._file.write(tag)
        self._info_offset = self._file.tell()
        self._first_frame: bytes | None = None
        self._frames = 0
        self._bytes = 0

    def time_chapters(self, chapters: Sequence[Chapter]) -> None:
        """Give the chapters named at the start their times (before :meth:`finish`)."""
        if tuple(chapter.title for chapter in chapters) != self._chapter_titles:
            raise ValueError("the timed chapters are not the ones the tag was laid out for")
        self._chapters = tuple(chapters)

    def write(self, data: bytes, *, samples: int | None = None) -> None:
        """Append whole encoded frames; ``samples``, when known, saves counting the frames."""
        if not data:
            return
        if self._first_frame is None:
            self._first_frame = data[:4]
            placeholder = info_frame(self._first_frame, frame_count=0, byte_count=0)
            self._file.write(placeholder)
        self._file.write(data)
        if samples is None:
            self._frames += frame_info(data).frame_count
        else:
            self._frames += samples // samples_per_frame(self._first_frame)
        self._bytes += len(data)

    def finish(self) -> None:
        """Fill in the chapters' times and the Info frame, and flush to disk."""
        if self._chapter_titles:
            if not self._chapters:
                raise ValueError("chapters were laid out but never timed")
            tag = self._tag(chapters=self._chapters)
            if len(tag) != self._tag_bytes:  # the frames after it would be overwritten
                raise ValueError("the timed ID3 tag changed size")
            self._file.seek(0)
            self._file.write(tag)
        if self._first_frame is not None:
            frame = info_frame(self._first_frame, frame_count=self._frames, byte_count=self._bytes)
            self._file.seek(self._info_offset)
            self._file.write(frame)
        _close_synced(self._file)

    def abort(self) -> None:
        """Close without finishing."""
        self._file.close()


class WavWriter:
    """Write a 16-bit mono WAV file."""

    def __init__(self, path: Path, *, sample_rate_hz: int) -> None:
        self._path = path
        self._wave = wave.open(str(path), "wb")  # noqa: SIM115 - closed in finish/abort
        self._wave.setnchannels(1)
        self._wave.setsampwidth(2)
        self._wave.setframerate(sample_rate_hz)

    def write(self, data: bytes) -> None:
        """Append PCM samples."""
        self._wave.writeframesraw(data)

    def finish(self) -> None:
        """Fix the header sizes and flush to disk."""
        self._wave.close()
        with open(self._path, "rb+") as handle:
            _close_synced(handle)

    def abort(self) -> None:
        """Close without finishing."""
        self._wave.close()


class OggOpusWriter:
    """Pipe PCM through ffmpeg's libopus into an Ogg file."""

    def __init__(
        self,
        path: Path,
        *,
        sample_rate_hz: int,
        bitrate_kbps: int,
        title: str,
        artist: str | None,
        album: str | None,
    ) -> None:
        command = [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "s16le",
            "-ar",
            str(sample_rate_hz),
            "-ac",
            "1",
            "-i",
            "pipe:0",
            "-c:a",
            "libopus",
            "-b:a",
            f"{bitrate_kbps}k",
            "-application",
            "voip",
            "-metadata",
            f"title={title}",
        ]
        if artist:
            command += ["-metadata", f"artist={artist}"]
        if album:
            command += ["-metadata", f"album={album}"]
        command += ["-f", "ogg", str(path)]
        self._path = path
        # ffmpeg's messages go to a file: a pipe nobody reads could fill and stall it
        self._messages = tempfile.TemporaryFile()  # noqa: SIM115 - closed in finish/abort
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._messages
        )

    def write(self, data: bytes) -> None:
        """Feed PCM samples to the encoder."""
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(data)
        except BrokenPipeError:
            self._fail()

    def finish(self) -> None:
        """Close the pipe, wait for the encoder and flush to disk."""
        assert self._process.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self._process.stdin.close()
        if self._process.wait() != 0:
            self._fail()
        self._messages.close()
        with open(self._path, "rb+") as handle:
            _close_synced(handle)

    def abort(self) -> None:
        """Stop the encoder."""
        self._stop()
        self._messages.close()

    def _fail(self) -> None:
        self._stop()
        self._messages.seek(0)
        message = self._messages.read().decode("utf-8", "replace").strip().splitlines()
        self._messages.close()
        raise OutputError(f"Opus encoding failed: {message[-1] if message else 'ffmpeg exited'}")

    def _stop(self) -> None:
        """Stop the encoder and close its input."""
        self._process.kill()
        self._process.wait()
        if self._process.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self._process.stdin.close()


def _close_synced(handle: BinaryIO) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()


def file_sha256(path: Path) -> str:
    """Return the SHA-256 hex digest of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
