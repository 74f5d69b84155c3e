// chat.js: the chat mode. The conversation list (new, open, rename, delete), the messages of the
// open conversation, sending with a streamed reply (Stop cancels it), editing a message and
// regenerating a reply. Conversations live in the browser (store.js); replies come from
// POST /v1/chat/completions with the settings' sampling parameters.

import { describeError, describeTimings, isAbort } from "./api.js";
import { copyText, renderMarkdown } from "./markdown.js";
import { newId } from "./store.js";

const $ = (id) => document.getElementById(id);
const TITLE_LENGTH = 48;

function button(text, className, label) {
  const node = document.createElement("button");
  node.type = "button";
  node.textContent = text;
  if (className) node.className = className;
  if (label) node.setAttribute("aria-label", label);
  return node;
}

// A reply that still carries its thinking inline (a server without a reasoning parser for this
// model's template) is shown the same way as one with `reasoning_content`.
function splitThinking(content) {
  const match = /^\s*<think>([\s\S]*?)(<\/think>\s*|$)/.exec(content);
  if (!match) return { reasoning: "", answer: content };
  return { reasoning: match[1].trim(), answer: content.slice(match[0].length) };
}

export class ChatView {
  constructor({ client, store, settings, status, onGeneratingChange }) {
    this.client = client;
    this.store = store;
    this.settings = settings;
    this.status = status;
    this.onGeneratingChange = onGeneratingChange;
    this.active = null; // { conversation, reply, controller } while a reply streams
    this.elements = new Map(); // message id → its <article>
    this.pendingRender = new Set();

    this.list = $("conversations");
    this.messages = $("messages");
    this.input = $("composer-input");
    this.system = $("system-prompt");

    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send();
      }
    });
    $("stop").addEventListener("click", () => this.stop());
    $("new-chat").addEventListener("click", () => this.newConversation());
    this.system.addEventListener("change", () => {
      this.current.system = this.system.value;
      this.persist(this.current);
    });

    const wanted = this.store.get(settings.lastConversation) ?? this.store.list()[0];
    this.open(wanted ?? this.store.create());
  }

  get generating() {
    return this.active !== null;
  }

  persist(conversation, options) {
    if (conversation.deleted) return; // a reply that ends after its conversation was deleted
    const failure = this.store.save(conversation, options);
    if (failure) this.status.showBanner(failure, "error");
  }

  newConversation() {
    if (this.current.messages.length === 0 && !this.current.system) {
      this.input.focus();
      return;
    }
    this.open(this.store.create());
    this.input.focus();
  }

  open(conversation) {
    this.current = conversation;
    this.settings.lastConversation = conversation.id;
    this.settings.save();
    this.system.value = conversation.system ?? "";
    $("system-box").open = Boolean(conversation.system);
    $("title").textContent = conversation.title;
    this.renderList();
    this.renderMessages();
    document.dispatchEvent(new CustomEvent("cria:conversation-opened"));
  }

  // ---- the conversation list --------------------------------------------------------------

  renderList() {
    const items = this.store.list().map((conversation) => {
      const li = document.createElement("li");
      li.className = "conversation";
      li.dataset.id = conversation.id;
      const open = button(conversation.title, "conversation-open");
      if (conversation === this.current) open.setAttribute("aria-current", "true");
      open.addEventListener("click", () => {
        this.open(conversation);
        document.dispatchEvent(new CustomEvent("cria:navigated"));
      });
      const rename = button("✎", "icon conversation-rename", `Rename “${conversation.title}”`);
      rename.addEventListener("click", () => this.startRename(li, conversation));
      const remove = button("✕", "icon conversation-delete", `Delete “${conversation.title}”`);
      remove.addEventListener("click", () => this.remove(conversation));
      li.append(open, rename, remove);
      return li;
    });
    this.list.replaceChildren(...items);
  }

  startRename(li, conversation) {
    const input = document.createElement("input");
    input.type = "text";
    input.className = "rename-input";
    input.value = conversation.title;
    input.setAttribute("aria-label", "New name (Enter saves, Escape cancels)");
    let finished = false;
    const finish = (keep) => {
      if (finished) return;
      finished = true;
      const title = input.value.trim();
      if (keep && title) {
        conversation.title = title;
        this.persist(conversation, { touch: false });
        if (conversation === this.current) $("title").textContent = title;
      }
      this.renderList();
      this.list.querySelector(`[data-id="${conversation.id}"] .conversation-rename`)?.focus();
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); finish(true); }
      if (event.key === "Escape") { event.preventDefault(); event.stopPropagation(); finish(false); }
    });
    input.addEventListener("blur", () => finish(true));
    li.replaceChildren(input);
    input.focus();
    input.select();
  }

  remove(conversation) {
    if (!confirm(`Delete “${conversation.title}”? This cannot be undone.`)) return;
    conversation.deleted = true;
    if (this.active?.conversation === conversation) this.stop();
    const failure = this.store.remove(conversation.id);
    if (failure) this.status.showBanner(failure, "error");
    if (conversation === this.current) this.open(this.store.list()[0] ?? this.store.create());
    else this.renderList();
  }

  // ---- messages ---------------------------------------------------------------------------

  renderMessages() {
    this.elements.clear();
    const nodes = this.current.messages.map((message) => this.messageElement(message));
    if (nodes.length === 0) {
      const empty = document.createElement("p");
      empty.className = "empty";
      empty.textContent = "Send a message to start. Conversations stay in this browser.";
      nodes.push(empty);
    }
    this.messages.replaceChildren(...nodes);
    this.messages.scrollTop = this.messages.scrollHeight;
  }

  messageElement(message) {
    const article = document.createElement("article");
    article.className = `message ${message.role}`;
    article.dataset.id = message.id;
    const role = document.createElement("div");
    role.className = "role";
    role.textContent = message.role === "user" ? "You" : "Assistant";
    article.append(role);
    this.elements.set(message.id, article);
    this.fillMessage(article, message);
    return article;
  }

  // (Re)draws a message's body, reasoning, timings and buttons.
  fillMessage(article, message) {
    for (const node of [...article.children]) if (!node.classList.contains("role")) node.remove();
    const content = document.createElement("div");
    if (message.role === "user") {
      content.className = "content plain";
      content.textContent = message.content;
      article.append(content);
    } else {
      const inline = splitThinking(message.content);
      const reasoning = message.reasoning || inline.reasoning;
      if (reasoning) {
        const details = document.createElement("details");
        details.className = "reasoning";
        details.open = article.dataset.reasoningOpen === "true";
        details.addEventListener("toggle", () => { article.dataset.reasoningOpen = String(details.open); });
        const summary = document.createElement("summary");
        summary.textContent = message.pending && !inline.answer ? "Thinking…" : "Reasoning";
        const text = document.createElement("div");
        text.className = "reasoning-text";
        text.textContent = reasoning;
        details.append(summary, text);
        article.append(details);
      }
      content.className = "content markdown";
      content.append(renderMarkdown(inline.answer));
      if (message.pending && !inline.answer) {
        const dots = document.createElement("span");
        dots.className = "typing";
        dots.textContent = "…";
        dots.setAttribute("aria-label", "waiting for the reply");
        content.append(dots);
      }
      article.append(content);
    }
    article.classList.toggle("pending", Boolean(message.pending));

    const meta = document.createElement("div");
    meta.className = "meta";
    if (message.timings) {
      const timings = document.createElement("span");
      timings.className = "timings";
      timings.textContent = describeTimings(message.timings);
      meta.append(timings);
    }
    if (message.stopped) {
      const note = document.createElement("span");
      note.className = "note stopped";
      note.textContent = "Stopped";
      meta.append(note);
    }
    if (message.error) {
      const note = document.createElement("span");
      note.className = "note error";
      note.setAttribute("role", "alert");
      note.textContent = message.error;
      meta.append(note);
    }
    if (meta.childElementCount > 0) article.append(meta);
    if (!message.pending) article.append(this.actions(message));
  }

  actions(message) {
    const bar = document.createElement("div");
    bar.className = "actions";
    const copy = button("Copy", "copy-message", "Copy message");
    copy.addEventListener("click", () => copyText(message.role === "user" ? message.content : splitThinking(message.content).answer, copy));
    bar.append(copy);
    if (message.role === "user") {
      const edit = button("Edit", "edit-message", "Edit message and regenerate the reply");
      edit.disabled = this.generating;
      edit.addEventListener("click", () => this.startEdit(message));
      bar.append(edit);
    } else {
      const again = button("Regenerate", "regenerate", "Regenerate this reply");
      again.disabled = this.generating;
      again.addEventListener("click", () => this.regenerate(message));
      bar.append(again);
    }
    return bar;
  }

  // Redraws a streaming message at most once a frame.
  scheduleUpdate(message) {
    this.pendingRender.add(message);
    if (this.pendingRender.size > 1) return;
    requestAnimationFrame(() => {
      const follow = this.messages.scrollHeight - this.messages.scrollTop - this.messages.clientHeight < 80;
      for (const m of this.pendingRender) {
        const article = this.elements.get(m.id);
        if (article && article.isConnected) this.fillMessage(article, m);
      }
      this.pendingRender.clear();
      if (follow) this.messages.scrollTop = this.messages.scrollHeight;
    });
  }

  startEdit(message) {
    if (this.generating) return;
    const article = this.elements.get(message.id);
    const area = document.createElement("textarea");
    area.className = "edit-input";
    area.value = message.content;
    area.rows = Math.min(10, Math.max(2, message.content.split("\n").length));
    area.setAttribute("aria-label", "Edit message (Ctrl+Enter saves, Escape cancels)");
    const save = button("Save & regenerate", "primary save-edit");
    const cancel = button("Cancel", "cancel-edit");
    const bar = document.createElement("div");
    bar.className = "actions";
    bar.append(save, cancel);
    const restore = () => {
      this.fillMessage(article, message);
      article.querySelector(".edit-message")?.focus();
    };
    save.addEventListener("click", () => {
      const text = area.value.trim();
      if (!text) return;
      this.editAndRegenerate(message, text);
    });
    cancel.addEventListener("click", restore);
    area.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); save.click(); }
      if (event.key === "Escape") { event.preventDefault(); event.stopPropagation(); restore(); }
    });
    for (const node of [...article.children]) if (!node.classList.contains("role")) node.remove();
    article.append(area, bar);
    area.focus();
  }

  editAndRegenerate(message, text) {
    const conversation = this.current;
    const index = conversation.messages.indexOf(message);
    if (index < 0) return;
    message.content = text;
    conversation.messages.splice(index + 1);
    if (index === 0) conversation.title = text.slice(0, TITLE_LENGTH);
    this.persist(conversation);
    this.open(conversation);
    this.generate(conversation);
  }

  regenerate(reply) {
    if (this.generating) return;
    const conversation = this.current;
    const index = conversation.messages.indexOf(reply);
    if (index < 0) return;
    conversation.messages.splice(index);
    this.persist(conversation);
    this.renderMessages();
    this.generate(conversation);
  }

  send() {
    const text = this.input.value.trim();
    if (!text || this.generating) return;
    const conversation = this.current;
    if (conversation.messages.length === 0) {
      conversation.title = text.replace(/\s+/g, " ").slice(0, TITLE_LENGTH);
      $("title").textContent = conversation.title;
    }
    conversation.system = this.system.value;
    conversation.messages.push({ id: newId(), role: "user", content: text });
    this.input.value = "";
    this.persist(conversation);
    this.renderList();
    this.renderMessages();
    this.generate(conversation);
  }

  stop() {
    this.active?.controller.abort();
  }

  // The messages the server sees: the system prompt, then every message with text.
  requestMessages(conversation, reply) {
    const messages = [];
    if (conversation.system?.trim()) messages.push({ role: "system", content: conversation.system });
    for (const message of conversation.messages) {
      if (message === reply) break;
      const content = message.role === "assistant" ? splitThinking(message.content).answer : message.content;
      if (!content) continue;
      messages.push({ role: message.role, content });
    }
    return messages;
  }

  setGenerating(on) {
    $("send").hidden = on;
    $("stop").hidden = !on;
    document.body.dataset.generating = String(on);
    for (const node of this.messages.querySelectorAll(".edit-message, .regenerate")) node.disabled = on;
    this.onGeneratingChange?.(on);
  }

  async generate(conversation) {
    const reply = { id: newId(), role: "assistant", content: "", reasoning: "", timings: null, pending: true };
    conversation.messages.push(reply);
    const controller = new AbortController();
    this.active = { conversation, reply, controller };
    if (conversation === this.current) {
      this.messages.querySelector(".empty")?.remove();
      this.messages.append(this.messageElement(reply));
      this.messages.scrollTop = this.messages.scrollHeight;
    }
    this.setGenerating(true);
    const focusStop = document.activeElement === this.input || document.activeElement === document.body;
    if (focusStop) $("stop").focus();
    this.status.warnIfBusy();

    const body = {
      ...this.settings.requestOptions(),
      messages: this.requestMessages(conversation, reply),
      stream_options: { include_usage: true },
      timings_per_token: true,
    };
    let saved = Date.now();
    try {
      for await (const chunk of this.client.chat(body, controller.signal)) {
        const choice = chunk.choices?.[0];
        // The stream opens with an empty assistant delta before a slot takes the request.
        if (choice?.delta?.content || choice?.delta?.reasoning_content || choice?.finish_reason || chunk.timings) {
          this.status.replyStarted();
        }
        if (choice?.delta?.content) reply.content += choice.delta.content;
        if (choice?.delta?.reasoning_content) reply.reasoning += choice.delta.reasoning_content;
        if (choice?.finish_reason) reply.finish = choice.finish_reason;
        if (chunk.timings) reply.timings = chunk.timings;
        this.scheduleUpdate(reply);
        if (Date.now() - saved > 1000) {
          this.persist(conversation);
          saved = Date.now();
        }
      }
    } catch (error) {
      if (isAbort(error)) reply.stopped = true;
      else reply.error = describeError(error);
      this.status.replyStarted();
      if (!isAbort(error)) this.status.noteError(error);
    } finally {
      reply.pending = false;
      this.active = null;
      this.persist(conversation);
      this.scheduleUpdate(reply);
      if (conversation === this.current) this.renderList();
      this.setGenerating(false);
      if (focusStop || document.activeElement === $("stop") || document.activeElement === document.body) this.input.focus();
    }
  }
}
