// The dashboard's header: title, the shared connection's state, and "N watching".
//
// The Dashboard itself is an ipywidgets VBox on the Python side (children rendered by the
// widget manager of JupyterLab, Notebook 7 or Voila); this module only draws its header.

import "./style.css";
import { baseUrl, getRegistry, storeTicketCookies, streamUrl } from "./stream";
import { installSharedClient } from "./shared";
import { Model, h, stateLabel } from "./widget";

/** How often the header asks the hub how many browsers watch (while the tab is visible). */
const WATCHING_EVERY_MS = 5000;

/** The viewers URL for `channels`, its tickets (the page's widgets') in cookies or the URL. */
function viewersUrl(channels: string[]): string {
  const registry = getRegistry();
  const tickets = new Set<string>();
  let hub: unknown = "";
  for (const store of registry.stores.values()) {
    const ticket = store.model?.get?.("ticket");
    if (typeof ticket === "string" && ticket) tickets.add(ticket);
    hub ||= store.model?.get?.("hub_url");
  }
  const request = { baseUrl: baseUrl(hub), channels, cursor: null, since: [], tickets: [...tickets].slice(0, 32) };
  // The stream's URL rules (tickets, jar), on the viewers path.
  const url = streamUrl(request, storeTicketCookies(request)).replace("sse-widgets/api/stream?", "sse-widgets/api/viewers?");
  return url;
}

export default {
  render({ model, el }: { model: Model; el: HTMLElement }) {
    const root = h("div", "sse-widget sse-dashboard-header");
    root.dataset.sseWidget = "dashboard";
    const title = h("div", "sse-dashboard-title");
    const watching = h("span", "sse-watching");
    const status = h("span", "sse-status");
    root.append(title, watching, status);
    el.replaceChildren(root);
    const showTitle = () => {
      title.textContent = String(model.get("title") ?? "");
    };
    showTitle();
    model.on("change:title", showTitle);
    installSharedClient();
    const registry = getRegistry();
    const show = () => {
      const { state, transports } = registry.summary();
      status.textContent = stateLabel(state, transports);
      status.dataset.state = state;
      status.dataset.mode = registry.mode;
      status.title = `stream: ${registry.mode}`; // worker, leader, follower or tab
      root.dataset.state = state;
      root.dataset.mode = registry.mode;
    };
    // Listening does not subscribe: the header shows what its sibling widgets show (one
    // SSE connection per browser and server, or each widget's comm), the worst state first.
    const offWidgets = registry.watch(show);
    const offPage = registry.connection().onState(show);

    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const ask = async () => {
      timer = null;
      const channels = (model.get("channels") ?? []).filter((c: unknown) => typeof c === "string" && c);
      const visible = typeof document === "undefined" || document.visibilityState !== "hidden";
      if (channels.length > 0 && visible) {
        try {
          const response = await fetch(viewersUrl(channels), { credentials: "same-origin" });
          if (response.ok) {
            const count = Number((await response.json()).browsers);
            if (Number.isFinite(count)) {
              watching.textContent = `${count} watching`;
              watching.dataset.count = String(count);
            }
          }
        } catch {
          // No hub, or offline: the state badge says so; the count stays as it was.
        }
      }
      if (!stopped) timer = setTimeout(ask, WATCHING_EVERY_MS);
    };
    timer = setTimeout(ask, 500);
    return () => {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      offWidgets();
      offPage();
      model.off("change:title", showTitle);
    };
  },
};
