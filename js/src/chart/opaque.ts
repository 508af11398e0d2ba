// Opaque plot canvases. A canvas made with `{alpha: false}` is a layer the compositor knows
// to be opaque: it is copied over the page instead of blended, and what lies under it is not
// drawn at all. Chromium composites in software here (no GPU), where that blending is a
// large part of each frame. uPlot makes its canvas and context in its constructor, so the
// context's attributes are set by wrapping `getContext` for the constructor's duration;
// each frame then starts from the widget's background instead of transparent black.

import uPlot from "uplot";

/** Run `make` with every 2D context it creates opaque. */
export function withOpaqueCanvases<T>(make: () => T): T {
  const proto = HTMLCanvasElement.prototype;
  const original = proto.getContext;
  proto.getContext = function (this: HTMLCanvasElement, type: string, attributes?: any) {
    return original.call(this, type, type === "2d" ? { ...attributes, alpha: false } : attributes);
  } as typeof original;
  try {
    return make();
  } finally {
    proto.getContext = original;
  }
}

/** Alpha of a computed CSS colour (`rgb(...)`, `rgba(...)`, `transparent`). */
function alphaOf(colour: string): number {
  if (colour === "transparent" || colour === "") return 0;
  const inner = colour.slice(colour.indexOf("(") + 1, colour.lastIndexOf(")"));
  const parts = inner.split(/[\s,/]+/).filter(Boolean);
  if (parts.length < 4) return 1;
  const a = parts[3];
  return a.endsWith("%") ? Number(a.slice(0, -1)) / 100 : Number(a);
}

/** The colour the element is seen on: the first opaque background from it up; else white. */
export function backgroundOf(el: HTMLElement): string {
  for (let node: HTMLElement | null = el; node; node = node.parentElement) {
    const colour = getComputedStyle(node).backgroundColor;
    if (alphaOf(colour) >= 1) return colour;
  }
  return "#fff";
}

/** A `drawClear` hook: uPlot cleared the opaque canvas to black; paint `background()`. */
export function paintBackground(background: () => string): (u: uPlot) => void {
  return (u) => {
    const ctx = u.ctx;
    // save/restore: uPlot caches the context's styles and would not set them again.
    ctx.save();
    ctx.fillStyle = background();
    ctx.fillRect(0, 0, ctx.canvas.width, ctx.canvas.height);
    ctx.restore();
  };
}
