// The dashboard's header: title and the shared connection's state.
//
// The Dashboard itself is an ipywidgets VBox on the Python side (children rendered by the
// widget manager of JupyterLab, Notebook 7 or Voila); this module only draws its header.

import "./style.css";
import { getRegistry } from "./stream";
import { installSharedClient } from "./shared";
import { Model, h, stateLabel } from "./widget";

export default {
  render({ model, el }: { model: Model; el: HTMLElement }) {
    const root = h("div", "sse-widget sse-dashboard-header");
    root.dataset.sseWidget = "dashboard";
    const title = h("div", "sse-dashboard-title");
    const status = h("span", "sse-status");
    root.append(title, status);
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
      root.dataset.state = state;
    };
    // Listening does not subscribe: the header shows what its sibling widgets show (one
    // SSE connection per page and server, or each widget's comm), the worst state first.
    const offWidgets = registry.watch(show);
    const offPage = registry.connection().onState(show);
    return () => {
      offWidgets();
      offPage();
      model.off("change:title", showTitle);
    };
  },
};
