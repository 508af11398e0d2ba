// Which series share a plot. `"auto"` groups a metric with its validation and test variants
// (`loss` with `val_loss`, `eval_loss`, `train_loss`, `test_loss`), the way Keras and most
// training loops name them, so that values of one kind share a y scale and loss (0–3) no
// longer flattens accuracy (0–1).

export interface PanelSpec {
  /** Shown above the plot; "" for the single plot of `panels=None`. */
  name: string;
  series: string[];
}

/** What the `_panels` trait carries: "auto", null (one plot), or [name, series] pairs. */
export type PanelsTrait = "auto" | null | [string, string[]][];

const PREFIXES = ["val_", "eval_", "train_", "test_"];

/** The group a series belongs to under `"auto"`: its name without a split prefix. */
export function panelKey(name: string): string {
  for (const prefix of PREFIXES) {
    if (name.startsWith(prefix) && name.length > prefix.length) return name.slice(prefix.length);
  }
  return name;
}

/** The panels to draw for the series seen so far (`names`, in order of first appearance). */
export function layoutPanels(names: string[], spec: PanelsTrait): PanelSpec[] {
  if (spec === null || names.length === 0) return [{ name: "", series: [...names] }];
  if (spec === "auto") {
    const groups = new Map<string, string[]>();
    for (const name of names) {
      const key = panelKey(name);
      const group = groups.get(key);
      if (group) group.push(name);
      else groups.set(key, [name]);
    }
    return [...groups].map(([name, series]) => ({ name, series }));
  }
  const seen = new Set(names);
  const listed = new Set<string>();
  const panels: PanelSpec[] = [];
  for (const [name, series] of spec) {
    series.forEach((s) => listed.add(s));
    const present = series.filter((s) => seen.has(s));
    if (present.length) panels.push({ name, series: present });
  }
  // Series the dict does not name are still drawn, in a panel of their own: a typo in the
  // dict must not make data silently disappear.
  const other = names.filter((s) => !listed.has(s));
  if (other.length) panels.push({ name: "other", series: other });
  return panels.length ? panels : [{ name: "", series: [] }];
}
