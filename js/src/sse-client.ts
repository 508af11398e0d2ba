// The public client: the widgets' shared stream for any page served by the same Jupyter
// (a plain HTML page, a JupyterLab extension). Served by the extension at
// {base_url}sse-widgets/static/sse-client.js; `npm pack` in js/ packs it too.
//
//   import { subscribe } from "/sse-widgets/static/sse-client.js";
//   const sub = subscribe({ channels: ["train/*"], onEvent: (e) => console.log(e) });
//   sub.close();
//
// Every subscription in every tab of the browser shares one EventSource per server (a
// SharedWorker, else a leader tab, else one per tab; see shared.ts), with the widgets'.

import { DesktopRule, LEVELS, Level, desktopPermission, requestDesktopPermission } from "./desktop";
import { type SharedClient, installSharedClient } from "./shared";
import { ConnState, Envelope, StreamMode, baseUrl as pageBaseUrl, getRegistry } from "./stream";

export type { ConnState, Envelope, Level, StreamMode };
export { desktopPermission, requestDesktopPermission };

export interface SubscribeOptions {
  /** Channel names or `*` patterns. */
  channels: string[];
  /** Called for each event, in id order, once each. */
  onEvent(event: Envelope): void;
  /**
   * Resume after this event id (`<epoch>-<seq>`): only newer events are delivered. By
   * default every retained event of the channels comes first, then live ones.
   */
  since?: string | null;
  /** The connection's state: "connecting", "live", "reconnecting" or "offline". */
  onState?(state: ConnState): void;
  /** The server's history restarted or has a gap: drop what you derived from events. */
  onReset?(): void;
  /** Stream tickets (`sw.ticket(...)` in a kernel), for a page not logged in to Jupyter. */
  tickets?: string[] | (() => string[]);
  /** The server's base URL; by default the page's (`#jupyter-config-data`), else "/". */
  baseUrl?: string;
  /**
   * The server refused these channels (no Jupyter login, and the tickets do not cover
   * them): the subscription ends, and the browser's other subscriptions stream on.
   */
  onRefused?(reason: string): void;
}

export interface Subscription {
  close(): void;
}

function normalise(url: string): string {
  return url.endsWith("/") ? url : url + "/";
}

/** Follow `channels` on the browser's shared stream; `close()` ends this subscription. */
export function subscribe(options: SubscribeOptions): Subscription {
  const channels = Array.isArray(options.channels) ? options.channels.filter((c) => typeof c === "string" && c) : [];
  if (channels.length === 0) throw new Error("sse-widgets subscribe: name at least one channel in `channels`");
  if (typeof options.onEvent !== "function") throw new Error("sse-widgets subscribe: `onEvent` must be a function");
  installSharedClient();
  const client = getRegistry().connection(normalise(options.baseUrl ?? pageBaseUrl()));
  const tickets = options.tickets;
  let lastId: string | null = options.since ?? null;
  const subscription = client.subscribe({
    patterns: channels,
    resumeFrom: lastId,
    tickets: () => (typeof tickets === "function" ? tickets() : tickets ?? []),
    onEvent: (event) => {
      lastId = event.id;
      options.onEvent(event);
    },
    onReset: () => options.onReset?.(),
    onState: (state) => options.onState?.(state),
    onRefused: (reason) => options.onRefused?.(reason),
  });
  return { close: () => subscription.close() };
}

export interface DesktopOptions {
  /** Channel names or `*` patterns of `notify` events; `["notify"]` by default. */
  channels?: string[];
  /** The lowest level shown: "info", "success" (default), "warning" or "error". */
  level?: Level;
  /** The server's base URL; by default the page's. */
  baseUrl?: string;
}

/**
 * Show `notify` events as desktop notifications while no tab of the server is visible,
 * once per browser whatever the number of tabs (the shared stream's host picks one tab).
 * Needs the permission: `await requestDesktopPermission()` in a click handler first.
 */
export function desktopNotifications(options: DesktopOptions = {}): Subscription {
  const level = options.level ?? "success";
  if (!(LEVELS as readonly string[]).includes(level)) {
    throw new Error(`sse-widgets desktopNotifications: level must be one of ${LEVELS.join(", ")}, not ${JSON.stringify(level)}`);
  }
  const channels = (options.channels ?? ["notify"]).filter((c) => typeof c === "string" && c);
  if (channels.length === 0) throw new Error("sse-widgets desktopNotifications: name at least one channel");
  installSharedClient();
  const client = getRegistry().connection(normalise(options.baseUrl ?? pageBaseUrl()));
  // Duck-typed: the page's client may come from another bundle (a widget, the Lab extension).
  const shared = client as Partial<SharedClient>;
  if (typeof shared.desktop !== "function") return { close: () => undefined };
  const rules: DesktopRule[] = [{ patterns: channels, level }];
  return shared.desktop(rules);
}

/**
 * A client object for those who think in `EventSource`-like classes: it holds
 * subscriptions and closes them together. Every `SSEClient` of the browser shares the one
 * connection per server.
 */
export class SSEClient {
  private readonly base: string;
  private readonly tickets?: SubscribeOptions["tickets"];
  private readonly subscriptions = new Set<Subscription>();

  constructor(options: { baseUrl?: string; tickets?: SubscribeOptions["tickets"] } = {}) {
    this.base = normalise(options.baseUrl ?? pageBaseUrl());
    this.tickets = options.tickets;
  }

  /** How this page reaches the shared stream: "worker", "leader", "follower" or "tab". */
  get mode(): StreamMode {
    return getRegistry().mode;
  }

  get state(): ConnState {
    installSharedClient();
    return getRegistry().connection(this.base).state;
  }

  subscribe(
    channels: string | string[],
    onEvent: (event: Envelope) => void,
    options: Omit<SubscribeOptions, "channels" | "onEvent" | "baseUrl"> = {},
  ): Subscription {
    const sub = subscribe({
      tickets: this.tickets,
      ...options,
      channels: typeof channels === "string" ? [channels] : channels,
      onEvent,
      baseUrl: this.base,
    });
    const handle = {
      close: () => {
        this.subscriptions.delete(handle);
        sub.close();
      },
    };
    this.subscriptions.add(handle);
    return handle;
  }

  close(): void {
    for (const sub of [...this.subscriptions]) sub.close();
  }
}
