// What a `notify` event becomes in JupyterLab's notification center: a message (text), a
// type, and how long the toast stays. Pure, so the rules read in one place.

import { Envelope } from "../../src/stream";
import { levelOf } from "../../src/desktop";

/** The toast's time when an event gives none: the `Toasts` widget's default. */
export const DEFAULT_TIMEOUT_MS = 5000;
/**
 * A notification that stays until dismissed (an error, `timeout_ms=None`) and was published
 * before the window opened is shown only if it is this recent: someone who opens Lab right
 * after a job failed sees it; one who opens it the next day does not get yesterday's.
 */
export const STAY_REPLAY_MS = 60_000;

export interface LabNotification {
  /** Title and message in one line of text (JupyterLab has no title; it shows 140 characters). */
  message: string;
  type: "info" | "success" | "warning" | "error";
  /** Milliseconds, or false: stays until dismissed. */
  autoClose: number | false;
}

function text(value: unknown): string {
  return value === undefined || value === null ? "" : String(value);
}

/**
 * The notification for `event`, or null when it is not one to show: not a `notify` event,
 * or one from before `openedAt` (ms) whose time is over.
 */
export function labNotification(event: Envelope, openedAt: number, now = Date.now()): LabNotification | null {
  if (event.type !== "notify" || !event.data || typeof event.data !== "object") return null;
  const d = event.data;
  const type = levelOf(event);
  // A number closes after that long; null (Python's None) or 0 keeps it; absent: default.
  let timeout: number | false =
    typeof d.timeout_ms === "number" && Number.isFinite(d.timeout_ms) && d.timeout_ms > 0
      ? d.timeout_ms
      : d.timeout_ms === null || d.timeout_ms === 0 ? false : DEFAULT_TIMEOUT_MS;
  if (type === "error") timeout = false; // an error stays until dismissed
  const publishedAt = event.ts * 1000;
  if (publishedAt < openedAt) {
    // Replayed from the hub's history: only what would still be on screen.
    const age = now - publishedAt;
    if (timeout === false) {
      if (age > STAY_REPLAY_MS) return null;
    } else if (age >= timeout) {
      return null;
    } else {
      timeout -= age;
    }
  }
  const title = text(d.title);
  const message = text(d.message);
  return { message: title ? (message ? `${title}: ${message}` : title) : message, type, autoClose: timeout };
}
