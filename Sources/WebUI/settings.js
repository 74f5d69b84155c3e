// settings.js: the generation parameters of the spec's /completion (each with its default), the
// API key, and the Settings dialog that edits them. Only values changed from their default are
// sent, so a server's own defaults (`--temp`, `-n`, …) apply to everything left alone.

import { loadSettings, saveSettings } from "./store.js";

// type: int | float | bool | text | lines (one string per line → array) | csv (comma list → array)
//       | json | code (a multi-line string). `spec` is the spec's default.
export const PARAMETERS = [
  { group: "Generation", key: "n_predict", label: "Max tokens", type: "int", spec: -1, min: -1, help: "-1: until end of text or the context is full" },
  { group: "Generation", key: "temperature", label: "Temperature", type: "float", spec: 0.8, min: 0, step: 0.05 },
  { group: "Generation", key: "dynatemp_range", label: "Dynamic temperature range", type: "float", spec: 0, min: 0, step: 0.05, help: "0: off" },
  { group: "Generation", key: "dynatemp_exponent", label: "Dynamic temperature exponent", type: "float", spec: 1, step: 0.1 },
  { group: "Generation", key: "top_k", label: "Top-k", type: "int", spec: 40, min: 0, help: "0: off" },
  { group: "Generation", key: "top_p", label: "Top-p", type: "float", spec: 0.95, min: 0, max: 1, step: 0.01 },
  { group: "Generation", key: "min_p", label: "Min-p", type: "float", spec: 0.05, min: 0, max: 1, step: 0.01 },
  { group: "Generation", key: "tfs_z", label: "Tail-free sampling z", type: "float", spec: 1, min: 0, step: 0.05, help: "1: off" },
  { group: "Generation", key: "typical_p", label: "Typical-p", type: "float", spec: 1, min: 0, max: 1, step: 0.01, help: "1: off" },
  { group: "Generation", key: "min_keep", label: "Min tokens kept by samplers", type: "int", spec: 0, min: 0 },
  { group: "Generation", key: "samplers", label: "Sampler order", type: "csv", spec: ["top_k", "tfs_z", "typical_p", "top_p", "min_p", "temperature"], help: "comma-separated" },
  { group: "Generation", key: "seed", label: "Seed", type: "int", spec: -1, min: -1, help: "-1: random" },
  { group: "Generation", key: "stop", label: "Stop strings", type: "lines", spec: [], help: "one per line" },
  { group: "Generation", key: "ignore_eos", label: "Ignore end of text", type: "bool", spec: false },
  { group: "Generation", key: "n_keep", label: "Tokens kept on context shift", type: "int", spec: 0, min: -1, help: "-1: the whole prompt" },
  { group: "Generation", key: "cache_prompt", label: "Reuse the cached prompt", type: "bool", spec: false },
  { group: "Penalties", key: "repeat_penalty", label: "Repeat penalty", type: "float", spec: 1.1, min: 0, step: 0.05 },
  { group: "Penalties", key: "repeat_last_n", label: "Repeat window", type: "int", spec: 64, min: -1, help: "0: off, -1: the context" },
  { group: "Penalties", key: "penalize_nl", label: "Penalize newlines", type: "bool", spec: true },
  { group: "Penalties", key: "presence_penalty", label: "Presence penalty", type: "float", spec: 0, step: 0.05 },
  { group: "Penalties", key: "frequency_penalty", label: "Frequency penalty", type: "float", spec: 0, step: 0.05 },
  { group: "Penalties", key: "penalty_prompt", label: "Penalty prompt", type: "text", spec: "", help: "empty: the prompt itself" },
  { group: "Penalties", key: "logit_bias", label: "Logit bias", type: "json", spec: [], help: 'e.g. [[15043, -1.0], ["Hello", false]]' },
  { group: "Mirostat", key: "mirostat", label: "Mirostat", type: "int", spec: 0, min: 0, max: 2, help: "0: off, 1: Mirostat, 2: Mirostat 2.0" },
  { group: "Mirostat", key: "mirostat_tau", label: "Mirostat tau", type: "float", spec: 5, min: 0, step: 0.1 },
  { group: "Mirostat", key: "mirostat_eta", label: "Mirostat eta", type: "float", spec: 0.1, min: 0, step: 0.01 },
  { group: "Output", key: "n_probs", label: "Token probabilities (n_probs)", type: "int", spec: 0, min: 0, max: 100, help: "completion mode shows them per token" },
  { group: "Output", key: "grammar", label: "Grammar (GBNF)", type: "code", spec: "", help: "constrains the output" },
  { group: "Output", key: "json_schema", label: "JSON schema", type: "json", spec: null, help: "output is JSON matching this schema; {} for any JSON" },
];

const BY_KEY = new Map(PARAMETERS.map((p) => [p.key, p]));
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// The saved settings and what they make of a request.
export class Settings {
  constructor() {
    Object.assign(this, loadSettings());
    // The server's /props default_generation_settings, once known: shown as the defaults.
    this.serverDefaults = {};
  }

  // The value a parameter has now: the user's, else the server's default, else the spec's.
  value(key) {
    if (key in this.overrides) return this.overrides[key];
    return this.defaultValue(key);
  }

  defaultValue(key) {
    const parameter = BY_KEY.get(key);
    const server = this.serverDefaults[key];
    if (server === undefined || server === null || typeof server !== typeof parameter.spec) return parameter.spec;
    // The server sends 32-bit floats (0.800000011920929): show the value that was meant.
    return parameter.type === "float" ? Number(server.toPrecision(6)) : server;
  }

  set(key, value) {
    if (same(value, this.defaultValue(key))) delete this.overrides[key];
    else this.overrides[key] = value;
  }

  // Fields for a /completion or chat request: the changed parameters only.
  requestOptions() {
    const options = {};
    for (const [key, value] of Object.entries(this.overrides)) {
      if (!BY_KEY.has(key)) continue;
      if (key === "penalty_prompt" && value === "") continue;
      if (key === "grammar" && value === "") continue;
      if (key === "json_schema" && value === null) continue;
      options[key] = value;
    }
    return options;
  }

  save() {
    const { apiKey, mode, overrides, lastConversation } = this;
    return saveSettings({ apiKey, mode, overrides, lastConversation });
  }
}

// Text shown in a field for a value, and the value read back from it (throws a message).
function display(parameter, value) {
  switch (parameter.type) {
    case "lines": return (value ?? []).join("\n");
    case "csv": return (value ?? []).join(", ");
    case "json": return value === null || value === undefined ? "" : JSON.stringify(value);
    default: return String(value ?? "");
  }
}

function parse(parameter, text, checked) {
  const name = `${parameter.label} (${parameter.key})`;
  switch (parameter.type) {
    case "bool": return checked;
    case "int":
    case "float": {
      const number = Number(text.trim());
      if (text.trim() === "" || !Number.isFinite(number)) throw `${name} must be a number`;
      if (parameter.type === "int" && !Number.isInteger(number)) throw `${name} must be a whole number`;
      if (parameter.min !== undefined && number < parameter.min) throw `${name} must be at least ${parameter.min}`;
      if (parameter.max !== undefined && number > parameter.max) throw `${name} must be at most ${parameter.max}`;
      return number;
    }
    case "lines": return text.split("\n").filter((line) => line !== "");
    case "csv": return text.split(",").map((s) => s.trim()).filter((s) => s !== "");
    case "json": {
      if (text.trim() === "") return parameter.spec;
      try {
        return JSON.parse(text);
      } catch (error) {
        throw `${name} is not valid JSON: ${error.message}`;
      }
    }
    default: return text;
  }
}

// The Settings dialog: builds one field per parameter, saves on submit.
export class SettingsDialog {
  constructor(settings, onSave) {
    this.settings = settings;
    this.onSave = onSave;
    this.dialog = document.getElementById("settings");
    this.fields = document.getElementById("settings-fields");
    this.error = document.getElementById("settings-error");
    this.build();
    document.getElementById("settings-form").addEventListener("submit", (event) => {
      if (!this.apply()) event.preventDefault();
    });
    document.getElementById("settings-close").addEventListener("click", () => this.dialog.close());
    document.getElementById("settings-reset").addEventListener("click", () => {
      this.settings.overrides = {};
      this.fill();
    });
  }

  field(id, labelText, control, help) {
    const wrap = document.createElement("div");
    wrap.className = control.type === "checkbox" ? "field check" : "field";
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = labelText;
    control.id = id;
    wrap.append(label, control);
    const small = document.createElement("small");
    small.textContent = help;
    small.id = `${id}-help`;
    control.setAttribute("aria-describedby", small.id);
    wrap.append(small);
    return wrap;
  }

  build() {
    const key = document.createElement("input");
    key.type = "password";
    key.autocomplete = "off";
    const connection = this.group("Server");
    connection.append(this.field("setting-api-key", "API key", key, "for servers started with --api-key; sent as a Bearer token"));
    this.fields.append(connection);

    const groups = new Map();
    for (const parameter of PARAMETERS) {
      if (!groups.has(parameter.group)) {
        groups.set(parameter.group, this.group(parameter.group));
        this.fields.append(groups.get(parameter.group));
      }
      let control;
      if (parameter.type === "bool") {
        control = document.createElement("input");
        control.type = "checkbox";
      } else if (["code", "json", "lines"].includes(parameter.type)) {
        control = document.createElement("textarea");
        control.rows = parameter.type === "lines" ? 2 : 3;
        control.spellcheck = false;
      } else {
        control = document.createElement("input");
        control.type = parameter.type === "int" || parameter.type === "float" ? "number" : "text";
        if (parameter.step) control.step = parameter.step;
        if (parameter.type === "int") control.step = 1;
        if (parameter.min !== undefined) control.min = parameter.min;
        if (parameter.max !== undefined) control.max = parameter.max;
      }
      control.dataset.key = parameter.key;
      const id = `setting-${parameter.key}`;
      groups.get(parameter.group).append(this.field(id, `${parameter.label} (${parameter.key})`, control, ""));
    }
  }

  group(name) {
    const fieldset = document.createElement("fieldset");
    const legend = document.createElement("legend");
    legend.textContent = name;
    fieldset.append(legend);
    return fieldset;
  }

  // Puts the current values (and each default) into the fields; help under each says its default.
  fill() {
    document.getElementById("setting-api-key").value = this.settings.apiKey;
    for (const parameter of PARAMETERS) {
      const control = document.getElementById(`setting-${parameter.key}`);
      const value = this.settings.value(parameter.key);
      if (parameter.type === "bool") control.checked = Boolean(value);
      else control.value = display(parameter, value);
      const fallback = display(parameter, this.settings.defaultValue(parameter.key));
      const help = document.getElementById(`${control.id}-help`);
      help.textContent = [parameter.help, `default: ${fallback === "" ? "none" : fallback}`].filter(Boolean).join(" · ");
    }
    this.error.hidden = true;
  }

  open() {
    this.fill();
    this.dialog.showModal();
  }

  // Reads every field; on a bad one shows why and keeps the dialog open.
  apply() {
    const next = {};
    try {
      for (const parameter of PARAMETERS) {
        const control = document.getElementById(`setting-${parameter.key}`);
        next[parameter.key] = parse(parameter, control.value ?? "", control.checked);
      }
    } catch (message) {
      this.error.textContent = String(message);
      this.error.hidden = false;
      return false;
    }
    this.settings.apiKey = document.getElementById("setting-api-key").value.trim();
    for (const [key, value] of Object.entries(next)) this.settings.set(key, value);
    const failure = this.settings.save();
    this.onSave(failure);
    return true;
  }
}
