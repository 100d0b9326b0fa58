"""Choosing a voice by ear: every voice offers a short preview, made once like a narration."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.library.voice_samples import SAMPLES
from service.web import close_app, create_app
from tests.audio_tools import decode, rms


def make_app(tmp_path: Path, **overrides: Any) -> Iterator[Flask]:
    app = create_app({"cache_dir": tmp_path / "cache", "workers": 2, **overrides})
    app.testing = True
    yield app
    close_app(app)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[FlaskClient]:
    for app in make_app(tmp_path):
        yield app.test_client()


def _preview(client: FlaskClient, url: str, tmp_path: Path) -> tuple[str, Path]:
    """Follow a preview URL to the finished MP3; return the narration id and the file."""
    sent = client.get(url)
    assert sent.status_code == 303, sent.get_data(as_text=True)
    assert sent.headers["Cache-Control"] == "no-store"
    stream = sent.headers["Location"]
    narration_id = stream.split("/")[-2]
    # done, not only the MP3 in the store: its timings are written just after it
    for _ in range(300):
        if client.get(f"/api/narrations/{narration_id}").get_json()["status"] == "done":
            break
        time.sleep(0.1)
    finished = client.get(f"/api/narrations/{narration_id}/audio.mp3")
    assert finished.status_code == 200
    path = tmp_path / f"{narration_id}.mp3"
    path.write_bytes(finished.get_data())
    finished.close()
    return narration_id, path


@pytest.mark.slow
def test_every_voice_has_a_preview_that_reads_its_sample(
    client: FlaskClient, tmp_path: Path
) -> None:
    voices = client.get("/api/voices").get_json()["voices"]
    assert voices and all(v["preview_url"].endswith("/preview.mp3") for v in voices)
    english = next(v for v in voices if v["id"] == "pyttsx3:gmw/en-us")
    assert english["preview_url"] == "/api/voices/pyttsx3:gmw/en-us/preview.mp3"
    narration_id, path = _preview(client, english["preview_url"], tmp_path)
    samples = decode(path)
    duration_s = len(samples) / 22050
    assert 2.0 < duration_s < 8.0  # one short sentence, heard
    assert rms(samples, 0, duration_s * 1000) > 300
    timings = client.get(f"/api/narrations/{narration_id}/timings.json").get_json()
    assert SAMPLES["en"] in timings["text"]
    assert {b["voice"] for b in timings["blocks"]} == {"pyttsx3:gmw/en-us"}
    # made once: asking again leads to the same narration, already finished
    again = client.get(english["preview_url"])
    assert again.headers["Location"].split("/")[-2] == narration_id
    # the rate is part of what is heard, and only the offered rates are made
    faster_id, faster = _preview(client, english["preview_url"] + "?rate=250", tmp_path)
    assert faster_id != narration_id
    assert len(decode(faster)) < 0.85 * len(samples)
    refused = client.get(english["preview_url"] + "?rate=251")
    assert refused.status_code == 400
    assert refused.mimetype == "application/problem+json"


@pytest.mark.slow
def test_a_voice_reads_the_sample_of_its_language(client: FlaskClient, tmp_path: Path) -> None:
    german = client.get("/api/voices?language=de").get_json()["voices"][0]
    narration_id, _ = _preview(client, german["preview_url"], tmp_path)
    timings = client.get(f"/api/narrations/{narration_id}/timings.json").get_json()
    assert SAMPLES["de"] in timings["text"]


def test_preview_of_an_unknown_voice_is_a_clear_error(client: FlaskClient) -> None:
    for voice in ("nope:none", "pyttsx3:klingon", "../../etc/passwd", "x" * 300):
        answer = client.get(f"/api/voices/{voice}/preview.mp3")
        assert answer.status_code in (400, 404), (voice, answer.status_code)
        assert answer.mimetype == "application/problem+json"
        assert "voice" in answer.get_json()["detail"]


@pytest.mark.slow
def test_preview_takes_the_right_to_make_audio_when_keys_are_set(tmp_path: Path) -> None:
    for app in make_app(tmp_path, api_keys="k1"):
        client = app.test_client()
        url = "/api/voices/pyttsx3:gmw/en-us/preview.mp3"
        assert client.get(url).status_code == 401
        assert client.get(url, headers={"Authorization": "Bearer k1"}).status_code == 303


def _wait_done(client: FlaskClient, narration_id: str) -> dict[str, Any]:
    for _ in range(600):
        body: dict[str, Any] = client.get(f"/api/narrations/{narration_id}").get_json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"narration {narration_id} did not finish")


@pytest.mark.slow
def test_the_same_article_in_another_voice_has_the_same_text(client: FlaskClient) -> None:
    text = (
        "A harbour story\n\nBy Ann Lee\n\n"
        "The lights came back on Tuesday, said Dr. Lee.\n\nAll was well."
    )
    first = client.post(
        "/api/narrations", json={"text": text, "voice": "pyttsx3:gmw/en-us", "rate": 190}
    ).get_json()
    _wait_done(client, first["id"])
    answer = client.post(f"/api/narrations/{first['id']}/voice", json={"voice": "pyttsx3:gmw/en"})
    assert answer.status_code in (200, 202)
    second = _wait_done(client, answer.get_json()["id"])
    assert second["id"] != first["id"]
    assert (second["voice"], second["rate_wpm"]) == ("pyttsx3:gmw/en", 190)
    before = client.get(first["timings_url"]).get_json()
    after = client.get(second["timings_url"]).get_json()
    assert after["text"] == before["text"]
    assert [b["kind"] for b in after["blocks"]] == [b["kind"] for b in before["blocks"]]
    words = [[w["start_char"] for s in b["sentences"] for w in s["words"]] for b in after["blocks"]]
    assert words == [
        [w["start_char"] for s in b["sentences"] for w in s["words"]] for b in before["blocks"]
    ]
    # asking again finds it
    again = client.post(f"/api/narrations/{first['id']}/voice", json={"voice": "pyttsx3:gmw/en"})
    assert again.get_json()["id"] == second["id"]


@pytest.mark.slow
def test_another_voice_refuses_bad_requests_clearly(client: FlaskClient) -> None:
    made = client.post("/api/narrations", json={"text": "Short note.\n\nIt is short."}).get_json()
    url = f"/api/narrations/{made['id']}/voice"
    for body, status in (
        ({}, 400),
        ({"voice": ""}, 400),
        ({"voice": 5}, 400),
        ({"voice": "nope:none"}, 400),
    ):
        answer = client.post(url, json=body)
        assert answer.status_code == status, (body, answer.get_data(as_text=True))
        assert answer.mimetype == "application/problem+json"
    unknown = client.post(f"/api/narrations/{'0' * 32}/voice", json={"voice": "pyttsx3:gmw/en"})
    assert unknown.status_code == 404
    assert client.post("/api/narrations/nonsense/voice", json={"voice": "x"}).status_code == 404
