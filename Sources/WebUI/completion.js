// completion.js: a small client for this server's POST /completion (streamed).
//
//   import { llama } from '/completion.js'
//   for await (const chunk of llama("Tell me a story", { n_predict: 64 })) {
//     document.write(chunk.data.content)
//   }
//
// Exports:
//   llama(prompt, params, config)             async generator of { data } chunks, one per stream
//                                             event; its return value is the whole text
//   llamaPromise(prompt, params, config)      a Promise of the whole text
//   llamaEventTarget(prompt, params, config)  an EventTarget firing "message" (detail: the event),
//                                             "generation_settings", "timings", "error" and "done"
//   llamaComplete(params, controller, callback)  callback(chunk) for each chunk of params.prompt
//   llamaModelInfo(config)                    the server's default generation settings (GET /props)
//   serverSentEvents(response)                async generator of the JSON `data:` payloads of a
//                                             fetch() response in text/event-stream form
//
// params: any /completion options (n_predict, temperature, stop, grammar, ...).
// config: { controller: an AbortController to cancel with, api_url: the server's base URL
//           (default: this page's origin), api_key: a key for servers started with --api-key }.
// A failed request throws an Error whose `status` is the HTTP status (absent when the server
// could not be reached) and whose message is the server's own error message.

function requestHeaders(config) {
  const headers = { "Content-Type": "application/json" };
  if (config.api_key) headers["Authorization"] = `Bearer ${config.api_key}`;
  return headers;
}

async function responseError(response) {
  let message = `HTTP ${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body.error && body.error.message) message = body.error.message;
  } catch (_) {
    // not a JSON error body: keep the status line
  }
  const error = new Error(message);
  error.status = response.status;
  return error;
}

export async function* serverSentEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffered += decoder.decode(value, { stream: true });
    // An event ends at a blank line; an unfinished one waits in `buffered` for the next read.
    let end;
    while ((end = buffered.indexOf("\n\n")) >= 0) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      for (const line of event.split("\n")) {
        if (!line.startsWith("data: ")) continue;
        const payload = line.slice("data: ".length);
        if (payload === "[DONE]") return;
        yield JSON.parse(payload);
      }
    }
  }
}

export async function* llama(prompt, params = {}, config = {}) {
  const controller = config.controller ?? new AbortController();
  const response = await fetch(`${config.api_url ?? ""}/completion`, {
    method: "POST",
    headers: { ...requestHeaders(config), "Accept": "text/event-stream" },
    body: JSON.stringify({ ...params, prompt, stream: true }),
    signal: controller.signal,
  });
  if (!response.ok) throw await responseError(response);

  let content = "";
  let finished = false;
  try {
    for await (const data of serverSentEvents(response)) {
      if (data.error) {
        const error = new Error(data.error.message ?? "completion failed");
        error.status = data.error.code;
        throw error;
      }
      content += data.content ?? "";
      if (data.stop) finished = true;
      yield { data };
      if (finished) break;
    }
  } finally {
    // Stopped early (the caller broke out of its loop, or an error): cancel the request so the
    // server frees its slot. A caller's own controller is left alone once generation finished.
    if (!finished) controller.abort();
  }
  return content;
}

export async function llamaPromise(prompt, params = {}, config = {}) {
  let content = "";
  for await (const chunk of llama(prompt, params, config)) content += chunk.data.content ?? "";
  return content;
}

export function llamaEventTarget(prompt, params = {}, config = {}) {
  const target = new EventTarget();
  const fire = (type, detail) => target.dispatchEvent(new CustomEvent(type, { detail }));
  (async () => {
    let content = "";
    try {
      for await (const chunk of llama(prompt, params, config)) {
        const data = chunk.data;
        if (data.content) {
          content += data.content;
          fire("message", data);
        }
        if (data.generation_settings) fire("generation_settings", data.generation_settings);
        if (data.timings) fire("timings", data.timings);
      }
    } catch (error) {
      fire("error", error);
    }
    fire("done", { content });
  })();
  return target;
}

export async function llamaComplete(params, controller, callback) {
  for await (const chunk of llama(params.prompt, params, { controller })) callback(chunk);
}

let modelInfo = null;

export async function llamaModelInfo(config = {}) {
  if (!modelInfo) {
    const response = await fetch(`${config.api_url ?? ""}/props`, { headers: requestHeaders(config) });
    if (!response.ok) throw await responseError(response);
    modelInfo = (await response.json()).default_generation_settings;
  }
  return modelInfo;
}
