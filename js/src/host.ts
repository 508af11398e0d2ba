// The host of a browser's shared stream: one `Connection` (stream.ts) carrying the union of
// every tab's subscriptions, each tab's subscribers fed over a message channel.
//
// It runs in the shared worker (worker.ts), or, where there is no SharedWorker, in the tab
// that holds the leader lock (shared.ts). The Connection keeps all of the stream logic
// (cursor, per-subscriber dedup, `since` for late subscribers, resets, backoff, tickets,
// states); the host only relays. Messages (tab → host):
//
//   hello   {tab, baseUrl, browser, lock?, visible?}  a tab joins; `lock` is a Web Lock it holds while alive
//   sub     {sid, patterns, tickets, resumeFrom}
//   tickets {sid, tickets}                  fresh tickets from a kernel
//   unsub   {sid}
//   retry                                   reconnect now, if not live
//   ping                                    the tab is alive
//   cookies-done {req, jar}                 the tab stored tickets in cookies (jar) or cannot (null)
//   bye                                     the tab goes (pagehide)
//   visibility {visible}                    the tab was shown or hidden (desktop.ts)
//   desktop {rules}                         the desktop notifications this tab opted into
//
// host → tab: `welcome {browser}`, `again` (the host does not know this tab: say hello and
// subscribe again), `cookies {req, baseUrl, tickets, jar}`, and `batch {items}` with
// `["event", sid, envelope]`, `["reset", sid]`, `["state", sid, state]`, `["refresh", sid]`,
// `["unavailable", sid, reason]`, `["refused", sid, reason]` (this subscriber only, taken
// off the stream), `["conn", {state, connects, cursor, states}]`, `["desktop", envelope]`
// (show this one on the desktop: desktop.ts decides which tab, once per browser), queued per
// tab and posted once per task.

import { DesktopRouter, parseRules } from "./desktop";
import { ConnectRequest, Connection, ConnState, Envelope, Subscription, getRegistry, isJarId } from "./stream";

export interface TabLink {
  post(message: any): void;
}

interface Tab {
  link: TabLink;
  id: string;
  subs: Map<number, Subscription>;
  /** Each subscription's tickets, read by the Connection on every connect. */
  tickets: Map<number, string[]>;
  lastSeen: number;
  queue: any[];
}

/** How long a tab that stores cookies for the host may take before another is asked. */
const COOKIE_ANSWER_MS = 1500;
/** A tab silent this long is gone (only where Web Locks cannot say so: timers of hidden tabs are throttled to once a minute). */
const SILENT_TAB_MS = 180_000;

export interface HostOptions {
  /** Store tickets in cookies here (a leader tab); else a tab is asked (the worker). */
  storeCookies?: (request: ConnectRequest) => string | null;
  /** Web Locks of this context, to learn when a tab is gone. */
  locks?: LockManager | null;
}

export class StreamHost {
  private tabs = new Map<TabLink, Tab>();
  private connection: Connection | null = null;
  private desktop: DesktopRouter<TabLink> | null = null;
  private unwatchState: (() => void) | null = null;
  private readonly jar = Math.random().toString(36).slice(2, 14).replace(/[^a-z0-9]/g, "") || "w";
  private requests = new Map<number, (jar: string | null) => void>();
  private nextRequest = 1;
  private readonly options: HostOptions;
  /** Tells one host from the next (a restarted worker, a new leader): a test hook. */
  readonly id = Math.random().toString(36).slice(2, 10);
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(options: HostOptions = {}) {
    this.options = options;
    const registry = getRegistry();
    registry.prepareTickets = (request) => this.prepareTickets(request);
    this.sweeper = setInterval(() => this.sweep(), SILENT_TAB_MS / 6);
  }

  /** Tabs attached now (a test and debugging hook). */
  get tabCount(): number {
    return this.tabs.size;
  }

  get subscriptionCount(): number {
    let n = 0;
    for (const tab of this.tabs.values()) n += tab.subs.size;
    return n;
  }

  receive(link: TabLink, message: any): void {
    if (!message || typeof message.kind !== "string") return;
    if (message.kind === "hello") return this.hello(link, message);
    const tab = this.tabs.get(link);
    if (message.kind === "cookies-done") {
      const answer = this.requests.get(message.req);
      if (answer) answer(isJarId(message.jar) ? message.jar : null);
      return;
    }
    if (!tab) {
      if (message.kind !== "bye") link.post({ kind: "again" });
      return;
    }
    tab.lastSeen = Date.now();
    switch (message.kind) {
      case "sub":
        return this.subscribe(tab, message);
      case "tickets":
        if (tab.subs.has(message.sid)) tab.tickets.set(message.sid, strings(message.tickets));
        return;
      case "unsub": {
        const sub = tab.subs.get(message.sid);
        tab.subs.delete(message.sid);
        sub?.close();
        return;
      }
      case "retry":
        this.connection?.retryNow();
        return;
      case "bye":
        return this.drop(link);
      case "ping":
        link.post({ kind: "pong" });
        return;
      case "visibility":
        this.desktop?.setVisible(link, message.visible !== false);
        return;
      case "desktop":
        this.desktop?.setRules(link, parseRules(message.rules));
        return;
      default:
        return; // anything newer: being heard is enough
    }
  }

  /** Forget a tab and everything it subscribed (it closed, reloaded, or went silent). */
  drop(link: TabLink): void {
    const tab = this.tabs.get(link);
    if (!tab) return;
    this.tabs.delete(link);
    this.desktop?.remove(link);
    for (const sub of tab.subs.values()) sub.close();
    tab.subs.clear();
  }

  /** Close everything (a leader tab that goes). */
  close(): void {
    clearInterval(this.sweeper);
    for (const link of [...this.tabs.keys()]) this.drop(link);
    this.desktop?.close();
    this.unwatchState?.();
  }

  private hello(link: TabLink, message: any): void {
    const registry = getRegistry();
    if (registry.browserId === null && typeof message.browser === "string") {
      registry.browserId = message.browser;
    }
    if (this.connection === null && typeof message.baseUrl === "string") {
      // One host per server: the worker's URL is under the server's base_url.
      this.connection = new Connection(message.baseUrl);
      this.unwatchState = this.connection.onState(() => this.broadcastConn());
      this.desktop = this.makeDesktop(this.connection);
    }
    this.drop(link); // a tab that says hello again starts over
    const tab: Tab = {
      link, id: String(message.tab), subs: new Map(), tickets: new Map(), lastSeen: Date.now(), queue: [],
    };
    this.tabs.set(link, tab);
    this.desktop?.setVisible(link, message.visible !== false);
    const locks = this.options.locks;
    if (locks && typeof message.lock === "string") {
      // Granted once the tab that holds it is gone (closed, reloaded, crashed).
      locks.request(message.lock, () => {
        if (this.tabs.get(link) === tab) this.drop(link);
      }).catch(() => undefined);
    }
    link.post({ kind: "welcome", browser: registry.browserId, host: this.id });
    this.enqueue(tab, ["conn", this.connInfo()]);
  }

  private subscribe(tab: Tab, message: any): void {
    if (this.connection === null) return;
    const sid = Number(message.sid);
    if (!Number.isInteger(sid) || tab.subs.has(sid)) return;
    const patterns = strings(message.patterns);
    if (patterns.length === 0) return;
    const tickets = tab.tickets;
    tickets.set(sid, strings(message.tickets));
    const subscription = this.connection.subscribe({
      patterns,
      resumeFrom: typeof message.resumeFrom === "string" ? message.resumeFrom : null,
      tickets: () => tickets.get(sid) ?? [],
      onEvent: (event: Envelope) => this.enqueue(tab, ["event", sid, event]),
      onReset: () => this.enqueue(tab, ["reset", sid]),
      onState: (state: ConnState) => this.enqueue(tab, ["state", sid, state]),
      refreshTickets: () => this.enqueue(tab, ["refresh", sid]),
      onUnavailable: (reason) => this.enqueue(tab, ["unavailable", sid, reason]),
      onRefused: (reason) => this.enqueue(tab, ["refused", sid, reason]),
    });
    tab.subs.set(sid, {
      close: () => {
        tickets.delete(sid);
        subscription.close();
      },
    });
  }

  /** The host follows the desktop rules' channels itself, with every tab's tickets. */
  private makeDesktop(connection: Connection): DesktopRouter<TabLink> {
    const tickets = () => [...this.tabs.values()].flatMap((tab) => [...tab.tickets.values()].flat());
    return new DesktopRouter<TabLink>(
      (spec) => connection.subscribe({ ...spec, tickets, onReset: () => undefined }),
      () => connection.cursor,
      (link, event) => {
        const tab = this.tabs.get(link);
        if (tab) this.enqueue(tab, ["desktop", event]);
      },
    );
  }

  /** What the desktop router knows (a test and debugging hook). */
  get desktopSummary(): { tabs: number; visible: number; opted: number } | null {
    return this.desktop?.summary ?? null;
  }

  private connInfo(): any {
    const c = this.connection;
    return c === null
      ? { state: "connecting", connects: 0, cursor: null, states: [] }
      : { state: c.state, connects: c.connects, cursor: c.cursor, states: c.states.slice(-20) };
  }

  private broadcastConn(): void {
    const info = this.connInfo();
    for (const tab of this.tabs.values()) this.enqueue(tab, ["conn", info]);
  }

  private enqueue(tab: Tab, item: any[]): void {
    tab.queue.push(item);
    if (tab.queue.length > 1) return;
    // One message per tab per task: a replay of thousands of events is one postMessage.
    setTimeout(() => {
      const items = tab.queue;
      tab.queue = [];
      if (items.length > 0 && this.tabs.get(tab.link) === tab) {
        try {
          tab.link.post({ kind: "batch", items });
        } catch {
          this.drop(tab.link);
        }
      }
    }, 0);
  }

  private sweep(): void {
    if (this.options.locks) return; // the locks say when a tab goes
    const now = Date.now();
    for (const [link, tab] of this.tabs) if (now - tab.lastSeen > SILENT_TAB_MS) this.drop(link);
  }

  /**
   * Tickets go in cookies (ARCHITECTURE.md, "Decisions"). A worker has no `document.cookie`,
   * so the most recently heard tab stores them under this host's jar and answers; the
   * cookies are the browser's, so the worker's request carries them. No tab answers in
   * time, or none can store cookies: the tickets go in `auth_ticket=`.
   */
  private prepareTickets(request: ConnectRequest): Promise<string | null> | string | null {
    if (request.tickets.length === 0) return null;
    if (this.options.storeCookies) return this.options.storeCookies(request);
    const tabs = [...this.tabs.values()].sort((a, b) => b.lastSeen - a.lastSeen);
    return new Promise((resolve) => {
      const ask = (i: number) => {
        if (i >= tabs.length) return resolve(null);
        const req = this.nextRequest++;
        const timer = setTimeout(() => {
          this.requests.delete(req);
          ask(i + 1);
        }, COOKIE_ANSWER_MS);
        this.requests.set(req, (jar) => {
          clearTimeout(timer);
          this.requests.delete(req);
          resolve(jar);
        });
        try {
          tabs[i].link.post({ kind: "cookies", req, baseUrl: request.baseUrl, tickets: request.tickets, jar: this.jar });
        } catch {
          // A port that throws is gone; the timer asks the next tab.
        }
      };
      ask(0);
    });
  }
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string" && v !== "") : [];
}
