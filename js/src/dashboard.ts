// The dashboard's header: title and the shared connection's state.
//
// The Dashboard itself is an ipywidgets VBox on the Python side (children rendered by the
// widget manager of JupyterLab, Notebook 7 or Voila); this module only draws its header.

import "./style.css";
import { ConnState, getRegistry } from "./stream";
import { Model, h } from "./widget";

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
    const show = (state: ConnState) => {
      status.textContent = state;
      status.dataset.state = state;
      root.dataset.state = state;
    };
    // Listening does not subscribe: the header shows the state of the connection its
    // sibling widgets share (there is one per page and server).
    const off = getRegistry().connection().onState(show);
    return () => {
      off();
      model.off("change:title", showTitle);
    };
  },
};
