// The sandbox page: a Telegram-like chat with the bot and a panel showing the local world, fed by server-sent
// events. Everything from the bot or the user is put into the page as text nodes (never as HTML); formatting comes
// from Telegram's message entities, the way Telegram renders them.
/* global document, window, EventSource, fetch, URL, Blob, File, setTimeout, clearTimeout */
"use strict";

const chat = document.getElementById("chat");
const input = document.getElementById("composer-text");
const attach = document.getElementById("attach");
const messages = new Map(); // message id → its latest view

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** An href a link may carry: web, Telegram and mail links only (no javascript:, data: ...). */
function safeHref(url) {
  try {
    const u = new URL(url);
    return ["http:", "https:", "tg:", "mailto:"].includes(u.protocol) ? u.href : null;
  } catch {
    return null;
  }
}

function link(href, text) {
  const a = el("a", "", text);
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  return a;
}

/** The element one entity becomes; its text (and nested entities) go inside. */
function entityElement(e, covered) {
  switch (e.type) {
    case "bold": return el("b");
    case "italic": return el("i");
    case "underline": return el("u");
    case "strikethrough": return el("s");
    case "code": return el("code");
    case "pre": return el("pre");
    case "blockquote": case "expandable_blockquote": return el("blockquote");
    case "spoiler": {
      const s = el("span", "spoiler");
      s.addEventListener("click", () => s.classList.add("shown"));
      return s;
    }
    case "text_link": case "url": case "email": {
      const href = safeHref(e.type === "url" ? (/^[a-z]+:/i.test(covered) ? covered : `http://${covered}`) : e.type === "email" ? `mailto:${covered}` : e.url);
      return href ? link(href) : el("span");
    }
    case "bot_command": {
      const c = el("span", "command");
      c.addEventListener("click", () => sendText(covered));
      return c;
    }
    default: return el("span");
  }
}

/** Appends text[start, end) to parent, wrapping the parts entities cover (Telegram's entities nest). */
function renderRange(parent, text, entities, start, end) {
  let pos = start;
  entities.forEach((e, i) => {
    if (e.offset < pos || e.offset + e.length > end) return; // inside one already rendered
    if (e.offset > pos) parent.append(text.slice(pos, e.offset));
    const inner = entities.filter((x, j) => j > i && x.offset >= e.offset && x.offset + x.length <= e.offset + e.length);
    const node = entityElement(e, text.slice(e.offset, e.offset + e.length));
    renderRange(node, text, inner, e.offset, e.offset + e.length);
    parent.append(node);
    pos = e.offset + e.length;
  });
  if (pos < end) parent.append(text.slice(pos, end));
}

function renderText(text, entities) {
  const div = el("div", "text");
  const sorted = [...entities].sort((a, b) => a.offset - b.offset || b.length - a.length);
  renderRange(div, text, sorted, 0, text.length);
  return div;
}

function formatBytes(n) {
  if (n === null || n === undefined) return "?";
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function formatSeconds(s) {
  const m = Math.floor(s / 60);
  return m > 0 ? `${m} min ${String(Math.floor(s % 60)).padStart(2, "0")} s` : `${s.toFixed(1)} s`;
}

function keyboard(view) {
  const kb = el("div", "keyboard");
  for (const row of view.buttons) {
    const r = el("div", "row");
    for (const b of row) {
      if (b.data !== undefined) {
        const button = el("button", "inline", b.text);
        button.type = "button";
        button.addEventListener("click", () => press(view.id, b.data, button));
        r.append(button);
      } else if (b.url && safeHref(b.url)) {
        r.append(link(safeHref(b.url), `${b.text} ↗`));
      } else {
        r.append(el("button", "inline", b.text));
      }
    }
    kb.append(r);
  }
  return kb;
}

function messageElement(view) {
  const wrap = el("div", `msg ${view.fromBot ? "bot" : "user"}`);
  wrap.dataset.messageId = String(view.id);
  wrap.dataset.edits = String(view.edits);
  const bubble = el("div", "bubble");
  const replied = view.replyTo !== null ? messages.get(view.replyTo) : undefined;
  if (view.replyTo !== null) {
    const first = replied ? (replied.document ? replied.document.name : replied.text.split("\n")[0]) : `message #${view.replyTo}`;
    const quote = el("div", "reply-to", `↩ ${first.slice(0, 60)}`);
    quote.addEventListener("click", () => chat.querySelector(`[data-message-id="${view.replyTo}"]`)?.scrollIntoView({ behavior: "smooth" }));
    bubble.append(quote);
  }
  if (view.document) {
    const doc = el("div", "document");
    const a = link(view.document.url, view.document.name);
    a.removeAttribute("target");
    a.download = view.document.name;
    const info = el("div");
    info.append(a, el("small", "", formatBytes(view.document.size)));
    doc.append(el("div", "icon", "📄"), info);
    bubble.append(doc);
  }
  if (view.text) bubble.append(renderText(view.text, view.entities));
  const time = new Date(view.date * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  bubble.append(el("div", "meta", view.edits > 0 ? `edited ${time}` : time));
  wrap.append(bubble);
  if (view.buttons.length > 0) wrap.append(keyboard(view));
  return wrap;
}

function upsertMessage(view) {
  const atBottom = chat.scrollHeight - chat.scrollTop - chat.clientHeight < 80;
  const old = chat.querySelector(`[data-message-id="${view.id}"]`);
  messages.set(view.id, view);
  if (view.deleted) {
    old?.remove();
    return;
  }
  const node = messageElement(view);
  if (old) {
    old.replaceWith(node);
    node.classList.add("flash"); // an edit, in place, as Telegram redraws it
  } else {
    document.getElementById("chat-hint")?.remove();
    const later = [...chat.querySelectorAll("[data-message-id]")].find((m) => Number(m.dataset.messageId) > view.id);
    chat.insertBefore(node, later ?? null);
  }
  if (atBottom || (!view.fromBot && !old)) chat.scrollTop = chat.scrollHeight;
}

let toastTimer = null;
function toast(text, alert) {
  const t = document.getElementById("toast");
  t.textContent = text;
  t.classList.toggle("alert", alert);
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), alert ? 6000 : 3000);
}

async function post(path, body, headers) {
  const res = await fetch(path, { method: "POST", headers, body });
  if (!res.ok) toast((await res.json().catch(() => ({ error: res.statusText }))).error, false);
  return res.ok;
}

function sendText(text) {
  return post("/api/send", JSON.stringify({ text }), { "content-type": "application/json" });
}

async function press(messageId, data, button) {
  button.disabled = true;
  await post("/api/press", JSON.stringify({ messageId, data }), { "content-type": "application/json" });
  button.disabled = false;
}

function uploadFile(file) {
  return post("/api/upload", file, { "x-file-name": encodeURIComponent(file.name), "content-type": file.type || "application/octet-stream" });
}

async function sendSample(url, name, type) {
  const bytes = await (await fetch(url)).arrayBuffer();
  return uploadFile(new File([new Blob([bytes])], name, { type }));
}

document.getElementById("composer").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const text = input.value;
  if (text.trim() === "") return;
  if (await sendText(text)) input.value = "";
});
input.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey) {
    ev.preventDefault();
    document.getElementById("composer").requestSubmit();
  }
});
attach.addEventListener("change", async () => {
  for (const f of attach.files) await uploadFile(f);
  attach.value = "";
});

function card(title, lines, actions) {
  const c = el("div", "card");
  c.append(el("div", "title", title));
  for (const l of lines) c.append(typeof l === "string" ? el("div", "line", l) : l);
  if (actions?.length) {
    const a = el("div", "actions");
    a.append(...actions);
    c.append(a);
  }
  return c;
}

function actionButton(label, onClick) {
  const b = el("button", "", label);
  b.type = "button";
  b.addEventListener("click", onClick);
  return b;
}

function renderSamples(s) {
  document.getElementById("torrents").replaceChildren(...s.torrents.map((t) => {
    const lines = [`${formatBytes(t.size)} · ${t.files} file${t.files === 1 ? "" : "s"}${t.seeded ? "" : " · no seeder"}`, t.note];
    if (t.sha256) lines.push(el("div", "line sha256", `SHA-256 ${t.sha256}`));
    const c = card(t.name, lines, [
      actionButton("Paste magnet", () => ((input.value = t.magnet), input.focus())),
      actionButton("Send .torrent", () => sendSample(t.torrentUrl, `${t.name}.torrent`, "application/x-bittorrent")),
      link(t.torrentUrl, ".torrent ↓"),
    ]);
    c.dataset.sample = t.name;
    return c;
  }));
  document.getElementById("playbooks").replaceChildren(...s.playbooks.map((p) => {
    const c = card(p.name, [`${formatBytes(p.size)} · ${p.note}`], [actionButton("Send", () => sendSample(p.url, p.name, p.mimeType)), link(p.url, "download ↓")]);
    c.dataset.sample = p.name;
    return c;
  }));
}

function dropletCard(d) {
  const status = el("span", `status ${d.status}`, d.status);
  const head = el("div", "line");
  head.append(status, ` · ${d.size} in ${d.region} · ${d.ip} · ${d.destroyed ? "lived" : "age"} ${formatSeconds(d.ageSeconds)}`);
  const tags = el("div", "line");
  for (const t of d.tags) tags.append(el("span", "tag", t));
  const cost = el("div", "line money", `$${d.perSecondUsd.toFixed(6)} at $${d.priceHourly}/h by the second · billed $${d.billedUsd.toFixed(4)} (minimum 60 s or $0.01)`);
  const c = card(d.name, [head, tags, cost]);
  c.dataset.dropletId = String(d.id);
  return c;
}

function renderList(id, items, render, empty) {
  const box = document.getElementById(id);
  box.replaceChildren(...(items.length ? items.map(render) : [el("p", "empty", empty)]));
}

function renderWorld(w) {
  renderList("droplets", w.droplets, dropletCard, "None yet: press Start under a torrent card.");
  renderList("hosts", w.hosts, (h) => card(h.name, [h.address, `host key ${h.fingerprint}`]), "None: /addhost adds one.");
  const venvLine = (v) => [`on ${v.host}`, v.status, v.inUse ? "in use" : "", v.sizeBytes ? formatBytes(v.sizeBytes) : "", v.buildMs ? `built in ${(v.buildMs / 1000).toFixed(1)} s` : ""];
  renderList("venvs", w.venvs, (v) => card(v.name, [venvLine(v).filter(Boolean).join(" · ")]), "None yet: the first torrent or playbook run builds one.");
}

const events = new EventSource("/api/events");
const connection = document.getElementById("connection");
events.addEventListener("open", () => (connection.textContent = "bot · connected to the local world"));
events.addEventListener("error", () => (connection.textContent = "reconnecting… (is npm run sandbox still running?)"));
events.addEventListener("message", (ev) => upsertMessage(JSON.parse(ev.data)));
events.addEventListener("popup", (ev) => {
  const p = JSON.parse(ev.data);
  toast(p.text, p.alert);
});
events.addEventListener("world", (ev) => renderWorld(JSON.parse(ev.data)));
events.addEventListener("samples", (ev) => renderSamples(JSON.parse(ev.data)));
window.sandboxReady = true;
