"""Encode MPEG audio frames and write the headers a finished MP3 file needs.

Chunks are encoded separately (in parallel workers) as constant-bitrate frames
without a Xing header, so they can be joined byte for byte. The finished file
gets one ID3v2 tag (with its chapters) and one "Info" frame that carries the exact frame count, so
browsers and ffprobe report the right duration without estimating.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import lameenc

from service.audio.chapters import MAX_CHAPTERS, Chapter

ENCODER_DELAY_SAMPLES = 576 + 529
"""Samples of encoder priming before the first input sample comes out (LAME)."""

ID3_HEADER_BYTES = 10
"""Length of an ID3v2 tag header (and of a frame header)."""
NO_OFFSET = 0xFFFFFFFF
"""A ``CHAP`` frame's byte offset meaning "use the times" (ID3v2 chapter frame addendum)."""

_BITRATES_KBPS = {
    # MPEG-1 Layer III
    3: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    # MPEG-2 and 2.5 Layer III
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    0: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_SAMPLE_RATES_HZ = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


class Mp3FormatError(ValueError):
    """Bytes that should be MPEG Layer III frames are not."""


@dataclass(frozen=True)
class FrameInfo:
    """What the frames of one chunk hold."""

    frame_count: int
    """Number of MPEG frames."""
    samples_per_frame: int
    """1152 for MPEG-1, 576 for MPEG-2/2.5 Layer III."""
    sample_rate_hz: int
    """Sample rate of the frames."""

    @property
    def sample_count(self) -> int:
        """Return the samples a decoder outputs for these frames (no gapless trim)."""
        return self.frame_count * self.samples_per_frame


def encode_frames(pcm: bytes, *, sample_rate_hz: int, bitrate_kbps: int, quality: int = 7) -> bytes:
    """Encode mono 16-bit PCM to CBR MP3 frames with no Xing/Info header."""
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(bitrate_kbps)
    encoder.set_in_sample_rate(sample_rate_hz)
    encoder.set_channels(1)
    encoder.set_quality(quality)
    return bytes(encoder.encode(pcm)) + bytes(encoder.flush())


def _header(data: bytes, offset: int) -> tuple[int, int, int, int]:
    """Return (version bits, frame bytes, samples per frame, sample rate) of a frame."""
    if offset + 4 > len(data):
        raise Mp3FormatError(f"truncated frame header at byte {offset}")
    (word,) = struct.unpack_from(">I", data, offset)
    if (word >> 21) & 0x7FF != 0x7FF or (word >> 17) & 3 != 1:
        raise Mp3FormatError(f"no Layer III frame sync at byte {offset}")
    version = (word >> 19) & 3
    bitrate_index = (word >> 12) & 15
    rate_index = (word >> 10) & 3
    if version == 1 or bitrate_index in (0, 15) or rate_index == 3:
        raise Mp3FormatError(f"unsupported frame header at byte {offset}")
    padding = (word >> 9) & 1
    bitrate = _BITRATES_KBPS[version][bitrate_index] * 1000
    sample_rate = _SAMPLE_RATES_HZ[version][rate_index]
    samples = 1152 if version == 3 else 576
    size = (samples // 8) * bitrate // sample_rate + padding
    return version, size, samples, sample_rate


def samples_per_frame(header: bytes) -> int:
    """Return how many samples each frame holds, from one frame header (576 or 1152)."""
    return _header(header, 0)[2]


def frame_info(data: bytes) -> FrameInfo:
    """Walk the frames of ``data`` and count them; raise if it is not clean frames."""
    offset = count = 0
    samples = rate = 0
    while offset < len(data):
        _, size, samples, rate = _header(data, offset)
        offset += size
        count += 1
    if offset != len(data):
        raise Mp3FormatError("last frame is truncated")
    return FrameInfo(frame_count=count, samples_per_frame=samples or 576, sample_rate_hz=rate)


def info_frame(first_frame: bytes, *, frame_count: int, byte_count: int) -> bytes:
    """Build a Xing "Info" frame (the CBR flavour) matching ``first_frame``'s format.

    Decoders skip it and read the exact frame count from it, so the duration
    they report is exact instead of estimated from the bitrate.
    """
    version, _, samples, rate = _header(first_frame, 0)
    (word,) = struct.unpack_from(">I", first_frame, 0)
    word &= ~(1 << 9)  # no padding: a fixed, known size
    word |= 1 << 16  # no CRC
    header = struct.pack(">I", word)
    bitrate_index = (word >> 12) & 15
    size = (samples // 8) * _BITRATES_KBPS[version][bitrate_index] * 1000 // rate
    channel_mode = (word >> 6) & 3
    mono = channel_mode == 3
    side_info = (17 if mono else 32) if version == 3 else (9 if mono else 17)
    body = b"Info" + struct.pack(">III", 0x3, frame_count + 1, byte_count + size)
    frame = header + bytes(side_info) + body
    if len(frame) > size:
        raise Mp3FormatError("bitrate too low for an Info frame")
    return frame + bytes(size - len(frame))


def id3_tag(
    *,
    title: str,
    artist: str | None,
    album: str | None,
    language: str | None,
    chapters: Sequence[Chapter] = (),
) -> bytes:
    """Return an ID3v2.4 tag with the narration's title, byline, site and chapters.

    Chapters are ``CHAP`` frames (times in milliseconds, byte offsets left
    unset as the specification allows) under one ordered top-level ``CTOC``.
    Times are fixed-size fields: the tag's length does not depend on them, so
    a tag written with untimed chapters can later be overwritten in place.
    """
    # the final file only, not workers
    from mutagen.id3 import CHAP, CTOC, TALB, TIT2, TLAN, TPE1, TXXX, CTOCFlags

    if len(chapters) > MAX_CHAPTERS:
        raise ValueError(f"an ID3 table of contents holds {MAX_CHAPTERS} chapters at most")
    frames: list[Any] = [TIT2(encoding=3, text=title)]
    if artist:
        frames.append(TPE1(encoding=3, text=artist))
    if album:
        frames.append(TALB(encoding=3, text=album))
    if language:
        frames.append(TLAN(encoding=3, text=language))
    frames.append(TXXX(encoding=3, desc="generator", text="listen-service"))
    if chapters:
        ids = [f"chp{index}" for index in range(len(chapters))]
        frames.append(
            CTOC(
                element_id="toc",
                flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                child_element_ids=ids,
                sub_frames=[TIT2(encoding=3, text="Chapters")],
            )
        )
        frames += [
            CHAP(
                element_id=element_id,
                start_time=chapter.start_ms,
                end_time=chapter.end_ms,
                start_offset=NO_OFFSET,
                end_offset=NO_OFFSET,
                sub_frames=[TIT2(encoding=3, text=chapter.title)],
            )
            for element_id, chapter in zip(ids, chapters, strict=True)
        ]
    body = b"".join(_frame_bytes(frame) for frame in frames)
    return b"ID3\x04\x00\x00" + _syncsafe(len(body)) + body


def _frame_bytes(frame: Any) -> bytes:
    """Return one frame as mutagen encodes it in an ID3v2.4 tag.

    mutagen writes a tag's frames sorted by size; readers that take chapters
    in file order (ffmpeg) would list them out of order, so each frame is
    encoded alone and the frames are joined in the order given.
    """
    from mutagen.id3 import ID3

    tag = ID3()
    tag.add(frame)
    buffer = io.BytesIO()
    tag.save(buffer, padding=lambda _info: 0, v2_version=4)
    return buffer.getvalue()[ID3_HEADER_BYTES:]


def _syncsafe(value: int) -> bytes:
    """Return ``value`` as ID3v2's 28-bit size: four bytes of seven bits each."""
    if value >= 1 << 28:
        raise ValueError("an ID3 tag is 256 MB at most")
    return bytes((value >> shift) & 0x7F for shift in (21, 14, 7, 0))
