// markdown.js: renders the Markdown that models write (headings, paragraphs, lists, quotes,
// fenced code, tables, emphasis, inline code, links) as DOM nodes. Every piece of the text
// becomes a text node: nothing the model writes is ever parsed as HTML, so `<script>` in a
// reply is shown, not run. Links open only for http(s) and mailto addresses.

const MAX_DEPTH = 8; // quotes and lists inside each other; deeper text stays plain

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}> ?/;
const ITEM = /^( *)([-*+]|\d{1,9}[.)])\s+/;
const TABLE_DIVIDER = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

function element(tag, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}

// A fenced code block: its language, a Copy button and the code as plain text.
function codeBlock(code, language) {
  const wrap = element("div", "code-block");
  const head = element("div", "code-head");
  const name = element("span", "code-language");
  name.textContent = language || "code";
  const copy = element("button", "copy-code");
  copy.type = "button";
  copy.textContent = "Copy";
  copy.setAttribute("aria-label", `Copy ${language || ""} code`.replace("  ", " "));
  copy.addEventListener("click", () => copyText(code, copy));
  head.append(name, copy);
  const pre = element("pre");
  const body = element("code");
  if (language) body.dataset.language = language;
  body.textContent = code;
  pre.append(body);
  wrap.append(head, pre);
  return wrap;
}

// Copies `text`, telling the user on `button` that it worked.
export function copyText(text, button) {
  const done = () => {
    const before = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = before; }, 1200);
  };
  if (navigator.clipboard?.writeText) {
    navigator.clipboard.writeText(text).then(done, () => fallbackCopy(text) && done());
  } else if (fallbackCopy(text)) {
    done();
  }
}

// Pages served over plain http (not localhost) have no navigator.clipboard.
function fallbackCopy(text) {
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch (_) {
    ok = false;
  }
  area.remove();
  return ok;
}

function safeHref(url) {
  return /^(https?:\/\/|mailto:)/i.test(url) ? url : null;
}

// Inline spans: `code`, **strong**, __strong__, *em*, _em_, ~~strike~~, [text](url), bare URLs.
// A span is at most SPAN characters long: an opener without a closer then costs a bounded scan,
// so text full of lone `*` or `_` renders in linear time.
const SPAN = 400;
const INLINE = new RegExp([
  `(\`+)([^\`]|[^\`][\\s\\S]{0,${SPAN}}?[^\`])\\1(?!\`)`, // 1,2 code
  `\\*\\*(?=\\S)([\\s\\S]{0,${SPAN}}?\\S)\\*\\*`, // 3 strong
  `(?<![\\w])__(?=\\S)([\\s\\S]{0,${SPAN}}?\\S)__(?![\\w])`, // 4 strong
  `~~(?=\\S)([\\s\\S]{0,${SPAN}}?\\S)~~`, // 5 strike
  `\\*(?=[^\\s*])([\\s\\S]{0,${SPAN}}?[^\\s*])\\*`, // 6 em
  `(?<![\\w])_(?=[^\\s_])([\\s\\S]{0,${SPAN}}?[^\\s_])_(?![\\w])`, // 7 em
  "\\[([^\\]\\n]{1,400})\\]\\(\\s*([^)\\s]+)\\s*\\)", // 8,9 link
  "(https?:\\/\\/[^\\s<>()\\]]*[^\\s<>()\\].,;:!?'\"])", // 10 bare URL
].join("|"));

function inline(text, parent, depth = 0) {
  let rest = text;
  while (rest.length > 0) {
    const match = depth < MAX_DEPTH ? INLINE.exec(rest) : null;
    if (!match) {
      appendText(parent, rest);
      return;
    }
    appendText(parent, rest.slice(0, match.index));
    const [whole, , code, strong1, strong2, strike, em1, em2, linkText, linkURL, bare] = match;
    if (code !== undefined) {
      const node = element("code");
      node.textContent = code.length > 2 && code.startsWith(" ") && code.endsWith(" ") ? code.slice(1, -1) : code;
      parent.append(node);
    } else if (strong1 !== undefined || strong2 !== undefined) {
      const node = element("strong");
      inline(strong1 ?? strong2, node, depth + 1);
      parent.append(node);
    } else if (strike !== undefined) {
      const node = element("del");
      inline(strike, node, depth + 1);
      parent.append(node);
    } else if (em1 !== undefined || em2 !== undefined) {
      const node = element("em");
      inline(em1 ?? em2, node, depth + 1);
      parent.append(node);
    } else if (linkText !== undefined) {
      const href = safeHref(linkURL);
      if (href) {
        const node = link(href);
        inline(linkText, node, depth + 1);
        parent.append(node);
      } else {
        appendText(parent, whole);
      }
    } else if (bare !== undefined) {
      const node = link(bare);
      node.textContent = bare;
      parent.append(node);
    }
    rest = rest.slice(match.index + whole.length);
  }
}

function link(href) {
  const node = element("a");
  node.href = href;
  node.target = "_blank";
  node.rel = "noopener noreferrer";
  return node;
}

// Text with its line breaks kept (models put meaning in them).
function appendText(parent, text) {
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    if (i > 0) parent.append(element("br"));
    if (line) parent.append(document.createTextNode(line));
  });
}

function splitRow(line) {
  let row = line.trim();
  if (row.startsWith("|")) row = row.slice(1);
  if (row.endsWith("|") && !row.endsWith("\\|")) row = row.slice(0, -1);
  return row.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, "|"));
}

function table(lines) {
  const node = element("table");
  const head = element("thead");
  const headRow = element("tr");
  for (const cell of splitRow(lines[0])) {
    const th = element("th");
    inline(cell, th);
    headRow.append(th);
  }
  head.append(headRow);
  const body = element("tbody");
  for (const line of lines.slice(2)) {
    const tr = element("tr");
    for (const cell of splitRow(line)) {
      const td = element("td");
      inline(cell, td);
      tr.append(td);
    }
    body.append(tr);
  }
  node.append(head, body);
  const wrap = element("div", "table-wrap");
  wrap.append(node);
  return wrap;
}

function startsBlock(line, next) {
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || ITEM.test(line)
    || (line.includes("|") && next !== undefined && TABLE_DIVIDER.test(next) && next.includes("-"));
}

// Block structure, line by line, into `parent`.
function blocks(lines, parent, depth) {
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.trim() === "") { i++; continue; }

    const fence = FENCE.exec(line);
    if (fence) {
      const marker = fence[1];
      const code = [];
      i++;
      // An unclosed fence (a reply still streaming) runs to the end.
      while (i < lines.length && !(lines[i].trim().startsWith(marker) && lines[i].trim().replace(/[`~]/g, "") === "")) {
        code.push(lines[i]);
        i++;
      }
      i++;
      parent.append(codeBlock(code.join("\n"), fence[2]));
      continue;
    }

    const heading = HEADING.exec(line);
    if (heading) {
      const node = element(`h${Math.min(6, heading[1].length + 2)}`, "md-heading");
      inline(heading[2], node);
      parent.append(node);
      i++;
      continue;
    }

    if (RULE.test(line)) {
      parent.append(element("hr"));
      i++;
      continue;
    }

    if (QUOTE.test(line) && depth < MAX_DEPTH) {
      const inner = [];
      while (i < lines.length && lines[i].trim() !== "" && (QUOTE.test(lines[i]) || inner.length > 0 && !startsBlock(lines[i], lines[i + 1]))) {
        inner.push(lines[i].replace(QUOTE, ""));
        i++;
      }
      const node = element("blockquote");
      blocks(inner, node, depth + 1);
      parent.append(node);
      continue;
    }

    const item = ITEM.exec(line);
    if (item && depth < MAX_DEPTH) {
      i = list(lines, i, parent, depth);
      continue;
    }

    if (line.includes("|") && i + 1 < lines.length && TABLE_DIVIDER.test(lines[i + 1]) && lines[i + 1].includes("-")) {
      const rows = [line, lines[i + 1]];
      i += 2;
      while (i < lines.length && lines[i].includes("|") && lines[i].trim() !== "") {
        rows.push(lines[i]);
        i++;
      }
      parent.append(table(rows));
      continue;
    }

    const paragraph = [line];
    i++;
    while (i < lines.length && lines[i].trim() !== "" && !startsBlock(lines[i], lines[i + 1])) {
      paragraph.push(lines[i]);
      i++;
    }
    const node = element("p");
    inline(paragraph.join("\n"), node);
    parent.append(node);
  }
}

// A list starting at lines[start]; items continue on lines indented past the marker. Returns
// the index of the first line after it.
function list(lines, start, parent, depth) {
  const first = ITEM.exec(lines[start]);
  const ordered = /\d/.test(first[2]);
  const node = element(ordered ? "ol" : "ul");
  if (ordered && parseInt(first[2], 10) !== 1) node.start = parseInt(first[2], 10);
  const indent = first[1].length;
  let i = start;
  while (i < lines.length) {
    const marker = ITEM.exec(lines[i]);
    if (!marker || marker[1].length !== indent || /\d/.test(marker[2]) !== ordered) break;
    const body = [lines[i].slice(marker[0].length)];
    const contentIndent = marker[0].length;
    i++;
    while (i < lines.length) {
      const next = lines[i];
      if (next.trim() === "") {
        // A blank line continues the item only when indented text follows.
        if (i + 1 < lines.length && /^\s+/.exec(lines[i + 1])?.[0].length > indent) { body.push(""); i++; continue; }
        break;
      }
      const leading = /^ */.exec(next)[0].length;
      const sibling = ITEM.exec(next);
      if (sibling && sibling[1].length <= indent) break;
      if (leading <= indent && startsBlock(next, lines[i + 1])) break;
      body.push(next.slice(Math.min(leading, contentIndent)));
      i++;
    }
    const li = element("li");
    if (body.length === 1) inline(body[0], li, 0);
    else blocks(body, li, depth + 1);
    node.append(li);
    while (i < lines.length && lines[i].trim() === "" && ITEM.exec(lines[i + 1] ?? "")?.[1].length === indent) i++;
  }
  parent.append(node);
  return i;
}

// The whole text as a fragment of safe DOM nodes.
export function renderMarkdown(text) {
  const fragment = document.createDocumentFragment();
  blocks(String(text).replace(/\r\n?/g, "\n").split("\n"), fragment, 0);
  return fragment;
}
