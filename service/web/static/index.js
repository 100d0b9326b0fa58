// The index page: list the voices (each with a sample to hear), and create a narration
// through the JSON API.
// Without this script the form posts to the server, which redirects to the player.
"use strict";

(() => {
  // Without LISTEN_PUBLIC_URL the server writes the embed snippet's address relative
  // (never from the Host header); the page knows the origin its reader reached.
  for (const code of document.querySelectorAll("code[data-embed]")) {
    code.textContent = code.textContent.replace(
      /src="(\/[^"]*)"/,
      (_match, path) => `src="${new URL(path, window.location.href).href}"`,
    );
  }

  const form = document.getElementById("narrate-form");
  if (!form) return;
  const voice = document.getElementById("voice");
  const errorLine = document.getElementById("form-error");
  const submit = document.getElementById("narrate-button");
  const hear = document.getElementById("hear");
  const rate = document.getElementById("rate");
  const sample = new Audio();
  sample.preload = "none";
  const previews = new Map();

  async function listVoices() {
    let body;
    try {
      const response = await fetch(voice.dataset.voicesUrl);
      if (!response.ok) return;
      body = await response.json();
    } catch {
      return;
    }
    const chosen = voice.value;
    // A voice whose files are missing is listed by the API (with installed: false),
    // but offered here only once it can be heard.
    const voices = body.voices
      .filter((item) => item.installed !== false)
      .sort((a, b) => a.name.localeCompare(b.name));
    for (const item of voices) {
      previews.set(item.id, item.preview_url);
      const option = document.createElement("option");
      option.value = item.id;
      const languages = item.languages.length ? ` (${item.languages[0]})` : "";
      option.textContent = `${item.name}${languages} · ${item.engine}`;
      voice.append(option);
    }
    voice.value = chosen;
    hear.hidden = false;
    hear.disabled = !previews.has(voice.value);
  }

  function hearVoice() {
    if (!sample.paused) {
      sample.pause();
      return;
    }
    sample.src = `${previews.get(voice.value)}?rate=${encodeURIComponent(rate.value)}`;
    sample.play().catch((error) => showError(`The sample could not play: ${error.message}`));
  }
  voice.addEventListener("change", () => {
    sample.pause();
    hear.disabled = !previews.has(voice.value);
  });
  hear.addEventListener("click", hearVoice);
  sample.addEventListener("play", () => (hear.textContent = "Stop"));
  for (const name of ["pause", "ended"]) sample.addEventListener(name, () => (hear.textContent = "Hear it"));

  // Pick the API field for pasted content when the reader left "detected automatically".
  function detectKind(content) {
    const head = content.slice(0, 4000);
    if (/^\s*</.test(head) && /<\/?[a-z][a-z0-9]*[\s>]/i.test(head)) return "html";
    if (/^(#{1,6}\s|[-*+]\s|\d+\.\s|>\s)|\[[^\]]+\]\([^)]+\)|\*\*[^*]+\*\*/m.test(head)) return "markdown";
    return "text";
  }

  function showError(message) {
    errorLine.textContent = message;
    errorLine.hidden = false;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorLine.hidden = true;
    const fields = new FormData(form);
    const content = String(fields.get("content") || "").trim();
    const url = String(fields.get("url") || "").trim();
    if (Boolean(content) === Boolean(url)) {
      showError("Paste an article or give its address (one of the two).");
      return;
    }
    const request = {};
    if (url) {
      request.url = url;
    } else {
      const kind = String(fields.get("kind") || "auto");
      request[kind === "auto" ? detectKind(content) : kind] = content;
    }
    for (const name of ["title", "voice"]) {
      const value = String(fields.get(name) || "").trim();
      if (value) request[name] = value;
    }
    const rate = Number(fields.get("rate"));
    if (rate) request.rate = rate;

    submit.disabled = true;
    submit.textContent = "Preparing…";
    try {
      const response = await fetch(form.dataset.apiUrl || "/api/narrations", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(request),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        showError(body.detail || body.title || `The server answered ${response.status}.`);
        return;
      }
      window.location.assign(body.player_url);
    } catch (error) {
      showError(`The server could not be reached: ${error.message}`);
    } finally {
      submit.disabled = false;
      submit.textContent = "Narrate and listen";
    }
  });

  listVoices();
})();
