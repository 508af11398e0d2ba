// The JupyterLab (and Notebook 7) side of sse-widgets: `notify` events in the notification
// center of every window of the server, with no widget on screen, and desktop notifications
// for those who opt in.
//
// It follows the notify channels on the browser's shared stream (the public client,
// ../../src/sse-client.ts: one EventSource per browser and server, whatever the number of
// windows and widgets), and calls JupyterLab's `Notification` API. `Notification` is the
// application's own: `@jupyterlab/apputils` is a shared singleton of the prebuilt extension
// (a bundled copy would have a manager of its own that nothing shows).

import { ICommandPalette, Notification } from "@jupyterlab/apputils";
import { ISettingRegistry } from "@jupyterlab/settingregistry";

import { Level, desktopNotifications, desktopPermission, requestDesktopPermission, subscribe } from "../../src/sse-client";
import { baseUrl } from "../../src/stream";
import { labNotification } from "./notifications";

const PLUGIN_ID = "sse-widgets-lab:plugin";
const ENABLE_DESKTOP = "sse-widgets:enable-desktop-notifications";
/** The newest event shown in this window, so a reload resumes after it (per tab: sessionStorage). */
const CURSOR_KEY = "sse-widgets-lab-cursor";

interface Options {
  channels: string[];
  desktop: boolean;
  desktopLevel: Level;
}

/** What a test (or someone debugging) can read: the ids shown in this window, in order. */
interface LabHook {
  /** `no-login`: this page may not stream the channels with its own login (see mayStream). */
  state: "starting" | "following" | "no-hub" | "no-login";
  shown: string[];
  options: Options | null;
}

const hook: LabHook = { state: "starting", shown: [], options: null };

function readOptions(settings: ISettingRegistry.ISettings | null): Options {
  const get = (key: string) => settings?.get(key).composite;
  const channels = get("channels");
  const level = get("desktopLevel");
  return {
    channels: Array.isArray(channels) ? channels.filter((c): c is string => typeof c === "string" && c !== "") : ["notify"],
    desktop: get("desktopNotifications") === true,
    desktopLevel: (["info", "success", "warning", "error"] as const).find((l) => l === level) ?? "success",
  };
}

function storedCursor(base: string): string | null {
  try {
    return sessionStorage.getItem(`${CURSOR_KEY} ${base}`);
  } catch {
    return null;
  }
}

function storeCursor(base: string, id: string): void {
  try {
    sessionStorage.setItem(`${CURSOR_KEY} ${base}`, id);
  } catch {
    // no storage: a reload shows what is still recent again
  }
}

/** The server has the sse-widgets extension: it answers OPTIONS on the publish URL (no login needed). */
async function hubPresent(base: string): Promise<boolean> {
  try {
    const response = await fetch(`${base}sse-widgets/api/publish`, { method: "OPTIONS", credentials: "same-origin" });
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * The stream, asked as this page will ask it, is allowed for `channels`. A page that streams
 * with its widgets' tickets alone (a share link's viewer; a proxy that drops Jupyter's cookie)
 * must not add channels no ticket covers to the browser's one stream: the server would
 * refuse that stream, and with it every widget on it. So ask the stream itself: its answer
 * comes with the headers, and the request is aborted at once.
 */
async function mayStream(base: string, channels: string[]): Promise<boolean> {
  const query = channels.map((channel) => `channel=${encodeURIComponent(channel)}`).join("&");
  const abort = new AbortController();
  try {
    const response = await fetch(`${base}sse-widgets/api/stream?${query}`, {
      credentials: "same-origin",
      signal: abort.signal,
    });
    return response.ok;
  } catch {
    return false;
  } finally {
    abort.abort();
  }
}

class Follower {
  private subscription: { close(): void } | null = null;
  private generation = 0;
  private desktop: { close(): void } | null = null;
  private askedPermission = false;
  private readonly openedAt = Date.now();

  constructor(private readonly base: string) {}

  async apply(options: Options): Promise<void> {
    hook.options = options;
    this.subscription?.close();
    this.subscription = null;
    const generation = ++this.generation;
    if (options.channels.length === 0) hook.state = "following";
    if (options.channels.length > 0) {
      const allowed = await mayStream(this.base, options.channels);
      if (generation !== this.generation) return; // the settings changed meanwhile
      hook.state = allowed ? "following" : "no-login";
      if (!allowed) return; // nothing to follow with this page's credentials
      this.subscription = subscribe({
        channels: options.channels,
        baseUrl: this.base,
        since: storedCursor(this.base),
        onEvent: (event) => {
          storeCursor(this.base, event.id);
          const shown = labNotification(event, this.openedAt);
          if (shown === null) return;
          Notification.emit(shown.message, shown.type, {
            autoClose: shown.autoClose,
            data: { sseWidgets: { id: event.id, channel: event.channel } },
          });
          hook.shown.push(event.id);
          if (hook.shown.length > 200) hook.shown.splice(0, hook.shown.length - 200);
        },
      });
    }
    this.applyDesktop(options);
  }

  private applyDesktop(options: Options): void {
    this.desktop?.close();
    this.desktop = null;
    if (!options.desktop || options.channels.length === 0) return;
    const permission = desktopPermission();
    if (permission === "granted") {
      this.desktop = desktopNotifications({ channels: options.channels, level: options.desktopLevel, baseUrl: this.base });
    } else if (permission === "default" && !this.askedPermission) {
      // The browser asks only from a click: offer one.
      this.askedPermission = true;
      Notification.info("sse-widgets can show notifications on your desktop while no tab of this server is visible.", {
        autoClose: false,
        actions: [{ label: "Enable desktop notifications", callback: () => void this.enable(options) }],
      });
    }
  }

  async enable(options: Options): Promise<boolean> {
    const granted = await requestDesktopPermission();
    if (granted) this.applyDesktop({ ...options, desktop: true });
    return granted;
  }

  close(): void {
    this.subscription?.close();
    this.desktop?.close();
  }
}

const plugin = {
  id: PLUGIN_ID,
  description: "sse-widgets notifications in the notification center and on the desktop.",
  autoStart: true,
  optional: [ISettingRegistry, ICommandPalette],
  activate: async (app: any, registry: ISettingRegistry | null, palette: ICommandPalette | null): Promise<void> => {
    (globalThis as any).__sseWidgetsLab = hook;
    const base = baseUrl();
    let settings: ISettingRegistry.ISettings | null = null;
    if (registry) {
      try {
        settings = await registry.load(PLUGIN_ID);
      } catch (err) {
        console.warn("sse-widgets: could not load the notification settings; using the defaults", err);
      }
    }
    const follower = new Follower(base);
    app.commands.addCommand(ENABLE_DESKTOP, {
      label: "Enable desktop notifications (sse-widgets)",
      isEnabled: () => desktopPermission() !== "unsupported" && desktopPermission() !== "denied",
      execute: async () => {
        const granted = await follower.enable(readOptions(settings));
        if (granted) await settings?.set("desktopNotifications", true);
        else Notification.warning("The browser did not allow desktop notifications for this page.");
      },
    });
    palette?.addItem({ command: ENABLE_DESKTOP, category: "Notifications" });
    if (!(await hubPresent(base))) {
      hook.state = "no-hub"; // a server without the sse-widgets server extension: nothing to follow
      return;
    }
    void follower.apply(readOptions(settings));
    settings?.changed.connect(() => void follower.apply(readOptions(settings)));
  },
};

export default plugin;
