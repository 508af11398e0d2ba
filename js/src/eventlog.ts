// EventLog: a bounded, scrolling list of events; `log` records (from sw.LogHandler) as lines.
//
// A log record is drawn as `time LEVEL logger message`, with the level's colour and the
// traceback under it; any other event as `time channel type {json}`. A level filter, a
// text filter and pause/resume sit above the list. Rows are appended in a batch once per
// frame; a filter change redraws from the events held. The store keeps at most
// 2 x `max_events` events and the list at most `max_events` rows, paused or not. The list
// sticks to the bottom unless the user has scrolled up to read.

import "./style.css";
import { Envelope } from "./stream";
import { Model, StreamStore, defineWidget, frame, h } from "./widget";

/** Python's logging levels; the filter shows records at or above the chosen one. */
const LEVELS: [string, number][] = [
  ["DEBUG", 10],
  ["INFO", 20],
  ["WARNING", 30],
  ["ERROR", 40],
  ["CRITICAL", 50],
];

export class EventLogStore extends StreamStore {
  readonly kind = "eventlog";
  events: Envelope[] = [];
  /** Total events taken; views append those past the count they drew. */
  total = 0;
  cleared = 0;

  get limit(): number {
    return Math.max(1, Number(this.model.get("max_events")) || 500);
  }

  protected take(event: Envelope): void {
    const types = this.model.get("types");
    if (Array.isArray(types) && types.length > 0 && !types.includes(event.type)) return;
    this.events.push(event);
    this.total += 1;
    const limit = this.limit;
    if (this.events.length > limit * 2) this.events = this.events.slice(-limit);
  }

  protected clear(): void {
    this.events = [];
    this.total = 0;
    this.cleared += 1;
  }

  snapshot() {
    return this.events.slice(-this.limit).map((e) => ({ id: e.id, channel: e.channel, type: e.type, data: e.data }));
  }
}

function isRecord(e: Envelope): boolean {
  return e.type === "log" && e.data !== null && typeof e.data === "object";
}

function levelNumber(e: Envelope): number {
  const n = Number(e.data?.levelno);
  return Number.isFinite(n) ? n : 0;
}

function time(ts: number): string {
  const d = new Date(ts * 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function text(value: unknown): string {
  return value === undefined || value === null ? "" : String(value);
}

function rawData(e: Envelope): string {
  let data: string;
  try {
    data = JSON.stringify(e.data);
  } catch {
    data = String(e.data);
  }
  return data.length > 500 ? data.slice(0, 500) + "…" : data;
}

/** What the text filter searches: what the row shows. */
function searchable(e: Envelope): string {
  if (!isRecord(e)) return `${e.channel} ${e.type} ${rawData(e)}`.toLowerCase();
  const d = e.data;
  return `${text(d.level)} ${text(d.logger)} ${text(d.message)} ${text(d.process)} ${text(d.thread)} ${text(d.exc)}`.toLowerCase();
}

function recordRow(e: Envelope): HTMLElement {
  const d = e.data;
  const level = text(d.level) || "INFO";
  const row = h("div", "sse-log-row sse-log-record");
  row.dataset.type = e.type;
  row.dataset.level = level;
  const badge = h("span", `sse-log-level sse-log-level-${level.toLowerCase()}`, level);
  const ts = typeof d.time === "number" && Number.isFinite(d.time) ? d.time : e.ts;
  const line = h("div", "sse-log-line");
  line.append(
    h("span", "sse-log-time", time(ts)),
    badge,
    h("span", "sse-log-logger", text(d.logger) || "root"),
    h("span", "sse-log-message", text(d.message)),
  );
  const where = [d.process, d.thread].filter((x) => x && x !== "MainProcess" && x !== "MainThread");
  if (where.length) line.append(h("span", "sse-log-where", where.map(text).join(" / ")));
  row.title = `${text(d.process)} (pid ${text(d.pid)}), ${text(d.thread)}; ${text(d.module)}:${text(d.line)}`;
  row.append(line);
  // A div, not a pre: hosts style `pre` in outputs (margins, padding) more strongly than a widget can.
  if (d.exc) row.append(h("div", "sse-log-exc", text(d.exc)));
  return row;
}

function eventRow(e: Envelope): HTMLElement {
  const row = h("div", "sse-log-row");
  row.dataset.type = e.type;
  const line = h("div", "sse-log-line");
  line.append(
    h("span", "sse-log-time", time(e.ts)),
    h("span", "sse-log-channel", e.channel),
    h("span", "sse-log-type", e.type),
    h("span", "sse-log-data", rawData(e)),
  );
  row.append(line);
  return row;
}

function renderLog(store: EventLogStore, el: HTMLElement, model: Model) {
  const f = frame(el, store, "eventlog");
  const bar = h("div", "sse-log-controls");
  const level = h("select", "sse-log-level-filter");
  level.title = "lowest level shown";
  level.append(new Option("all levels", "0"));
  for (const [name, n] of LEVELS) level.append(new Option(`${name}+`, String(n)));
  const search = h("input", "sse-log-search");
  search.type = "search";
  search.placeholder = "filter";
  const pause = h("button", "sse-log-pause", "pause");
  pause.type = "button";
  const info = h("span", "sse-log-info");
  bar.append(level, search, pause, info);
  const list = h("div", "sse-log");
  const empty = h("div", "sse-empty");
  f.body.append(bar, list, empty);

  let minLevel = 0;
  let needle = "";
  let paused = false;
  let drawnTotal = 0;
  let drawnCleared = store.cleared;
  let rebuild = true;

  const fromModel = () => {
    const wanted = String(model.get("level") ?? "").toUpperCase();
    const found = LEVELS.find(([name]) => name === wanted);
    minLevel = found ? found[1] : 0;
    level.value = String(minLevel);
    needle = String(model.get("filter") ?? "").toLowerCase();
    if (search.value.toLowerCase() !== needle) search.value = String(model.get("filter") ?? "");
    rebuild = true;
    store.invalidate();
  };
  fromModel();
  const toModel = () => {
    const found = LEVELS.find(([, n]) => n === minLevel);
    model.set("level", found ? found[0] : "");
    model.set("filter", search.value);
    model.save_changes();
  };
  level.addEventListener("change", () => {
    minLevel = Number(level.value) || 0;
    rebuild = true;
    toModel();
    draw();
  });
  search.addEventListener("input", () => {
    needle = search.value.toLowerCase();
    rebuild = true;
    toModel();
    draw();
  });
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.textContent = paused ? "resume" : "pause";
    pause.dataset.paused = String(paused);
    draw();
  });
  model.on("change:level", fromModel);
  model.on("change:filter", fromModel);

  const shown = (e: Envelope) =>
    (!isRecord(e) || levelNumber(e) >= minLevel) && (needle === "" || searchable(e).includes(needle));
  const row = (e: Envelope) => (isRecord(e) ? recordRow(e) : eventRow(e));

  function draw() {
    f.update();
    const height = Number(model.get("height")) || 240;
    list.style.maxHeight = `${height}px`;
    if (drawnCleared !== store.cleared) {
      drawnCleared = store.cleared;
      rebuild = true;
    }
    empty.textContent = store.total === 0 ? `waiting for events on ${store.channels.join(", ")}` : "";
    empty.style.display = store.total === 0 ? "" : "none";
    const waiting = store.total - drawnTotal;
    info.textContent = paused && waiting > 0 ? `paused · ${waiting} new` : paused ? "paused" : "";
    if (paused) return;
    const limit = store.limit;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 8;
    let fresh: Envelope[];
    if (rebuild) {
      rebuild = false;
      list.replaceChildren();
      fresh = store.events.slice(-limit);
    } else {
      const count = Math.min(store.total - drawnTotal, limit, store.events.length);
      fresh = count > 0 ? store.events.slice(-count) : [];
    }
    drawnTotal = store.total;
    const batch = document.createDocumentFragment();
    for (const e of fresh) if (shown(e)) batch.append(row(e));
    list.append(batch);
    while (list.childElementCount > limit) list.firstElementChild?.remove();
    if (atBottom) list.scrollTop = list.scrollHeight;
  }
  const detach = store.addView(draw);
  return () => {
    detach();
    model.off("change:level", fromModel);
    model.off("change:filter", fromModel);
  };
}

export default defineWidget((model) => new EventLogStore(model), renderLog);
