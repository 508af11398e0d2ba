// The shared event stream: one connection per browser tab and server, for every widget.
//
// anywidget imports each model's module from its own Blob URL, so module-level state is not
// shared between widgets (or even between two copies of one widget class). The registry
// therefore lives on `globalThis.__sseWidgets`, and each bundle's copy of this file looks
// it up there before creating one. The registry is versioned: a newer bundle on the same
// page never reuses an older, incompatible registry object's internals, it only reads
// the plain data fields.
//
// Transport is pluggable (`TransportFactory`): SSE is the default; the comm transport
// (comm.ts) carries the events a kernel with no reachable hub sends its own widgets. Both
// feed the same `Connection`, so ids, dedup, resets and states are shared.

import { CommLink, commTransport } from "./comm";

export { CommLink };

export interface Envelope {
  id: string;
  channel: string;
  type: string;
  ts: number;
  data: any;
}

export type ConnState = "connecting" | "live" | "reconnecting" | "offline";

/** What a widget gives the shared client when it joins. */
export interface SubscriberSpec {
  /** Channel names or `*` patterns. */
  patterns: string[];
  /** Current tickets (read on every connect, so refreshed tickets are picked up). */
  tickets(): string[];
  /** Called for each new event of a matching channel, deduplicated, in id order. */
  onEvent(event: Envelope): void;
  /** Drop everything held: the server's history restarted (epoch) or has a gap. */
  onReset(): void;
  /** Connection state changes, and once on join. */
  onState?(state: ConnState): void;
  /** Ask the kernel for fresh tickets (they may have expired). */
  refreshTickets?(): void;
  /** Events seen so far: the id of the newest, for `last_event_id` reporting. */
  onCursor?(id: string): void;
  /**
   * The newest event id this subscriber already holds (a tab that re-subscribes to a
   * restarted worker): it replays its history and the ones at or below this are skipped.
   */
  resumeFrom?: string | null;
  /**
   * This page has no hub to stream from (404), may not use it (403 after fresh tickets), or
   * is refused by a hub of another origin (CORS); `reason` says which, for people.
   */
  onUnavailable?(reason: string): void;
  /**
   * The hub refused this subscriber's channels (the tickets given do not cover them, even
   * fresh ones) while it serves the others on the same stream: this subscriber is off the
   * stream for good, so that it does not refuse the stream for everyone. Without this
   * callback, `onUnavailable` is called instead.
   */
  onRefused?(reason: string): void;
}

export interface Subscription {
  close(): void;
  /** The subscriber's tickets changed (a kernel sent fresh ones); a shared stream needs telling. */
  ticketsChanged?(): void;
}

export interface ConnectRequest {
  baseUrl: string;
  /** What the transport needs besides the URL (the comm transport: the model's `CommLink`). */
  context?: unknown;
  channels: string[];
  /** `null` = live only; `"0"` = from the oldest retained; else an `<epoch>-<seq>` id. */
  cursor: string | null;
  /** Patterns to replay from their oldest retained event regardless of the cursor. */
  since: string[];
  tickets: string[];
}

export interface TransportSink {
  open(): void;
  event(event: Envelope): void;
  reset(info: { reason?: string; epoch?: string; channel?: string }): void;
  /** The transport is dead; the client reconnects it with backoff. */
  error(): void;
}

export interface Transport {
  close(): void;
}

export type TransportFactory = (request: ConnectRequest, sink: TransportSink) => Transport;

// 2: comm transport, `commConnection`, `watch`/`changed`/`summary`.
// 3: `connection()` returns a `StreamClient` (the browser's shared worker, a leader tab,
//    or this tab's own `Connection`); `browserId`, `prepareTickets`, `mode`.
const REGISTRY_VERSION = 3;

export type TransportKind = "sse" | "comm";

/** Where this page's SSE stream lives (see shared.ts). */
export type StreamMode = "worker" | "leader" | "follower" | "tab";

/**
 * What widgets use of a page's SSE connection: a `Connection` of this tab, or a proxy to
 * the one the browser shares (shared.ts). The fields are test and debugging hooks.
 */
export interface StreamClient {
  readonly baseUrl: string;
  state: ConnState;
  connects: number;
  states: ConnState[];
  readonly cursor: string | null;
  unavailable: boolean;
  subscribe(spec: SubscriberSpec): Subscription;
  onState(listener: (state: ConnState) => void): () => void;
  retryNow(): void;
}

/** What the page's widgets show together (the dashboard header). */
export interface PageSummary {
  state: ConnState;
  transports: TransportKind[];
}

interface Registry {
  version: number;
  transports: Record<string, TransportFactory>;
  /** Keyed `"<transport> <baseUrl>"` (SSE, one per server) or `"comm <uid>"` (one per model). */
  connections: Map<string, StreamClient>;
  /** Live EventSource objects made by the SSE transport, for tests and debugging. */
  eventSources: Set<EventSource>;
  /** Total number of EventSource objects ever made on this page. */
  eventSourcesCreated: number;
  /** Per-model stores, by the widget's `_uid`; the test hook reads chart data here. */
  stores: Map<string, any>;
  connection(baseUrl?: string, transport?: string): StreamClient;
  /**
   * Makes the page's SSE client for a server; shared.ts installs one that shares the
   * browser's stream. Without it (a worker, a plain page) each caller's tab has its own.
   */
  makeClient: ((baseUrl: string) => StreamClient) | null;
  /** Names this browser to the server, which counts browsers, not tabs (`browser=`). */
  browserId: string | null;
  /**
   * Puts a request's tickets where the server reads them and returns the cookie jar, or
   * null for the URL. In a tab: `storeTicketCookies`; a worker, which has no
   * `document.cookie`, asks one of its tabs.
   */
  prepareTickets: (request: ConnectRequest) => Promise<string | null> | string | null;
  /** How this page streams (the dashboard header and tests read it). */
  mode: StreamMode;
  /** The comm connection of one model (made on first call, dropped with `dropComm`). */
  commConnection(uid: string, link: CommLink): StreamClient;
  dropComm(uid: string): void;
  /** Call `listener` whenever a widget's state or transport changes; returns the unsubscribe. */
  watch(listener: () => void): () => void;
  /** Stores call this when their state or transport changed. */
  changed(): void;
  /** The worst state among the page's widgets, and the transports they use. */
  summary(): PageSummary;
}

// --- helpers -----------------------------------------------------------------------------

function withSlash(url: string): string {
  return url.endsWith("/") ? url : url + "/";
}

/** The base URL of the Jupyter server that served this page (`#jupyter-config-data`), or null. */
export function jupyterBaseUrl(): string | null {
  const el = typeof document !== "undefined" ? document.getElementById("jupyter-config-data") : null;
  if (!el || !el.textContent) return null;
  try {
    const config = JSON.parse(el.textContent);
    if (typeof config.baseUrl === "string" && config.baseUrl) return withSlash(config.baseUrl);
  } catch {
    // Not valid config data: not a page we know how to read.
  }
  return null;
}

/**
 * Where this page's widgets stream from. A page a Jupyter server served (JupyterLab,
 * Notebook 7, Voilà, a static dashboard) uses that server, whose login it may hold. Any
 * other page (marimo, VS Code) uses `hubUrl`, the hub the widget's process publishes to
 * (the widget's `hub_url` trait), across origins if need be; else its own root, as before.
 */
export function baseUrl(hubUrl?: unknown): string {
  const page = jupyterBaseUrl();
  if (page !== null) return page;
  if (typeof hubUrl === "string" && /^https?:\/\/[^/]/i.test(hubUrl)) return withSlash(hubUrl);
  return "/";
}

/** True when `base` is served from another origin than this page (or worker). */
export function isCrossOrigin(base: string): boolean {
  try {
    const here = (globalThis as any).location?.href;
    return new URL(base, here).origin !== new URL(here).origin;
  } catch {
    return false;
  }
}

/** What the owner of a hub at `base` must set to let pages of this origin stream from it. */
export function corsAdvice(base: string): string {
  const origin = (globalThis as any).location?.origin ?? "<this page's origin>";
  return (
    `the hub at ${base} did not answer this page, or refused it as another origin (CORS). To stream ` +
    `from it, start that server with --ServerApp.allow_origin=${origin} --ServerApp.allow_credentials=True`
  );
}

/**
 * A `*` pattern as a predicate on channel names: `*` matches any run of characters
 * (`/` included), everything else is literal. Linear time, no backtracking, the same
 * algorithm as `sse_widgets/_glob.py`: runs of `*` collapse; the first piece must be a
 * prefix and the last a suffix (not overlapping); the middle pieces are found left to
 * right with `indexOf`, each at its leftmost place, which is always right for `*`-only
 * globs. (A RegExp such as `^a[\s\S]*b[\s\S]*c$` backtracks: exponential in the stars.)
 */
export function patternMatcher(pattern: string): (name: string) => boolean {
  const pieces = pattern.split("*");
  if (pieces.length === 1) return (name) => name === pattern;
  const prefix = pieces[0];
  const suffix = pieces[pieces.length - 1];
  const middle = pieces.slice(1, -1).filter((piece) => piece !== "");
  const minLength = prefix.length + suffix.length;
  return (name) => {
    if (name.length < minLength || !name.startsWith(prefix) || !name.endsWith(suffix)) {
      return false;
    }
    let position = prefix.length;
    const end = name.length - suffix.length;
    for (const piece of middle) {
      const found = name.indexOf(piece, position);
      if (found < 0 || found + piece.length > end) return false;
      position = found + piece.length;
    }
    return true;
  };
}

export function parseId(id: string): { epoch: string; seq: number } | null {
  const dash = id.lastIndexOf("-");
  if (dash <= 0) return null;
  const seq = Number(id.slice(dash + 1));
  return Number.isFinite(seq) ? { epoch: id.slice(0, dash), seq } : null;
}

// --- SSE transport -----------------------------------------------------------------------

/**
 * The stream URL. With `jar` (see `storeTicketCookies`) the tickets are in cookies and the
 * URL only says which; else they go in `auth_ticket`, a name that every Jupyter and
 * JupyterHub request logger scrubs (protocol.py).
 */
export function streamUrl(
  request: ConnectRequest,
  jar: string | null = null,
  browser: string | null = null,
): string {
  const query = new URLSearchParams();
  for (const channel of request.channels) query.append("channel", channel);
  if (request.cursor !== null) query.set("last_event_id", request.cursor);
  for (const pattern of request.since) query.append("since", pattern);
  if (jar !== null) query.set("ticket_cookies", jar);
  else for (const ticket of request.tickets) query.append("auth_ticket", ticket);
  if (browser !== null) query.set("browser", browser);
  return `${request.baseUrl}sse-widgets/api/stream?${query}`;
}

// Tickets travel in cookies where the browser allows it: a URL is copied into log lines
// that no scrubber reaches (JupyterHub redirects a request it gets while the user's server
// is down to /hub/login?next=<the whole URI> and logs that). Cookies scoped to the API
// path, SameSite=Strict, for one minute, set again before every request; named
// `sse-widgets-ticket-<jar>-<i>`, with one jar per page so that tabs never mix tickets.
const TICKET_COOKIE_PREFIX = "sse-widgets-ticket-";
const TICKET_COOKIE_MAX_LENGTH = 3800; // browsers drop a cookie over 4096 bytes

interface TicketJar {
  id: string;
  /** Cookies set per path, so that the ones no longer needed are removed. */
  counts: Map<string, number>;
}

function ticketJar(): TicketJar {
  const g = globalThis as any;
  if (!g.__sseWidgetsTicketJar) {
    g.__sseWidgetsTicketJar = { id: Math.random().toString(36).slice(2, 14), counts: new Map() };
  }
  return g.__sseWidgetsTicketJar;
}

function namedJar(id: string): TicketJar {
  const g = globalThis as any;
  if (!g.__sseWidgetsTicketJars) g.__sseWidgetsTicketJars = new Map<string, TicketJar>();
  const jars: Map<string, TicketJar> = g.__sseWidgetsTicketJars;
  let jar = jars.get(id);
  if (!jar) {
    jar = { id, counts: new Map() };
    jars.set(id, jar);
  }
  return jar;
}

/** A jar id as the server accepts it (`check_ticket_jar`). */
export function isJarId(id: unknown): id is string {
  return typeof id === "string" && /^[A-Za-z0-9]{1,32}$/.test(id);
}

function cookiesReachServer(): boolean {
  try {
    if (typeof document === "undefined" || !navigator.cookieEnabled) return false;
    // In a cross-site frame the browser may withhold them (third-party cookie blocking);
    // reading a cross-origin top's location throws.
    if (window.top !== window && window.top?.location.origin !== window.location.origin) return false;
    return typeof document.cookie === "string";
  } catch {
    return false;
  }
}

/**
 * Put the request's tickets in cookies; return the jar's id, or null to send them in the URL.
 * `jarId` names the jar (a shared worker's, whose tickets a tab stores for it).
 */
export function storeTicketCookies(request: ConnectRequest, jarId?: string): string | null {
  const tickets = request.tickets;
  if (tickets.length === 0 || !cookiesReachServer()) return null;
  if (tickets.some((t) => t.length > TICKET_COOKIE_MAX_LENGTH)) return null;
  const api = new URL(`${request.baseUrl}sse-widgets/api/`, window.location.href);
  if (api.origin !== window.location.origin) return null; // our cookies would not go there
  const jar = jarId === undefined ? ticketJar() : namedJar(jarId);
  const path = api.pathname;
  const attributes = `; path=${path}; samesite=strict${window.location.protocol === "https:" ? "; secure" : ""}`;
  const name = (i: number) => `${TICKET_COOKIE_PREFIX}${jar.id}-${i}`;
  tickets.forEach((ticket, i) => {
    document.cookie = `${name(i)}=${ticket}; max-age=60${attributes}`;
  });
  for (let i = tickets.length; i < (jar.counts.get(path) ?? 0); i++) {
    document.cookie = `${name(i)}=; max-age=0${attributes}`;
  }
  jar.counts.set(path, tickets.length);
  return jar.id;
}

/** The request's URL once its tickets are where the server reads them (maybe async). */
/** The patterns a 403 from the stream names as not covered by the tickets given. */
function uncoveredPatterns(answer: unknown): string[] {
  const list = (answer as { uncovered?: unknown } | null)?.uncovered;
  return Array.isArray(list) ? list.filter((p): p is string => typeof p === "string") : [];
}

function withTickets(request: ConnectRequest, then: (url: string) => void): void {
  const registry = getRegistry();
  const url = (jar: string | null) => streamUrl(request, jar, registry.browserId);
  let prepared: Promise<string | null> | string | null;
  try {
    prepared = registry.prepareTickets(request);
  } catch {
    prepared = null;
  }
  if (prepared instanceof Promise) {
    prepared.then((jar) => then(url(jar)), () => then(url(null)));
  } else {
    then(url(prepared));
  }
}

const sseTransport: TransportFactory = (request, sink) => {
  const registry = getRegistry();
  let source: EventSource | null = null;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    if (source !== null) {
      source.close();
      registry.eventSources.delete(source);
    }
  };
  const open = (url: string) => {
    if (closed) return;
    const made = new EventSource(url, { withCredentials: true });
    source = made;
    registry.eventSources.add(made);
    registry.eventSourcesCreated += 1;
    made.onopen = () => sink.open();
    made.onmessage = (message: MessageEvent) => {
      let event: Envelope;
      try {
        event = JSON.parse(message.data);
      } catch {
        console.warn("sse-widgets: dropped an event whose data is not JSON", message.data);
        return;
      }
      if (event && typeof event.id === "string") sink.event(event);
    };
    made.addEventListener("reset", (message: MessageEvent) => {
      let info = {};
      try {
        info = JSON.parse(message.data);
      } catch {
        // A reset without details still means: drop what you hold.
      }
      sink.reset(info);
    });
    // The client reconnects itself (fresh tickets, updated cursor, no stale `since`), so the
    // browser's own reconnect is cut short on every error.
    made.onerror = () => {
      if (closed) return;
      close();
      sink.error();
    };
  };
  // In a worker the tickets' cookies are stored by a tab first (host.ts): maybe later.
  withTickets(request, open);
  return { close };
};

// --- the shared connection ----------------------------------------------------------------

interface Sub {
  spec: SubscriberSpec;
  matchers: Array<(name: string) => boolean>;
  epoch: string | null;
  lastSeq: number;
  /** Joined after the current transport was made: gets nothing until the next one. */
  pending: boolean;
  /** Its history has not yet been seen to be complete on a transport. */
  needsHistory: boolean;
}

const RECONNECT_DEBOUNCE_MS = 40;
const IDLE_CLOSE_MS = 2000;
const SHRINK_AFTER_MS = 1000;
const BACKOFF_FLOOR_MS = 100;
const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 30000;

/**
 * How long to wait before reconnect attempt `failures` (1 for the first): "full jitter",
 * uniform between a floor and a cap that doubles per failure (1 s, 2 s, ... 30 s). A
 * server restart ends every browser's stream at the same moment; a delay that is only
 * jittered later (or by half its range) would bring them back together, as a storm of
 * connections on a server still starting. Spread from the first retry, they come back
 * over the whole window.
 */
export function reconnectDelay(failures: number, random: () => number = Math.random): number {
  const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.max(0, failures - 1));
  return BACKOFF_FLOOR_MS + random() * (cap - BACKOFF_FLOOR_MS);
}
const OFFLINE_AFTER_FAILURES = 4;

export class Connection implements StreamClient {
  readonly baseUrl: string;
  readonly transportName: string;
  state: ConnState = "connecting";
  /** Transports opened so far (a test hook: reconnects are visible here). */
  connects = 0;
  /** The last state changes, oldest first (a test hook). */
  states: ConnState[] = [];
  private subs = new Set<Sub>();
  private stateListeners = new Set<(state: ConnState) => void>();
  private transport: Transport | null = null;
  private epoch: string | null = null;
  private cursorSeq = -1;
  /** The cursor this transport started from; an event past it proves replay is done. */
  private connectSeq = -1;
  private failures = 0;
  /** A transport of this connection has opened at least once. */
  private everOpen = false;
  /** No hub for this page (see `probe`): subscribers are sent elsewhere. */
  unavailable = false;
  /** Why, for people (the widgets' status tooltip). */
  unavailableReason = "";
  private lastRequest: ConnectRequest | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private shrinkTimer: ReturnType<typeof setTimeout> | null = null;

  private readonly context: unknown;

  constructor(baseUrl: string, transportName = "sse", context?: unknown) {
    this.baseUrl = baseUrl;
    this.transportName = transportName;
    this.context = context;
    // Windows and workers both say when the network is back.
    if (transportName === "sse" && typeof globalThis.addEventListener === "function") {
      globalThis.addEventListener("online", () => this.retryNow());
    }
  }

  get cursor(): string | null {
    return this.epoch !== null && this.cursorSeq >= 0 ? `${this.epoch}-${this.cursorSeq}` : null;
  }

  subscribe(spec: SubscriberSpec): Subscription {
    const resume = spec.resumeFrom ? parseId(spec.resumeFrom) : null;
    const sub: Sub = {
      spec,
      matchers: spec.patterns.map(patternMatcher),
      epoch: resume?.epoch ?? null,
      lastSeq: resume?.seq ?? -1,
      pending: true,
      needsHistory: true,
    };
    this.subs.add(sub);
    if (this.idleTimer !== null) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    spec.onState?.(this.state);
    if (this.unavailable) {
      setTimeout(() => spec.onUnavailable?.(this.unavailableReason), 0);
    } else {
      this.schedule(RECONNECT_DEBOUNCE_MS);
    }
    return {
      close: () => {
        this.subs.delete(sub);
        if (this.subs.size > 0) this.shrinkSoon();
        if (this.subs.size === 0 && this.idleTimer === null) {
          // Kept a moment: a re-render unsubscribes and subscribes again right away.
          this.idleTimer = setTimeout(() => {
            this.idleTimer = null;
            if (this.subs.size === 0) this.stop();
          }, IDLE_CLOSE_MS);
        }
      },
    };
  }

  /**
   * A subscriber left: if nobody follows some of the stream's patterns any more (a tab of
   * a shared stream closed), reconnect without them, a moment later (others may leave
   * too). The reconnect starts from the cursor, so it replays nothing.
   */
  private shrinkSoon(): void {
    if (this.shrinkTimer !== null) return;
    this.shrinkTimer = setTimeout(() => {
      this.shrinkTimer = null;
      const asked = this.lastRequest?.channels ?? [];
      const wanted = new Set<string>();
      for (const sub of this.subs) for (const p of sub.spec.patterns) wanted.add(p);
      if (this.subs.size > 0 && this.transport !== null && asked.some((p) => !wanted.has(p))) this.schedule(0);
    }, SHRINK_AFTER_MS);
  }

  /** Listen to state changes without subscribing to channels (the dashboard header). */
  onState(listener: (state: ConnState) => void): () => void {
    this.stateListeners.add(listener);
    listener(this.state);
    return () => this.stateListeners.delete(listener);
  }

  /** Reconnect at once (tests, and the browser coming back online). */
  retryNow(): void {
    if (this.subs.size > 0 && (this.transport === null || this.state !== "live")) this.schedule(0);
  }

  private schedule(delay: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }

  private stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.transport?.close();
    this.transport = null;
  }

  private setState(state: ConnState): void {
    if (state === this.state) return;
    this.state = state;
    this.states.push(state);
    if (this.states.length > 50) this.states.shift();
    for (const sub of this.subs) sub.spec.onState?.(state);
    for (const listener of this.stateListeners) listener(state);
  }

  private connect(): void {
    if (this.subs.size === 0) return this.stop();
    const patterns = new Set<string>();
    const since = new Set<string>();
    const tickets = new Set<string>();
    for (const sub of this.subs) {
      for (const p of sub.spec.patterns) patterns.add(p);
      for (const t of sub.spec.tickets()) if (t) tickets.add(t);
    }
    const cursor = this.cursor;
    for (const sub of this.subs) {
      // From a cursor, a subscriber without its history asks for it by pattern; with no
      // cursor at all the whole connection starts from the oldest retained event.
      if (sub.needsHistory && cursor !== null) for (const p of sub.spec.patterns) since.add(p);
      sub.pending = false;
    }
    this.transport?.close();
    this.connectSeq = cursor === null ? -1 : this.cursorSeq;
    if (cursor === null) for (const sub of this.subs) sub.needsHistory = false;
    const factory = getRegistry().transports[this.transportName] ?? sseTransport;
    let transport: Transport | null = null;
    const isCurrent = () => transport !== null && transport === this.transport;
    this.connects += 1;
    const request: ConnectRequest = {
      baseUrl: this.baseUrl,
      context: this.context,
      channels: [...patterns].sort(),
      cursor: cursor ?? "0",
      since: [...since].sort(),
      tickets: [...tickets],
    };
    this.lastRequest = request;
    transport = factory(
      request,
      {
        open: () => {
          if (!isCurrent()) return;
          this.failures = 0;
          this.everOpen = true;
          this.setState("live");
        },
        event: (event) => {
          if (isCurrent()) this.dispatch(event);
        },
        reset: (info) => {
          if (isCurrent()) this.reset(info);
        },
        error: () => {
          if (!isCurrent()) return;
          this.transport = null;
          this.failed();
        },
      },
    );
    this.transport = transport;
  }

  private failed(): void {
    this.failures += 1;
    if (this.failures >= 2) {
      // Twice in a row before streaming: tickets may have expired; ask the kernels.
      for (const sub of this.subs) sub.spec.refreshTickets?.();
    }
    // EventSource hides the status. Never streamed: is there a hub for this page at all?
    // And once tickets were refreshed, streamed before or not: does the hub refuse some
    // subscriber's channels (a tab whose kernel is gone, a page's own subscription)?
    if (this.transportName === "sse" && (this.failures === 3 || (!this.everOpen && this.failures === 1))) {
      this.probe(this.failures === 3);
    }
    const offline =
      this.failures >= OFFLINE_AFTER_FAILURES ||
      (typeof navigator !== "undefined" && navigator.onLine === false);
    this.setState(offline ? "offline" : "reconnecting");
    this.schedule(reconnectDelay(this.failures));
  }

  /**
   * Ask for the stream with `fetch`, which sees the status: 404 means no sse-widgets hub
   * for this page (standalone Voila, an extension that is off); 401/403 once tickets were
   * refreshed means this page may not read it. Either way its widgets use the comm. A
   * 403 that names the patterns the tickets do not cover takes off the stream only the
   * subscribers that follow them (`refuse`), whether or not the stream was open before.
   *
   * A hub of another origin (the page is marimo's, the hub a Jupyter server's) that does
   * not admit this origin answers without CORS headers, which `fetch` reports as a
   * network error, as it does a hub that is not there: either way this page cannot
   * stream from it, so its widgets use the comm too, rather than stay "offline". (On
   * the page's own server a network error is the server restarting: keep retrying.)
   */
  private probe(refused: boolean): void {
    const request = this.lastRequest;
    if (request === null || typeof fetch !== "function") return;
    const controller = new AbortController();
    const cross = isCrossOrigin(request.baseUrl);
    const credentials: RequestCredentials = cross ? "include" : "same-origin"; // as the EventSource's
    withTickets(request, (url) => fetch(url, { credentials, signal: controller.signal })
      .then(async (response) => {
        const status = response.status;
        if (status === 200) return controller.abort(); // a live stream: its status is enough
        const refusedAll = `the hub at ${request.baseUrl} refused this page's stream (${status})`;
        if (status === 404 && !this.everOpen) this.giveUp(`no sse-widgets hub at ${request.baseUrl} (404)`);
        else if (refused && (status === 401 || status === 403)) {
          const answer = await response.json().catch(() => null);
          const uncovered = uncoveredPatterns(answer);
          const why = typeof answer?.message === "string" ? `${refusedAll}: ${answer.message}` : refusedAll;
          if (uncovered.length === 0 || !this.refuse(uncovered, why)) {
            if (!this.everOpen) this.giveUp(why);
          }
        }
      })
      .catch(() => {
        if (cross && !this.everOpen && !controller.signal.aborted) this.giveUp(corsAdvice(request.baseUrl));
      }));
  }

  /**
   * Take off the stream the subscribers that follow a pattern the hub refused, and
   * reconnect at once for the others; false when that would leave nobody (or the
   * refusal concerns nothing this connection asked for any more).
   */
  private refuse(uncovered: string[], reason: string): boolean {
    const refused = new Set(uncovered);
    const off = [...this.subs].filter((sub) => sub.spec.patterns.some((p) => refused.has(p)));
    if (off.length === 0 || off.length === this.subs.size) return false;
    console.warn(`sse-widgets: ${off.length} subscriber(s) taken off the shared stream: ${reason}`);
    for (const sub of off) {
      this.subs.delete(sub);
      (sub.spec.onRefused ?? sub.spec.onUnavailable)?.call(sub.spec, reason);
    }
    this.failures = 0;
    this.schedule(0);
    return true;
  }

  private giveUp(reason: string): void {
    if (this.unavailable) return;
    this.unavailable = true;
    this.unavailableReason = reason;
    console.warn(`sse-widgets: the widgets use their kernel's comm: ${reason}`);
    this.stop();
    for (const sub of [...this.subs]) sub.spec.onUnavailable?.(reason);
  }

  private reset(info: { epoch?: string; channel?: string }): void {
    if (typeof info.epoch === "string") this.epoch = info.epoch;
    this.cursorSeq = -1;
    this.connectSeq = -1;
    const only = typeof info.channel === "string" ? info.channel : null;
    for (const sub of this.subs) {
      if (sub.pending) continue;
      if (only !== null && !sub.matchers.some((match) => match(only))) continue;
      sub.lastSeq = -1;
      sub.epoch = this.epoch;
      sub.spec.onReset();
    }
  }

  private dispatch(event: Envelope): void {
    const id = parseId(event.id);
    if (id === null) return;
    if (this.epoch !== id.epoch) {
      this.epoch = id.epoch;
      this.cursorSeq = -1;
    }
    if (id.seq > this.cursorSeq) this.cursorSeq = id.seq;
    const pastCursor = id.seq > this.connectSeq;
    for (const sub of this.subs) {
      if (sub.pending) continue;
      if (pastCursor) sub.needsHistory = false;
      if (!sub.matchers.some((match) => match(event.channel))) continue;
      if (sub.epoch !== id.epoch) {
        if (sub.epoch !== null) sub.spec.onReset();
        sub.epoch = id.epoch;
        sub.lastSeq = -1;
      }
      if (id.seq <= sub.lastSeq) continue;
      sub.lastSeq = id.seq;
      try {
        sub.spec.onEvent(event);
      } catch (err) {
        console.error("sse-widgets: a widget failed on an event", event, err);
      }
      sub.spec.onCursor?.(event.id);
    }
  }
}

// --- registry on globalThis ------------------------------------------------------------------

export function getRegistry(): Registry {
  const g = globalThis as any;
  const existing = g.__sseWidgets as Registry | undefined;
  if (existing && existing.version === REGISTRY_VERSION) return existing;
  const watchers = new Set<() => void>();
  const registry: Registry = {
    version: REGISTRY_VERSION,
    transports: { sse: sseTransport, comm: commTransport },
    connections: new Map(),
    makeClient: null,
    browserId: null,
    prepareTickets: (request) => storeTicketCookies(request),
    mode: "tab",
    eventSources: new Set(),
    eventSourcesCreated: 0,
    stores: new Map(),
    connection(url?: string, transport = "sse") {
      const key = `${transport} ${url ?? baseUrl()}`;
      let connection = registry.connections.get(key);
      if (!connection) {
        const where = url ?? baseUrl();
        connection =
          transport === "sse" && registry.makeClient !== null
            ? registry.makeClient(where)
            : new Connection(where, transport);
        registry.connections.set(key, connection);
      }
      return connection;
    },
    commConnection(uid: string, link: CommLink) {
      const key = `comm ${uid}`;
      let connection = registry.connections.get(key) as Connection | undefined;
      if (!connection) {
        connection = new Connection(`kernel:${uid}`, "comm", link);
        registry.connections.set(key, connection);
      }
      return connection;
    },
    dropComm(uid: string) {
      registry.connections.delete(`comm ${uid}`);
    },
    watch(listener: () => void) {
      watchers.add(listener);
      listener();
      return () => watchers.delete(listener);
    },
    changed() {
      for (const listener of watchers) listener();
    },
    summary() {
      const order: ConnState[] = ["live", "connecting", "reconnecting", "offline"];
      let worst = -1;
      const transports = new Set<TransportKind>();
      for (const store of registry.stores.values()) {
        if (!store.joined) continue;
        worst = Math.max(worst, order.indexOf(store.state));
        transports.add(store.transport);
      }
      // No widget streams yet: show the page's SSE connection, as before.
      const state = worst < 0 ? registry.connection().state : order[worst];
      return { state, transports: [...transports].sort() };
    },
  };
  g.__sseWidgets = registry;
  return registry;
}
