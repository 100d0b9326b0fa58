// "Listen to this story" for publishers: one tag adds a player before an article.
//   <script src="https://HOST/embed.js" data-article="article" async></script>
// Optional: data-narration="<id>" (made in advance), data-voice, data-rate.
// The player lives in a shadow root, so the page's CSS cannot reach it, and it
// talks to the host it was loaded from only.
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script || !script.src) return;
  const base = new URL(".", script.src);
  const here = (path) => new URL(path, base).href;
  const options = script.dataset;
  const SKIP_S = 15;
  const SPEEDS = [0.75, 1, 1.25, 1.5, 2];
  const BLOCKS = "h1,h2,h3,h4,h5,h6,p,li,blockquote";
  const MARK = {
    "background-color": "rgba(255, 214, 10, 0.38)",
    "box-shadow": "0 0 0 0.3em rgba(255, 214, 10, 0.38)",
    "border-radius": "0.2em",
    "transition": "background-color 0.2s",
  };

  const CSS = `
:host{all:initial!important;display:block!important;position:relative!important;visibility:visible!important;opacity:1!important;
 margin:0 0 1.25em!important;color:#1b1b1f!important;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif!important;contain:content}
*,*::before{box-sizing:border-box}
[hidden]{display:none!important}
.box{display:grid;gap:.6em;max-width:40em;padding:.6em;border:1px solid #d9d6cf;border-radius:.8em;background:#fff;color:#1b1b1f}
button,select,a{font:inherit;color:inherit}
button,.dl{display:inline-flex;align-items:center;justify-content:center;gap:.35em;min-height:2.5em;padding:.35em .8em;
 border:1px solid #d9d6cf;border-radius:999px;background:#fff;cursor:pointer;text-decoration:none;white-space:nowrap}
button:hover,.dl:hover{border-color:#1f4fd1}
:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
.play{justify-self:start;min-height:3em;padding:.35em 1.1em .35em .4em;gap:.6em;background:#1f4fd1;border-color:#1f4fd1;color:#fff;font-weight:700;font-size:1.05em}
.icon{width:2.2em;height:2.2em;border-radius:50%;background:#fff;display:inline-grid;place-items:center;flex:none}
.icon::before{content:"";margin-left:.18em;border-style:solid;border-width:.5em 0 .5em .8em;border-color:transparent transparent transparent #1f4fd1}
.play[data-state=playing] .icon::before{margin:0;width:.75em;height:.95em;border-width:0 .25em;border-color:#1f4fd1}
.play[data-state=loading] .icon::before{margin:0;width:1.05em;height:1.05em;border-radius:50%;border:.18em solid #1f4fd1;border-right-color:transparent;animation:spin .9s linear infinite}
@keyframes spin{to{transform:rotate(1turn)}}
.seek{width:100%;height:1.8em;margin:0;accent-color:#1f4fd1;cursor:pointer}
.row{display:flex;flex-wrap:wrap;align-items:center;gap:.45em}
.time{font-variant-numeric:tabular-nums;color:#5b5b66;font-size:.9em;margin-right:auto}
select{min-height:2.5em;padding:.3em .6em;border:1px solid #d9d6cf;border-radius:999px;background:#fff}
.dl[aria-disabled=true]{opacity:.5;pointer-events:none}
.status{margin:0;color:#5b5b66;font-size:.9em}
.status:empty{display:none}
.status.error{color:#a4161a;font-weight:600}
.credit{font-size:.75em;color:#5b5b66;margin:0}
`;

  const TEMPLATE = `
<div class="box" role="region" aria-label="Listen to this story">
 <button class="play" type="button"><span class="icon" aria-hidden="true"></span><span class="label">Listen to this story</span></button>
 <div class="panel" hidden>
  <input class="seek" type="range" min="0" max="0" step="any" value="0" aria-label="Position in the story">
  <div class="row">
   <span class="time" aria-hidden="true">0:00</span>
   <button class="back" type="button" aria-label="Back 15 seconds"><span aria-hidden="true">↺</span> 15</button>
   <button class="fwd" type="button" aria-label="Forward 15 seconds">15 <span aria-hidden="true">↻</span></button>
   <select class="speed" aria-label="Playback speed">${SPEEDS.map((s) => `<option value="${s}"${s === 1 ? " selected" : ""}>${s}×</option>`).join("")}</select>
   <a class="dl" download aria-disabled="true">Download MP3</a>
  </div>
 </div>
 <p class="status" role="status"></p>
</div>`;

  const clock = (seconds) => {
    const s = Math.max(0, Math.floor(seconds || 0));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const rest = String(s % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
  };
  const normalise = (text) =>
    String(text || "").normalize("NFKC").toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim();
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function json(url, init) {
    const response = await fetch(here(url), { credentials: "omit", ...init });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.detail || body.title || `HTTP ${response.status}`);
    return body;
  }

  // Pair each timed block with the publisher's own element, in order, by text. The
  // extractor may drop or merge blocks, so unmatched ones are skipped, never forced.
  function mapBlocks(blocks, article, host) {
    const candidates = [...article.querySelectorAll(BLOCKS)]
      .filter((el) => !el.querySelector(BLOCKS) && !host.contains(el))
      .map((el) => ({ el, text: normalise(el.textContent) }))
      .filter((candidate) => candidate.text);
    const mapped = [];
    let cursor = 0;
    for (const block of blocks) {
      const text = normalise(block.text);
      if (!text) continue;
      const key = text.slice(0, 60);
      const end = Math.min(candidates.length, cursor + 12);
      for (let i = cursor; i < end; i++) {
        const candidate = candidates[i].text;
        const same = candidate === text || candidate.startsWith(key) || text.startsWith(candidate.slice(0, 60));
        const inside = key.length >= 20 && candidate.includes(key);
        if (same || inside) {
          mapped.push({ startS: block.start_ms / 1000, el: candidates[i].el });
          cursor = same ? i + 1 : i;
          break;
        }
      }
    }
    return mapped.sort((a, b) => a.startS - b.startS);
  }

  // The highlight is set as inline !important properties: they beat any rule of the
  // page's style sheets, and a strict page CSP that blocks injected <style> allows them.
  function mark(el) {
    const saved = {};
    for (const [name, value] of Object.entries(MARK)) {
      saved[name] = [el.style.getPropertyValue(name), el.style.getPropertyPriority(name)];
      el.style.setProperty(name, value, "important");
    }
    el.setAttribute("data-listen-reading", "");
    return () => {
      for (const [name, [value, priority]] of Object.entries(saved)) {
        if (value) el.style.setProperty(name, value, priority);
        else el.style.removeProperty(name);
      }
      el.removeAttribute("data-listen-reading");
    };
  }

  function mount(article) {
    const host = document.createElement("listen-story");
    article.parentNode.insertBefore(host, article);
    const root = host.attachShadow({ mode: "open" });
    if ("adoptedStyleSheets" in root && typeof CSSStyleSheet.prototype.replaceSync === "function") {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } else {
      const style = document.createElement("style");
      style.textContent = CSS;
      root.append(style);
    }
    root.innerHTML += TEMPLATE;
    const $ = (name) => root.querySelector(`.${name}`);
    const play = $("play");
    const label = $("label");
    const panel = $("panel");
    const seek = $("seek");
    const time = $("time");
    const speed = $("speed");
    const download = $("dl");
    const statusLine = $("status");
    const audio = new Audio();
    audio.preload = "none";
    root.append(audio);

    let narration = null;
    let durationS = null;
    let usingFile = false;
    let timed = [];
    let current = null;
    let unmark = null;
    let dragging = false;
    const words = normalise(article.innerText || article.textContent).split(" ").length;
    const rateWpm = Number(options.rate) || 175;
    const totalS = () =>
      durationS || (usingFile && Number.isFinite(audio.duration) ? audio.duration : (words / rateWpm) * 60);

    function say(message, error) {
      statusLine.textContent = message;
      statusLine.className = error ? "status error" : "status";
      statusLine.setAttribute("role", error ? "alert" : "status");
    }

    function render() {
      const playing = !audio.paused && !audio.ended;
      play.dataset.state = playing ? (audio.readyState < 3 ? "loading" : "playing") : "paused";
      const minutes = Math.max(1, Math.round(totalS() / 60));
      label.textContent = playing ? "Pause" : audio.currentTime > 1 && !audio.ended ? "Resume" : `Listen to this story · ${minutes} min`;
      const now = audio.currentTime || 0;
      const exact = Boolean(durationS);
      seek.max = String(Math.max(totalS(), now));
      if (!dragging) seek.value = String(now);
      const shown = dragging ? Number(seek.value) : now;
      time.textContent = `${clock(shown)} / ${exact ? "" : "~"}${clock(totalS())}`;
      seek.setAttribute("aria-valuetext", `${clock(shown)} of ${exact ? "" : "about "}${clock(totalS())}`);
    }

    function highlight() {
      const now = audio.currentTime || 0;
      let found = null;
      for (const item of timed) {
        if (item.startS <= now + 0.01) found = item;
        else break;
      }
      if (found === current) return;
      if (unmark) unmark();
      unmark = null;
      current = found;
      if (found) unmark = mark(found.el);
    }

    function seekTo(seconds) {
      let limit = totalS();
      if (!usingFile) limit = audio.seekable.length ? audio.seekable.end(audio.seekable.length - 1) : 0;
      audio.currentTime = Math.max(0, Math.min(seconds, limit));
      render();
      highlight();
    }

    async function start() {
      try {
        await audio.play();
      } catch (error) {
        if (error.name !== "AbortError") say(`The audio could not start: ${error.message}`, true);
      }
    }

    async function loadTimings() {
      try {
        const manifest = await json(narration.timings_url);
        durationS = manifest.duration_ms / 1000;
        timed = mapBlocks(manifest.blocks, article, host);
        render();
        highlight();
      } catch {
        timed = [];
      }
    }

    function finished() {
      download.href = here(narration.audio_url + "?download=1");
      download.removeAttribute("aria-disabled");
      loadTimings();
      if (usingFile) return;
      usingFile = true;
      const position = audio.currentTime || 0;
      const wasPlaying = !audio.paused || audio.ended;
      const started = audio.played.length > 0;
      audio.src = here(narration.audio_url);
      if (!started) return;
      audio.addEventListener("loadedmetadata", () => {
        audio.currentTime = position;
        if (wasPlaying) start();
      }, { once: true });
      audio.load();
    }

    function progress(body) {
      narration = { ...narration, ...body };
      if (body.duration_ms) durationS = body.duration_ms / 1000;
      if (body.status === "failed") say(`The narration failed: ${body.error || "synthesis stopped"}.`, true);
      else if (body.status !== "done") say(`Preparing the audio: ${body.segments_done} of ${body.segments_total} parts ready.`);
      else say("");
      render();
    }

    async function watch() {
      while (narration.status !== "done" && narration.status !== "failed") {
        await sleep(1000);
        try {
          progress(await json(narration.status_url, { cache: "no-store" }));
        } catch {
          continue;
        }
        if (narration.status === "done") finished();
      }
    }

    async function prepare() {
      if (narration) return true;
      play.dataset.state = "loading";
      try {
        const request = { html: article.outerHTML };
        if (options.voice) request.voice = options.voice;
        if (options.rate) request.rate = Number(options.rate);
        progress(await json("api/narrations", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(request),
        }));
      } catch (error) {
        say(`The story could not be prepared: ${error.message}`, true);
        render();
        return false;
      }
      begin();
      return true;
    }

    function begin() {
      if (narration.status === "done") {
        usingFile = true;
        audio.src = here(narration.audio_url);
        finished();
      } else if (narration.status !== "failed") {
        audio.src = here(narration.stream_url);
        watch();
      }
    }

    play.addEventListener("click", async () => {
      panel.hidden = false;
      if (!(await prepare())) return;
      if (narration.status === "failed") return;
      if (audio.paused || audio.ended) start();
      else audio.pause();
    });
    $("back").addEventListener("click", () => seekTo(audio.currentTime - SKIP_S));
    $("fwd").addEventListener("click", () => seekTo(audio.currentTime + SKIP_S));
    seek.addEventListener("input", () => {
      dragging = true;
      render();
    });
    seek.addEventListener("change", () => {
      dragging = false;
      seekTo(Number(seek.value));
    });
    seek.addEventListener("keydown", (event) => {
      const steps = { ArrowLeft: -5, ArrowDown: -5, ArrowRight: 5, ArrowUp: 5, PageDown: -30, PageUp: 30 };
      if (!(event.key in steps)) return;
      event.preventDefault();
      seekTo(audio.currentTime + steps[event.key]);
    });
    speed.addEventListener("change", () => {
      audio.playbackRate = audio.defaultPlaybackRate = Number(speed.value) || 1;
    });
    for (const name of ["play", "playing", "pause", "waiting", "ended", "durationchange", "seeked"]) {
      audio.addEventListener(name, render);
    }
    audio.addEventListener("timeupdate", () => {
      render();
      highlight();
    });
    audio.addEventListener("error", () => {
      if (!narration || narration.status === "failed") return;
      if (usingFile) say("The audio could not be played.", true);
      else say("The live stream is busy: the story plays here as soon as it is ready.");
    });
    audio.addEventListener("play", () => {
      if (!("mediaSession" in navigator) || !narration) return;
      try {
        navigator.mediaSession.metadata = new MediaMetadata({
          title: narration.title || document.title,
          artist: narration.byline || "",
          album: location.hostname,
        });
        navigator.mediaSession.setActionHandler("seekbackward", () => seekTo(audio.currentTime - SKIP_S));
        navigator.mediaSession.setActionHandler("seekforward", () => seekTo(audio.currentTime + SKIP_S));
        navigator.mediaSession.setActionHandler("seekto", (details) => seekTo(details.seekTime));
      } catch {
        // Lock-screen controls are a bonus.
      }
    });

    render();
    if (/^[0-9a-f]{32}$/.test(options.narration || "")) {
      json(`api/narrations/${options.narration}`)
        .then((body) => {
          progress(body);
          begin();
        })
        .catch(() => {
          narration = null;
        });
    }
  }

  function init() {
    const article = document.querySelector(options.article || "article");
    if (article && article.parentNode) mount(article);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
