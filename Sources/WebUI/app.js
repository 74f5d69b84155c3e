// app.js: starts the page. Builds the settings, the server client and status, the chat and
// completion modes, and wires the parts every mode shares: the mode buttons, the Settings
// dialog, the conversation drawer on narrow screens, and keyboard shortcuts.

import { ServerClient } from "./api.js";
import { ChatView } from "./chat.js";
import { CompletionView } from "./complete.js";
import { Settings, SettingsDialog } from "./settings.js";
import { ServerStatus } from "./status.js";
import { ConversationStore } from "./store.js";

const $ = (id) => document.getElementById(id);

const settings = new Settings();
const client = new ServerClient(() => settings.apiKey);
let dialog = null;
const status = new ServerStatus(client, {
  onProps: (props) => {
    settings.serverDefaults = props.default_generation_settings ?? {};
    completion?.syncSettings();
  },
  openSettings: () => dialog.open(),
});
const chat = new ChatView({ client, store: new ConversationStore(), settings, status });
const completion = new CompletionView({ settings, status });
dialog = new SettingsDialog(settings, (failure) => {
  if (failure) status.showBanner(failure, "error");
  completion.syncSettings();
  status.refresh();
});

function setMode(mode) {
  const isChat = mode === "chat";
  $("chat-view").hidden = !isChat;
  $("completion-view").hidden = isChat;
  $("mode-chat").setAttribute("aria-pressed", String(isChat));
  $("mode-completion").setAttribute("aria-pressed", String(!isChat));
  document.body.dataset.mode = mode;
  if (settings.mode !== mode) {
    settings.mode = mode;
    settings.save();
  }
}

$("mode-chat").addEventListener("click", () => {
  setMode("chat");
  $("composer-input").focus();
});
$("mode-completion").addEventListener("click", () => {
  setMode("completion");
  $("completion-prompt").focus();
});
$("open-settings").addEventListener("click", () => dialog.open());

// The conversation list is a drawer on narrow screens.
function setDrawer(open) {
  document.body.classList.toggle("drawer-open", open);
  $("scrim").hidden = !open;
  $("open-sidebar").setAttribute("aria-expanded", String(open));
  if (open) $("new-chat").focus();
}
$("open-sidebar").addEventListener("click", () => setDrawer(true));
$("close-sidebar").addEventListener("click", () => {
  setDrawer(false);
  $("open-sidebar").focus();
});
$("scrim").addEventListener("click", () => setDrawer(false));
document.addEventListener("cria:navigated", () => {
  if (document.body.classList.contains("drawer-open")) {
    setDrawer(false);
    $("composer-input").focus();
  }
});

// Escape stops a generation (or closes the drawer); dialogs handle their own Escape.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape" || event.defaultPrevented || $("settings").open) return;
  if (document.body.classList.contains("drawer-open")) {
    setDrawer(false);
    $("open-sidebar").focus();
  } else if (chat.generating) {
    chat.stop();
  } else if (completion.generating) {
    completion.stop();
  }
});

setMode(settings.mode);
status.start();
document.body.dataset.ready = "true";
