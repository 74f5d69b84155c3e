/// GET /: the built-in web front end, a single page that streams completions through
/// /completion.js. `--path` files replace it (an index.html there wins).
enum WebPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cria</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  textarea { width: 100%; min-height: 8rem; font: inherit; box-sizing: border-box; }
  fieldset { border: none; padding: 0; margin: 0.5rem 0; display: flex; gap: 1rem; flex-wrap: wrap; align-items: center; }
  input[type=number] { width: 6rem; }
  #output { white-space: pre-wrap; border: 1px solid #ccc; padding: 0.75rem; min-height: 6rem; }
  #output .prompt { color: #777; }
  #stats { color: #666; font-size: 0.9rem; min-height: 1.2rem; }
</style>
</head>
<body>
<h1>cria</h1>
<p id="model"></p>
<form id="form">
  <textarea id="prompt" placeholder="Write a prompt, then press Generate.">Once upon a time,</textarea>
  <fieldset>
    <label>Tokens <input id="n_predict" type="number" min="-1" value="128"></label>
    <label>Temperature <input id="temperature" type="number" min="0" step="0.1" value="0.8"></label>
    <label>Top-k <input id="top_k" type="number" min="0" value="40"></label>
    <label>Top-p <input id="top_p" type="number" min="0" max="1" step="0.05" value="0.95"></label>
    <button id="generate" type="submit">Generate</button>
    <button id="stop" type="button" disabled>Stop</button>
  </fieldset>
</form>
<div id="output"></div>
<p id="stats"></p>
<script type="module">
import { llama, llamaModelInfo } from "/completion.js";

const $ = (id) => document.getElementById(id);
let controller = null;

llamaModelInfo().then((info) => { $("model").textContent = `Model: ${info.model} (context ${info.n_ctx} tokens per slot)`; })
  .catch((error) => { $("model").textContent = `Server: ${error.message}`; });

$("form").addEventListener("submit", async (event) => {
  event.preventDefault();
  controller = new AbortController();
  $("generate").disabled = true;
  $("stop").disabled = false;
  $("stats").textContent = "";
  const output = $("output");
  output.replaceChildren();
  const shown = document.createElement("span");
  shown.className = "prompt";
  shown.textContent = $("prompt").value;
  output.append(shown);
  const params = {
    n_predict: Number($("n_predict").value),
    temperature: Number($("temperature").value),
    top_k: Number($("top_k").value),
    top_p: Number($("top_p").value),
  };
  try {
    for await (const chunk of llama($("prompt").value, params, { controller })) {
      output.append(chunk.data.content);
      const t = chunk.data.timings;
      if (t) $("stats").textContent =
        `${t.predicted_n} tokens, ${t.predicted_per_second.toFixed(1)} tokens/s (prompt: ${t.prompt_n} tokens, ${t.prompt_per_second.toFixed(1)} tokens/s)`;
    }
  } catch (error) {
    if (error.name !== "AbortError") $("stats").textContent = `Error: ${error.message}`;
  } finally {
    controller = null;
    $("generate").disabled = false;
    $("stop").disabled = true;
  }
});

$("stop").addEventListener("click", () => controller?.abort());
</script>
</body>
</html>
"""#
}
