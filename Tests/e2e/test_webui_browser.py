"""The built-in web UI in a real browser: headless Chromium driven by Selenium against the built
binary. Chromium and chromedriver come from scripts/setup-browser (Debian's chromium and
chromium-driver); CRIA_CHROMIUM / CRIA_CHROMEDRIVER point elsewhere. Screenshots of the main views
go to $CRIA_SCREENSHOTS, else Tests/e2e/screenshots/ (git-ignored)."""
import json
import os
import pathlib
import re
import shutil
import threading
import time

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

SCREENSHOTS = pathlib.Path(os.environ.get("CRIA_SCREENSHOTS", pathlib.Path(__file__).parent / "screenshots"))
CONVERSATIONS = "cria.conversations.v1"
SETTINGS = "cria.settings.v1"


def executable(env, *names):
    path = os.environ.get(env) or next((p for p in map(shutil.which, names) if p), None)
    if not path:
        pytest.fail(f"{names[0]} not found: run scripts/setup-browser (or set {env})")
    return path


@pytest.fixture(scope="module")
def server(start_server, tmp_path_factory):
    """The shared server's settings, with the model's own (Gemma) chat format: the test model has
    no template, and under the ChatML fallback its greedy replies end at once with `<|im_end|>`,
    which is a stop string there; the page's tests need replies with text."""
    return start_server("-np", "4", "-c", "4096", "-t", "2", "--embedding", "--metrics",
                        "--slot-save-path", tmp_path_factory.mktemp("ui-slots"), "--chat-template", "gemma")


@pytest.fixture(scope="module")
def driver():
    options = webdriver.ChromeOptions()
    options.binary_location = executable("CRIA_CHROMIUM", "chromium", "chromium-browser", "google-chrome")
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,900", "--force-prefers-reduced-motion", "--lang=en-US"):
        options.add_argument(flag)
    d = webdriver.Chrome(options=options, service=Service(executable("CRIA_CHROMEDRIVER", "chromedriver")))
    d.set_script_timeout(30)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield d
    d.quit()


def screenshot(d, name):
    d.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def open_page(d, server, settings=None, conversations=None):
    """Loads the page with a clean browser store (plus the given settings/conversations) and
    waits until it has read the server's /props."""
    d.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    d.get(server.url("/health"))  # same origin, so the store can be prepared before the page runs
    d.execute_script("localStorage.clear()")
    if settings is not None:
        d.execute_script(f"localStorage.setItem('{SETTINGS}', arguments[0])", json.dumps(settings))
    if conversations is not None:
        d.execute_script(f"localStorage.setItem('{CONVERSATIONS}', arguments[0])", json.dumps(conversations))
    d.get(server.url("/"))
    wait_for(d, lambda: d.execute_script("return document.body.dataset.server") == "ready", "the server status")


def wait_for(d, condition, what, timeout=60):
    try:
        WebDriverWait(d, timeout, poll_frequency=0.05).until(lambda _: condition())
    except TimeoutException:
        raise AssertionError(f"timed out waiting for {what}; banner: {banner(d)!r}") from None


def banner(d):
    return d.execute_script("const b = document.getElementById('banner'); return b.hidden ? '' : b.textContent")


def generating(d):
    return d.execute_script("return document.body.dataset.generating") == "true"


def wait_done(d, timeout=60):
    wait_for(d, lambda: not generating(d), "the generation to end", timeout)


def stored(d):
    return json.loads(d.execute_script(f"return localStorage.getItem('{CONVERSATIONS}')") or "[]")


def wait_new_reply(d, old_ids=()):
    """Waits until the open conversation ends in a finished reply that is not one of `old_ids`."""
    def finished():
        convs = stored(d)
        current = d.execute_script(f"return JSON.parse(localStorage.getItem('{SETTINGS}') || '{{}}').lastConversation")
        conv = next((c for c in convs if c["id"] == current), None)
        last = conv and conv["messages"] and conv["messages"][-1]
        return last and last["role"] == "assistant" and not last.get("pending") and last["id"] not in old_ids \
            and not generating(d)
    wait_for(d, finished, "a new reply")


def send(d, text):
    """Types a message and presses Enter; returns once the request has started."""
    box = d.find_element(By.ID, "composer-input")
    box.send_keys(text)
    box.send_keys(Keys.ENTER)
    wait_for(d, lambda: box.get_attribute("value") == "", "the message to be sent")


def messages(d):
    return d.find_elements(By.CSS_SELECTOR, "#messages .message")


def chat_direct(server, text, **options):
    r = server.post("/v1/chat/completions", {"messages": [{"role": "user", "content": text}], **options})
    assert r.status_code == 200, r.text
    return r.json()["choices"][0]["message"]["content"]


GREEDY = {"overrides": {"n_predict": 16, "temperature": 0}}


def test_chat_streams_a_reply_with_timings(driver, server):
    d = driver
    open_page(d, server, settings=GREEDY)
    assert "tokens of context per slot" in d.find_element(By.ID, "server-status").text
    assert "1024 tokens" in d.find_element(By.ID, "server-status").text  # -c 4096 over 4 slots
    # Record every length the reply's text had while it streamed.
    d.execute_script("""
      window.lengths = [];
      new MutationObserver(() => {
        const c = document.querySelector('.message.assistant .content');
        if (c) window.lengths.push(c.textContent.replace('…', '').length);
      }).observe(document.getElementById('messages'), { subtree: true, childList: true, characterData: true });
    """)
    send(d, "Write one sentence about the sea.")
    wait_done(d)
    lengths = d.execute_script("return window.lengths")
    grown = sorted({n for n in lengths if n > 0})
    assert len(grown) >= 3, f"the reply did not arrive in pieces: {lengths}"

    [conversation] = stored(d)
    assert conversation["title"] == "Write one sentence about the sea."
    user, reply = conversation["messages"]
    assert reply["content"] == chat_direct(server, user["content"], n_predict=16, temperature=0)
    assert reply["timings"]["predicted_n"] == 16
    shown = messages(d)[-1]
    assert shown.find_element(By.CSS_SELECTOR, ".content").text.strip() != ""
    timings = shown.find_element(By.CSS_SELECTOR, ".timings").text
    assert re.match(r"16 tokens · [\d.]+ tokens/s · prompt: \d+ tokens.* ms \([\d.]+ tokens/s\) · decode: \d+ ms", timings), timings
    assert d.switch_to.active_element.get_attribute("id") == "composer-input"  # ready for the next message
    screenshot(d, "chat")


def test_stop_ends_the_stream_and_frees_the_slot(driver, server):
    d = driver
    open_page(d, server, settings={"overrides": {"n_predict": 400, "ignore_eos": True, "temperature": 0}})
    send(d, "Count slowly from one to a thousand.")
    wait_for(d, lambda: len(d.execute_script("return document.querySelector('.message.assistant .content').textContent")) > 12,
             "the first tokens")
    d.find_element(By.ID, "stop").click()
    wait_done(d, timeout=20)
    reply = messages(d)[-1]
    assert reply.find_element(By.CSS_SELECTOR, ".note.stopped").text == "Stopped"
    kept = stored(d)[0]["messages"][-1]
    assert kept["stopped"] is True and 0 < len(kept["content"])
    assert kept["timings"]["predicted_n"] < 400
    deadline = time.time() + 10
    while server.get("/health").json()["slots_processing"] != 0:
        assert time.time() < deadline, "the stopped request still holds a slot"
        time.sleep(0.05)
    assert not d.find_element(By.ID, "stop").is_displayed() and d.find_element(By.ID, "send").is_displayed()


def test_edit_a_message_and_regenerate(driver, server):
    d = driver
    open_page(d, server, settings=GREEDY)
    send(d, "Hello")
    wait_done(d)
    first_reply = stored(d)[0]["messages"][1]["content"]

    user = messages(d)[0]
    user.find_element(By.CSS_SELECTOR, ".edit-message").click()
    area = d.switch_to.active_element
    assert area.get_attribute("class") == "edit-input" and area.get_attribute("value") == "Hello"
    area.clear()
    area.send_keys("Name three colors.")
    old_ids = [m["id"] for m in stored(d)[0]["messages"]]
    area.send_keys(Keys.CONTROL, Keys.ENTER)  # the keyboard way to "Save & regenerate"
    wait_new_reply(d, old_ids)
    [conversation] = stored(d)
    assert [m["role"] for m in conversation["messages"]] == ["user", "assistant"]
    assert conversation["messages"][0]["content"] == "Name three colors."
    edited_reply = conversation["messages"][1]["content"]
    assert edited_reply == chat_direct(server, "Name three colors.", n_predict=16, temperature=0)
    assert edited_reply != first_reply
    assert messages(d)[0].find_element(By.CSS_SELECTOR, ".content").text == "Name three colors."

    old_id = conversation["messages"][1]["id"]
    messages(d)[1].find_element(By.CSS_SELECTOR, ".regenerate").click()
    wait_new_reply(d, [old_id])
    [conversation] = stored(d)
    assert len(conversation["messages"]) == 2 and conversation["messages"][1]["id"] != old_id
    assert conversation["messages"][1]["content"] == edited_reply  # greedy: the same text again
    screenshot(d, "chat-edited")


def test_conversations_survive_a_reload_and_can_be_renamed_and_deleted(driver, server):
    d = driver
    open_page(d, server, settings=GREEDY)
    send(d, "First conversation")
    wait_done(d)
    d.find_element(By.ID, "new-chat").click()
    assert d.switch_to.active_element.get_attribute("id") == "composer-input"
    d.find_element(By.ID, "system-box").click()
    d.find_element(By.ID, "system-prompt").send_keys("You answer in French.")
    send(d, "Second conversation")
    wait_done(d)

    d.refresh()
    wait_for(d, lambda: d.execute_script("return document.body.dataset.server") == "ready", "the page")
    titles = [e.text for e in d.find_elements(By.CSS_SELECTOR, ".conversation-open")]
    assert titles == ["Second conversation", "First conversation"]  # newest first
    assert d.find_element(By.CSS_SELECTOR, ".conversation-open[aria-current=true]").text == "Second conversation"
    assert d.find_element(By.ID, "system-prompt").get_attribute("value") == "You answer in French."
    assert [m.get_attribute("class") for m in messages(d)] == ["message user", "message assistant"]

    # Open the first one, rename it with the keyboard, delete the second.
    d.find_elements(By.CSS_SELECTOR, ".conversation-open")[1].click()
    assert messages(d)[0].find_element(By.CSS_SELECTOR, ".content").text == "First conversation"
    d.find_elements(By.CSS_SELECTOR, ".conversation-rename")[1].click()
    field = d.switch_to.active_element
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys("Renamed", Keys.ENTER)
    d.find_elements(By.CSS_SELECTOR, ".conversation-delete")[0].click()
    d.switch_to.alert.accept()
    d.refresh()
    wait_for(d, lambda: d.execute_script("return document.body.dataset.server") == "ready", "the page")
    assert [e.text for e in d.find_elements(By.CSS_SELECTOR, ".conversation-open")] == ["Renamed"]
    assert d.find_element(By.ID, "title").text == "Renamed"
    screenshot(d, "conversations")


def test_completion_mode_shows_token_probabilities(driver, server):
    d = driver
    open_page(d, server, settings={"overrides": {"n_predict": 8, "temperature": 0}})
    d.find_element(By.ID, "mode-completion").click()
    assert d.switch_to.active_element.get_attribute("id") == "completion-prompt"
    prompt = d.find_element(By.ID, "completion-prompt")
    prompt.clear()
    prompt.send_keys("The capital of France is")
    probs = d.find_element(By.ID, "completion-nprobs")
    probs.clear()
    probs.send_keys("3", Keys.TAB)
    d.find_element(By.ID, "complete").click()
    wait_for(d, lambda: d.find_element(By.ID, "completion-stats").text.startswith("8 tokens"), "the completion")
    wait_done(d)

    direct = server.post("/completion", {"prompt": "The capital of France is", "n_predict": 8, "temperature": 0,
                                         "n_probs": 3}).json()
    tokens = d.find_elements(By.CSS_SELECTOR, "#completion-output .token")
    assert len(tokens) == 8
    assert "".join(t.get_attribute("textContent") for t in tokens) == direct["content"]
    assert [t.get_attribute("textContent") for t in tokens] == [p["content"] for p in direct["completion_probabilities"]]

    tokens[0].click()
    rows = d.find_elements(By.CSS_SELECTOR, "#token-details .probs tr")[1:]
    assert len(rows) == 3
    shown = [float(r.find_elements(By.TAG_NAME, "td")[1].text.rstrip("%")) for r in rows]
    expected = [p["prob"] * 100 for p in direct["completion_probabilities"][0]["probs"]]
    # shown as the page prints them: one decimal from 10% up, two below
    assert len(shown) == len(expected)
    for s_, e in zip(shown, expected):
        assert abs(s_ - e) <= (0.05 if e >= 10 else 0.005) + 1e-9, (shown, expected)
    assert d.find_element(By.CSS_SELECTOR, "#token-details .token-heading").text.startswith("Token 1 of 8")

    output = d.find_element(By.ID, "completion-output")
    output.send_keys(Keys.ARROW_RIGHT)  # keyboard: the next token
    assert d.find_element(By.CSS_SELECTOR, "#token-details .token-heading").text.startswith("Token 2 of 8")
    output.send_keys(Keys.END)
    assert d.find_element(By.CSS_SELECTOR, "#token-details .token-heading").text.startswith("Token 8 of 8")
    # The setting made in the toolbar is the saved n_probs.
    assert json.loads(d.execute_script(f"return localStorage.getItem('{SETTINGS}')"))["overrides"]["n_probs"] == 3
    screenshot(d, "completion-probabilities")


HOSTILE = ('<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"> '
           '**bold** and `code` [link](javascript:window.pwned=3)\n\n```html\n<b>x</b>\n```')


def gbnf_literal(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def test_model_output_with_html_is_shown_as_text(driver, server):
    d = driver
    open_page(d, server, settings={"overrides": {"n_predict": 120, "temperature": 0}})
    # The grammar goes in through the Settings dialog, as a user would.
    d.find_element(By.ID, "open-settings").click()
    grammar = d.find_element(By.ID, "setting-grammar")
    d.execute_script("arguments[0].value = arguments[1]", grammar, f"root ::= {gbnf_literal(HOSTILE)}")
    screenshot(d, "settings")
    d.find_element(By.ID, "settings-save").click()
    assert not d.find_element(By.ID, "settings").is_displayed()

    send(d, "Show me some HTML.")
    wait_done(d)
    reply = messages(d)[-1]
    assert stored(d)[0]["messages"][-1]["content"] == HOSTILE  # the real streamed reply
    content = reply.find_element(By.CSS_SELECTOR, ".content")
    assert d.execute_script("return window.pwned") is None
    assert content.find_elements(By.CSS_SELECTOR, "script, img, iframe, [onerror]") == []
    assert '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">' in content.text
    assert content.find_element(By.TAG_NAME, "strong").text == "bold"
    assert content.find_element(By.CSS_SELECTOR, "p > code").text == "code"
    assert content.find_elements(By.TAG_NAME, "a") == []  # a javascript: link stays text
    block = content.find_element(By.CSS_SELECTOR, ".code-block")
    assert block.find_element(By.CSS_SELECTOR, ".code-language").text == "html"
    assert block.find_element(By.CSS_SELECTOR, "pre code").text == "<b>x</b>"
    screenshot(d, "chat-html-as-text")

    # Copy puts the code itself (not the page's HTML) on the clipboard.
    d.execute_cdp_cmd("Browser.grantPermissions", {"origin": server.base,
                                                   "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
    block.find_element(By.CSS_SELECTOR, ".copy-code").click()
    wait_for(d, lambda: block.find_element(By.CSS_SELECTOR, ".copy-code").text == "Copied", "the copy")
    clipboard = d.execute_async_script("navigator.clipboard.readText().then(arguments[0], (e) => arguments[0]('error: ' + e))")
    assert clipboard == "<b>x</b>"


def test_settings_are_checked_and_a_json_schema_shapes_the_reply(driver, server):
    d = driver
    open_page(d, server, settings={"overrides": {"n_predict": 24, "temperature": 0}})
    d.find_element(By.ID, "open-settings").click()
    schema = d.find_element(By.ID, "setting-json_schema")
    schema.send_keys("{not json")
    d.find_element(By.ID, "settings-save").click()
    error = d.find_element(By.ID, "settings-error")
    assert error.is_displayed() and error.text.startswith("JSON schema (json_schema) is not valid JSON")
    assert d.find_element(By.ID, "settings").is_displayed()  # kept open to fix it
    schema.clear()
    schema.send_keys('{"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2}')
    # The help under each field names its default (here the server's, from /props).
    assert d.find_element(By.ID, "setting-top_k-help").text == "0: off · default: 40"
    d.find_element(By.ID, "settings-save").click()
    assert not d.find_element(By.ID, "settings").is_displayed()
    saved = json.loads(d.execute_script(f"return localStorage.getItem('{SETTINGS}')"))["overrides"]
    assert saved == {"n_predict": 24, "temperature": 0,
                     "json_schema": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2}}

    send(d, "Two numbers please.")
    wait_done(d)
    numbers = json.loads(stored(d)[0]["messages"][-1]["content"])
    assert isinstance(numbers, list) and len(numbers) == 2 and all(isinstance(n, int) for n in numbers)


# Installed before the page's own scripts: /health and /props answer 503 "loading model" (as the
# server does while it loads) until the test sets window.modelLoaded.
LOADING_SHIM = """
const realFetch = window.fetch.bind(window);
window.fetch = (url, options) => {
  const path = new URL(url, location.href).pathname;
  if (!window.modelLoaded && (path === '/health' || path === '/props')) {
    const body = path === '/health' ? {status: 'loading model'}
      : {error: {code: 503, message: 'Loading model', type: 'unavailable_error'}};
    return Promise.resolve(new Response(JSON.stringify(body), {status: 503, headers: {'Content-Type': 'application/json'}}));
  }
  return realFetch(url, options);
};
"""


def test_loading_model_is_explained(driver, server):
    d = driver
    d.get(server.url("/health"))
    d.execute_script("localStorage.clear()")
    shim = d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": LOADING_SHIM})
    try:
        d.get(server.url("/"))
        wait_for(d, lambda: "still loading the model" in banner(d), "the loading message")
        assert d.find_element(By.ID, "server-status").text == "Loading the model…"
        screenshot(d, "server-loading")
        d.execute_script("window.modelLoaded = true")
        wait_for(d, lambda: d.execute_script("return document.body.dataset.server") == "ready", "the page to notice", 10)
        assert banner(d) == ""
    finally:
        d.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": shim["identifier"]})


LONG = {
    "id": "long", "title": "A long conversation with a title that does not fit on a phone screen at all",
    "system": "", "updated": 1,
    "messages": [
        {"id": "u1", "role": "user", "content": "Show a long line: " + "x" * 300},
        {"id": "a1", "role": "assistant", "reasoning": "Thinking about " + "y" * 200,
         "content": "A very long word: " + "z" * 250 + "\n\n```python\nprint('" + "w" * 300 + "')\n```\n\n"
                    "| a | b |\n|---|---|\n| " + "q" * 200 + " | 2 |\n\nhttps://example.com/" + "p" * 200,
         "timings": {"prompt_n": 10, "prompt_ms": 20, "prompt_per_second": 500, "predicted_n": 5,
                     "predicted_ms": 50, "predicted_per_second": 100}},
    ],
}


def assert_no_horizontal_scroll(d, view):
    width = d.execute_script("return [document.documentElement.scrollWidth, document.documentElement.clientWidth,"
                             " document.body.scrollWidth]")
    assert width[0] <= width[1] and width[2] <= width[1], f"{view}: scrollWidth {width[0]}/{width[2]} > clientWidth {width[1]}"


def test_phone_width_has_no_horizontal_scroll(driver, server):
    d = driver
    open_page(d, server, conversations=[LONG])
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                      {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    try:
        d.get(server.url("/"))
        wait_for(d, lambda: d.execute_script("return document.body.dataset.server") == "ready", "the page")
        assert d.execute_script("return document.documentElement.clientWidth") == 390
        assert d.find_element(By.CSS_SELECTOR, ".reasoning").get_attribute("open") is None  # collapsed
        assert_no_horizontal_scroll(d, "chat")
        assert not d.find_element(By.ID, "sidebar").is_displayed() or \
            d.find_element(By.ID, "sidebar").rect["x"] < 0
        screenshot(d, "phone-chat")

        d.find_element(By.ID, "open-sidebar").click()
        wait_for(d, lambda: d.find_element(By.ID, "sidebar").rect["x"] >= 0, "the drawer")
        assert d.switch_to.active_element.get_attribute("id") == "new-chat"
        assert_no_horizontal_scroll(d, "drawer")
        screenshot(d, "phone-conversations")
        d.switch_to.active_element.send_keys(Keys.ESCAPE)
        wait_for(d, lambda: not d.execute_script("return document.body.classList.contains('drawer-open')"), "the drawer to close")

        d.find_element(By.ID, "open-settings").click()
        assert_no_horizontal_scroll(d, "settings")
        assert d.execute_script("const s = document.getElementById('settings'); return s.scrollWidth <= s.clientWidth")
        screenshot(d, "phone-settings")
        d.find_element(By.ID, "settings-close").click()

        d.find_element(By.ID, "mode-completion").click()
        assert_no_horizontal_scroll(d, "completion")
        screenshot(d, "phone-completion")
    finally:
        d.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_keyboard_only(driver, server):
    d = driver
    open_page(d, server, settings=GREEDY)
    body = d.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    skip = d.switch_to.active_element
    assert skip.text == "Skip to message box"
    skip.send_keys(Keys.ENTER)
    assert d.switch_to.active_element.get_attribute("id") == "composer-input"
    d.switch_to.active_element.send_keys("Hi", Keys.ENTER)
    wait_new_reply(d)
    # Tab through the page to the Settings button, open it, close it with Escape.
    for _ in range(40):
        d.switch_to.active_element.send_keys(Keys.TAB)
        if d.switch_to.active_element.get_attribute("id") == "open-settings":
            break
    else:
        raise AssertionError("Tab never reached the Settings button")
    d.switch_to.active_element.send_keys(Keys.ENTER)
    assert d.find_element(By.ID, "settings").is_displayed()
    assert d.switch_to.active_element.get_attribute("id") in ("settings-close", "setting-api-key")
    d.switch_to.active_element.send_keys(Keys.ESCAPE)
    assert not d.find_element(By.ID, "settings").is_displayed()


THINKING_TEMPLATE = ("{% for m in messages %}<start_of_turn>{{ m.role }}\n{{ m.content }}<end_of_turn>\n{% endfor %}"
                     "<start_of_turn>model\n")


def test_reasoning_arrives_collapsed(driver, start_server):
    # A template that names <think> makes the server split thoughts into reasoning_content.
    s = start_server("-np", "1", "-c", "512", "-t", "2",
                     "--chat-template", THINKING_TEMPLATE.replace("model\n", "model\n{# <think> #}"))
    d = driver
    thought, answer = "The user greets me; I greet back.", "Hello there!"
    grammar = f"root ::= {gbnf_literal(f'<think>{thought}</think>{answer}')}"
    open_page(d, s, settings={"overrides": {"n_predict": 60, "temperature": 0, "grammar": grammar}})
    send(d, "Hi")
    wait_done(d)
    reply = stored(d)[0]["messages"][-1]
    assert reply["reasoning"] == thought and reply["content"] == answer
    shown = messages(d)[-1]
    details = shown.find_element(By.CSS_SELECTOR, "details.reasoning")
    assert details.get_attribute("open") is None
    assert shown.find_element(By.CSS_SELECTOR, ".reasoning-text").get_attribute("textContent") == thought
    assert shown.find_element(By.CSS_SELECTOR, ".content").text == answer
    details.find_element(By.TAG_NAME, "summary").click()
    assert shown.find_element(By.CSS_SELECTOR, ".reasoning-text").text == thought
    screenshot(d, "chat-reasoning")


def test_api_key_busy_and_unreachable_are_explained(driver, start_server):
    s = start_server("-np", "1", "-c", "512", "-t", "2", "--api-key", "secret")
    d = driver
    d.get(s.url("/health"))
    d.execute_script("localStorage.clear()")
    d.get(s.url("/"))
    wait_for(d, lambda: "API key" in banner(d), "the API key message")
    assert d.find_element(By.ID, "server-status").text == "API key needed"
    screenshot(d, "api-key-needed")
    d.find_element(By.CSS_SELECTOR, "#banner button:not(.icon)").click()  # "Open settings"
    key = d.find_element(By.ID, "setting-api-key")
    key.send_keys("secret")
    d.find_element(By.ID, "settings-save").click()
    wait_for(d, lambda: d.execute_script("return document.body.dataset.server") == "ready", "the server status")
    assert banner(d) == ""

    # The only slot is taken by another client: the page says the request waits.
    occupied = threading.Event()
    release = threading.Event()

    def hold_slot():
        with requests.post(s.url("/completion"), json={"prompt": "Once", "n_predict": 2000, "ignore_eos": True,
                                                       "stream": True},
                           headers={"Authorization": "Bearer secret"}, stream=True, timeout=120) as r:
            for _ in r.iter_lines():
                occupied.set()
                if release.is_set():
                    break

    holder = threading.Thread(target=hold_slot)
    holder.start()
    try:
        assert occupied.wait(30)
        d.execute_script(f"localStorage.setItem('{SETTINGS}', JSON.stringify({{...JSON.parse(localStorage.getItem('{SETTINGS}')), overrides: {{n_predict: 4}}}}))")
        d.refresh()
        wait_for(d, lambda: d.execute_script("return document.body.dataset.server") == "ready", "the page")
        send(d, "Are you busy?")
        wait_for(d, lambda: "busy" in banner(d), "the busy message")
        screenshot(d, "server-busy")
    finally:
        release.set()
        holder.join()
    wait_done(d)
    assert banner(d) == ""
    assert stored(d)[0]["messages"][-1]["timings"]["predicted_n"] == 4

    s.stop()
    send(d, "Still there?")
    wait_done(d)
    assert "Cannot reach the server" in banner(d)
    assert "Cannot reach the server" in messages(d)[-1].find_element(By.CSS_SELECTOR, ".note.error").text
    assert d.find_element(By.ID, "server-status").text == "Server unreachable"
    screenshot(d, "server-unreachable")


MARKDOWN = """# Title
Some *em*, **strong**, ~~gone~~, `a|b`, [a link](https://example.com/x), [bad](javascript:alert(1)) and https://example.org/y.

- one
- two
  - nested **bold**

1. first
2. second

> quoted <i>text</i>

| h1 | h2 |
|----|----|
| a  | b \\| c |

```js
if (1 < 2) alert("<script>");
```
---
after <b>raw</b> & <script>window.pwned = 1</script>"""

RENDER = """const [text, done] = arguments;
import('/ui/markdown.js').then((m) => {
  const div = document.createElement('div');
  const start = performance.now();
  div.append(m.renderMarkdown(text));
  done({ html: div.innerHTML, ms: performance.now() - start });
});"""


def test_markdown_renderer_builds_safe_elements(driver, server):
    d = driver
    open_page(d, server)
    html = d.execute_async_script(RENDER, MARKDOWN)["html"]
    assert html.startswith('<h3 class="md-heading">Title</h3><p>Some <em>em</em>, <strong>strong</strong>, <del>gone</del>, '
                           '<code>a|b</code>, <a href="https://example.com/x" target="_blank" rel="noopener noreferrer">a link</a>, '
                           '[bad](javascript:alert(1)) and <a href="https://example.org/y"')
    assert "<ul><li>one</li><li><p>two</p><ul><li>nested <strong>bold</strong></li></ul></li></ul>" in html
    assert "<ol><li>first</li><li>second</li></ol>" in html
    assert "<blockquote><p>quoted &lt;i&gt;text&lt;/i&gt;</p></blockquote>" in html
    assert "<thead><tr><th>h1</th><th>h2</th></tr></thead><tbody><tr><td>a</td><td>b | c</td></tr></tbody>" in html
    assert '<pre><code data-language="js">if (1 &lt; 2) alert("&lt;script&gt;");</code></pre>' in html
    assert html.endswith("<hr><p>after &lt;b&gt;raw&lt;/b&gt; &amp; &lt;script&gt;window.pwned = 1&lt;/script&gt;</p>")
    # Openers without closers (a reply full of lone * or _) render in linear time.
    for text in ("*a " * 7000, " _a" * 7000, "**a " * 5000, "~~a " * 5000, "`a " * 7000):
        assert d.execute_async_script(RENDER, text)["ms"] < 500, text[:8]
