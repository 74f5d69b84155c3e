// complete.js: the completion mode. The model continues a prompt through /completion.js (the
// module the spec documents for custom pages, so this mode is also its working example). With
// n_probs set, each generated token shows how likely it was and what the alternatives were:
// click a token, or focus the output and move with the arrow keys.

import { llama } from "/completion.js";
import { describeError, describeTimings, isAbort } from "./api.js";

const $ = (id) => document.getElementById(id);

// A token's text with its whitespace made visible (a bare space or newline would show nothing).
function visible(text) {
  return text.replace(/ /g, "␣").replace(/\n/g, "↵").replace(/\t/g, "⇥") || "∅";
}

function percent(p) {
  return `${(p * 100).toFixed(p >= 0.1 ? 1 : 2)}%`;
}

export class CompletionView {
  constructor({ settings, status, onGeneratingChange }) {
    this.settings = settings;
    this.status = status;
    this.onGeneratingChange = onGeneratingChange;
    this.controller = null;
    this.tokens = []; // [{ text, probs: [{ tok_str, prob }], chosen, node }]
    this.selected = -1;
    this.generated = "";

    this.prompt = $("completion-prompt");
    this.output = $("completion-output");
    this.details = $("token-details");
    this.nProbs = $("completion-nprobs");

    $("complete").addEventListener("click", () => this.generate());
    $("complete-stop").addEventListener("click", () => this.stop());
    $("complete-append").addEventListener("click", () => this.appendToPrompt());
    this.prompt.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        this.generate();
      }
    });
    this.nProbs.addEventListener("change", () => {
      const n = Number(this.nProbs.value);
      if (Number.isInteger(n) && n >= 0 && n <= 100) {
        this.settings.set("n_probs", n);
        this.settings.save();
      } else {
        this.syncSettings();
      }
    });
    this.output.addEventListener("click", (event) => {
      const node = event.target.closest(".token");
      if (node) this.select(Number(node.dataset.index));
    });
    this.output.addEventListener("keydown", (event) => this.keydown(event));
    this.syncSettings();
  }

  get generating() {
    return this.controller !== null;
  }

  syncSettings() {
    this.nProbs.value = this.settings.value("n_probs");
  }

  stop() {
    this.controller?.abort();
  }

  appendToPrompt() {
    this.prompt.value += this.generated;
    this.generated = "";
    $("complete-append").disabled = true;
    this.prompt.focus();
  }

  setGenerating(on) {
    $("complete").hidden = on;
    $("complete-stop").hidden = !on;
    document.body.dataset.generating = String(on);
    this.onGeneratingChange?.(on);
  }

  async generate() {
    if (this.generating) return;
    const prompt = this.prompt.value;
    this.controller = new AbortController();
    this.tokens = [];
    this.selected = -1;
    this.generated = "";
    this.details.hidden = true;
    $("complete-append").disabled = true;
    $("completion-stats").textContent = "";
    const shown = document.createElement("span");
    shown.className = "prompt-text";
    shown.textContent = prompt;
    this.output.replaceChildren(shown);
    this.output.classList.toggle("with-probs", this.settings.value("n_probs") > 0);
    this.setGenerating(true);
    if (document.activeElement === $("complete")) $("complete-stop").focus();
    this.status.warnIfBusy();

    const params = { ...this.settings.requestOptions() };
    const config = { controller: this.controller, api_key: this.settings.apiKey };
    let note = "";
    try {
      for await (const chunk of llama(prompt, params, config)) {
        this.status.replyStarted();
        this.add(chunk.data);
      }
    } catch (error) {
      this.status.replyStarted();
      if (isAbort(error)) {
        note = "Stopped";
      } else {
        note = describeError(error);
        this.status.noteError(error);
      }
    } finally {
      this.controller = null;
      this.setGenerating(false);
      if (note) {
        const span = document.createElement("span");
        span.className = note === "Stopped" ? "note stopped" : "note error";
        span.textContent = ` ${note}`;
        $("completion-stats").append(span);
      }
      $("complete-append").disabled = this.generated === "";
      if (document.activeElement === $("complete-stop") || document.activeElement === document.body) $("complete").focus();
    }
  }

  // One stream event: its text (one token, or a few when a stop string was held back), its
  // probabilities, and at the end the timings.
  add(data) {
    const probabilities = data.completion_probabilities ?? [];
    if (probabilities.length > 0) {
      for (const entry of probabilities) this.addToken(entry.content ?? "", entry.probs ?? []);
      const rest = (data.content ?? "").slice(probabilities.map((e) => e.content ?? "").join("").length);
      if (rest) this.addText(rest);
    } else if (data.content) {
      this.addText(data.content);
    }
    if (data.timings) $("completion-stats").textContent = describeTimings(data.timings);
  }

  addText(text) {
    this.generated += text;
    this.output.append(document.createTextNode(text));
  }

  addToken(text, probs) {
    const index = this.tokens.length;
    const node = document.createElement("span");
    node.className = "token";
    node.dataset.index = index;
    node.textContent = text;
    const chosen = probs.find((p) => p.tok_str === text)?.prob;
    if (chosen !== undefined) {
      node.style.setProperty("--p", chosen.toFixed(3));
      node.title = `${percent(chosen)}`;
      node.classList.toggle("unlikely", chosen < 0.3);
    }
    this.tokens.push({ text, probs, chosen, node });
    this.generated += text;
    this.output.append(node);
  }

  select(index) {
    if (index < 0 || index >= this.tokens.length) return;
    this.tokens[this.selected]?.node.classList.remove("selected");
    this.selected = index;
    const token = this.tokens[index];
    token.node.classList.add("selected");
    token.node.scrollIntoView({ block: "nearest" });
    this.showDetails(token, index);
  }

  showDetails(token, index) {
    const heading = document.createElement("p");
    heading.className = "token-heading";
    const chosen = token.chosen === undefined ? "" : ` (${percent(token.chosen)})`;
    heading.textContent = `Token ${index + 1} of ${this.tokens.length}: “${visible(token.text)}”${chosen}`;
    const table = document.createElement("table");
    table.className = "probs";
    const head = document.createElement("tr");
    for (const name of ["Candidate", "Probability"]) {
      const th = document.createElement("th");
      th.textContent = name;
      th.scope = "col";
      head.append(th);
    }
    table.append(head);
    for (const candidate of token.probs) {
      const row = document.createElement("tr");
      if (candidate.tok_str === token.text) row.className = "chosen";
      const name = document.createElement("td");
      const code = document.createElement("code");
      code.textContent = visible(candidate.tok_str ?? "");
      name.append(code);
      const value = document.createElement("td");
      const bar = document.createElement("span");
      bar.className = "bar";
      bar.style.width = `${Math.round((candidate.prob ?? 0) * 100)}%`;
      const label = document.createElement("span");
      label.textContent = percent(candidate.prob ?? 0);
      value.append(bar, label);
      row.append(name, value);
      table.append(row);
    }
    this.details.replaceChildren(heading, table);
    this.details.hidden = false;
  }

  keydown(event) {
    if (this.tokens.length === 0) return;
    const moves = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
    if (event.key in moves) {
      event.preventDefault();
      const start = this.selected < 0 ? (moves[event.key] > 0 ? -1 : this.tokens.length) : this.selected;
      this.select(Math.max(0, Math.min(this.tokens.length - 1, start + moves[event.key])));
    } else if (event.key === "Home") {
      event.preventDefault();
      this.select(0);
    } else if (event.key === "End") {
      event.preventDefault();
      this.select(this.tokens.length - 1);
    }
  }
}
