"""Plan a narration: which sentences, in which chunks, under which cache keys.

A plan is pure data, computed without loading an engine, so any web node can
compute a narration's id and any worker can carry it out. Keys hash everything
that changes the sound, so an edited paragraph changes one chunk's key only.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from service.config import AudioSettings
from service.engines.base import VoiceSettings
from service.engines.phonemes import PHONEME_FORMAT_VERSION
from service.text.alignment import Edits
from service.text.article import Article
from service.text.blocks import Sentence, SpokenBlock
from service.text.lexicon.marks import has_marks, plain_text
from service.text.words import count_words

AUDIO_FORMAT_VERSION = 2
"""Bump when anything changes the audio, or the timings kept with it, made from the same
inputs. 2: a clip keeps its engine's word timings, a chunk and a narration every word's."""
FILE_FORMAT_VERSION = 2
"""Bump when the finished file changes but its sentences and chunks do not (its tags).

It goes into the narration id only: every cached sentence and chunk is kept.
2: the MP3's ID3 tag carries the chapters.
"""
NARRATION_ID = re.compile(r"[0-9a-f]{32}")
"""A narration id: 32 lowercase hex digits (see :func:`plan_narration`)."""
MAX_CHUNK_SENTENCES = 8
"""A long block is split into chunks of at most this many sentences (fewer at the start)."""
HEAD_KINDS = frozenset({"title", "byline", "heading"})


def _digest(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class OutputSettings:
    """How chunks are shaped and encoded."""

    sample_rate_hz: int = 22050
    """Sample rate of every chunk and of the finished file."""
    mp3_bitrate_kbps: int = 48
    """Constant bitrate of the MP3 chunks."""
    target_dbfs: float = -20.0
    """Loudness (RMS) every sentence is brought to."""
    pause_sentence_ms: int = 250
    """Silence after a sentence inside a block."""
    pause_paragraph_ms: int = 650
    """Silence after a paragraph, quote or list item."""
    pause_heading_ms: int = 900
    """Silence after a title, byline or heading."""

    @classmethod
    def from_settings(cls, settings: AudioSettings) -> OutputSettings:
        """Take the output fields from the audio settings."""
        return cls(
            mp3_bitrate_kbps=settings.mp3_bitrate_kbps,
            target_dbfs=settings.target_dbfs,
            pause_sentence_ms=settings.pause_sentence_ms,
            pause_paragraph_ms=settings.pause_paragraph_ms,
            pause_heading_ms=settings.pause_heading_ms,
        )

    def pause_after_block_ms(self, kind: str) -> int:
        """Return the silence after a block of ``kind``."""
        return self.pause_heading_ms if kind in HEAD_KINDS else self.pause_paragraph_ms


@dataclass(frozen=True)
class ClipPlan:
    """One sentence to synthesise, shaped into a clip (or the clip found in the cache)."""

    clip_key: str
    """Cache key of the shaped sentence audio."""
    spoken: str
    """Text given to the engine: the sentence's spoken form with the lexicon's rules applied."""
    pause_after_ms: int
    """Silence that follows the sentence inside its chunk."""
    block_index: int
    """Index of the spoken block the sentence belongs to."""
    sentence_index: int
    """Index of the sentence within its block."""
    engine_edits: Edits = ()
    """Where ``spoken`` differs from the sentence's spoken text (a lexicon's rules), so
    the engine's word offsets lead back to the sentence."""


@dataclass(frozen=True)
class ChunkPlan:
    """A run of sentences of one block, encoded together: the unit of progress and streaming."""

    chunk_key: str
    """Cache key of the encoded chunk."""
    clips: tuple[ClipPlan, ...]
    """The sentences, in order."""
    voice: VoiceSettings | None = None
    """The voice of a block read in another language than the article; None: the plan's."""

    @property
    def label(self) -> str:
        """Name the chunk for error messages: block number and first words."""
        first = self.clips[0]
        words = " ".join(plain_text(first.spoken).split()[:6])
        return f"block {first.block_index}, sentence {first.sentence_index + 1} ({words!r})"


@dataclass(frozen=True)
class VoiceFallback:
    """The natural voice an article would have been read by, and why it was not."""

    wanted: str
    """The voice id passed over (``hibari:heart``)."""
    reason: str
    """Why it could not load."""


@dataclass(frozen=True)
class NarrationPlan:
    """Everything needed to make, stream and describe one narration."""

    narration_id: str
    """Stable id: a hash of the chunks and the article's displayed text."""
    title: str
    """Article title."""
    byline: str | None
    """Author names, when known."""
    site_name: str | None
    """Publication, when known."""
    language: str
    """Article language."""
    source_url: str | None
    """Where the article came from, when it came from a URL."""
    text: str
    """The article text that character offsets refer to."""
    blocks: tuple[SpokenBlock, ...]
    """Spoken blocks with their sentences and offsets."""
    voice: VoiceSettings
    """Voice and its settings."""
    engine_version: str
    """Engine identity that went into the keys."""
    output: OutputSettings
    """Shaping and encoding settings."""
    chunks: tuple[ChunkPlan, ...] = field(default=())
    """The chunks in playing order."""
    lexicon: str | None = None
    """Name of the pronunciation lexicon the narration was read by, if any."""
    lexicon_rules_applied: int = 0
    """How many of that lexicon's rules matched somewhere in the narration."""
    voice_fallback: VoiceFallback | None = None
    """Set when the article's natural voice could not load and eSpeak NG reads it instead."""

    def voice_of(self, chunk: ChunkPlan) -> VoiceSettings:
        """Return the voice that reads ``chunk``."""
        return chunk.voice or self.voice

    @property
    def chunks_total(self) -> int:
        """Return the number of chunks (the unit of progress and streaming)."""
        return len(self.chunks)

    @functools.cached_property
    def word_count(self) -> int:
        """Return the number of words of the article, counted as everywhere else."""
        return count_words(self.text)

    def to_json(self) -> str:
        """Serialise the plan (for the store and for job queues)."""
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> NarrationPlan:
        """Read a plan written by :meth:`to_json`."""
        data = json.loads(raw)
        blocks = tuple(
            SpokenBlock(
                **{
                    **b,
                    "sentences": tuple(
                        Sentence(**{**s, "spoken_edits": _edits(s.get("spoken_edits"))})
                        for s in b["sentences"]
                    ),
                }
            )
            for b in data["blocks"]
        )
        chunks = tuple(
            ChunkPlan(
                c["chunk_key"],
                tuple(
                    ClipPlan(**{**clip, "engine_edits": _edits(clip.get("engine_edits"))})
                    for clip in c["clips"]
                ),
                VoiceSettings(**c["voice"]) if c.get("voice") else None,
            )
            for c in data["chunks"]
        )
        return cls(
            **{
                **data,
                "blocks": blocks,
                "chunks": chunks,
                "voice": VoiceSettings(**data["voice"]),
                "output": OutputSettings(**data["output"]),
                "voice_fallback": (
                    VoiceFallback(**data["voice_fallback"]) if data.get("voice_fallback") else None
                ),
            }
        )


def _edits(raw: Any) -> Edits:
    """Read edits from JSON (lists), or none from a plan written before they existed."""
    return tuple((int(a), int(b), int(c), int(d)) for a, b, c, d in raw or ())


def clip_key(spoken: str, voice: VoiceSettings, engine_version: str, output: OutputSettings) -> str:
    """Return the cache key of one shaped sentence."""
    return _clip_key(spoken, _sound(voice, engine_version, output))


def _sound(voice: VoiceSettings, engine_version: str, output: OutputSettings) -> dict[str, Any]:
    """Return everything but the text that changes how a sentence sounds."""
    return {
        "audio_format": AUDIO_FORMAT_VERSION,
        "engine_version": engine_version,
        "voice": asdict(voice),
        "sample_format": "s16le-mono",
        "target_dbfs": output.target_dbfs,
    }


def _clip_key(spoken: str, sound: dict[str, Any]) -> str:
    if has_marks(spoken):  # how marks become each engine's phonemes is part of the sound
        return _digest({**sound, "spoken": spoken, "phonemes": PHONEME_FORMAT_VERSION})
    return _digest({**sound, "spoken": spoken})


def chunk_key(clips: list[ClipPlan], output: OutputSettings) -> str:
    """Return the cache key of an encoded chunk."""
    return _digest(
        {
            "audio_format": AUDIO_FORMAT_VERSION,
            "clips": [[c.clip_key, c.pause_after_ms] for c in clips],
            "sample_rate_hz": output.sample_rate_hz,
            "mp3_bitrate_kbps": output.mp3_bitrate_kbps,
        }
    )


def chunk_sentences(chunk_index: int) -> int:
    """Return the most sentences chunk ``chunk_index`` may hold: 1, 1, 2, 4, then 8.

    Small first chunks let a listener start while the rest is made. With Piper
    (about 7x real time per worker), a two-word title followed by a five-sentence
    paragraph in one chunk left 5 s of silence after the title.
    """
    return min(MAX_CHUNK_SENTENCES, 1 << max(0, chunk_index - 1))


BlockVoices = Mapping[int, tuple[VoiceSettings, str]]
"""Voice and engine version of each block read with another voice than the article's."""


class EngineText(Protocol):
    """A lexicon applied while planning: what each engine is given, and which rules applied."""

    @property
    def name(self) -> str:
        """Return the lexicon's name."""

    def __call__(self, spoken: str, voice: VoiceSettings) -> str:
        """Return the text the engine of ``voice`` is given for the sentence ``spoken``."""

    def rewrite(self, spoken: str, voice: VoiceSettings) -> tuple[str, Edits]:
        """Return what :meth:`__call__` returns, and the edits that lead back to ``spoken``."""

    def applied(self) -> list[dict[str, Any]]:
        """Return the rules that matched so far (as JSON data), in order of first match."""


def plan_chunks(
    blocks: tuple[SpokenBlock, ...],
    voice: VoiceSettings,
    engine_version: str,
    output: OutputSettings,
    block_voices: BlockVoices | None = None,
    engine_text: EngineText | None = None,
) -> tuple[ChunkPlan, ...]:
    """Group each block's sentences into chunks and key them, each with its block's voice.

    With ``engine_text`` (a lexicon), a sentence's key hashes the text after
    the rules that matched it: a rule changes the keys of its sentences only.
    """
    chunks: list[ChunkPlan] = []
    article_sound = _sound(voice, engine_version, output)
    for block in blocks:
        own = (block_voices or {}).get(block.index)
        sound = article_sound if own is None else _sound(*own, output)
        block_voice = voice if own is None else own[0]
        said: list[tuple[str, Edits]] = [
            (s.spoken, ()) if engine_text is None else engine_text.rewrite(s.spoken, block_voice)
            for s in block.sentences
        ]
        last = len(block.sentences) - 1
        clips = [
            ClipPlan(
                clip_key=_clip_key(text, sound),
                spoken=text,
                pause_after_ms=(
                    output.pause_after_block_ms(block.kind)
                    if i == last
                    else output.pause_sentence_ms
                ),
                block_index=block.index,
                sentence_index=i,
                engine_edits=edits,
            )
            for i, (text, edits) in enumerate(said)
        ]
        start = 0
        while start < len(clips):
            part = clips[start : start + chunk_sentences(len(chunks))]
            chunks.append(
                ChunkPlan(chunk_key(part, output), tuple(part), None if own is None else own[0])
            )
            start += len(part)
    return tuple(chunks)


def plan_narration(
    article: Article,
    blocks: tuple[SpokenBlock, ...],
    voice: VoiceSettings,
    engine_version: str,
    output: OutputSettings,
    block_voices: BlockVoices | None = None,
    engine_text: EngineText | None = None,
    voice_fallback: VoiceFallback | None = None,
) -> NarrationPlan:
    """Key every sentence and chunk of ``article`` (split into ``blocks``), and the whole."""
    chunks = plan_chunks(blocks, voice, engine_version, output, block_voices, engine_text)
    described: dict[str, Any] = {
        "audio_format": AUDIO_FORMAT_VERSION,
        "file_format": FILE_FORMAT_VERSION,
        "chunks": [c.chunk_key for c in chunks],
        "text": article.text,
        "kinds": [b.kind for b in blocks],
        "title": article.title,
        "byline": article.byline,
        "site_name": article.site_name,
        "language": article.language,
    }
    applied: list[dict[str, Any]] = []
    if engine_text is not None:
        # The lexicon's name and the rules that applied are what the narration reports, so
        # they are part of its id (two lexicons never share a plan); the rules that did
        # not apply are not, so editing them leaves this narration alone.
        applied = engine_text.applied()
        described["lexicon"] = {"name": engine_text.name, "applied": applied}
    narration_id = _digest(described)[:32]
    return NarrationPlan(
        narration_id=narration_id,
        title=article.title,
        byline=article.byline,
        site_name=article.site_name,
        language=article.language,
        source_url=article.source_url,
        text=article.text,
        blocks=blocks,
        voice=voice,
        engine_version=engine_version,
        output=output,
        chunks=chunks,
        lexicon=engine_text.name if engine_text is not None else None,
        lexicon_rules_applied=len(applied),
        voice_fallback=voice_fallback,
    )
