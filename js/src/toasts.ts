// Toasts: `notify` events as a stack of notifications with level colours and auto-close, a
// history of the last 50 behind a bell that counts the unseen ones, and an opt-in to desktop
// notifications (desktop.ts: shown once per browser, only while no tab of the server is
// visible).
//
// Title and message are set with textContent only: a message such as
// `<img src=x onerror=alert(1)>` is shown as those characters and runs nothing.
// Notifications replayed from history after a reload show as toasts only if their timeout has
// not run out yet (judged by the event's time), so a reload does not bring back every old
// toast; they are in the history, as seen.

import "./style.css";
import { desktopOptedIn, desktopPermission, requestDesktopPermission, setDesktopOptIn } from "./desktop";
import { desktopNotifications } from "./sse-client";
import { Envelope, baseUrl } from "./stream";
import { Model, StreamStore, defineWidget, frame, h } from "./widget";

const LEVELS = new Set(["info", "success", "warning", "error"]);
const MAX_HELD = 200;
/** The history behind the bell. */
export const HISTORY_SIZE = 50;

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
  /** The last HISTORY_SIZE notifications, oldest first. */
  history: Toast[] = [];
  /** Arrived since the history was last opened (replays of older ones are not news). */
  unread = 0;
  version = 0;
  private timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly openedAt = Date.now();
  private desktop: { close(): void } | null = null;
  private readonly onLevel = () => this.followDesktop();
  private readonly onStorage = (event: StorageEvent) => {
    if (event.key === null || event.key.startsWith("sse-widgets-desktop")) this.followDesktop();
  };

  start(): void {
    super.start();
    this.model.on("change:desktop_level", this.onLevel);
    this.model.on("change:channels", this.onLevel);
    // A click in another tab of this browser opts every tab in.
    globalThis.addEventListener?.("storage", this.onStorage);
    this.followDesktop();
  }

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
    this.history.push(toast);
    if (this.history.length > HISTORY_SIZE) this.history.splice(0, this.history.length - HISTORY_SIZE);
    if (event.ts * 1000 >= this.openedAt) this.unread = Math.min(this.unread + 1, HISTORY_SIZE);
    this.version += 1;
    if (timeoutMs > 0) {
      const left = timeoutMs - (Date.now() - event.ts * 1000);
      if (left <= 0) return;
      this.timers.set(toast.id, setTimeout(() => this.dismiss(toast.id), left));
    }
    this.toasts.push(toast);
    while (this.toasts.length > MAX_HELD) this.dismiss(this.toasts[0].id);
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

  markRead(): void {
    if (this.unread === 0) return;
    this.unread = 0;
    this.version += 1;
    this.invalidate();
  }

  /** Opted in (this browser, this server) and allowed: follow the channels on the desktop. */
  followDesktop(): void {
    this.desktop?.close();
    this.desktop = null;
    const level = String(this.model.get("desktop_level") ?? "success");
    if (this.channels.length === 0 || this.transport === "comm") return; // the comm has no shared host
    if (desktopPermission() === "granted" && desktopOptedIn(baseUrl())) {
      this.desktop = desktopNotifications({ channels: this.channels, level: LEVELS.has(level) ? (level as any) : "success" });
    }
    this.version += 1;
    this.invalidate();
  }

  get desktopOn(): boolean {
    return this.desktop !== null;
  }

  protected clear(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.toasts = [];
    this.history = [];
    this.unread = 0;
    this.version += 1;
  }

  dispose(): void {
    this.model.off("change:desktop_level", this.onLevel);
    this.model.off("change:channels", this.onLevel);
    globalThis.removeEventListener?.("storage", this.onStorage);
    this.desktop?.close();
    this.desktop = null;
    this.clear();
    super.dispose();
  }

  snapshot() {
    return this.toasts.map((t) => ({ level: t.level, title: t.title, message: t.message }));
  }

  /** The bell's state (a test hook): unread count, history (newest first), desktop opt-in. */
  historySnapshot() {
    return {
      unread: this.unread,
      desktop: this.desktopOn,
      history: this.history.map((t) => ({ level: t.level, title: t.title, message: t.message })).reverse(),
    };
  }
}

function toastNode(t: Toast, onClose?: () => void): HTMLElement {
  const node = h("div", `sse-toast sse-level-${t.level}`);
  node.setAttribute("role", t.level === "error" ? "alert" : "status");
  node.dataset.level = t.level;
  const body = h("div", "sse-toast-content");
  if (t.title) body.append(h("div", "sse-toast-title", t.title));
  body.append(h("div", "sse-toast-message", t.message));
  node.append(body);
  if (onClose) {
    const close = h("button", "sse-toast-close", "×");
    close.type = "button";
    close.title = "dismiss";
    close.addEventListener("click", onClose);
    node.append(close);
  }
  return node;
}

/** The bell (history, unread count) and the desktop opt-in. */
function tools(store: ToastStore) {
  const bar = h("div", "sse-toast-tools");
  const desktop = h("button", "sse-chart-button sse-toast-desktop");
  desktop.type = "button";
  const bell = h("button", "sse-chart-button sse-toast-bell");
  bell.type = "button";
  bell.setAttribute("aria-expanded", "false");
  const panel = h("div", "sse-toast-history");
  panel.hidden = true;
  bar.append(desktop, bell);

  desktop.addEventListener("click", async () => {
    if (store.desktopOn) {
      setDesktopOptIn(baseUrl(), false);
    } else {
      // From the click: browsers grant permission only to a user gesture.
      const granted = await requestDesktopPermission();
      setDesktopOptIn(baseUrl(), granted);
    }
    store.followDesktop();
  });
  bell.addEventListener("click", () => {
    panel.hidden = !panel.hidden;
    bell.setAttribute("aria-expanded", String(!panel.hidden));
    if (!panel.hidden) store.markRead();
    store.version += 1;
    store.invalidate();
  });

  let drawnHistory = -1;
  const draw = () => {
    const permission = desktopPermission();
    // The comm (no hub) has no shared stream host to decide once per browser.
    desktop.hidden = permission === "unsupported" || store.transport === "comm";
    desktop.disabled = permission === "denied";
    desktop.textContent = store.desktopOn ? "Disable desktop notifications" : "Enable desktop notifications";
    desktop.title =
      permission === "denied"
        ? "The browser blocks notifications for this page (site settings)"
        : "Show notifications on the desktop while no tab of this server is visible";
    bell.textContent = store.unread > 0 ? `🔔 ${store.unread}` : "🔔";
    bell.dataset.unread = String(store.unread);
    bell.title = `last ${HISTORY_SIZE} notifications`;
    if (!panel.hidden && drawnHistory !== store.history.length + store.version) {
      drawnHistory = store.history.length + store.version;
      const items = [...store.history].reverse().map((t) => {
        const node = toastNode(t);
        node.append(h("time", "sse-toast-time", new Date(t.ts * 1000).toLocaleTimeString()));
        return node;
      });
      panel.replaceChildren(...(items.length > 0 ? items : [h("div", "sse-empty", "no notifications yet")]));
    }
  };
  return { bar, panel, draw };
}

function renderToasts(store: ToastStore, el: HTMLElement, model: Model) {
  const f = frame(el, store, "toasts");
  const position = () => String(model.get("position") || "top-right");
  const bar = tools(store);
  const stack = h("div", "sse-toast-stack");
  const more = h("div", "sse-toast-more");
  f.body.append(bar.bar, bar.panel, stack, more);
  const nodes = new Map<string, HTMLElement>();
  let drawn = -1;

  const draw = () => {
    f.update();
    f.root.dataset.position = position();
    if (store.version === drawn) return;
    drawn = store.version;
    bar.draw();
    const limit = Math.max(1, Number(model.get("max_visible")) || 5);
    // Newest first (nearest the corner); the rest wait until some close.
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
        node = toastNode(t, () => store.dismiss(t.id));
        nodes.set(t.id, node);
      }
      if (stack.children[i] !== node) stack.insertBefore(node, stack.children[i] ?? null);
    });
    const hidden = store.toasts.length - visible.length;
    more.textContent = hidden > 0 ? `+${hidden} more` : "";
  };
  const onPosition = () => {
    drawn = -1;
    draw();
  };
  model.on("change:position", onPosition);
  const off = store.addView(draw);
  return () => {
    off();
    model.off("change:position", onPosition);
  };
}

export default defineWidget((model) => new ToastStore(model), renderToasts);
