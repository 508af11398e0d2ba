// The page of a static dashboard (`sse-widgets serve --static`): no kernel behind it.
//
// The server ran the notebook once and saved its widget state; this bundle renders that
// state with the generic widget manager of ipywidgets (@jupyter-widgets/html-manager,
// which draws VBox, GridBox, sliders... from saved state) and anywidget's own model and
// view classes, so our widgets load their `_esm` exactly as in JupyterLab. They then
// stream from the hub through the shared connection (stream.ts), like everywhere else.
//
// What differs without a kernel is only where stream tickets come from. A widget asks for
// fresh ones with `model.send({kind: "refresh_ticket"})` (widget.ts), which in a kernel
// goes over the comm; here `StaticAnyModel.send` asks the server instead
// (`GET sse-widgets/api/dashboard-ticket`, with the viewer cookie or the owner's login),
// and the page also renews them on a timer before they expire. Changes a page would sync
// back (the cursor) are dropped: there is nobody to sync them to.

import { HTMLManager } from "@jupyter-widgets/html-manager/lib/htmlmanager";
import * as base from "@jupyter-widgets/base";
// The anywidget frontend (its AMD `define` is turned into an export by build.mjs).
import anywidgetFactory from "anywidget";

/** What the server puts in `#sse-widgets-static-config`. */
interface StaticConfig {
  /** The notebook's path, as the ticket endpoint names it. */
  notebook: string;
  /** URL of the ticket endpoint (absolute path, with the notebook in its query). */
  ticketUrl: string;
  /** When the tickets in the widget state expire, in epoch seconds (server clock). */
  expires: number;
  /** Their lifetime in seconds: renewals are timed by it, on this page's clock. */
  ttl: number;
}

interface TicketReply {
  tickets: string[];
  expires: number;
  ttl: number;
}

const STATE_MIME = "application/vnd.jupyter.widget-state+json";
const VIEW_MIME = "application/vnd.jupyter.widget-view+json";
/** Renew when this share of a ticket's lifetime is left (and retry failures this often). */
const RENEW_AT_REMAINING = 1 / 3;
const RETRY_MS = 5000;

function readJson<T>(selector: string): T | null {
  const el = document.querySelector(selector);
  if (!el || !el.textContent) return null;
  return JSON.parse(el.textContent) as T;
}

/** Fetches tickets for the dashboard's channels from the server, and keeps them fresh. */
export class TicketSource {
  readonly config: StaticConfig;
  tickets: string[] = [];
  expires: number;
  ttl: number;
  /** Renewals done (a test hook). */
  renewals = 0;
  private inFlight: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly models = new Set<any>();

  constructor(config: StaticConfig) {
    this.config = config;
    this.expires = config.expires;
    this.ttl = config.ttl;
    this.schedule();
  }

  /** A stream widget's model: given every renewed ticket. */
  track(model: any): void {
    this.models.add(model);
    model.once?.("destroy", () => this.models.delete(model));
  }

  /** Ask the server now (coalesced: one request at a time). */
  renew(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    this.inFlight = fetch(this.config.ticketUrl, { credentials: "same-origin", cache: "no-store" })
      .then(async (response) => {
        if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
        const reply = (await response.json()) as TicketReply;
        this.tickets = reply.tickets;
        this.expires = reply.expires;
        this.ttl = reply.ttl;
        this.renewals += 1;
        const ticket = reply.tickets[0] ?? "";
        for (const model of this.models) model.set("ticket", ticket);
        this.schedule();
      })
      .catch((err) => {
        // An expired or revoked share link lands here (403): the page keeps what it
        // shows, and its next load says why.
        console.warn("sse-widgets: could not renew the dashboard's stream tickets", err);
        this.schedule(RETRY_MS);
      })
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }

  private schedule(delay?: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    const wait = delay ?? Math.max(1000, this.ttl * 1000 * (1 - RENEW_AT_REMAINING));
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.renew();
    }, wait);
  }
}

/** anywidget's classes, with a model that has no kernel to talk to. */
function anywidgetModule(tickets: TicketSource): any {
  const { AnyModel, AnyView } = anywidgetFactory(base as any);
  class StaticAnyModel extends AnyModel {
    initialize(attributes: any, options: any): void {
      super.initialize(attributes, options);
      if (typeof this.get("_uid") === "string" && Array.isArray(this.get("channels"))) {
        tickets.track(this);
      }
    }
    send(content: any): void {
      if (content && content.kind === "refresh_ticket") void tickets.renew();
      // Anything else was for a kernel (there is none).
    }
    save_changes(): void {
      // What a view syncs back (the chart's smoothing, a log's filter) is for a kernel; there is none.
    }
  }
  return { AnyModel: StaticAnyModel, AnyView };
}

/** Render every saved widget view on the page; returns the manager (a test hook). */
export async function renderStaticPage(): Promise<HTMLManager> {
  const config = readJson<StaticConfig>("#sse-widgets-static-config");
  if (config === null) throw new Error("sse-widgets: this page has no static dashboard config");
  const tickets = new TicketSource(config);
  const ours = anywidgetModule(tickets);
  const manager = new HTMLManager({
    loader: (moduleName: string) =>
      moduleName === "anywidget"
        ? Promise.resolve(ours)
        : Promise.reject(new Error(`sse-widgets: no frontend for ${moduleName} on a static page`)),
  });
  const state = readJson<any>(`script[type="${STATE_MIME}"]`);
  if (state === null) return manager;
  const models = await manager.set_state(state);
  const tags = [...document.querySelectorAll(`script[type="${VIEW_MIME}"]`)];
  await Promise.all(
    tags.map(async (tag) => {
      const { model_id } = JSON.parse(tag.textContent || "{}");
      const model = models.find((m: any) => m.model_id === model_id);
      const snapshot = tag.previousElementSibling;
      if (!model || !tag.parentElement) return; // its static snapshot stays
      const el = document.createElement("div");
      el.className = "widget-subarea";
      tag.parentElement.insertBefore(el, tag);
      try {
        const view = await manager.create_view(model);
        await manager.display_view(view, el);
        if (snapshot?.classList.contains("sse-static-snapshot")) snapshot.remove();
      } catch (err) {
        el.remove();
        console.error("sse-widgets: could not render a widget; its snapshot stays", err);
      }
    }),
  );
  const g = globalThis as any;
  g.__sseWidgetsStatic = { manager, tickets, rendered: true };
  document.body.dataset.sseStatic = "rendered";
  return manager;
}

void renderStaticPage().catch((err) => {
  console.error(err);
  document.body.dataset.sseStatic = "failed";
});
