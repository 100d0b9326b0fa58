// The lexicon editor: list, edit, import and export lexicons through /api/lexicons, and play a
// word with and without a rule. An API key, when the server needs one, lives in this page's
// memory only and goes out as an Authorization header: no cookie, no storage.
"use strict";

(() => {
  const app = document.getElementById("lexicon-app");
  if (!app) return;
  const $ = (id) => document.getElementById(id);
  const apiUrl = app.dataset.apiUrl;
  const previewUrl = app.dataset.previewUrl;
  const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
  const POLL_MS = 250;
  const POLL_LIMIT = 240;

  let apiKey = "";
  let current = null; // the name of the lexicon in the editor, null for a new one
  const errorLine = $("page-error");
  const statusLine = $("page-status");
  const rows = $("rule-rows");
  const audio = $("preview-audio");

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
    }
  }

  function say(message) {
    statusLine.textContent = message;
  }

  function fail(error) {
    errorLine.textContent = error.message || String(error);
    errorLine.hidden = false;
    if (error.status === 401 || error.status === 403) {
      $("key-form").hidden = false;
      $("api-key").focus();
    }
  }

  function clearError() {
    errorLine.hidden = true;
    errorLine.textContent = "";
  }

  async function call(url, { method = "GET", body, type, accept } = {}) {
    const headers = {};
    if (apiKey) headers.Authorization = `Bearer ${apiKey}`;
    if (type) headers["Content-Type"] = type;
    if (accept) headers.Accept = accept;
    const response = await fetch(url, { method, headers, body, credentials: "omit", cache: "no-store" });
    if (!response.ok) {
      let detail = `${response.status} ${response.statusText}`;
      try {
        const problem = await response.json();
        detail = problem.detail || problem.title || detail;
      } catch {
        // not a problem document: keep the status line
      }
      throw new ApiError(response.status, detail);
    }
    return response;
  }

  const lexiconUrl = (name) => `${apiUrl}/${encodeURIComponent(name)}`;

  // --- the list ------------------------------------------------------------------------

  async function loadList() {
    let body;
    try {
      body = await (await call(apiUrl)).json();
    } catch (error) {
      fail(error);
      return;
    }
    const tbody = $("lexicon-rows");
    tbody.replaceChildren();
    for (const item of body.lexicons) {
      const row = document.createElement("tr");
      const nameCell = document.createElement("td");
      const open = document.createElement("button");
      open.type = "button";
      open.className = "link-button";
      open.textContent = item.name;
      open.setAttribute("aria-label", `Edit ${item.name}`);
      open.addEventListener("click", () => openLexicon(item.name));
      nameCell.append(open);
      const cells = [String(item.rules), item.sites.join(", ") || "—", item.updated_at.replace("T", " ")];
      row.append(nameCell, ...cells.map((text) => Object.assign(document.createElement("td"), { textContent: text })));
      tbody.append(row);
    }
    $("no-lexicons").hidden = body.lexicons.length > 0;
  }

  // --- the editor ----------------------------------------------------------------------

  function label(row) {
    const number = [...rows.children].indexOf(row) + 1;
    const names = { match: "Match", say: "Say", ipa: "IPA", regex: "Regular expression", "ignore-case": "Ignore case", sample: "Sample text" };
    for (const [cls, text] of Object.entries(names)) row.querySelector(`.${cls}`).setAttribute("aria-label", `${text}, rule ${number}`);
    row.querySelector(".play-without").setAttribute("aria-label", `Play rule ${number} without the rule`);
    row.querySelector(".play-with").setAttribute("aria-label", `Play rule ${number} with the rule`);
    row.querySelector(".remove-rule").setAttribute("aria-label", `Remove rule ${number}`);
  }

  function relabel() {
    for (const row of rows.children) label(row);
    $("rule-count").textContent = `${rows.children.length} rule${rows.children.length === 1 ? "" : "s"}`;
  }

  function addRow(rule = {}) {
    const row = $("rule-template").content.firstElementChild.cloneNode(true);
    row.querySelector(".match").value = rule.match || "";
    row.querySelector(".say").value = rule.say || "";
    row.querySelector(".ipa").value = rule.ipa || "";
    row.querySelector(".regex").checked = Boolean(rule.regex);
    row.querySelector(".ignore-case").checked = Boolean(rule.ignore_case);
    row.querySelector(".play-without").addEventListener("click", () => preview(row, "without"));
    row.querySelector(".play-with").addEventListener("click", () => preview(row, "with"));
    row.querySelector(".remove-rule").addEventListener("click", () => {
      row.remove();
      relabel();
    });
    rows.append(row);
    return row;
  }

  function ruleOf(row) {
    const rule = { match: row.querySelector(".match").value.trim() };
    const spoken = row.querySelector(".say").value.trim();
    const ipa = row.querySelector(".ipa").value.trim();
    if (spoken) rule.say = spoken;
    if (ipa) rule.ipa = ipa;
    if (row.querySelector(".regex").checked) rule.regex = true;
    if (row.querySelector(".ignore-case").checked) rule.ignore_case = true;
    return rule;
  }

  function show(lexicon, name) {
    current = name;
    $("editor").hidden = false;
    $("editor-heading").textContent = name ? `Lexicon ${name}` : "New lexicon";
    $("lexicon-name").value = name || "";
    $("lexicon-name").readOnly = Boolean(name);
    $("lexicon-sites").value = (lexicon.sites || []).join(", ");
    $("lexicon-language").value = lexicon.language || "";
    $("rule-filter").value = "";
    rows.replaceChildren();
    for (const rule of lexicon.rules || []) addRow(rule);
    if (!rows.children.length) addRow();
    relabel();
    for (const id of ["delete-lexicon", "export-json", "export-pls"]) $(id).disabled = !name;
  }

  async function openLexicon(name) {
    clearError();
    try {
      show(await (await call(lexiconUrl(name))).json(), name);
      say(`Editing ${name}.`);
      $("editor-heading").focus?.();
    } catch (error) {
      fail(error);
    }
  }

  function lexiconJson() {
    const sites = $("lexicon-sites").value.split(/[\s,]+/).filter(Boolean);
    const body = { sites, rules: [...rows.children].map(ruleOf).filter((rule) => rule.match) };
    const language = $("lexicon-language").value.trim();
    if (language) body.language = language;
    return body;
  }

  async function save(event) {
    event.preventDefault();
    clearError();
    const name = $("lexicon-name").value.trim();
    if (!NAME.test(name)) {
      fail(new Error("A name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit."));
      return;
    }
    try {
      const response = await call(lexiconUrl(name), { method: "PUT", body: JSON.stringify(lexiconJson()), type: "application/json" });
      show(await response.json(), name);
      say(`Saved ${name}: ${rows.children.length} rules.`);
      await loadList();
    } catch (error) {
      fail(error);
    }
  }

  async function remove() {
    if (!current || !window.confirm(`Delete the lexicon ${current}? Narrations already made keep their audio.`)) return;
    clearError();
    try {
      await call(lexiconUrl(current), { method: "DELETE" });
      say(`Deleted ${current}.`);
      $("editor").hidden = true;
      current = null;
      await loadList();
    } catch (error) {
      fail(error);
    }
  }

  async function download(format) {
    if (!current) return;
    clearError();
    try {
      const accept = format === "pls" ? "application/pls+xml" : "application/json";
      const blob = await (await call(lexiconUrl(current), { accept })).blob();
      const link = Object.assign(document.createElement("a"), { href: URL.createObjectURL(blob), download: `${current}.${format}` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    } catch (error) {
      fail(error);
    }
  }

  async function importFile(event) {
    event.preventDefault();
    clearError();
    const name = $("import-name").value.trim();
    const file = $("import-file").files[0];
    if (!NAME.test(name) || !file) {
      fail(new Error("Give the lexicon a name (letters, digits, '.', '_' or '-') and choose a file."));
      return;
    }
    const pls = /\.(pls|xml)$/i.test(file.name) || /^\s*</.test(await file.slice(0, 64).text());
    try {
      const response = await call(lexiconUrl(name), { method: "PUT", body: await file.arrayBuffer(), type: pls ? "application/pls+xml" : "application/json" });
      const lexicon = await response.json();
      say(`Imported ${name}: ${lexicon.rules.length} rules.`);
      await loadList();
      show(lexicon, name);
    } catch (error) {
      fail(error);
    }
  }

  function filterRules() {
    const wanted = $("rule-filter").value.trim().toLowerCase();
    for (const row of rows.children) {
      const text = [".match", ".say", ".ipa"].map((cls) => row.querySelector(cls).value.toLowerCase()).join(" ");
      row.hidden = Boolean(wanted) && !text.includes(wanted);
    }
  }

  // --- previews: the word with and without the rule ------------------------------------

  async function finished(narration) {
    for (let tries = 0; narration.status !== "done" && narration.status !== "failed" && tries < POLL_LIMIT; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      narration = await (await call(narration.status_url)).json();
    }
    if (narration.status !== "done") throw new Error(narration.error || "the preview could not be made");
    return narration;
  }

  async function preview(row, which) {
    clearError();
    const button = row.querySelector(which === "with" ? ".play-with" : ".play-without");
    button.disabled = true;
    try {
      const request = { rule: ruleOf(row) };
      const sample = row.querySelector(".sample").value.trim();
      if (sample) request.text = sample;
      if ($("preview-voice").value) request.voice = $("preview-voice").value;
      const response = await call(previewUrl, { method: "POST", body: JSON.stringify(request), type: "application/json" });
      const narration = await finished((await response.json())[which]);
      row.dataset[which === "with" ? "withMs" : "withoutMs"] = String(narration.duration_ms);
      const parts = [];
      if (row.dataset.withoutMs) parts.push(`without ${(row.dataset.withoutMs / 1000).toFixed(1)} s`);
      if (row.dataset.withMs) parts.push(`with ${(row.dataset.withMs / 1000).toFixed(1)} s`);
      row.querySelector(".durations").textContent = parts.join(" · ");
      audio.src = narration.audio_url;
      await audio.play().catch(() => null); // a browser may refuse sound before a gesture
      say(`Playing ${which} the rule (${(narration.duration_ms / 1000).toFixed(1)} s).`);
    } catch (error) {
      fail(error);
    } finally {
      button.disabled = false;
    }
  }

  async function listVoices() {
    try {
      const body = await (await fetch(app.dataset.voicesUrl)).json();
      const select = $("preview-voice");
      for (const voice of body.voices.slice().sort((a, b) => a.name.localeCompare(b.name))) {
        const languages = voice.languages.length ? ` (${voice.languages[0]})` : "";
        select.append(Object.assign(document.createElement("option"), { value: voice.id, textContent: `${voice.name}${languages} · ${voice.engine}` }));
      }
    } catch {
      // the default voice still plays
    }
  }

  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    apiKey = $("api-key").value.trim();
    $("api-key").value = "";
    clearError();
    say(apiKey ? "Key in use for this page." : "No key.");
    loadList();
  });
  $("new-lexicon").addEventListener("click", () => {
    clearError();
    show({ rules: [] }, null);
    $("lexicon-name").focus();
  });
  $("add-rule").addEventListener("click", () => {
    const row = addRow();
    relabel();
    row.querySelector(".match").focus();
  });
  $("lexicon-form").addEventListener("submit", save);
  $("delete-lexicon").addEventListener("click", remove);
  $("export-json").addEventListener("click", () => download("json"));
  $("export-pls").addEventListener("click", () => download("pls"));
  $("import-form").addEventListener("submit", importFile);
  $("rule-filter").addEventListener("input", filterRules);

  listVoices();
  if (app.dataset.needsKey === "true") $("api-key").focus();
  else loadList();
})();
