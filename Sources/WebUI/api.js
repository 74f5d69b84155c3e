// api.js: the page's client for this server's routes, and the words it uses for each way a
// request can fail (loading, busy, unreachable, needs a key, refused).

import { serverSentEvents } from "/completion.js";

// Why a request failed, as the page tells the user.
export class ServerError extends Error {
  // kind: "unreachable" | "loading" | "auth" | "request" (4xx) | "server" (5xx)
  constructor(kind, message, status) {
    super(message);
    this.kind = kind;
    this.status = status;
  }
}

const LOADING = "The server is still loading the model. Requests work once it is ready.";
const UNREACHABLE = "Cannot reach the server. Is cria serve still running? This page checks again every few seconds.";
const AUTH = "This server needs an API key (it was started with --api-key). Enter it in Settings.";

// The user-facing text for any error thrown while talking to the server (ours, completion.js's,
// or fetch's own TypeError when there is no connection).
export function describeError(error) {
  if (error instanceof ServerError) return error.message;
  if (error?.status === 503) return LOADING;
  if (error?.status === 401) return AUTH;
  if (error instanceof TypeError) return UNREACHABLE;
  return error?.message ?? String(error);
}

export function isAbort(error) {
  return error?.name === "AbortError";
}

export class ServerClient {
  // apiKey: a function returning the key to send (the settings may change it at any time).
  constructor(apiKey) {
    this.apiKey = apiKey;
  }

  headers(extra = {}) {
    const headers = { ...extra };
    const key = this.apiKey();
    if (key) headers["Authorization"] = `Bearer ${key}`;
    return headers;
  }

  // fetch() with every failure turned into a ServerError (aborts pass through as AbortError).
  async request(path, options = {}) {
    let response;
    try {
      response = await fetch(path, { ...options, headers: this.headers(options.headers) });
    } catch (error) {
      if (isAbort(error)) throw error;
      throw new ServerError("unreachable", UNREACHABLE);
    }
    if (response.ok) return response;
    let message = `HTTP ${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      message = body.error?.message ?? body.status ?? message;
    } catch (_) {
      // not JSON: keep the status line
    }
    if (response.status === 503) throw new ServerError("loading", LOADING, 503);
    if (response.status === 401) throw new ServerError("auth", AUTH, 401);
    const kind = response.status < 500 ? "request" : "server";
    throw new ServerError(kind, `The server refused the request: ${message}`, response.status);
  }

  async props() {
    return (await this.request("/props")).json();
  }

  // /health never needs a key; a 503 there means loading, not an error.
  async health() {
    let response;
    try {
      response = await fetch("/health");
    } catch (_) {
      throw new ServerError("unreachable", UNREACHABLE);
    }
    const body = await response.json().catch(() => ({}));
    return { httpStatus: response.status, ...body };
  }

  // POST /v1/chat/completions, streamed: yields each chunk (errors inside the stream throw).
  async *chat(body, signal) {
    yield* this.stream("/v1/chat/completions", body, signal);
  }

  async *stream(path, body, signal) {
    const response = await this.request(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "text/event-stream" },
      body: JSON.stringify({ ...body, stream: true }),
      signal,
    });
    for await (const data of serverSentEvents(response)) {
      if (data.error) throw new ServerError("server", `The server stopped: ${data.error.message ?? "unknown error"}`);
      yield data;
    }
  }
}

// "12 tokens · 34.5 tokens/s · prompt: 20 tokens, 120 ms (166.7 tokens/s)" from a `timings` object.
export function describeTimings(t) {
  if (!t) return "";
  const rate = (x) => (Number.isFinite(x) ? x.toFixed(1) : "–");
  const parts = [`${t.predicted_n} tokens`, `${rate(t.predicted_per_second)} tokens/s`];
  if (t.prompt_n !== undefined) {
    const cached = t.cache_n ? `, ${t.cache_n} cached` : "";
    parts.push(`prompt: ${t.prompt_n} tokens${cached}, ${Math.round(t.prompt_ms ?? 0)} ms (${rate(t.prompt_per_second)} tokens/s)`);
  }
  parts.push(`decode: ${Math.round(t.predicted_ms ?? 0)} ms`);
  return parts.join(" · ");
}
