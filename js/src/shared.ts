// One stream per browser and server, not per tab.
//
// Browsers open at most six HTTP/1.1 connections per host, shared by every tab of a
// profile, and Tornado has no HTTP/2: one EventSource per tab leaves a seventh tab (and
// every save or kernel REST call behind it) waiting for ever. So the page's SSE client is a
// `SharedClient`, a proxy to a stream the browser shares, hosted (host.ts) by, in order:
//
//   1. "worker"   a SharedWorker at a fixed, versioned URL the extension serves (when
//                 the hub is the page's own origin: a worker script cannot be another's);
//   2. "leader"   where SharedWorker is missing or fails: the tab that holds a Web Lock,
//                 the others ("follower") talking to it over a BroadcastChannel;
//   3. "tab"      else (no Web Locks: plain HTTP on a non-local host) this tab's own
//                 `Connection`, as before.
//
// A tab forced to one mode (benchmarks, tests): `globalThis.__sseWidgetsStreamMode` or
// localStorage `sse-widgets-stream-mode` set to "worker", "leader" or "tab".
//
// Each subscription remembers the newest id it got, so when its host changes (the worker
// was restarted, the leader tab closed) it subscribes again from there: history replays,
// and what it already has is skipped, so no gap and no duplicate.

import {
  ConnState,
  Connection,
  Envelope,
  StreamClient,
  StreamMode,
  SubscriberSpec,
  Subscription,
  getRegistry,
  isCrossOrigin,
  storeTicketCookies,
} from "./stream";
import { StreamHost, TabLink } from "./host";
import { DesktopRouter, DesktopRule, showDesktop } from "./desktop";

declare const __SSE_WORKER_VERSION__: string;
const WORKER_VERSION = typeof __SSE_WORKER_VERSION__ === "string" ? __SSE_WORKER_VERSION__ : "dev";

const PING_MS = 5000;
/** A worker that never says welcome (blocked, or failed in a way `error` did not report). */
const WELCOME_TIMEOUT_MS = 15000;
const BROWSER_ID_KEY = "sse-widgets-browser";
const MODE_KEY = "sse-widgets-stream-mode";

/** The worker script's URL for a server: same origin, under its base_url, versioned. */
export function workerUrl(baseUrl: string): string {
  return `${baseUrl}sse-widgets/static/stream-worker.js?v=${encodeURIComponent(WORKER_VERSION)}`;
}

function randomId(length = 16): string {
  let id = "";
  while (id.length < length) id += Math.random().toString(36).slice(2);
  return id.slice(0, length);
}

/** This browser's id, the same in every tab (localStorage); the server counts browsers by it. */
export function browserIdentity(): string {
  try {
    const stored = localStorage.getItem(BROWSER_ID_KEY);
    if (stored && /^[A-Za-z0-9]{8,32}$/.test(stored)) return stored;
    const made = randomId();
    localStorage.setItem(BROWSER_ID_KEY, made);
    return made;
  } catch {
    return randomId(); // no storage (sandboxed frame): this page counts as its own browser
  }
}

function forcedMode(): string | null {
  const g = globalThis as any;
  if (typeof g.__sseWidgetsStreamMode === "string") return g.__sseWidgetsStreamMode;
  try {
    return localStorage.getItem(MODE_KEY);
  } catch {
    return null;
  }
}

/** Whether a person can see this page (a tab in front, a window not minimised). */
function pageVisible(): boolean {
  return typeof document === "undefined" || document.visibilityState !== "hidden";
}

function locksUsable(): boolean {
  const g = globalThis as any;
  // Web Locks exists only in secure contexts (https, localhost).
  return !!(g.navigator?.locks && typeof g.BroadcastChannel === "function" && g.isSecureContext !== false);
}

/** Install the shared client on the page's registry (every widget bundle calls this). */
export function installSharedClient(): void {
  const registry = getRegistry();
  if (registry.makeClient !== null) return;
  if (registry.browserId === null) registry.browserId = browserIdentity();
  registry.makeClient = (baseUrl) => new SharedClient(baseUrl);
}

interface RemoteSub {
  sid: number;
  spec: SubscriberSpec;
  /** The newest event id delivered, to resume from on another host. */
  lastId: string | null;
  local: Subscription | null;
  closed: boolean;
}

export class SharedClient implements StreamClient {
  readonly baseUrl: string;
  state: ConnState = "connecting";
  connects = 0;
  states: ConnState[] = [];
  private remoteCursor: string | null = null;
  unavailable = false;
  mode: StreamMode = "tab";
  /** Times the host did not know this tab and it joined again (a test hook: 0 unless a host restarted). */
  rejoins = 0;
  /** The host's id (worker or leader tab) that welcomed this tab last. */
  hostId: string | null = null;
  private subs = new Map<number, RemoteSub>();
  private nextSid = 1;
  private listeners = new Set<(state: ConnState) => void>();
  private local: Connection | null = null;
  private send: ((message: any) => void) | null = null;
  private readonly tabId = randomId(12);
  private welcomed = false;
  private awaitingPong = false;
  private pinger: ReturnType<typeof setInterval> | null = null;
  private worker: SharedWorker | null = null;
  private channel: BroadcastChannel | null = null;
  private host: StreamHost | null = null;
  private hostLinks = new Map<string, TabLink>();
  private resignLeader: (() => void) | null = null;
  private lockHeld = false;
  private lockGranted = false;
  private helloPending = false;
  private infoWaiters = new Map<number, (info: any) => void>();
  /** Desktop rules of this tab's sources (a Toasts widget, the JupyterLab extension). */
  private desktopSources = new Map<number, DesktopRule[]>();
  /** Without a host ("tab" mode) this tab decides alone. */
  private localDesktop: DesktopRouter<string> | null = null;
  /** Desktop notifications this tab was asked to show (a test hook). */
  desktopShown = 0;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl;
    const wanted = forcedMode();
    const g = globalThis as any;
    // A worker's script must come from the page's own origin, so a hub of another origin
    // (a marimo page streaming from a Jupyter server) is shared by a leader tab instead.
    if (wanted === "tab") this.useTab();
    else if (wanted !== "leader" && typeof g.SharedWorker === "function" && !isCrossOrigin(baseUrl)) this.useWorker();
    else if (locksUsable()) this.useLeaderElection();
    else this.useTab();
    if (typeof g.addEventListener === "function") {
      g.addEventListener("pagehide", () => this.leave());
      g.addEventListener("pageshow", (event: PageTransitionEvent) => {
        if (event.persisted) this.reattach(); // back from the back/forward cache
      });
    }
    if (typeof document !== "undefined") {
      document.addEventListener("visibilitychange", () => {
        const visible = pageVisible();
        if (this.localDesktop !== null) this.localDesktop.setVisible("self", visible);
        else this.send?.({ kind: "visibility", visible });
      });
    }
  }

  get cursor(): string | null {
    return this.local !== null ? this.local.cursor : this.remoteCursor;
  }

  // --- StreamClient --------------------------------------------------------------------

  subscribe(spec: SubscriberSpec): Subscription {
    const sub: RemoteSub = { sid: this.nextSid++, spec, lastId: spec.resumeFrom ?? null, local: null, closed: false };
    this.subs.set(sub.sid, sub);
    spec.onState?.(this.state);
    this.join(sub);
    return {
      close: () => {
        if (sub.closed) return;
        sub.closed = true;
        this.subs.delete(sub.sid);
        sub.local?.close();
        sub.local = null;
        this.send?.({ kind: "unsub", sid: sub.sid });
      },
      ticketsChanged: () => {
        if (!sub.closed) this.send?.({ kind: "tickets", sid: sub.sid, tickets: spec.tickets() });
      },
    };
  }

  onState(listener: (state: ConnState) => void): () => void {
    this.listeners.add(listener);
    listener(this.state);
    return () => this.listeners.delete(listener);
  }

  /**
   * Where the stream is and what it holds (a test and debugging hook): the mode, the
   * host's tabs and subscriptions, and the URLs of its EventSources (tickets are in
   * cookies or scrubbed: `auth_ticket` values are not included).
   */
  info(): Promise<{
    mode: StreamMode; tabs?: number; subscriptions?: number; urls: string[];
    desktop?: { tabs: number; visible: number; opted: number } | null;
  }> {
    const scrub = (url: string) => url.replace(/(auth_ticket|ticket)=[^&]*/g, "$1=[secret]");
    const here = () => ({ mode: this.mode, urls: [...getRegistry().eventSources].map((s) => scrub(s.url)) });
    const host = this.mode === "leader" ? this.host : null;
    if (host !== null) {
      // The leader tab hosts the stream itself: what the worker would say, from here.
      return Promise.resolve({
        ...here(), tabs: host.tabCount, subscriptions: host.subscriptionCount, desktop: host.desktopSummary,
      });
    }
    const worker = this.worker;
    if (this.mode !== "worker" || worker === null || !this.welcomed) return Promise.resolve(here());
    return new Promise((resolve) => {
      const req = this.nextSid++;
      this.infoWaiters.set(req, (info) => resolve({ ...info, mode: "worker", urls: info.urls.map(scrub) }));
      worker.port.postMessage({ kind: "info", req });
    });
  }

  /**
   * Opt this tab into desktop notifications by these rules (desktop.ts); `close()` takes
   * them back. Several sources in one tab (widgets, an extension) add up.
   */
  desktop(rules: DesktopRule[]): { close(): void } {
    const id = this.nextSid++;
    this.desktopSources.set(id, rules);
    this.sendDesktop();
    return {
      close: () => {
        if (this.desktopSources.delete(id)) this.sendDesktop();
      },
    };
  }

  private sendDesktop(): void {
    const rules = [...this.desktopSources.values()].flat();
    if (this.localDesktop !== null) this.localDesktop.setRules("self", rules);
    else this.send?.({ kind: "desktop", rules });
  }

  retryNow(): void {
    if (this.local !== null) this.local.retryNow();
    else this.send?.({ kind: "retry" });
  }

  // --- modes -----------------------------------------------------------------------------

  private setMode(mode: StreamMode): void {
    this.mode = mode;
    getRegistry().mode = mode;
    // Later: the dashboard header's listener reads the registry, which may be making us.
    queueMicrotask(() => getRegistry().changed());
  }

  private useWorker(): void {
    let worker: SharedWorker;
    try {
      worker = new SharedWorker(workerUrl(this.baseUrl), { name: `sse-widgets ${this.baseUrl}` });
    } catch {
      return this.workerFailed(); // blocked by policy, or a URL the browser refuses
    }
    this.worker = worker;
    this.setMode("worker");
    const port = worker.port;
    port.onmessage = (message: MessageEvent) => this.fromHost(message.data);
    // The script did not load (no extension here: 404) or threw.
    worker.onerror = () => {
      if (!this.welcomed) this.workerFailed();
    };
    port.start();
    this.send = (message) => port.postMessage(message);
    this.hello();
    setTimeout(() => {
      if (!this.welcomed && this.worker === worker) this.workerFailed();
    }, WELCOME_TIMEOUT_MS);
    this.startPinging();
  }

  private workerFailed(): void {
    this.worker = null;
    this.send = null;
    if (locksUsable()) this.useLeaderElection();
    else this.useTab();
  }

  private useTab(): void {
    this.stopPinging();
    this.send = null;
    this.setMode("tab");
    if (this.local === null) {
      const local = new Connection(this.baseUrl);
      this.local = local;
      local.onState(() => this.mirrorLocal());
      const tickets = () => [...this.subs.values()].flatMap((sub) => sub.spec.tickets());
      this.localDesktop = new DesktopRouter<string>(
        (spec) => local.subscribe({ ...spec, tickets, onReset: () => undefined }),
        () => local.cursor,
        (_tab, event) => this.showOnDesktop(event),
      );
      this.localDesktop.setVisible("self", pageVisible());
      this.sendDesktop();
    }
    for (const sub of this.subs.values()) this.join(sub);
  }

  private mirrorLocal(): void {
    const local = this.local;
    if (local === null) return;
    this.connects = local.connects;
    this.states = local.states;
    this.unavailable = local.unavailable;
    this.setState(local.state);
  }

  /**
   * Web Locks + BroadcastChannel: every tab waits for the leader lock; the one holding it
   * hosts the stream for all. When it goes, the lock passes to the next tab, which says so,
   * and every tab subscribes again from its last ids.
   */
  private useLeaderElection(): void {
    const locks: LockManager = (globalThis as any).navigator.locks;
    const name = `sse-widgets ${this.baseUrl}`;
    const channel = new BroadcastChannel(name);
    this.channel = channel;
    this.setMode("follower");
    channel.onmessage = (message: MessageEvent) => this.onChannel(message.data);
    this.send = (message) => {
      if (this.host !== null) this.host.receive(this.selfLink(), message);
      else channel.postMessage({ to: "host", from: this.tabId, message });
    };
    // Held while this tab lives, so a host learns when it is gone.
    this.tabLock();
    locks
      .request(`sse-widgets-leader ${name}`, () => new Promise<void>((release) => {
        this.resignLeader = release;
        this.becomeLeader();
      }))
      .catch(() => undefined);
    this.hello();
    this.startPinging();
  }

  private selfLink(): TabLink {
    let link = this.hostLinks.get(this.tabId);
    if (!link) {
      link = { post: (message) => queueMicrotask(() => this.fromHost(message)) };
      this.hostLinks.set(this.tabId, link);
    }
    return link;
  }

  private becomeLeader(): void {
    this.host = new StreamHost({
      storeCookies: (request) => storeTicketCookies(request),
      locks: (globalThis as any).navigator.locks,
    });
    this.hostLinks.clear();
    this.setMode("leader");
    this.channel?.postMessage({ to: "all", leader: this.tabId });
    this.hello();
  }

  private onChannel(data: any): void {
    if (!data || typeof data !== "object") return;
    if (typeof data.leader === "string" && data.leader !== this.tabId) {
      this.hello(); // a new leader: join it, from the ids we hold
      return;
    }
    if (data.to === this.tabId) return this.fromHost(data.message);
    if (data.to === "host" && this.host !== null && typeof data.from === "string") {
      let link = this.hostLinks.get(data.from);
      if (!link) {
        const to = data.from;
        link = { post: (message) => this.channel?.postMessage({ to, message }) };
        this.hostLinks.set(to, link);
      }
      this.host.receive(link, data.message);
    }
  }

  // --- talking to the host -----------------------------------------------------------------

  private hello(): void {
    if (this.send === null) return;
    this.welcomed = false;
    const lock = this.tabLock();
    // Only once this tab holds its lock: a host that asked for it first would be granted
    // it at once and take this tab for gone.
    if (lock !== undefined && !this.lockGranted) {
      this.helloPending = true;
      return;
    }
    this.send({
      kind: "hello", tab: this.tabId, baseUrl: this.baseUrl, browser: getRegistry().browserId, lock,
      visible: pageVisible(),
    });
    for (const sub of this.subs.values()) this.join(sub);
    if (this.desktopSources.size > 0) this.sendDesktop();
  }

  /** A Web Lock held while this tab lives, which the host waits on to learn it is gone. */
  private tabLock(): string | undefined {
    const locks: LockManager | undefined = (globalThis as any).navigator?.locks;
    if (!locks) return undefined;
    const name = `sse-widgets-tab ${this.tabId}`;
    if (!this.lockHeld) {
      this.lockHeld = true;
      locks
        .request(name, () => {
          this.lockGranted = true;
          if (this.helloPending) {
            this.helloPending = false;
            this.hello();
          }
          return new Promise<void>(() => undefined);
        })
        .catch(() => undefined);
    }
    return name;
  }

  private join(sub: RemoteSub): void {
    if (sub.closed) return;
    const spec = sub.spec;
    if (this.local !== null) {
      sub.local?.close();
      sub.local = this.local.subscribe({
        ...spec,
        resumeFrom: sub.lastId,
        onEvent: (event) => this.deliver(sub, event),
      });
      return;
    }
    if (this.helloPending) return; // the hello joins every subscription
    this.send?.({ kind: "sub", sid: sub.sid, patterns: spec.patterns, tickets: spec.tickets(), resumeFrom: sub.lastId });
  }

  private deliver(sub: RemoteSub, event: Envelope): void {
    if (sub.closed) return;
    sub.lastId = event.id;
    sub.spec.onEvent(event);
    sub.spec.onCursor?.(event.id);
  }

  private fromHost(message: any): void {
    if (!message || typeof message.kind !== "string") return;
    this.awaitingPong = false;
    switch (message.kind) {
      case "welcome":
        this.welcomed = true;
        this.hostId = typeof message.host === "string" ? message.host : null;
        return;
      case "again":
        this.rejoins += 1;
        return this.hello();
      case "info": {
        const waiter = this.infoWaiters.get(message.req);
        this.infoWaiters.delete(message.req);
        waiter?.(message);
        return;
      }
      case "cookies": {
        const jar = storeTicketCookies(
          { baseUrl: message.baseUrl, channels: [], cursor: null, since: [], tickets: message.tickets },
          message.jar,
        );
        this.send?.({ kind: "cookies-done", req: message.req, jar });
        return;
      }
      case "batch":
        for (const item of Array.isArray(message.items) ? message.items : []) this.item(item);
        return;
      default:
        return; // "pong"
    }
  }

  private item(item: any[]): void {
    const [what, sid, value] = item;
    if (what === "desktop") return this.showOnDesktop(sid as Envelope);
    if (what === "conn") {
      const info = sid;
      this.connects = info.connects;
      this.states = info.states;
      this.remoteCursor = info.cursor;
      this.setState(info.state);
      return;
    }
    const sub = this.subs.get(sid);
    if (!sub || sub.closed) return;
    const spec = sub.spec;
    try {
      if (what === "event") this.deliver(sub, value as Envelope);
      else if (what === "reset") spec.onReset();
      else if (what === "state") spec.onState?.(value);
      else if (what === "refresh") spec.refreshTickets?.();
      else if (what === "unavailable") {
        this.unavailable = true;
        spec.onUnavailable?.(typeof value === "string" ? value : "no hub for this page");
      } else if (what === "refused") {
        // This subscriber only: the others of this tab stay on the stream.
        const reason = typeof value === "string" ? value : "the hub refused these channels";
        (spec.onRefused ?? spec.onUnavailable)?.call(spec, reason);
      }
    } catch (err) {
      console.error("sse-widgets: a widget failed on a message from the shared stream", item, err);
    }
  }

  private showOnDesktop(event: Envelope): void {
    this.desktopShown += 1;
    try {
      showDesktop(event);
    } catch (err) {
      console.error("sse-widgets: a desktop notification failed", err);
    }
  }

  private setState(state: ConnState): void {
    if (state === this.state) return;
    this.state = state;
    for (const listener of this.listeners) listener(state);
  }

  private startPinging(): void {
    if (this.pinger !== null) return;
    this.pinger = setInterval(() => {
      if (this.send === null) return;
      // The previous ping got no answer: the host is gone (the browser ended the worker,
      // or a leader's channel went quiet). Join a new one, from the ids held.
      if (this.awaitingPong && this.subs.size > 0) this.reattach();
      this.awaitingPong = true;
      this.send?.({ kind: "ping" });
    }, PING_MS);
  }

  private stopPinging(): void {
    if (this.pinger !== null) clearInterval(this.pinger);
    this.pinger = null;
  }

  private reattach(): void {
    this.awaitingPong = false;
    if (this.mode === "worker") {
      try {
        this.worker?.port.postMessage({ kind: "bye" });
      } catch {
        // it is gone anyway
      }
      this.stopPinging();
      this.useWorker();
    } else if (this.mode === "leader" || this.mode === "follower") {
      this.hello();
    }
  }

  /** The page goes (closed, reloaded, or into the back/forward cache). */
  private leave(): void {
    this.send?.({ kind: "bye" });
    if (this.host !== null) {
      this.host.close();
      this.host = null;
      this.resignLeader?.();
      this.resignLeader = null;
    }
  }
}
