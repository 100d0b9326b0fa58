// "Listen to this story": one tag adds a player to a publisher's article page.
//   <script src="https://HOST/embed.js" async></script>
// data-article="<selector>" names the article element (the player goes before it);
// without it, or with "body", the embed finds the paragraphs the narration reads.
// Also data-narration="<id>" (made in advance), data-voice, data-rate.
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script?.src) return;
  // here(path): the service's address for one of its paths
  const here = path => new URL(path, script.src).href,
    options = script.dataset,
    TITLE = "Listen to this story",
    SKIP_S = 15,
    ID = /^[0-9a-f]{32}$/,
    names = list => new Set(list.split(" ")),
    BLOCK = names("address article aside blockquote body caption center dd details dialog div dl dt fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr html legend li main menu nav ol p pre section summary table tbody tfoot thead tr ul"),
    // Code, media and the player: never the story's text, and not sent to the service.
    CODE = "style noscript template iframe svg object embed canvas video audio listen-story",
    // Never the story's text, so never marked: code, media, controls, menus, captions, asides.
    SKIP = names(`script ${CODE} math select textarea button input nav aside figure figcaption footer dialog menu`),
    SKIP_ROLE = /^(navigation|complementary|contentinfo|search|menu|menubar|dialog)$/,
    // Cells belong to their row, as the service reads a table: one block per row.
    SPACED = names("br td th"),
    WRAP = names("ul ol dl menu table thead tbody tfoot tr"),
    WORD = /[\p{L}\p{M}\p{N}]+/gu,
    HAN_KANA = String.raw`\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}`,
    CJK = new RegExp(`[${HAN_KANA}]`, "u"),
    CJK_APART = new RegExp(`[${HAN_KANA}]|[^${HAN_KANA}]+`, "gu"),
    DP_CELLS = 5e4,
    highlights = window.CSS?.highlights && typeof Highlight === "function",
    YELLOW = "rgba(255,214,10,.38)",
    MARK = { "background-color": YELLOW, "box-shadow": `0 0 0 .3em ${YELLOW}`, "border-radius": ".2em" };
  const STYLE = `:host{all:initial!important;display:block!important;position:relative!important;visibility:visible!important;opacity:1!important;
margin:0 0 1.25em!important;color:#1b1b1f!important;font:16px/1.45 system-ui,sans-serif!important;contain:content}
*,*::before{box-sizing:border-box}
[hidden]{display:none!important}
.box,button,.dl,select{border:1px solid #d9d6cf;background:#fff;font:inherit;color:inherit}
.box{display:grid;gap:.6em;max-width:40em;padding:.6em;border-radius:.8em}
button,.dl,select{min-height:2.5em;padding:.35em .8em;border-radius:999px}
button,.dl{display:inline-flex;align-items:center;justify-content:center;gap:.35em;cursor:pointer;text-decoration:none;white-space:nowrap}
button:hover,.dl:hover{border-color:#1f4fd1}
:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
.play{justify-self:start;min-height:3em;padding:.35em 1.1em .35em .4em;gap:.6em;background:#1f4fd1;border-color:#1f4fd1;color:#fff;font-weight:700;font-size:1.05em}
.icon{width:2.2em;height:2.2em;border-radius:50%;background:#fff;display:inline-grid;place-items:center;flex:none}
.icon::before{content:"";margin-left:.18em;border:solid transparent;border-width:.5em 0 .5em .8em;border-left-color:#1f4fd1}
[data-state=playing] .icon::before{margin:0;width:.75em;height:.95em;border-width:0 .25em;border-color:#1f4fd1}
[data-state=loading] .icon::before{margin:0;width:1.05em;height:1.05em;border-radius:50%;border:.18em solid #1f4fd1;border-right-color:transparent;animation:spin .9s linear infinite}
@keyframes spin{to{transform:rotate(1turn)}}
.seek{width:100%;height:1.8em;margin:0;accent-color:#1f4fd1;cursor:pointer}
.row{display:flex;flex-wrap:wrap;align-items:center;gap:.45em}
.time,.status{color:#5b5b66;font-size:.9em}
.time{font-variant-numeric:tabular-nums;margin-right:auto}
select{padding:.3em .6em}
.dl[aria-disabled=true]{opacity:.5;pointer-events:none}
.status{margin:0}
.status:empty{display:none}
.status.error{color:#a4161a;font-weight:600}`;

  const on = (target, ...event) => target.addEventListener(...event),
    // Highlight a range by name with the CSS Custom Highlight API, or with no range clear it.
    paint = (name, range) => (range ? CSS.highlights.set(name, new Highlight(range)) : CSS.highlights.delete(name));
  const clock = seconds => {
    const s = Math.max(0, Math.floor(seconds || 0)),
      two = n => String(n).padStart(2, "0"),
      minutes = Math.floor(s / 60);
    return `${s >= 3600 ? `${Math.floor(s / 3600)}:${two(minutes % 60)}` : minutes}:${two(s % 60)}`;
  };
  // Elements are built, never parsed from HTML: a Trusted Types policy has nothing to refuse.
  const h = (tag, attributes, ...children) => {
    const el = document.createElement(tag);
    for (const name in attributes) el.setAttribute(name, attributes[name]);
    el.append(...children);
    return el;
  };
  const sheet = text => {
    const made = new CSSStyleSheet();
    made.replaceSync(text);
    return made;
  };
  const marked = new WeakSet(); // elements whose style the highlight sets
  // Call then(observer) after the page's text changes (words added, removed, shown or
  // hidden), at most every 400 ms: an ad or a ticker that moves does not count.
  const observe = (target, then) => {
    let pending = 0;
    const wordy = node => /\S/.test(node.textContent);
    const observer = new MutationObserver(records => {
      const changed = r => (r.type === "childList" ? [...r.addedNodes, ...r.removedNodes].some(wordy) : !marked.has(r.target));
      if (pending || !records.some(changed)) return;
      pending = setTimeout(() => {
        pending = 0;
        try {
          then(observer);
        } catch {
          // a page in the middle of changing keeps what was found before
        }
      }, 400);
    });
    observer.observe(target, { childList: true, subtree: true, characterData: true, attributeFilter: ["class", "hidden", "open", "style"] });
  };

  async function json(url, body) {
    const init = body ? { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) } : { cache: "no-store" },
      response = await fetch(here(url), { credentials: "omit", ...init }),
      answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(answer.detail || answer.title || `HTTP ${response.status}`);
    return answer;
  }

  // The narration data-narration names, made in advance: null without one, or when the
  // service does not have it.
  const premade = async () => (ID.test(options.narration || "") ? json(`api/narrations/${options.narration}`).catch(() => null) : null);

  // The page as the reader has it, less code, media and the player. The service's
  // extractor finds the article in it, so every data-article gives the same narration.
  function pageHtml() {
    const copy = document.documentElement.cloneNode(true);
    for (const el of copy.querySelectorAll(`script:not([type="application/ld+json"]),${CODE.replaceAll(" ", ",")}`)) el.remove();
    return `<!doctype html>${copy.outerHTML}`;
  }

  // Words of each text (lowercased, NFKC; Chinese and Japanese by character), with where
  // each starts and ends, which text holds it, and where each text's words begin.
  function tokens(texts) {
    const words = [], of = [], start = [], end = [], first = [];
    texts.forEach((text, i) => {
      first.push(words.length);
      for (const run of text.matchAll(WORD)) {
        for (const word of CJK.test(run[0]) ? run[0].matchAll(CJK_APART) : [[run[0]]]) {
          const at = run.index + (word.index || 0);
          words.push(word[0].normalize("NFKC").toLowerCase());
          of.push(i);
          start.push(at);
          end.push(at + word[0].length);
        }
      }
    });
    first.push(words.length);
    return { words, of, start, end, first };
  }

  // The page's visible text in reading order, in runs that share a block element.
  function pageWords(scope) {
    const owners = new Map();
    const ownerOf = el => {
      if (!owners.has(el)) owners.set(el, el === scope || BLOCK.has(el.localName) ? el : ownerOf(el.parentElement));
      return owners.get(el);
    };
    const shown = el => !SKIP.has(el.localName) && !el.hidden && !SKIP_ROLE.test(el.getAttribute("role")) &&
      (el.checkVisibility ? el.checkVisibility({ visibilityProperty: true }) || getComputedStyle(el).display === "contents" : el.getClientRects().length);
    const walker = document.createTreeWalker(scope, 5, { acceptNode: node => (node.nodeType === 3 || shown(node) ? 1 : 2) }),
      runs = [];
    let run = null;
    for (let node; (node = walker.nextNode());) {
      if (node.nodeType === 1) {
        if (run && SPACED.has(node.localName)) run.text += " ";
        continue;
      }
      const el = ownerOf(node.parentElement);
      if (run?.el !== el) runs.push((run = { el, text: "", nodes: [], at: [] }));
      run.nodes.push(node);
      run.at.push(run.text.length);
      run.text += node.data;
    }
    return { runs, ...tokens(runs.map(r => r.text)) };
  }

  // Pins for a[a0..a1) against b[b0..b1): runs of k words found once on each side, the
  // most of them that come in the same order on both (a longest increasing subsequence).
  function pins(a, b, a0, a1, b0, b1, k) {
    const once = (list, from, to) => {
      const seen = new Map();
      for (let i = from; i + k <= to; i++) {
        const key = list.slice(i, i + k).join(" ");
        seen.set(key, seen.has(key) ? -1 : i);
      }
      return seen;
    };
    const inB = once(b, b0, b1),
      pairs = [...once(a, a0, a1)].map(([key, i]) => [i, inB.get(key)]).filter(([i, j]) => i >= 0 && j >= 0),
      tails = [];
    const before = pairs.map(([, j], p) => {
      let low = 0,
        high = tails.length;
      while (low < high) {
        const mid = (low + high) >> 1;
        if (pairs[tails[mid]][1] < j) low = mid + 1;
        else high = mid;
      }
      tails[low] = p;
      return tails[low - 1] ?? -1;
    });
    const chain = [];
    for (let p = tails.at(-1) ?? -1; p >= 0; p = before[p]) chain.push(pairs[p]);
    return chain.reverse();
  }

  // Longest common subsequence of a box; of equal ones, the one nearest the box's pinned
  // side (its end, unless only its start is pinned).
  function fill(a, b, a0, a1, b0, b1, early, match) {
    const x = a.slice(a0, a1),
      y = b.slice(b0, b1);
    if (early) x.reverse(), y.reverse();
    const w = y.length + 1,
      dp = new Int32Array((x.length + 1) * w);
    for (let i = 1; i <= x.length; i++) {
      for (let j = 1, at = i * w + 1; j < w; j++, at++) {
        dp[at] = x[i - 1] === y[j - 1] ? dp[at - w - 1] + 1 : Math.max(dp[at - w], dp[at - 1]);
      }
    }
    for (let i = x.length, j = w - 1; i && j;) {
      if (x[i - 1] === y[j - 1]) {
        i--, j--;
        if (early) match[a1 - 1 - i] = b1 - 1 - j;
        else match[a0 + i] = b0 + j;
      } else if (dp[(i - 1) * w + j] >= dp[i * w + j - 1]) i--;
      else j--;
    }
  }

  // Align the narration's words a with the page's words b (index in b, or -1, for each
  // word of a): pin what is unique, align each gap between pins alike, small gaps exactly.
  function align(a, b) {
    const match = new Int32Array(a.length).fill(-1),
      boxes = [[0, a.length, 0, b.length, 3]];
    while (boxes.length) {
      let [a0, a1, b0, b1, k] = boxes.pop();
      if (a0 >= a1 || b0 >= b1) continue;
      const early = b0 > 0 && b1 === b.length;
      if ((a1 - a0) * (b1 - b0) > DP_CELLS) {
        const found = pins(a, b, a0, a1, b0, b1, k);
        if (found.length || k > 2) {
          for (const [i, j] of found) {
            match[i] = j;
            boxes.push([a0, i, b0, j, 3]);
            a0 = i + 1;
            b0 = j + 1;
          }
          boxes.push([a0, a1, b0, b1, found.length ? 3 : k - 1]);
          continue;
        }
        // Nothing pins so big a box: align with the part of the page nearest its pinned side.
        const span = Math.floor(DP_CELLS / (a1 - a0));
        if (early) b1 = b0 + span;
        else b0 = b1 - span;
      }
      fill(a, b, a0, a1, b0, b1, early, match);
    }
    return match;
  }

  // For each narrated block: the page's elements that hold it, in document order, with
  // the share of each element's words it holds, and range(from, to) that finds its
  // characters [from, to) in the page as a DOM Range (null when the page lacks them).
  function mapBlocks(blocks, scope) {
    const started = performance.now(),
      page = pageWords(scope),
      said = tokens(blocks.map(block => String(block.text || ""))),
      match = align(said.words, page.words),
      elOf = j => page.runs[page.of[j]].el,
      size = new Map();
    page.of.forEach((_, j) => size.set(elOf(j), (size.get(elOf(j)) || 0) + 1));
    const spot = (j, edges) => {
      const run = page.runs[page.of[j]];
      let k = run.at.length - 1;
      while (k && (run.at[k] > edges[j] || (edges === page.end && run.at[k] === edges[j]))) k--;
      return [run.nodes[k], edges[j] - run.at[k]];
    };
    const mapped = blocks.map((block, i) => {
      const total = said.first[i + 1] - said.first[i],
        hits = []; // [word of the block, its word in the page, the page's element]
      for (let t = said.first[i]; t < said.first[i + 1]; t++) if (match[t] >= 0) hits.push([t, match[t], elOf(match[t])]);
      const held = new Map(); // element -> [words matched, first and last word of the block]
      for (const [t, , el] of hits) {
        const [n, first] = held.get(el) || [0, t];
        held.set(el, [n + 1, first, t]);
      }
      // An element counts when it holds a real share of the block, or is one piece of it
      // (nearly all its words, in one stretch of the block): a few words of a sentence
      // found in a menu link or a caption are neither.
      const parts = [...held]
        .filter(([el, [n, from, to]]) => n >= Math.min(3, total) &&
          (3 * n >= total || (5 * n >= 4 * size.get(el) && 2 * (to - from + 1) <= 3 * n)))
        .map(([el, [n]]) => ({ el, share: n / size.get(el) }));
      const els = parts.map(part => part.el);
      const range = (from = 0, to = Infinity) => {
        const at = hits.filter(([t, , el]) => said.start[t] >= from && said.end[t] <= to && els.includes(el));
        if (!at.length) return null;
        const found = document.createRange();
        found.setStart(...spot(at[0][1], page.start));
        found.setEnd(...spot(at.at(-1)[1], page.end));
        return found;
      };
      return { block, parts, els, range };
    });
    performance.measure("listen-map", { start: started });
    return mapped;
  }

  // Before the article's first block, so after the headline (the title, or an h1 read as
  // a heading) when it comes first; outside any list or table, and before the wrappers
  // that block opens, so the publisher's :first-child rules still find their element.
  function placeFor(mapped) {
    const first = mapped.findIndex(m => m.els.length && !["title", "byline"].includes(m.block.kind) && m.els[0].localName !== "h1");
    if (first < 0) return null;
    const before = mapped.slice(0, first).flatMap(m => m.els),
      heads = el => before.some(head => el.contains(head));
    let at = mapped[first].els[0];
    if (heads(at)) {
      // The block's words share their element with the headline: go just before the words.
      let node = mapped[first].range().startContainer;
      while (node.parentNode !== at) node = node.parentNode;
      return node;
    }
    for (let up = at.parentElement; up && up !== document.body; up = up.parentElement) {
      if (!WRAP.has(up.localName) && (up.firstElementChild !== at || heads(up))) break;
      at = up;
    }
    return at;
  }

  // A block's elements get inline !important properties: they beat the page's style
  // sheets, a strict CSP allows them, and none moves anything. In an element holding much
  // more than the block (text without paragraphs), the block's own words are highlighted.
  function mark(item) {
    const undo = [];
    for (const { el, share } of item.parts) {
      el.dataset.listenReading = "";
      undo.push(() => delete el.dataset.listenReading);
      if (highlights && share < 0.5) {
        paint("listen-reading", item.range());
        undo.push(() => paint("listen-reading"));
        continue;
      }
      marked.add(el);
      const { style } = el;
      for (const name in MARK) {
        const value = style.getPropertyValue(name),
          priority = style.getPropertyPriority(name);
        style.setProperty(name, MARK[name], "important");
        undo.push(() => style.setProperty(name, value, priority)); // an empty value removes it
      }
    }
    return () => undo.forEach(step => step());
  }

  function mount(place, scope, known) {
    const host = h("listen-story");
    place.before(host);
    const root = host.attachShadow({ mode: "open" });
    if ("adoptedStyleSheets" in root && "replaceSync" in CSSStyleSheet.prototype) {
      root.adoptedStyleSheets = [sheet(STYLE)];
      document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet(`::highlight(listen-reading){background-color:${YELLOW}}::highlight(listen-word){background-color:#ffc800;color:#000;text-decoration:underline .12em}`)];
    } else root.append(h("style", {}, STYLE));
    const button = (name, label, ...children) => h("button", { class: name, type: "button", "aria-label": label }, ...children),
      hidden = (attributes, ...children) => h("span", { ...attributes, "aria-hidden": "true" }, ...children);
    root.append(h("div", { class: "box", role: "region", "aria-label": TITLE },
      h("button", { class: "play", type: "button" }, hidden({ class: "icon" }), h("span", { class: "label" }, TITLE)),
      h("div", { class: "panel", hidden: "" },
        h("input", { class: "seek", type: "range", min: 0, max: 0, step: "any", value: 0, "aria-label": "Position in the story" }),
        h("div", { class: "row" },
          hidden({ class: "time" }, "0:00"),
          button("back", "Back 15 seconds", hidden({}, "↺"), " 15"),
          button("fwd", "Forward 15 seconds", "15 ", hidden({}, "↻")),
          h("select", { class: "speed", "aria-label": "Playback speed" },
            ...[0.75, 1, 1.25, 1.5, 2].map(s => h("option", s === 1 ? { value: s, selected: "" } : { value: s }, `${s}×`))),
          h("a", { class: "dl", download: "", "aria-disabled": "true" }, "Download MP3"))),
      h("p", { class: "status", role: "status" })));
    const $ = name => root.querySelector(`.${name}`),
      [play, label, panel, seek, time, speed, download, statusLine] = "play label panel seek time speed dl status".split(" ").map($),
      audio = new Audio();
    audio.preload = "none";
    root.append(audio);

    let narration = null,
      durationS = null,
      usingFile = false,
      blocks = null,
      timed = [],
      current = null,
      unmark = null,
      word = null,
      dragging = false;
    const wordCount = known ? known.words : (scope.innerText || scope.textContent).split(/\s+/).length;
    const totalS = () =>
      durationS || (usingFile && Number.isFinite(audio.duration) ? audio.duration : (wordCount / (Number(options.rate) || 175)) * 60);

    function say(message, error) {
      statusLine.textContent = message;
      statusLine.classList.toggle("error", !!error);
      statusLine.setAttribute("role", error ? "alert" : "status");
    }

    function render() {
      const playing = !audio.paused && !audio.ended;
      play.dataset.state = playing ? (audio.readyState < 3 ? "loading" : "playing") : "paused";
      const now = audio.currentTime,
        total = totalS();
      label.textContent = playing ? "Pause" : now > 1 && !audio.ended ? "Resume" : `${TITLE} · ${Math.max(1, Math.round(total / 60))} min`;
      const about = durationS ? "" : "about ";
      seek.max = Math.max(total, now);
      if (!dragging) seek.value = now;
      const shown = clock(dragging ? Number(seek.value) : now),
        length = clock(total);
      time.textContent = `${shown} / ${about && "~"}${length}`;
      seek.setAttribute("aria-valuetext", `${shown} of ${about}${length}`);
    }

    // The block being heard is marked where the page holds it; a block the page does not
    // hold marks nothing (not the paragraph before it).
    // (timed is in time order; so are a block's words)
    const reached = seconds => seconds <= audio.currentTime + 0.01;
    function highlight() {
      const found = timed.findLast(item => reached(item.startS)) || null;
      if (found !== current) {
        unmark?.();
        current = found;
        unmark = found?.els.length ? mark(found) : null;
      }
      markWord();
    }

    // The block's words, each with its time and its range in the page (0 where the page
    // lacks it), found once.
    const wordsOf = item =>
      (item.words ||= item.block.sentences.flatMap(s => s.words || []).map(w => ({
        t: w.start_ms / 1e3,
        r: item.els.length && item.range(w.start_char - item.block.start_char, w.end_char - item.block.start_char),
      })));

    // The word being heard, with the CSS Custom Highlight API: no markup and no layout
    // changes (without the API, the block's mark is all). Frame by frame while playing.
    function markWord() {
      const found = highlights && current && wordsOf(current).findLast(w => reached(w.t));
      if (found === word) return;
      word = found;
      if (highlights) paint("listen-word", found?.r);
    }
    const update = () => {
      render();
      highlight();
    };
    const tick = () => {
      highlight();
      if (!audio.paused) requestAnimationFrame(tick);
    };

    // While the story plays, a click on one of its words seeks there: a reader who is
    // listening expects it, and a click on a paused page stays the publisher's own.
    on(document, "click", event => {
      if (audio.paused || !highlights || event.target.closest("a,button,input,select,textarea,label") || String(getSelection()).trim()) return;
      const { offsetNode: node, offset } = document.caretPositionFromPoint(event.clientX, event.clientY) || {},
        item = timed.find(i => i.els.some(el => el.contains(node))),
        found = item && wordsOf(item).find(w => w.r && w.r.isPointInRange(node, offset));
      if (found) seekTo(found.t);
    });

    // Paragraphs added later (lazy loading, "read more") are marked once they exist.
    function remap() {
      if (!blocks) return;
      timed = mapBlocks(blocks, scope).map(item => ({ ...item, startS: item.block.start_ms / 1e3 })).sort((x, y) => x.startS - y.startS);
      current = undefined;
      highlight();
    }
    observe(scope, remap);

    function seekTo(seconds) {
      const { seekable } = audio,
        end = seekable.length ? seekable.end(seekable.length - 1) : 0;
      audio.currentTime = Math.max(0, Math.min(seconds, usingFile ? totalS() : end));
      update();
    }
    const skip = seconds => () => seekTo(audio.currentTime + seconds);

    async function start() {
      try {
        await audio.play();
      } catch (error) {
        if (error.name !== "AbortError") say(`The audio could not start: ${error.message}`, true);
      }
    }

    async function finished() {
      download.href = here(narration.audio_url + "?download=1");
      download.removeAttribute("aria-disabled");
      if (!usingFile) {
        usingFile = true;
        const position = audio.currentTime,
          wasPlaying = !audio.paused || audio.ended,
          started = audio.played.length > 0;
        audio.src = here(narration.audio_url);
        if (started) {
          on(audio, "loadedmetadata", () => {
            audio.currentTime = position;
            if (wasPlaying) start();
          }, { once: true });
          audio.load();
        }
      }
      try {
        const manifest = await json(narration.timings_url);
        durationS = manifest.duration_ms / 1e3;
        blocks = manifest.blocks;
        remap();
        render();
      } catch {
        timed = [];
      }
    }

    function progress(body) {
      narration = { ...narration, ...body };
      if (body.duration_ms) durationS = body.duration_ms / 1e3;
      const failed = body.status === "failed";
      say(failed ? `The narration failed: ${body.error || "synthesis stopped"}.`
        : body.status === "done" ? "" : `Preparing the audio: ${body.chunks_done} of ${body.chunks_total} parts ready.`, failed);
      render();
    }

    // Until the narration is done (or has failed), the live stream plays and the
    // service is asked every second how far it has come.
    const settled = () => ["done", "failed"].includes(narration.status);
    async function begin() {
      if (!settled()) {
        audio.src = here(narration.stream_url);
        do {
          await new Promise(resolve => setTimeout(resolve, 1000));
          await json(narration.status_url).then(progress, () => null);
        } while (!settled());
      }
      if (narration.status === "done") finished();
    }

    async function prepare() {
      if (narration) return true;
      play.dataset.state = "loading";
      try {
        const request = { html: pageHtml() };
        // the page's address chooses its site's lexicon (the service checks it against Origin)
        if (/^https?:$/.test(location.protocol)) request.page_url = location.href;
        if (options.voice) request.voice = options.voice;
        if (options.rate) request.rate = Number(options.rate);
        progress(await json("api/narrations", request));
      } catch (error) {
        say(`The story could not be prepared: ${error.message}`, true);
        render();
        return false;
      }
      begin();
      return true;
    }

    on(play, "click", async () => {
      panel.hidden = false;
      if (!(await prepare()) || narration.status === "failed") return;
      if (audio.paused || audio.ended) start();
      else audio.pause();
    });
    on($("back"), "click", skip(-SKIP_S));
    on($("fwd"), "click", skip(SKIP_S));
    on(seek, "input", () => {
      dragging = true;
      render();
    });
    on(seek, "change", () => {
      dragging = false;
      seekTo(Number(seek.value));
    });
    on(seek, "keydown", event => {
      const step = { ArrowLeft: -5, ArrowDown: -5, ArrowRight: 5, ArrowUp: 5, PageDown: -30, PageUp: 30 }[event.key];
      if (step) event.preventDefault(), skip(step)();
    });
    on(speed, "change", () => {
      audio.playbackRate = audio.defaultPlaybackRate = Number(speed.value) || 1;
    });
    for (const name of "play playing pause waiting ended durationchange seeked".split(" ")) on(audio, name, render);
    on(audio, "play", () => requestAnimationFrame(tick));
    on(audio, "timeupdate", update);
    on(audio, "error", () => {
      if (!narration || narration.status === "failed") return;
      say(usingFile ? "The audio could not be played." : "The live stream is busy: the story plays here as soon as it is ready.", usingFile);
    });
    on(audio, "play", () => {
      const media = navigator.mediaSession;
      if (!media || !narration) return;
      try {
        media.metadata = new MediaMetadata({ title: narration.title || document.title, artist: narration.byline || "", album: location.hostname });
        const actions = { seekbackward: skip(-SKIP_S), seekforward: skip(SKIP_S), seekto: details => seekTo(details.seekTime) };
        for (const action in actions) media.setActionHandler(action, actions[action]);
      } catch {
        // lock-screen controls are a bonus
      }
    });

    // Statistics, as on the player page: sendBeacon, nothing under Do Not Track or Global
    // Privacy Control, a random session id in this page's memory only, no cookie.
    const nav = navigator;
    if (nav.sendBeacon && nav.doNotTrack !== "1" && !nav.globalPrivacyControl) {
      const session = Array.from(crypto.getRandomValues(new Uint32Array(4)), n => (n + 2 ** 32).toString(36)).join(""),
        sent = new Set();
      let heard = 0,
        tick = 0;
      const send = (type, extra) => {
        const event = { narration_id: narration.id, session, type, ...extra };
        if (heard > 999) (event.seconds = Math.round(heard) / 1e3), (heard = 0); // sent every 15 s
        nav.sendBeacon(here("api/events"), JSON.stringify(event));
      };
      const once = (key, type, extra) => sent.has(key) || (sent.add(key), send(type, extra));
      const count = () => {
        const now = performance.now();
        if (tick && now - tick < 5e3) heard += now - tick;
        tick = audio.paused ? 0 : now;
      };
      const flush = () => count() || (heard > 999 && send("seconds"));
      on(audio, "play", () => (tick = performance.now()) && once(0, "play"));
      on(audio, "timeupdate", () => {
        if (audio.paused) return;
        count();
        const now = audio.currentTime;
        for (const quartile of [25, 50, 75]) if (now >= (totalS() * quartile) / 100) once(quartile, "progress", { quartile });
        let index = -1;
        for (const b of blocks || []) if (b.start_ms <= now * 1e3 + 10) index = b.index;
        if (index >= 0) once(`p${index}`, "paragraph", { index });
        if (heard >= 15e3) send("seconds");
      });
      on(audio, "pause", flush);
      on(audio, "ended", () => once(100, "progress", { quartile: 100 }));
      on(audio, "ratechange", () => sent.has(0) && send("speed", { value: audio.playbackRate }));
      on(document, "visibilitychange", () => document.hidden && flush());
    }

    render();
    premade().then(body => {
      if (body) progress(body), begin();
    });
  }

  // Without a usable data-article, find the story as a reader would: where the page holds
  // the words the narration will say (one made in advance, or the service's reading of
  // this page). A page still filling in is watched a while.
  async function locate(tries = 3) {
    const { body } = document;
    let known;
    try {
      const made = await premade(),
        done = made?.status === "done",
        found = await (done ? json(made.timings_url) : json("api/extract", { html: pageHtml() }));
      known = { blocks: found.blocks, words: (done ? made : found).word_count };
    } catch {
      // nothing to read yet, or the service is away: no player, unless words arrive
      if (tries) observe(body, observer => observer.disconnect() || locate(tries - 1));
      return;
    }
    let misses = 0;
    const attempt = observer => {
      const place = placeFor(mapBlocks(known.blocks, body));
      if (place) mount(place, body, known);
      if (observer && (place || ++misses > 20)) observer.disconnect();
      return place;
    };
    if (!attempt()) observe(body, attempt);
  }

  function init() {
    let given = null;
    try {
      given = options.article && document.querySelector(options.article);
    } catch {
      // not a selector: find the article instead
    }
    // (not the body, nor the root element, which has no parent element)
    if (given?.parentElement && given !== document.body) mount(given, given);
    else if (document.body) locate();
  }
  if (document.readyState === "loading") on(document, "DOMContentLoaded", init);
  else init();
})();
