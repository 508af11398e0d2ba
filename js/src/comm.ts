// The comm transport: events a kernel with no reachable hub sends its own widgets.
//
// The kernel sends each widget one custom message per tick: `{kind: "events", epoch, gen, n,
// replay}` with a JSON array of envelopes as its binary buffer. `n` counts the messages of
// generation `gen`; `n = 0` is a replay (every retained event the widget follows), sent when
// the widget is made and whenever a frontend asks (`{kind: "subscribe"}`), which starts a
// new generation. A frontend is "in step" once it has a replay and each message since;
// anything else means it missed messages (a reload, a Voila page that connected after the
// notebook ran), so it asks for a replay, which it takes after a reset.

import type { Envelope, TransportFactory } from "./stream";

export interface CommMessage {
  epoch: string;
  gen: number;
  n: number;
  replay: boolean;
  events: Envelope[];
}

/** The part of the anywidget model the comm transport uses. */
export interface CommModel {
  send(content: any, callbacks?: any, buffers?: any): void;
  on(event: string, callback: (...args: any[]) => void): void;
  off(event?: string | null, callback?: ((...args: any[]) => void) | null): void;
}

const COMM_HELD_MAX = 256;
/** How long a fresh comm transport waits for the kernel's first replay before asking. */
const COMM_ASK_AFTER_MS = 300;

function decodeEvents(buffers: unknown): Envelope[] | null {
  const buffer = Array.isArray(buffers) ? buffers[0] : null;
  if (!buffer) return null;
  try {
    const events = JSON.parse(new TextDecoder().decode(buffer as ArrayBufferView | ArrayBuffer));
    return Array.isArray(events) ? events.filter((e) => e && typeof e.id === "string") : null;
  } catch {
    console.warn("sse-widgets: dropped a kernel message whose events are not JSON");
    return null;
  }
}

/**
 * Listens to one model's custom messages from the moment the model is initialized.
 *
 * anywidget holds a model's comm messages until its `initialize` has run, so a listener
 * added there sees every message sent after the widget was made; a transport made later
 * (connections start after a short debounce) gets what arrived meanwhile.
 */
export class CommLink {
  readonly model: CommModel;
  private held: CommMessage[] = [];
  private listener: ((message: CommMessage) => void) | null = null;
  private readonly onMsg = (content: any, buffers: unknown) => {
    if (!content || content.kind !== "events" || typeof content.epoch !== "string") return;
    const events = decodeEvents(buffers);
    if (events === null) return;
    const message: CommMessage = {
      epoch: content.epoch,
      gen: Number(content.gen),
      n: Number(content.n),
      replay: content.replay === true,
      events,
    };
    if (this.listener) return this.listener(message);
    // Held until a transport listens; past the bound the oldest go, and the gap in `n`
    // makes the transport ask for a replay.
    this.held.push(message);
    if (this.held.length > COMM_HELD_MAX) this.held.shift();
  };

  constructor(model: CommModel) {
    this.model = model;
    model.on("msg:custom", this.onMsg);
  }

  /** Deliver messages to `listener`, those held first, from the next microtask on. */
  listen(listener: (message: CommMessage) => void): () => void {
    let active = true;
    // Not synchronously: the connection makes a transport current only once its factory
    // has returned, and drops what a transport delivers before that.
    queueMicrotask(() => {
      if (!active) return;
      this.listener = listener;
      const held = this.held;
      this.held = [];
      for (const message of held) listener(message);
    });
    return () => {
      active = false;
      if (this.listener === listener) this.listener = null;
    };
  }

  /** Ask the kernel for a replay of this widget's history. */
  request(): void {
    this.model.send({ kind: "subscribe" });
  }

  dispose(): void {
    this.model.off("msg:custom", this.onMsg);
    this.listener = null;
    this.held = [];
  }
}

export const commTransport: TransportFactory = (request, sink) => {
  const link = request.context as CommLink | undefined;
  if (!link) throw new Error("sse-widgets: the comm transport needs the model's CommLink");
  let epoch: string | null = null;
  let gen = -1;
  let next = 0;
  let inStep = false;
  let asked = false;
  let opened = false;
  let closed = false;
  const ask = () => {
    if (asked || closed) return;
    asked = true;
    link.request();
  };
  const stopListening = link.listen((message) => {
    if (closed) return;
    if (message.replay) {
      if (inStep && message.epoch === epoch && message.gen < gen) return; // superseded
      // In step: the replay repeats what we hold (the connection drops duplicates by id).
      if (!inStep || message.epoch !== epoch) sink.reset({ reason: "replay", epoch: message.epoch });
      epoch = message.epoch;
      gen = message.gen;
      next = 1;
      inStep = true;
      asked = false;
    } else if (inStep && message.epoch === epoch && message.gen === gen && message.n === next) {
      next += 1;
    } else {
      if (inStep && message.epoch === epoch && message.gen < gen) return; // superseded
      // Out of step: show these live events now (a cell may run for hours before the
      // kernel can answer), and ask for the replay, which resets and fills in the rest.
      inStep = false;
      ask();
    }
    if (!opened) {
      opened = true;
      sink.open();
    }
    for (const event of message.events) sink.event(event);
  });
  // A widget made while this page listened gets its first replay unasked; one rendered
  // later (reload, Voila) has to ask.
  const timer = setTimeout(() => {
    if (!inStep) ask();
  }, COMM_ASK_AFTER_MS);
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      stopListening();
    },
  };
};
