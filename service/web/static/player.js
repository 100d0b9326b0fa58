// The player page: custom controls over the page's own <audio>, text highlighting
// (paragraph, sentence and word), click-to-seek, resume, keyboard and lock-screen
// controls. The page works without it.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const dataElement = $("narration-data");
  if (!dataElement) return;
  const data = JSON.parse(dataElement.textContent);
  // Without LISTEN_PUBLIC_URL the server writes the embed snippet's address relative
  // (never from the Host header); the page knows the origin its reader reached.
  for (const code of document.querySelectorAll("code[data-embed]")) {
    code.textContent = code.textContent.replace(
      /src="(\/[^"]*)"/,
      (_match, path) => `src="${new URL(path, window.location.href).href}"`,
    );
  }

  const audio = $("audio");
  const controls = $("controls");
  const play = $("play");
  const playLabel = $("play-label");
  const seek = $("seek");
  const elapsed = $("elapsed");
  const total = $("total");
  const speed = $("speed");
  const download = $("download");
  const statusLine = $("status");
  const resume = $("resume");
  const storyBody = $("story-body");
  const voiceSelect = $("voice");
  const hear = $("hear");
  const sample = new Audio();
  sample.preload = "none";
  const previews = new Map();
  const story = storyBody.closest("article") || storyBody;

  const SKIP_S = 15;
  const ARROW_S = 5;
  const POLL_MS = 1000;
  const positionKey = `listen:position:${data.id}`;
  const speedKey = "listen:speed";
  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  let status = data.status;
  let durationS = data.duration_ms ? data.duration_ms / 1000 : null;
  let usingFile = status === "done";
  let timings = null;
  let readingBlock = null;
  let readingSentence = null;
  let readingWords = null;
  let readingWord = null;
  let ticking = false;
  let dragging = false;
  let lastSavedS = -1;
  let lastUserScrollMs = 0;
  let resumeAfterSwitch = false;
  let spokenBlocks = null;
  // Another voice's narration of the same text opens at "#at=<character>" (and "&play"
  // when it was playing): the same place in the text, whatever the times.
  const arrived = /^#at=(\d+)(&play)?$/.exec(window.location.hash);
  let pendingAt = arrived ? { at: Number(arrived[1]), play: Boolean(arrived[2]) } : null;

  // The word being read is marked with the CSS Custom Highlight API, which changes
  // neither the DOM nor the layout (screen readers hear the text as it is). Without
  // it, each word is wrapped once in a plain <span> that is coloured in place.
  const wordHighlight =
    window.CSS && CSS.highlights && typeof Highlight === "function" ? new Highlight() : null;
  if (wordHighlight) CSS.highlights.set("listen-word", wordHighlight);
  const wordOfSpan = new WeakMap();

  document.documentElement.classList.add("js");
  audio.controls = false;
  controls.hidden = false;

  // --- time ---------------------------------------------------------------

  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds || 0));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const rest = String(s % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
  }

  function estimatedS() {
    return (data.word_count / Math.max(data.rate_wpm, 1)) * 60;
  }

  function totalS() {
    if (durationS) return durationS;
    if (usingFile && Number.isFinite(audio.duration)) return audio.duration;
    return estimatedS();
  }

  function minutesLabel() {
    return `${Math.max(1, Math.round(totalS() / 60))} min`;
  }

  // --- rendering ----------------------------------------------------------

  function renderPlay() {
    let state = "paused";
    let label;
    if (!audio.paused && !audio.ended) {
      state = audio.readyState < 3 ? "loading" : "playing";
      label = "Pause";
    } else if (audio.currentTime > 1 && !audio.ended) {
      label = `Resume · ${clock(totalS() - audio.currentTime)} left`;
    } else {
      label = `Listen · ${minutesLabel()}`;
    }
    play.dataset.state = state;
    playLabel.textContent = label;
  }

  function renderTime() {
    const whole = totalS();
    const now = audio.currentTime || 0;
    const exact = Boolean(durationS) || (usingFile && Number.isFinite(audio.duration));
    seek.max = String(Math.max(whole, now));
    if (!dragging) seek.value = String(now);
    elapsed.textContent = clock(dragging ? Number(seek.value) : now);
    total.textContent = exact ? clock(whole) : `~${clock(whole)}`;
    seek.setAttribute(
      "aria-valuetext",
      `${clock(dragging ? Number(seek.value) : now)} of ${exact ? "" : "about "}${clock(whole)}`,
    );
  }

  function say(message, kind) {
    statusLine.textContent = message;
    if (kind) statusLine.dataset.kind = kind;
    else delete statusLine.dataset.kind;
    statusLine.setAttribute("role", kind === "error" ? "alert" : "status");
  }

  function renderProgress(body) {
    if (status === "failed") {
      say(`The narration failed: ${body.error || "the speech engine stopped"}.`, "error");
    } else if (status !== "done") {
      say(
        `Preparing the audio: ${body.chunks_done} of ${body.chunks_total} parts ready. ` +
          "It plays while the rest is made.",
      );
    } else {
      say("");
    }
  }

  // --- playback -----------------------------------------------------------

  async function start() {
    resume.hidden = true;
    try {
      await audio.play();
    } catch (error) {
      if (error.name !== "AbortError") say(`The audio could not start: ${error.message}`, "error");
    }
  }

  function toggle() {
    if (audio.paused || audio.ended) start();
    else audio.pause();
  }

  function seekableEndS() {
    if (usingFile) return totalS();
    const ranges = audio.seekable;
    return ranges.length ? ranges.end(ranges.length - 1) : 0;
  }

  function seekTo(seconds) {
    const target = Math.max(0, Math.min(seconds, seekableEndS()));
    if (Number.isFinite(target)) audio.currentTime = target;
    renderTime();
    highlight();
  }

  function seekBy(seconds) {
    seekTo((audio.currentTime || 0) + seconds);
  }

  function switchToFile() {
    if (usingFile) return;
    usingFile = true;
    const position = audio.currentTime || 0;
    const wasPlaying = (!audio.paused && !audio.ended) || resumeAfterSwitch;
    const started = audio.played.length > 0 || position > 0;
    audio.src = data.audio_url;
    audio.preload = "metadata";
    if (!started) return;
    audio.addEventListener(
      "loadedmetadata",
      () => {
        audio.currentTime = position;
        if (wasPlaying) start();
      },
      { once: true },
    );
    audio.load();
  }

  // --- status and timings ---------------------------------------------------

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function poll() {
    while (status !== "done" && status !== "failed") {
      await sleep(POLL_MS);
      let body;
      try {
        const response = await fetch(data.status_url, { cache: "no-store" });
        body = await response.json();
      } catch {
        continue;
      }
      status = body.status;
      renderProgress(body);
      if (status === "done") {
        durationS = body.duration_ms ? body.duration_ms / 1000 : durationS;
        finished();
      } else if (status === "failed" && audio.paused) {
        play.disabled = true;
      }
    }
  }

  function finished() {
    download.removeAttribute("aria-disabled");
    loadTimings();
    switchToFile();
    renderTime();
    renderPlay();
    offerResume();
  }

  async function loadTimings() {
    let manifest;
    try {
      const response = await fetch(data.timings_url);
      if (!response.ok) return;
      manifest = await response.json();
    } catch {
      return;
    }
    durationS = manifest.duration_ms / 1000 || durationS;
    spokenBlocks = manifest.blocks;
    timings = manifest.blocks
      .map((block) => {
        const element = story.querySelector(`[data-block="${block.index}"]`);
        return {
          startS: block.start_ms / 1000,
          endS: block.end_ms / 1000,
          element,
          sentences: block.sentences.map((sentence) => {
            const own = element && element.querySelector(`[data-sentence="${sentence.index}"]`);
            return {
              startS: sentence.start_ms / 1000,
              startChar: sentence.start_char,
              element: own,
              words: element
                ? wordsOf(own || element, own ? sentence.start_char : block.start_char, sentence, manifest.text)
                : [],
            };
          }),
        };
      })
      .filter((block) => block.element)
      .sort((a, b) => a.startS - b.startS);
    story.classList.add("has-timings");
    storyBody.classList.add("has-timings");
    renderTime();
    highlight();
    if (pendingAt) goToChar(pendingAt);
  }

  // Seek to the word (or sentence) holding character `at` of the text.
  function goToChar({ at, play: andPlay }) {
    pendingAt = null;
    history.replaceState(null, "", window.location.pathname + window.location.search);
    let target = null;
    for (const block of timings) {
      for (const sentence of block.sentences) {
        for (const item of [sentence, ...sentence.words]) {
          if (item.startChar <= at && (!target || item.startChar >= target.startChar)) target = item;
        }
      }
    }
    if (!target) return;
    seekTo(target.startS);
    if (andPlay) audio.play().catch(() => say("Press play to go on in this voice."));
  }

  // Shift+arrows: to the next sentence, or back to the start of this one (the one before
  // when this one has only just begun), as a player's previous and next track buttons do.
  function stepSentence(direction) {
    const sentences = timings.flatMap((block) => block.sentences).sort((a, b) => a.startS - b.startS);
    const now = audio.currentTime || 0;
    const current = sentences.indexOf(lastStartedBy(sentences, now));
    let index = current + direction;
    if (direction < 0 && current >= 0 && now - sentences[current].startS > 1.5) index = current;
    seekTo(sentences[Math.max(0, Math.min(index, sentences.length - 1))].startS);
  }

  // The character of the text being read now: the word's, else the sentence's.
  function readingChar() {
    if (readingWord) return readingWord.startChar;
    const block = timings && lastStartedBy(timings, audio.currentTime || 0);
    const sentence = block && lastStartedBy(block.sentences, audio.currentTime || 0);
    return sentence ? sentence.startChar : 0;
  }

  // --- voices -------------------------------------------------------------

  async function listVoices() {
    let body;
    try {
      const response = await fetch(voiceSelect.dataset.voicesUrl);
      if (!response.ok) return;
      body = await response.json();
    } catch {
      return;
    }
    const voices = body.voices
      .filter((item) => item.installed !== false) // listed, but not there to be heard
      .sort((a, b) => a.name.localeCompare(b.name));
    // A voice's name is enough, unless two engines offer one of the same name.
    const named = (item) =>
      voices.filter((other) => other.name === item.name).length > 1 ? `${item.name} · ${item.engine}` : item.name;
    for (const item of voices) {
      previews.set(item.id, item.preview_url);
      if (item.id === data.voice) continue;
      const option = document.createElement("option");
      option.value = item.id;
      option.textContent = named(item);
      voiceSelect.append(option);
    }
    const own = voices.find((item) => item.id === data.voice);
    if (own) voiceSelect.options[0].textContent = named(own);
    voiceSelect.value = data.voice;
  }

  function hearVoice() {
    const url = previews.get(voiceSelect.value);
    if (!url) return;
    if (!sample.paused) {
      sample.pause();
      return;
    }
    audio.pause();
    const rate = data.preview_rates_wpm.includes(data.rate_wpm) ? `?rate=${data.rate_wpm}` : "";
    sample.src = url + rate;
    sample.play().catch((error) => say(`The sample could not play: ${error.message}`, "error"));
  }

  async function switchVoice() {
    const voice = voiceSelect.value;
    if (voice === data.voice) return;
    const at = readingChar();
    const playing = !audio.paused && !audio.ended;
    say("Preparing the story in that voice…");
    try {
      const response = await fetch(data.revoice_url, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ voice }),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(body.detail || body.title || `HTTP ${response.status}`);
      window.location.assign(`${body.player_url}#at=${at}${playing ? "&play" : ""}`);
    } catch (error) {
      say(`That voice could not read the story: ${error.message}`, "error");
      voiceSelect.value = data.voice;
    }
  }

  // Ranges over `element`'s text for [start, end) character offsets into it.
  function textRanges(element, spans) {
    const nodes = [];
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    let at = 0;
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      nodes.push({ node, start: at });
      at += node.data.length;
    }
    const point = (offset, isEnd) => {
      let index = nodes.length - 1;
      while (index > 0 && (nodes[index].start > offset || (isEnd && nodes[index].start === offset))) {
        index -= 1;
      }
      return [nodes[index].node, Math.min(offset - nodes[index].start, nodes[index].node.data.length)];
    };
    return spans.map(([start, end]) => {
      const range = document.createRange();
      range.setStart(...point(start, false));
      range.setEnd(...point(end, true));
      return range;
    });
  }

  // A sentence's words, each with its time and the range of its text in `element`,
  // whose text starts at character `base` of the narration's text.
  function wordsOf(element, base, sentence, text) {
    const shown = element.textContent;
    const words = (sentence.words || []).filter(
      (word) => word.start_char >= base && word.end_char <= base + shown.length,
    );
    if (!words.length || text.slice(base, base + shown.length) !== shown) return [];
    const spans = words.map((word) => [word.start_char - base, word.end_char - base]);
    const items = words.map((word) => ({
      startS: word.start_ms / 1000,
      startChar: word.start_char,
      range: null,
      element: null,
    }));
    if (wordHighlight) {
      textRanges(element, spans).forEach((range, index) => (items[index].range = range));
      return items;
    }
    // From the last word back, so the offsets of the words before stay valid.
    for (let index = spans.length - 1; index >= 0; index -= 1) {
      const [range] = textRanges(element, [spans[index]]);
      const span = document.createElement("span");
      span.className = "word";
      try {
        range.surroundContents(span);
      } catch {
        continue; // a word across elements: it keeps no mark of its own
      }
      items[index].element = span;
      wordOfSpan.set(span, items[index]);
    }
    return items;
  }

  // The last item whose start is at or before `seconds` (items sorted by start).
  function lastStartedBy(items, seconds) {
    let low = 0;
    let high = items.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if (items[middle].startS <= seconds + 0.01) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found < 0 ? null : items[found];
  }

  function highlight() {
    if (!timings) return;
    const now = audio.currentTime || 0;
    const started = now > 0 || !audio.paused;
    const block = started ? lastStartedBy(timings, now) : null;
    const sentence = block ? lastStartedBy(block.sentences, now) : null;
    if (block !== readingBlock) {
      if (readingBlock) {
        readingBlock.element.classList.remove("is-reading");
        readingBlock.element.removeAttribute("aria-current");
      }
      readingBlock = block;
      if (block) {
        block.element.classList.add("is-reading");
        block.element.setAttribute("aria-current", "true");
        follow(block.element);
      }
    }
    const sentenceElement = sentence && sentence.element;
    if (sentenceElement !== readingSentence) {
      if (readingSentence) readingSentence.classList.remove("is-reading");
      readingSentence = sentenceElement;
      if (sentenceElement) sentenceElement.classList.add("is-reading");
    }
    readingWords = sentence ? sentence.words : null;
    highlightWord();
  }

  function highlightWord() {
    const now = audio.currentTime || 0;
    const word = readingWords && readingWords.length ? lastStartedBy(readingWords, now) : null;
    if (word === readingWord) return;
    if (readingWord && readingWord.element) readingWord.element.classList.remove("is-reading");
    readingWord = word;
    if (wordHighlight) {
      wordHighlight.clear();
      if (word && word.range) wordHighlight.add(word.range);
    } else if (word && word.element) {
      word.element.classList.add("is-reading");
    }
  }

  // timeupdate comes about four times a second: too seldom for words, so while
  // playing, the word follows the audio frame by frame.
  function tick() {
    if (audio.paused || audio.ended) {
      ticking = false;
      return;
    }
    highlight();
    requestAnimationFrame(tick);
  }

  // The word under a click: its own span, or the word range holding the caret there.
  function wordAt(event) {
    const span = event.target.closest && event.target.closest(".word");
    if (span) return wordOfSpan.get(span) || null;
    let node = null;
    let offset = 0;
    if (document.caretPositionFromPoint) {
      const caret = document.caretPositionFromPoint(event.clientX, event.clientY);
      if (caret) [node, offset] = [caret.offsetNode, caret.offset];
    } else if (document.caretRangeFromPoint) {
      const caret = document.caretRangeFromPoint(event.clientX, event.clientY);
      if (caret) [node, offset] = [caret.startContainer, caret.startOffset];
    }
    if (!node || !timings) return null;
    for (const block of timings) {
      if (!block.element.contains(node)) continue;
      for (const sentence of block.sentences) {
        const word = sentence.words.find((item) => item.range && item.range.isPointInRange(node, offset));
        if (word) return word;
      }
    }
    return null;
  }

  function follow(element) {
    if (audio.paused || Date.now() - lastUserScrollMs < 4000) return;
    const box = element.getBoundingClientRect();
    const playerBottom = controls.closest(".player").getBoundingClientRect().bottom;
    const top = Math.max(0, playerBottom);
    if (box.top >= top && box.bottom <= window.innerHeight) return;
    element.scrollIntoView({ block: "center", behavior: reducedMotion ? "auto" : "smooth" });
  }

  // --- listening statistics ------------------------------------------------
  // What happens is told to the service with sendBeacon: playing started, 25/50/75/100 %
  // reached, each paragraph reached, speed changes, and the seconds listened. Nothing is
  // sent when the reader asks not to be tracked (Do Not Track, Global Privacy Control).
  // The session is a random id in this page's memory: it only lets the service count a
  // milestone once per page view, and ends with the page. No cookie, no storage.
  function reportListening() {
    const nav = navigator;
    if (nav.doNotTrack === "1" || nav.globalPrivacyControl || !nav.sendBeacon || !data.events_url) return;
    const session = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => (b + 256).toString(16).slice(1)).join("");
    const sent = new Set();
    let heardMs = 0;
    let tickMs = 0;
    const send = (type, extra) => {
      const event = { narration_id: data.id, session, type, ...extra };
      if (heardMs >= 1000) event.seconds = Math.min(3600, Math.round(heardMs) / 1000);
      if (event.seconds) heardMs = 0;
      nav.sendBeacon(data.events_url, JSON.stringify(event));
    };
    const once = (key, type, extra) => sent.has(key) || (sent.add(key), send(type, extra));
    const count = () => {
      const now = performance.now();
      if (tickMs && now - tickMs < 5000) heardMs += now - tickMs;
      tickMs = audio.paused ? 0 : now;
    };
    const flush = () => {
      count();
      if (heardMs >= 1000) send("seconds");
    };
    audio.addEventListener("play", () => {
      tickMs = performance.now();
      once("play", "play");
    });
    audio.addEventListener("timeupdate", () => {
      if (audio.paused) return;
      count();
      const now = audio.currentTime;
      const whole = totalS();
      for (const quartile of [25, 50, 75]) {
        if (whole && now >= (whole * quartile) / 100) once(quartile, "progress", { quartile });
      }
      let index = null;
      for (const block of spokenBlocks || []) {
        if (block.start_ms > now * 1000 + 10) break;
        index = block.index;
      }
      if (index !== null) once(`p${index}`, "paragraph", { index });
      if (heardMs >= 15000) send("seconds");
    });
    audio.addEventListener("pause", flush);
    audio.addEventListener("ended", () => {
      flush();
      once(100, "progress", { quartile: 100 });
    });
    audio.addEventListener("ratechange", () => sent.has("play") && send("speed", { value: audio.playbackRate }));
    window.addEventListener("pagehide", flush);
    document.addEventListener("visibilitychange", () => document.visibilityState === "hidden" && flush());
  }

  // --- remembered position ------------------------------------------------

  function savePosition(force) {
    const now = audio.currentTime || 0;
    if (!usingFile || (!force && Math.abs(now - lastSavedS) < 5)) return;
    lastSavedS = now;
    try {
      if (now < 5 || audio.ended) localStorage.removeItem(positionKey);
      else localStorage.setItem(positionKey, JSON.stringify({ t: now, savedAt: Date.now() }));
    } catch {
      // Storage may be full or forbidden; the position is a convenience.
    }
  }

  function offerResume() {
    if (pendingAt) return; // arriving from another voice: the place is already chosen
    if (!usingFile || !audio.paused || audio.currentTime > 0) return;
    let saved = null;
    try {
      saved = JSON.parse(localStorage.getItem(positionKey) || "null");
    } catch {
      saved = null;
    }
    if (!saved || !(saved.t > 5) || saved.t > totalS() - 5) return;
    $("resume-at").textContent = clock(saved.t);
    resume.hidden = false;
    $("resume-yes").onclick = () => {
      seekTo(saved.t);
      start();
    };
    $("resume-no").onclick = () => {
      resume.hidden = true;
      try {
        localStorage.removeItem(positionKey);
      } catch {
        // Nothing to forget.
      }
      play.focus();
    };
  }

  // --- lock screen and headset ----------------------------------------------

  function setUpMediaSession() {
    if (!("mediaSession" in navigator)) return;
    const session = navigator.mediaSession;
    try {
      session.metadata = new MediaMetadata({
        title: data.title,
        artist: data.byline || data.site_name || "",
        album: data.site_name || "Listen",
        artwork: [
          { src: new URL(data.artwork_url, location.href).href, sizes: "512x512", type: "image/png" },
        ],
      });
    } catch {
      // Older browsers lack MediaMetadata; the buttons still work.
    }
    const handlers = {
      play: () => start(),
      pause: () => audio.pause(),
      stop: () => audio.pause(),
      seekbackward: (details) => seekBy(-(details.seekOffset || SKIP_S)),
      seekforward: (details) => seekBy(details.seekOffset || SKIP_S),
      seekto: (details) => {
        if (details.fastSeek && "fastSeek" in audio) audio.fastSeek(details.seekTime);
        else seekTo(details.seekTime);
      },
    };
    for (const [action, handler] of Object.entries(handlers)) {
      try {
        session.setActionHandler(action, handler);
      } catch {
        // An action this browser does not know.
      }
    }
  }

  function updatePositionState() {
    if (!("mediaSession" in navigator) || !navigator.mediaSession.setPositionState) return;
    const duration = usingFile ? totalS() : NaN;
    if (!Number.isFinite(duration) || duration <= 0) return;
    try {
      navigator.mediaSession.setPositionState({
        duration,
        playbackRate: audio.playbackRate,
        position: Math.min(audio.currentTime || 0, duration),
      });
    } catch {
      // A position past the end while the source switches.
    }
  }

  // --- wiring -------------------------------------------------------------

  play.addEventListener("click", toggle);
  $("back").addEventListener("click", () => seekBy(-SKIP_S));
  $("forward").addEventListener("click", () => seekBy(SKIP_S));

  seek.addEventListener("input", () => {
    dragging = true;
    renderTime();
  });
  seek.addEventListener("change", () => {
    dragging = false;
    seekTo(Number(seek.value));
  });
  seek.addEventListener("keydown", (event) => {
    const steps = { ArrowLeft: -ARROW_S, ArrowDown: -ARROW_S, ArrowRight: ARROW_S, ArrowUp: ARROW_S, PageDown: -30, PageUp: 30 };
    if (event.key in steps) seekBy(steps[event.key]);
    else if (event.key === "Home") seekTo(0);
    else if (event.key === "End") seekTo(totalS() - 1);
    else return;
    event.preventDefault();
  });

  speed.addEventListener("change", () => {
    const rate = Number(speed.value) || 1;
    audio.playbackRate = rate;
    audio.defaultPlaybackRate = rate;
    try {
      localStorage.setItem(speedKey, String(rate));
    } catch {
      // Not remembered; still applied.
    }
  });
  try {
    const remembered = localStorage.getItem(speedKey);
    if (remembered && [...speed.options].some((option) => option.value === remembered)) {
      speed.value = remembered;
      audio.playbackRate = audio.defaultPlaybackRate = Number(remembered);
    }
  } catch {
    // No storage: default speed.
  }

  voiceSelect.addEventListener("change", switchVoice);
  hear.addEventListener("click", hearVoice);
  sample.addEventListener("play", () => (hear.textContent = "Stop"));
  for (const name of ["pause", "ended"]) sample.addEventListener(name, () => (hear.textContent = "Hear it"));

  download.addEventListener("click", (event) => {
    if (download.getAttribute("aria-disabled") === "true") event.preventDefault();
  });

  story.addEventListener("click", (event) => {
    if (!timings || event.target.closest("a")) return;
    if (String(window.getSelection && window.getSelection()).trim()) return;
    const element = event.target.closest("[data-block]");
    const block = element && timings.find((item) => item.element === element);
    if (!block) return;
    const word = wordAt(event);
    seekTo(word ? word.startS : block.startS);
    if (audio.paused) start();
  });

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    const tag = target.tagName;
    const typing =
      target.isContentEditable ||
      tag === "TEXTAREA" ||
      tag === "SELECT" ||
      (tag === "INPUT" && target.type !== "range");
    if (typing) return;
    if (event.key === " " || event.key === "k") {
      if (tag === "BUTTON" || tag === "A" || tag === "SUMMARY") return;
      event.preventDefault();
      toggle();
    } else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      event.preventDefault();
      if (event.shiftKey && timings) stepSentence(event.key === "ArrowLeft" ? -1 : 1);
      else seekBy(event.key === "ArrowLeft" ? -ARROW_S : ARROW_S);
    }
  });

  for (const name of ["wheel", "touchmove"]) {
    window.addEventListener(name, () => (lastUserScrollMs = Date.now()), { passive: true });
  }

  audio.addEventListener("timeupdate", () => {
    renderTime();
    highlight();
    savePosition(false);
  });
  for (const name of ["play", "playing", "pause", "waiting", "canplay", "ended", "loadedmetadata", "durationchange", "seeked"]) {
    audio.addEventListener(name, () => {
      renderPlay();
      renderTime();
      updatePositionState();
    });
  }
  audio.addEventListener("play", () => (resume.hidden = true));
  audio.addEventListener("playing", () => {
    if (ticking) return;
    ticking = true;
    requestAnimationFrame(tick);
  });
  audio.addEventListener("pause", () => savePosition(true));
  audio.addEventListener("ratechange", updatePositionState);
  audio.addEventListener("ended", () => {
    if (!usingFile) resumeAfterSwitch = true;
    else savePosition(true);
  });
  audio.addEventListener("error", () => {
    if (status === "failed") return;
    if (!usingFile) {
      // A live stream is refused (503) when too many are running; the file follows.
      say("The live stream is busy right now: the audio plays here as soon as it is ready.");
      return;
    }
    const code = audio.error ? audio.error.code : 0;
    say(`The audio could not be played (media error ${code}). Try reloading the page.`, "error");
  });
  window.addEventListener("pagehide", () => savePosition(true));

  setUpMediaSession();
  reportListening();
  listVoices();
  renderProgress(data);
  renderTime();
  renderPlay();
  if (status === "failed") play.disabled = true;
  if (status === "done") {
    loadTimings();
    offerResume();
  } else if (status !== "failed") {
    poll();
  }
})();
