// EventLog: a bounded, scrolling list of raw events of any type.
//
// Rows are appended in a batch once per frame; the list keeps the last `max_events` and
// sticks to the bottom unless the user has scrolled up to read.

import "./style.css";
import { Envelope } from "./stream";
import { Model, StreamStore, defineWidget, frame, h } from "./widget";

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

function time(ts: number): string {
  const d = new Date(ts * 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function renderLog(store: EventLogStore, el: HTMLElement, model: Model) {
  const f = frame(el, store, "eventlog");
  const list = h("div", "sse-log");
  const empty = h("div", "sse-empty");
  f.body.append(list, empty);
  let drawnTotal = 0;
  let drawnCleared = store.cleared;

  const draw = () => {
    f.update();
    const height = Number(model.get("height")) || 240;
    list.style.maxHeight = `${height}px`;
    if (drawnCleared !== store.cleared) {
      drawnCleared = store.cleared;
      list.replaceChildren();
      drawnTotal = 0;
    }
    const limit = store.limit;
    const fresh = Math.min(store.total - drawnTotal, limit, store.events.length);
    empty.textContent = store.total === 0 ? `waiting for events on ${store.channels.join(", ")}` : "";
    empty.style.display = store.total === 0 ? "" : "none";
    if (fresh <= 0) return;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 8;
    const batch = document.createDocumentFragment();
    for (const e of store.events.slice(-fresh)) {
      const row = h("div", "sse-log-row");
      row.dataset.type = e.type;
      let data: string;
      try {
        data = JSON.stringify(e.data);
      } catch {
        data = String(e.data);
      }
      if (data.length > 500) data = data.slice(0, 500) + "…";
      row.append(
        h("span", "sse-log-time", time(e.ts)),
        h("span", "sse-log-channel", e.channel),
        h("span", "sse-log-type", e.type),
        h("span", "sse-log-data", data),
      );
      batch.append(row);
    }
    drawnTotal = store.total;
    list.append(batch);
    while (list.childElementCount > limit) list.firstElementChild?.remove();
    if (atBottom) list.scrollTop = list.scrollHeight;
  };
  return store.addView(draw);
}

export default defineWidget((model) => new EventLogStore(model), renderLog);
