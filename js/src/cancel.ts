// The Stop button's request: `POST sse-widgets/api/cancel` with the task's channel and id.
//
// It never goes through the kernel: a comm message would wait in the kernel's shell queue
// behind the very cell it is meant to stop (ipykernel #65). The hub publishes a `cancel`
// event that the task's process hears on its own poll (sse_widgets/publisher/control.py).
// Credentials: the widget's ticket in a header (a widget made with cancel=True carries the
// right to stop its channels' tasks; Voila viewers have nothing else), and the page's
// Jupyter cookie with the `_xsrf` token Jupyter wants on a cookie-authenticated POST.

import { isCrossOrigin } from "./stream";

export interface StopResult {
  ok: boolean;
  status: number;
  message: string;
}

function cookie(name: string): string | null {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

/** Ask the hub at `base` (the widget's stream's server) to stop `task`. */
export async function requestStop(base: string, ticket: string, channel: string, task: string): Promise<StopResult> {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (ticket) headers["X-SSE-Widgets-Ticket"] = ticket;
  const xsrf = cookie("_xsrf");
  if (xsrf) headers["X-XSRFToken"] = xsrf;
  try {
    // Another origin's hub (a marimo page) takes it only if its CORS settings admit the page.
    const credentials: RequestCredentials = isCrossOrigin(base) ? "include" : "same-origin";
    const response = await fetch(`${base}sse-widgets/api/cancel`, {
      method: "POST", headers, credentials, body: JSON.stringify({ channel, task }),
    });
    let message = response.statusText;
    try {
      const body = await response.json();
      if (body && typeof body.message === "string") message = body.message;
      else if (body && typeof body.status === "string") message = body.status;
    } catch {
      // not JSON: keep the status text
    }
    return { ok: response.ok, status: response.status, message };
  } catch (err) {
    return { ok: false, status: 0, message: `cannot reach the server: ${String(err)}` };
  }
}
