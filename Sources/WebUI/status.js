// status.js: what the page knows about the server. The status bar (model, context per slot,
// slots, state) and the banner that says plainly when the server is loading the model, has no
// free slot, needs an API key, or cannot be reached, checking again until it is back.

import { describeError } from "./api.js";

const $ = (id) => document.getElementById(id);
const RECHECK_MS = { ready: 15000, loading: 1000, unreachable: 3000, auth: 0, error: 5000 };

export class ServerStatus {
  // onProps(props) runs each time /props is read; openSettings() opens the Settings dialog.
  constructor(client, { onProps, openSettings }) {
    this.client = client;
    this.onProps = onProps;
    this.openSettings = openSettings;
    this.state = "connecting";
    this.props = null;
    this.timer = null;
    this.banner = $("banner");
  }

  start() {
    this.refresh();
  }

  // Reads /health, then /props; schedules the next check by what it found.
  async refresh() {
    clearTimeout(this.timer);
    try {
      const health = await this.client.health();
      if (health.httpStatus === 503) {
        this.setState("loading", "Loading the model…");
        this.showBanner("The server is still loading the model. This page will be ready as soon as it is.", "info", null, "server");
      } else if (health.httpStatus >= 500) {
        this.setState("error", "The model failed to load");
        this.showBanner("The server could not load its model; see the server's log.", "error", null, "server");
      } else {
        this.props = await this.client.props();
        this.onProps?.(this.props);
        this.setState("ready", this.describe(this.props));
        if (this.bannerSource === "server") this.hideBanner();
      }
    } catch (error) {
      this.noteError(error);
    }
    const delay = RECHECK_MS[this.state] ?? 0;
    if (delay > 0) this.timer = setTimeout(() => this.refresh(), delay);
  }

  describe(props) {
    const settings = props.default_generation_settings ?? {};
    const model = (props.model_alias || props.model_path || "model").split(/[\\/]/).pop();
    const parts = [model];
    const context = settings.n_ctx ?? settings.params?.n_ctx;
    if (context) parts.push(`${context} tokens of context per slot`);
    if (props.total_slots) parts.push(`${props.total_slots} slot${props.total_slots === 1 ? "" : "s"}`);
    return parts.join(" · ");
  }

  setState(state, text) {
    this.state = state;
    $("server-status").textContent = text;
    $("server-dot").dataset.state = state;
    document.body.dataset.server = state;
  }

  // Shows what went wrong with a request, and keeps checking until the server answers again.
  noteError(error) {
    const kind = error?.kind ?? (error instanceof TypeError ? "unreachable" : error?.status === 401 ? "auth" : error?.status === 503 ? "loading" : "error");
    const message = describeError(error);
    if (kind === "unreachable") {
      this.setState("unreachable", "Server unreachable");
      this.showBanner(message, "error", null, "server");
    } else if (kind === "auth") {
      this.setState("auth", "API key needed");
      this.showBanner(message, "error", { label: "Open settings", run: () => this.openSettings() }, "server");
    } else if (kind === "loading") {
      this.setState("loading", "Loading the model…");
      this.showBanner(message, "info", null, "server");
    } else {
      this.showBanner(message, "error", null, "request");
      return;
    }
    clearTimeout(this.timer);
    const delay = RECHECK_MS[this.state];
    if (delay > 0) this.timer = setTimeout(() => this.refresh(), delay);
  }

  // Before a request: when every slot is taken, say that it waits in the queue.
  async warnIfBusy() {
    this.waitingForReply = true;
    if (this.bannerSource === "request") this.hideBanner();
    try {
      const health = await this.client.health();
      if (this.waitingForReply && health.httpStatus === 200 && health.slots_idle === 0) {
        const slots = health.slots_processing === 1 ? "its only slot is" : `all ${health.slots_processing} slots are`;
        this.showBanner(`The server is busy: ${slots} in use. Your request waits for one to free up.`, "warn", null, "busy");
      }
    } catch (_) {
      // the request itself will report an unreachable server
    }
  }

  // The first piece of a reply arrived (or the request ended): the busy note is over.
  replyStarted() {
    this.waitingForReply = false;
    if (this.bannerSource === "busy") this.hideBanner();
  }

  // source: "server" (its state; cleared once it is ready), "busy", "request" (cleared by the
  // next request), or anything else (stays until dismissed).
  showBanner(text, level, action = null, source = "page") {
    this.bannerSource = source;
    this.banner.replaceChildren();
    const message = document.createElement("span");
    message.textContent = text;
    this.banner.append(message);
    if (action) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = action.label;
      button.addEventListener("click", action.run);
      this.banner.append(button);
    }
    const close = document.createElement("button");
    close.type = "button";
    close.className = "icon";
    close.textContent = "✕";
    close.setAttribute("aria-label", "Dismiss");
    close.addEventListener("click", () => this.hideBanner());
    this.banner.append(close);
    this.banner.dataset.level = level;
    this.banner.hidden = false;
  }

  hideBanner() {
    this.bannerSource = null;
    this.banner.hidden = true;
    this.banner.replaceChildren();
  }
}
