// store.js: what the page keeps in this browser (localStorage): the conversations and the
// settings. Nothing is sent anywhere but to this server's generation routes.

const CONVERSATIONS_KEY = "cria.conversations.v1";
const SETTINGS_KEY = "cria.settings.v1";

export function newId() {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

function readJSON(key, fallback) {
  try {
    const text = localStorage.getItem(key);
    return text === null ? fallback : JSON.parse(text);
  } catch (_) {
    // storage disabled or a damaged entry: start empty rather than fail to load the page
    return fallback;
  }
}

// Writes `value`; returns an error message when the browser refuses (storage full or disabled).
function writeJSON(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
    return null;
  } catch (error) {
    return `Could not save in this browser: ${error.message}`;
  }
}

// A conversation: { id, title, system, messages: [{ id, role, content, reasoning, timings,
// stopped, error }], updated }. Kept newest first.
export class ConversationStore {
  constructor() {
    const stored = readJSON(CONVERSATIONS_KEY, []);
    this.conversations = Array.isArray(stored) ? stored.filter((c) => c && typeof c.id === "string" && Array.isArray(c.messages)) : [];
  }

  list() {
    return [...this.conversations].sort((a, b) => b.updated - a.updated);
  }

  get(id) {
    return this.conversations.find((c) => c.id === id) ?? null;
  }

  create() {
    const conversation = { id: newId(), title: "New chat", system: "", messages: [], updated: Date.now() };
    this.conversations.push(conversation);
    return conversation;
  }

  // Call after changing a conversation; returns an error message if it could not be kept.
  save(conversation, { touch = true } = {}) {
    if (touch) conversation.updated = Date.now();
    if (!this.get(conversation.id)) this.conversations.push(conversation);
    return this.write();
  }

  // A new chat nobody wrote in yet is not kept.
  write() {
    return writeJSON(CONVERSATIONS_KEY, this.conversations.filter((c) => c.messages.length > 0 || c.system));
  }

  remove(id) {
    this.conversations = this.conversations.filter((c) => c.id !== id);
    return this.write();
  }
}

// Settings: { apiKey, mode, overrides: { parameter: value } } (see settings.js).
export function loadSettings() {
  const stored = readJSON(SETTINGS_KEY, {});
  return {
    apiKey: typeof stored.apiKey === "string" ? stored.apiKey : "",
    mode: stored.mode === "completion" ? "completion" : "chat",
    overrides: stored.overrides && typeof stored.overrides === "object" ? stored.overrides : {},
    lastConversation: typeof stored.lastConversation === "string" ? stored.lastConversation : null,
  };
}

export function saveSettings(settings) {
  return writeJSON(SETTINGS_KEY, settings);
}
