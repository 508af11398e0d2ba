// Desktop notifications: `notify` events as the operating system's notifications, once per
// browser, only while no tab of the server is visible.
//
// Who decides is the host of the browser's shared stream (host.ts: the SharedWorker, or the
// leader tab), because it is the one place that hears every tab. Each tab tells it whether it
// is visible (`document.visibilityState`, on hello and on every `visibilitychange`) and which
// rules it opted into: channel patterns and the lowest level to show. The host follows the
// union of the rules' patterns with one subscription of its own and, for each new event that
// a rule takes, picks ONE tab (the one visible most recently) and sends it `["desktop",
// event]`; that tab calls `new Notification(...)`, so that a click on it can bring that tab
// forward (`window.focus()`), which a worker, having no window, cannot.
//
// Opting in needs the browser's permission, which may only be asked from a click (Firefox
// refuses a request made without one); a page asks with `requestDesktopPermission()` in a
// click handler. Text only: the title and body are plain strings by the Notification API.

import { Envelope, Subscription, patternMatcher } from "./stream";

export const LEVELS = ["info", "success", "warning", "error"] as const;
export type Level = (typeof LEVELS)[number];

/** A tab's wish: events of these channels at `level` or above. */
export interface DesktopRule {
  patterns: string[];
  level: Level;
}

/** The level of an event (unknown levels count as "info"). */
export function levelOf(event: Envelope): Level {
  const level = event.data?.level;
  return (LEVELS as readonly string[]).includes(level) ? level : "info";
}

function rank(level: Level): number {
  return LEVELS.indexOf(level);
}

/** Rules as a tab sends them, checked (a host trusts no message). */
export function parseRules(value: unknown): DesktopRule[] {
  if (!Array.isArray(value)) return [];
  const rules: DesktopRule[] = [];
  for (const item of value.slice(0, 32)) {
    const patterns = Array.isArray(item?.patterns)
      ? item.patterns.filter((p: unknown): p is string => typeof p === "string" && p !== "").slice(0, 64)
      : [];
    const level = (LEVELS as readonly string[]).includes(item?.level) ? (item.level as Level) : "success";
    if (patterns.length > 0) rules.push({ patterns, level });
  }
  return rules;
}

interface TabState<K> {
  key: K;
  visible: boolean;
  /** When this tab was last seen visible (0: never), to pick the tab the person used last. */
  visibleAt: number;
  rules: { matches: (channel: string) => boolean; level: Level }[];
  patterns: string[];
}

export interface FollowSpec {
  patterns: string[];
  resumeFrom: string | null;
  onEvent(event: Envelope): void;
}

/** How many event ids the router remembers having decided on (a re-subscription replays). */
const DECIDED_IDS = 500;

/**
 * The host's side: which tab, if any, shows an event on the desktop. `follow` subscribes
 * the host to channels (on its Connection); `deliver` sends the event to the chosen tab.
 */
export class DesktopRouter<K> {
  private tabs = new Map<K, TabState<K>>();
  private subscription: Subscription | null = null;
  private followed = "";
  private readonly decided = new Set<string>();
  /** Events published before the first rule was made are never shown (replays, resets). */
  private since = 0;

  constructor(
    private readonly follow: (spec: FollowSpec) => Subscription,
    private readonly cursor: () => string | null,
    private readonly deliver: (key: K, event: Envelope) => void,
  ) {}

  setVisible(key: K, visible: boolean): void {
    const tab = this.tab(key);
    tab.visible = visible;
    if (visible) tab.visibleAt = Date.now();
  }

  setRules(key: K, rules: DesktopRule[]): void {
    const tab = this.tab(key);
    tab.rules = rules.map((rule) => {
      const matchers = rule.patterns.map(patternMatcher);
      return { matches: (channel: string) => matchers.some((m) => m(channel)), level: rule.level };
    });
    tab.patterns = rules.flatMap((rule) => rule.patterns);
    if (rules.length > 0 && this.since === 0) this.since = Date.now();
    this.refollow();
  }

  remove(key: K): void {
    if (this.tabs.delete(key)) this.refollow();
  }

  close(): void {
    this.tabs.clear();
    this.refollow();
  }

  /** Tabs known (a test and debugging hook): how many are visible, how many have rules. */
  get summary(): { tabs: number; visible: number; opted: number } {
    let visible = 0;
    let opted = 0;
    for (const tab of this.tabs.values()) {
      if (tab.visible) visible += 1;
      if (tab.rules.length > 0) opted += 1;
    }
    return { tabs: this.tabs.size, visible, opted };
  }

  private tab(key: K): TabState<K> {
    let tab = this.tabs.get(key);
    if (!tab) {
      // Visible until it says otherwise: a tab that cannot tell never causes a notification.
      tab = { key, visible: true, visibleAt: Date.now(), rules: [], patterns: [] };
      this.tabs.set(key, tab);
    }
    return tab;
  }

  /** One subscription for the union of every tab's patterns; a new one when it changes. */
  private refollow(): void {
    const patterns = new Set<string>();
    for (const tab of this.tabs.values()) for (const p of tab.patterns) patterns.add(p);
    const key = [...patterns].sort().join("\n");
    if (key === this.followed) return;
    this.followed = key;
    this.subscription?.close();
    this.subscription = null;
    if (patterns.size === 0) return;
    // From the stream's cursor: the host shows what arrives from now on, not its history.
    this.subscription = this.follow({
      patterns: [...patterns],
      resumeFrom: this.cursor(),
      onEvent: (event) => this.decide(event),
    });
  }

  private decide(event: Envelope): void {
    if (event.type !== "notify" || this.decided.has(event.id)) return;
    this.decided.add(event.id);
    if (this.decided.size > DECIDED_IDS) this.decided.delete(this.decided.values().next().value as string);
    if (event.ts * 1000 < this.since - 1000) return;
    let anyVisible = false;
    let chosen: TabState<K> | null = null;
    const level = rank(levelOf(event));
    for (const tab of this.tabs.values()) {
      if (tab.visible) anyVisible = true;
      if (!tab.rules.some((rule) => rule.matches(event.channel) && level >= rank(rule.level))) continue;
      if (chosen === null || tab.visibleAt > chosen.visibleAt) chosen = tab;
    }
    // Someone is looking at a tab of this server: its toasts say it.
    if (anyVisible || chosen === null) return;
    this.deliver(chosen.key, event);
  }
}

// --- a tab's side ---------------------------------------------------------------------------

function api(): typeof Notification | null {
  const g = globalThis as any;
  return typeof g.Notification === "function" && g.isSecureContext !== false ? g.Notification : null;
}

/** "granted", "denied", "default" (not asked yet), or "unsupported" (no API, or not https). */
export function desktopPermission(): NotificationPermission | "unsupported" {
  return api()?.permission ?? "unsupported";
}

/** Ask for the browser's permission; call it from a click handler. True once granted. */
export async function requestDesktopPermission(): Promise<boolean> {
  const N = api();
  if (N === null) return false;
  if (N.permission === "granted") return true;
  return (await N.requestPermission()) === "granted";
}

/** The heading and text of an event's desktop notification (plain strings). */
export function desktopText(event: Envelope): { title: string; body: string } {
  const d = event.data ?? {};
  const title = d.title === undefined || d.title === null ? "" : String(d.title);
  const message = d.message === undefined || d.message === null ? "" : String(d.message);
  return title ? { title, body: message } : { title: message, body: "" };
}

/** Show one event on the desktop (the host chose this tab); a click brings the tab forward. */
export function showDesktop(event: Envelope): void {
  const N = api();
  if (N === null || N.permission !== "granted") return;
  const { title, body } = desktopText(event);
  // `tag` is the event id: should two ever be made for one event, the second replaces the first.
  const shown = new N(title, { body, tag: event.id });
  shown.onclick = () => {
    (globalThis as any).focus?.();
    shown.close();
  };
}

/** This browser's opt-in for a server, kept in localStorage so a click in one tab covers all. */
export function desktopOptedIn(baseUrl: string): boolean {
  try {
    return localStorage.getItem(`sse-widgets-desktop ${baseUrl}`) === "on";
  } catch {
    return false;
  }
}

export function setDesktopOptIn(baseUrl: string, on: boolean): void {
  try {
    if (on) localStorage.setItem(`sse-widgets-desktop ${baseUrl}`, "on");
    else localStorage.removeItem(`sse-widgets-desktop ${baseUrl}`);
  } catch {
    // no storage (a sandboxed frame): this page's choice lasts as long as the page
  }
}
