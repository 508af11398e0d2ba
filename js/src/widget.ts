// What every widget frontend shares: a per-model store joined to the shared stream, redraws
// coalesced to one per animation frame, the header with title and connection state.
//
// The store lives per *model* (anywidget's `initialize`), not per view: a second view of
// the same widget, or a re-render of the cell output, draws from what the model already
// holds instead of replaying history.

import { CommLink, ConnState, Envelope, Subscription, TransportKind, baseUrl, getRegistry } from "./stream";
import { installSharedClient } from "./shared";

/** The part of anywidget's model API the widgets use. */
export interface Model {
  get(name: string): any;
  set(name: string, value: any): void;
  save_changes(): void;
  send(content: any, callbacks?: any, buffers?: any): void;
  on(event: string, callback: (...args: any[]) => void): void;
  off(event?: string | null, callback?: ((...args: any[]) => void) | null): void;
}

const CURSOR_SYNC_MS = 1000;

export abstract class StreamStore {
  abstract readonly kind: string;
  readonly model: Model;
  readonly uid: string;
  state: ConnState = "connecting";
  lastEventId = "";
  /** Events taken since the model was made (a test and debugging aid). */
  received = 0;
  /** How events reach this widget: SSE from the hub, or the kernel's comm. */
  transport: TransportKind = "sse";
  /** Subscribed to a connection (it has channels). */
  joined = false;
  private link: CommLink | null = null;
  /** The page has no hub this widget may stream from: use the comm whatever the kernel says. */
  private noHub = false;
  /** Why the page's stream gave way to the comm (the status tooltip says it); "" if it did not. */
  fallbackReason = "";
  private subscription: Subscription | null = null;
  private frame = 0;
  private views = new Set<() => void>();
  private cursorTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly onChannels = () => this.rejoin();
  // A shared stream holds the tickets it was given: tell it of fresh ones.
  private readonly onTicket = () => this.subscription?.ticketsChanged?.();

  constructor(model: Model) {
    this.model = model;
    this.uid = String(model.get("_uid") || Math.random().toString(36).slice(2));
  }

  /** Called once the subclass is constructed. */
  start(): void {
    installSharedClient();
    getRegistry().stores.set(this.uid, this);
    // Listening now, in `initialize`: anywidget holds the model's messages until then, so
    // the kernel's first replay is never missed.
    this.link = new CommLink(this.model);
    this.model.on("change:channels", this.onChannels);
    this.model.on("change:transport", this.onChannels);
    this.model.on("change:ticket", this.onTicket);
    this.join();
  }

  /** Take one event of a subscribed channel. */
  protected abstract take(event: Envelope): void;
  /** Drop everything held. */
  protected abstract clear(): void;

  get channels(): string[] {
    const channels = this.model.get("channels");
    return Array.isArray(channels) ? channels.filter((c) => typeof c === "string" && c) : [];
  }

  /** The server this widget streams from: the page's Jupyter server, else the kernel's hub (`hub_url`). */
  get baseUrl(): string {
    return baseUrl(this.model.get("hub_url"));
  }

  /** The kernel says which (a hub, or with none reachable its widgets); a page with no hub overrides. */
  private chooseTransport(): TransportKind {
    return this.model.get("transport") === "comm" || this.noHub ? "comm" : "sse";
  }

  private join(): void {
    const patterns = this.channels;
    if (patterns.length === 0) return;
    const registry = getRegistry();
    this.transport = this.chooseTransport();
    const connection =
      this.transport === "comm" && this.link
        ? registry.commConnection(this.uid, this.link)
        : registry.connection(this.baseUrl);
    this.joined = true;
    this.subscription = connection.subscribe({
      patterns,
      tickets: () => {
        const ticket = this.model.get("ticket");
        return typeof ticket === "string" && ticket ? [ticket] : [];
      },
      onEvent: (event) => {
        this.received += 1;
        this.take(event);
        this.invalidate();
      },
      onReset: () => {
        this.clear();
        this.invalidate();
      },
      onState: (state) => {
        this.state = state;
        this.invalidate();
        getRegistry().changed();
      },
      refreshTickets: () => this.model.send({ kind: "refresh_ticket" }),
      onCursor: (id) => this.cursor(id),
      // The kernel publishes to a hub this page cannot reach: ask the kernel to send its
      // events over the comm as well (it starts when the first widget asks).
      onUnavailable: (reason) => {
        if (this.noHub) return;
        this.noHub = true;
        this.fallbackReason = reason;
        this.rejoin();
      },
    });
  }

  private rejoin(): void {
    this.subscription?.close();
    this.subscription = null;
    this.joined = false;
    this.clear();
    this.invalidate();
    this.join();
  }

  private cursor(id: string): void {
    this.lastEventId = id;
    if (this.cursorTimer !== null) return;
    // Told to the kernel at most once a second: it costs a comm message. A custom message,
    // not a trait: a reactive host (marimo) re-runs every cell that uses a widget when its
    // page changes one of the widget's traits.
    this.cursorTimer = setTimeout(() => {
      this.cursorTimer = null;
      this.model.send({ kind: "cursor", id: this.lastEventId });
    }, CURSOR_SYNC_MS);
  }

  /** Ask every view to redraw, once, at the next animation frame. */
  invalidate(): void {
    if (this.frame !== 0 || this.views.size === 0) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      for (const draw of this.views) draw();
    });
  }

  addView(draw: () => void): () => void {
    this.views.add(draw);
    draw();
    return () => this.views.delete(draw);
  }

  dispose(): void {
    this.model.off("change:channels", this.onChannels);
    this.model.off("change:transport", this.onChannels);
    this.model.off("change:ticket", this.onTicket);
    this.subscription?.close();
    this.subscription = null;
    this.joined = false;
    this.link?.dispose();
    this.link = null;
    getRegistry().dropComm(this.uid);
    if (this.cursorTimer !== null) clearTimeout(this.cursorTimer);
    if (this.frame !== 0) cancelAnimationFrame(this.frame);
    getRegistry().stores.delete(this.uid);
    getRegistry().changed();
  }
}

/**
 * Build the anywidget module for a store type and a view function.
 *
 * `initialize` makes the store (and joins the stream); `render` finds it by the model's
 * `_uid` (anywidget hands `initialize` and `render` different model proxies, so the
 * proxy cannot be a key).
 */
export function defineWidget<S extends StreamStore>(
  makeStore: (model: Model) => S,
  renderView: (store: S, el: HTMLElement, model: Model) => (() => void) | void,
) {
  const stores = new Map<string, S>();
  return {
    initialize({ model }: { model: Model }) {
      const store = makeStore(model);
      store.start();
      stores.set(store.uid, store);
      return () => {
        stores.delete(store.uid);
        store.dispose();
      };
    },
    render({ model, el }: { model: Model; el: HTMLElement }) {
      const uid = String(model.get("_uid"));
      let store = stores.get(uid);
      if (!store) {
        // An anywidget without `initialize` support (very old hosts): one store per view.
        store = makeStore(model);
        store.start();
        stores.set(store.uid, store);
      }
      const cleanup = renderView(store, el, model);
      return () => {
        if (typeof cleanup === "function") cleanup();
      };
    },
  };
}

// --- DOM helpers ----------------------------------------------------------------------------

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (className) el.className = className;
  // Always textContent: event data is never parsed as HTML.
  if (text !== undefined) el.textContent = text;
  return el;
}

export interface Frame {
  root: HTMLElement;
  body: HTMLElement;
  /** Update title and state badge; cheap when nothing changed. */
  update(): void;
}

/** The common frame of a widget view: header (title + connection state) and a body. */
export function frame(el: HTMLElement, store: StreamStore, kind: string): Frame {
  const root = h("div", `sse-widget sse-${kind}`);
  root.dataset.sseWidget = kind;
  root.dataset.uid = store.uid;
  const header = h("div", "sse-header");
  const title = h("div", "sse-title");
  const status = h("span", "sse-status");
  header.append(title, status);
  const body = h("div", "sse-body");
  root.append(header, body);
  el.replaceChildren(root);
  let shownTitle: string | null = null;
  let shownState: string | null = null;
  return {
    root,
    body,
    update() {
      const text = String(store.model.get("title") ?? "");
      if (text !== shownTitle) {
        shownTitle = text;
        title.textContent = text;
        title.title = `channels: ${store.channels.join(", ")}`;
      }
      const shown = stateLabel(store.state, [store.transport]);
      if (shown + store.fallbackReason !== shownState) {
        shownState = shown + store.fallbackReason;
        status.textContent = shown;
        status.title = store.fallbackReason ? `events come over the kernel's comm: ${store.fallbackReason}` : "";
        if (store.fallbackReason) status.dataset.fallback = store.fallbackReason;
        else delete status.dataset.fallback;
        status.dataset.state = store.state;
        status.dataset.transport = store.transport;
        root.dataset.state = store.state;
        root.dataset.transport = store.transport;
      }
    },
  };
}

/** The connection indicator's text: the state, and "comm" when the kernel's comm carries it. */
export function stateLabel(state: ConnState, transports: TransportKind[]): string {
  return transports.includes("comm") ? `${state} · comm` : state;
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return "–";
  const abs = Math.abs(value);
  if (abs !== 0 && (abs >= 1e6 || abs < 1e-3)) return value.toExponential(3);
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(abs >= 1000 ? 6 : 4)));
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "–";
  const s = Math.round(seconds);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  const pad = (n: number) => String(n).padStart(2, "0");
  return hh > 0 ? `${hh}:${pad(mm)}:${pad(ss)}` : `${pad(mm)}:${pad(ss)}`;
}
