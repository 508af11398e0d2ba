// `useChannel`: a React hook on the browser's shared stream. React is the page's (a peer
// dependency, imported as "react", never bundled): an import map or the page's bundler
// resolves it. Served at {base_url}sse-widgets/static/sse-react.js.
//
//   const { events, last, state } = useChannel(["train/loss"]);

import { useEffect, useState } from "react";
import { ConnState, Envelope, SubscribeOptions, subscribe } from "./sse-client";

export { SSEClient, subscribe } from "./sse-client";
export type { ConnState, Envelope, SubscribeOptions } from "./sse-client";

export interface ChannelView {
  /** The newest events, oldest first, at most `limit`. */
  events: Envelope[];
  last: Envelope | null;
  state: ConnState;
}

export function useChannel(
  channels: string | string[],
  options: { limit?: number; baseUrl?: string; tickets?: SubscribeOptions["tickets"] } = {},
): ChannelView {
  const list = typeof channels === "string" ? [channels] : channels;
  const key = list.join("\n");
  const limit = Math.max(1, options.limit ?? 1000);
  const [view, setView] = useState<ChannelView>({ events: [], last: null, state: "connecting" });
  useEffect(() => {
    setView({ events: [], last: null, state: "connecting" });
    const sub = subscribe({
      channels: key.split("\n"),
      baseUrl: options.baseUrl,
      tickets: options.tickets,
      onEvent: (event) =>
        setView((v) => ({ ...v, events: [...v.events, event].slice(-limit), last: event })),
      onReset: () => setView((v) => ({ ...v, events: [], last: null })),
      onState: (state) => setView((v) => (v.state === state ? v : { ...v, state })),
    });
    return () => sub.close();
  }, [key, limit, options.baseUrl]);
  return view;
}
