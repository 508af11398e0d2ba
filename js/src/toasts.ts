// Toasts: `notify` events as a stack of notifications with level colours and auto-close.
//
// Title and message are set with textContent only: a message such as
// `<img src=x onerror=alert(1)>` is shown as those characters and runs nothing.
// Notifications replayed from history after a reload show only if their timeout has not
// run out yet (judged by the event's time), so a reload does not bring back every old toast.

import "./style.css";
import { Envelope } from "./stream";
import { Model, StreamStore, defineWidget, frame, h } from "./widget";

const LEVELS = new Set(["info", "success", "warning", "error"]);
const MAX_HELD = 200;

export interface Toast {
  id: string;
  channel: string;
  level: string;
  title: string;
  message: string;
  ts: number;
  timeoutMs: number;
}

export class ToastStore extends StreamStore {
  readonly kind = "toasts";
  toasts: Toast[] = [];
  version = 0;
  private timers = new Map<string, ReturnType<typeof setTimeout>>();

  protected take(event: Envelope): void {
    if (event.type !== "notify" || !event.data || typeof event.data !== "object") return;
    const d = event.data;
    const fallback = Number(this.model.get("timeout_ms"));
    // A number closes after that long; null (Python's None) keeps the toast; absent: default.
    const timeoutMs =
      typeof d.timeout_ms === "number" && Number.isFinite(d.timeout_ms)
        ? d.timeout_ms
        : d.timeout_ms === null ? 0 : Number.isFinite(fallback) ? fallback : 5000;
    const toast: Toast = {
      id: event.id,
      channel: event.channel,
      level: LEVELS.has(d.level) ? d.level : "info",
      title: d.title === undefined || d.title === null ? "" : String(d.title),
      message: d.message === undefined || d.message === null ? "" : String(d.message),
      ts: event.ts,
      timeoutMs,
    };
    if (timeoutMs > 0) {
      const left = timeoutMs - (Date.now() - event.ts * 1000);
      if (left <= 0) return;
      this.timers.set(toast.id, setTimeout(() => this.dismiss(toast.id), left));
    }
    this.toasts.push(toast);
    while (this.toasts.length > MAX_HELD) this.dismiss(this.toasts[0].id);
    this.version += 1;
  }

  dismiss(id: string): void {
    const timer = this.timers.get(id);
    if (timer !== undefined) clearTimeout(timer);
    this.timers.delete(id);
    const before = this.toasts.length;
    this.toasts = this.toasts.filter((t) => t.id !== id);
    if (this.toasts.length !== before) {
      this.version += 1;
      this.invalidate();
    }
  }

  protected clear(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.toasts = [];
    this.version += 1;
  }

  dispose(): void {
    this.clear();
    super.dispose();
  }

  snapshot() {
    return this.toasts.map((t) => ({ level: t.level, title: t.title, message: t.message }));
  }
}

function renderToasts(store: ToastStore, el: HTMLElement, model: Model) {
  const f = frame(el, store, "toasts");
  const stack = h("div", "sse-toast-stack");
  const more = h("div", "sse-toast-more");
  f.body.append(stack, more);
  const nodes = new Map<string, HTMLElement>();
  let drawn = -1;

  const draw = () => {
    f.update();
    if (store.version === drawn) return;
    drawn = store.version;
    const limit = Math.max(1, Number(model.get("max_visible")) || 5);
    // Newest first; the rest wait until some close.
    const visible = store.toasts.slice(-limit).reverse();
    const keep = new Set(visible.map((t) => t.id));
    for (const [id, node] of nodes) {
      if (!keep.has(id)) {
        node.remove();
        nodes.delete(id);
      }
    }
    visible.forEach((t, i) => {
      let node = nodes.get(t.id);
      if (!node) {
        node = h("div", `sse-toast sse-level-${t.level}`);
        node.setAttribute("role", t.level === "error" ? "alert" : "status");
        node.dataset.level = t.level;
        const close = h("button", "sse-toast-close", "×");
        close.type = "button";
        close.title = "dismiss";
        close.addEventListener("click", () => store.dismiss(t.id));
        const body = h("div", "sse-toast-content");
        if (t.title) body.append(h("div", "sse-toast-title", t.title));
        body.append(h("div", "sse-toast-message", t.message));
        node.append(body, close);
        nodes.set(t.id, node);
      }
      if (stack.children[i] !== node) stack.insertBefore(node, stack.children[i] ?? null);
    });
    const hidden = store.toasts.length - visible.length;
    more.textContent = hidden > 0 ? `+${hidden} more` : "";
  };
  return store.addView(draw);
}

export default defineWidget((model) => new ToastStore(model), renderToasts);
