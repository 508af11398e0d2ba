// The browser's shared worker for one Jupyter server: the one EventSource every tab's
// widgets share (served by the extension at {base_url}sse-widgets/static/stream-worker.js;
// a Blob URL could not be shared across tabs). See host.ts for the messages.

import { StreamHost, TabLink } from "./host";
import { getRegistry } from "./stream";

const scope = globalThis as any;
const registry = getRegistry();
registry.mode = "worker";
const host = new StreamHost({ locks: scope.navigator?.locks ?? null });
// Debugging aid (chrome://inspect → shared workers): the host and its connection.
scope.__sseWidgetsHost = host;

scope.onconnect = (event: MessageEvent) => {
  const port = event.ports[0];
  const link: TabLink = { post: (message) => port.postMessage(message) };
  port.onmessage = (message: MessageEvent) => {
    if (message.data?.kind === "info") {
      port.postMessage({
        kind: "info",
        req: message.data.req,
        tabs: host.tabCount,
        subscriptions: host.subscriptionCount,
        desktop: host.desktopSummary,
        eventSources: registry.eventSources.size,
        eventSourcesCreated: registry.eventSourcesCreated,
        urls: [...registry.eventSources].map((source) => source.url),
      });
      return;
    }
    host.receive(link, message.data);
  };
  port.start();
};
