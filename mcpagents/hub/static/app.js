// The hub page of `mcpagents ui`: three views (chat, runs, servers) over the hub's JSON API.
// No framework and no build step. Whatever comes from agents, servers or logs is put on the page
// as text (textContent, text nodes, DOM properties), never as HTML.
"use strict";

const TOKEN_KEY = "mcpagents-hub-token";
const state = { token: null, agents: [], chat: null, running: false, loaded: new Set() };
const $ = (id) => document.getElementById(id);

class HubError extends Error {}

// -- building the page -----------------------------------------------------------------------------

/** An element with `props` (`class`, `text`, `on<event>`, properties, else attributes) and children. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

/** Replace `node`'s children by these (arrays flattened, nothing for null, undefined and false). */
function fill(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((child) => child !== null && child !== undefined && child !== false));
}

function say(text, error = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", error);
}

function json(value) {
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

function seconds(value) {
  if (value === null || value === undefined) return "";
  return value < 1 ? `${Math.round(value * 1000)} ms` : `${value.toFixed(value < 10 ? 2 : 1)} s`;
}

function when(epoch) {
  return new Date(epoch * 1000).toLocaleString();
}

let uniqueIds = 0;
function uniqueId(prefix) {
  uniqueIds += 1;
  return `${prefix}-${uniqueIds}`;
}

// -- the token and the API -------------------------------------------------------------------------

/** The token: from the address's fragment (then cleared from the address bar), else this tab's. */
function takeToken() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function askForToken(reason) {
  $("token-view").hidden = false;
  say(reason, true);
  $("token-input").focus();
}

async function api(path, { body, stream = false } = {}) {
  const headers = { Authorization: `Bearer ${state.token}` };
  const init = { method: body === undefined ? "GET" : "POST", headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`/api${path}`, init);
  if (response.status === 401) {
    askForToken("The hub refused the token: paste the one `mcpagents ui` printed.");
    throw new HubError("the token was refused");
  }
  if (response.ok && stream) return response;
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new HubError((data && data.error) || `${response.status} ${response.statusText}`);
  return data;
}

/** The records of a Server-Sent Events response, one by one. */
async function* records(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trimStart())
        .join("\n");
      if (data) yield JSON.parse(data);
    }
  }
}

// -- values: text, JSON, images ----------------------------------------------------------------------

function imageOf(value) {
  if (!value || typeof value !== "object") return null;
  const data = value.type === "image" ? value.data : value.image;
  const mime = value.mime_type || "image/png";
  if (typeof data !== "string" || !/^image\/[\w.+-]+$/.test(mime)) return null;
  return el("img", { src: `data:${mime};base64,${data}`, alt: `an image (${mime}) in the result` });
}

/** A tool's result or an answer: images as images, text as text, anything else as JSON. */
function valueView(value) {
  const image = imageOf(value);
  if (image) return image;
  if (Array.isArray(value) && value.some(imageOf)) return el("div", { class: "values" }, value.map(valueView));
  return el("pre", { class: "value", text: json(value) });
}

// -- a run's records (the chat streams them; a past run's log holds them) -----------------------------

function block(kind, title, ...body) {
  return el("div", { class: `record ${kind}` }, el("div", { class: "record-title", text: title }), body);
}

/** A tool call (a `tool_call` event, or one of a step record's `tool_calls`). */
function callView(call) {
  return block("tool", `Tool call: ${call.name}`, el("pre", { class: "value", text: json(call.arguments) }));
}

/** A tool call's outcome (a `tool_result` event, or one of a step record's `tool_calls`). */
function resultView(call) {
  return call.error
    ? block("tool error", `Tool error: ${call.name}`, el("pre", { class: "value", text: call.error }))
    : block("tool", `Tool result: ${call.name}`, valueView(call.result));
}

/** The view of one record; `live` holds what streams within a step (the model's text, whether
 * its tool calls came as events). */
function recordView(record, live = {}) {
  switch (record.type) {
    case "model_delta": {
      if (!live.output) {
        live.output = el("pre", { class: "value" }, record.text);
        live.outputStep = record.step_number;
        return block("model", `Model output (step ${record.step_number})`, live.output);
      }
      live.output.append(record.text);
      return null;
    }
    case "code":
      return block("code", `Code (step ${record.step_number})`, el("pre", { class: "value", text: record.code }));
    case "tool_call":
      live.streamedCalls = true;
      return callView(record);
    case "tool_progress": {
      const total = record.total ? `/${record.total}` : "";
      return el("div", { class: "record progress", text: `${record.name} ${record.progress}${total} ${record.message || ""}` });
    }
    case "tool_result":
      return resultView(record);
    case "sampling":
      return el("div", { class: "record progress", text: `${record.server} had the model complete a prompt` });
    case "server_message": {
      const message = record.message || {};
      return el("div", { class: "record progress", text: `[${message.server}] ${message.level}: ${json(message.data)}` });
    }
    case "input_requested":
      return el("div", { class: "record progress", text: `${record.server} asked “${record.message}”: ${record.action}` });
    case "planning":
      return block("plan", "Plan", el("pre", { class: "value", text: record.plan }));
    case "action": {
      const streamed = live.outputStep === record.step_number;
      live.output = null;
      // A run log keeps a step's calls in its record only: shown here unless they came as events.
      const calls = live.streamedCalls ? [] : record.tool_calls.flatMap((call) => [callView(call), resultView(call)]);
      live.streamedCalls = false;
      const tokens = record.usage ? record.usage.input_tokens + record.usage.output_tokens : 0;
      const title = `Step ${record.step_number} · ${seconds(record.duration)} · ${tokens} tokens`;
      const shown = record.model_output && !streamed && !record.tool_calls.length && !record.code;
      const step = block(
        record.error ? "step error" : "step",
        title,
        shown ? el("pre", { class: "value", text: record.model_output }) : null,
        record.error ? el("pre", { class: "value", text: record.error }) : null,
        (record.observations_images || []).map(imageOf),
      );
      if (!calls.length) return step;
      const views = document.createDocumentFragment();
      views.append(...calls, step);
      return views;
    }
    case "final_answer":
      return block("answer", "Final answer", valueView(record.output));
    case "result": {
      const usage = record.token_usage || {};
      const timing = record.timing || {};
      const took = timing.end ? ` in ${seconds(timing.end - timing.start)}` : "";
      const text = `Run ${record.state}${took}, ${(usage.input_tokens || 0) + (usage.output_tokens || 0)} tokens`;
      return el("div", { class: `record result ${record.state === "success" ? "" : "error"}`, text: record.error ? `${text}: ${record.error}` : text });
    }
    case "cancelled":
      return el("div", { class: "record result error", text: "Run cancelled" });
    case "failed":
      return block("error", "The run failed", el("pre", { class: "value", text: record.error }));
    case "truncated":
      return el("div", { class: "record progress", text: "(the log stops here: it reached its size limit)" });
    default:
      return null;
  }
}

// -- forms from JSON Schemas (tool arguments, servers' questions) ------------------------------------

const SIMPLE = new Set(["string", "number", "integer", "boolean"]);

/** Fields for an object schema's properties, and `read()` giving their values (or throwing why not). */
function schemaFields(schema) {
  const properties = schema && schema.properties;
  const required = new Set((schema && schema.required) || []);
  if (!properties || typeof properties !== "object") {
    const id = uniqueId("field");
    const area = el("textarea", { id, rows: 4, class: "json", value: "{}" });
    return {
      nodes: [el("div", { class: "field" }, el("label", { for: id, text: "Arguments (JSON object)" }), area)],
      read: () => parseJson(area.value, "the arguments"),
    };
  }
  const readers = [];
  const nodes = Object.entries(properties).map(([name, field]) => {
    const { node, read } = fieldOf(name, field || {}, required.has(name));
    readers.push([name, read]);
    return node;
  });
  return {
    nodes,
    read: () => {
      const values = {};
      for (const [name, read] of readers) {
        const value = read();
        if (value !== undefined) values[name] = value;
      }
      return values;
    },
  };
}

function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HubError(`${what}: not valid JSON (${error.message})`);
  }
}

function fieldOf(name, field, required) {
  const id = uniqueId("field");
  const type = Array.isArray(field.type) ? field.type.find((t) => t !== "null") : field.type;
  const choices = Array.isArray(field.enum) ? field.enum : null;
  const label = `${field.title || name}${required ? " (required)" : ""}`;
  const hint = field.description ? el("small", { id: `${id}-hint`, class: "muted", text: field.description }) : null;
  const describedBy = hint ? `${id}-hint` : undefined;
  let input;
  let read;
  if (choices) {
    input = el("select", { id, "aria-describedby": describedBy });
    if (!required) input.append(el("option", { value: "", text: "(none)" }));
    choices.forEach((choice, index) => input.append(el("option", { value: String(index), text: String(choice) })));
    if ("default" in field && choices.includes(field.default)) input.value = String(choices.indexOf(field.default));
    read = () => (input.value === "" ? undefined : choices[Number(input.value)]);
  } else if (type === "boolean") {
    input = el("input", { id, type: "checkbox", "aria-describedby": describedBy });
    input.checked = field.default === true;
    read = () => (input.checked || required || "default" in field ? input.checked : undefined);
    return { node: el("div", { class: "field checkbox" }, input, el("label", { for: id, text: label }), hint), read };
  } else if (type === "number" || type === "integer") {
    input = el("input", { id, type: "number", step: type === "integer" ? "1" : "any", "aria-describedby": describedBy });
    if ("default" in field) input.value = String(field.default);
    read = () => {
      if (input.value === "") {
        if (required) throw new HubError(`${name} is required`);
        return undefined;
      }
      const number = Number(input.value);
      if (Number.isNaN(number) || (type === "integer" && !Number.isInteger(number))) {
        throw new HubError(`${name}: ${input.value} is not ${type === "integer" ? "a whole number" : "a number"}`);
      }
      return number;
    };
  } else if (type === "string") {
    input = el("input", { id, type: "text", "aria-describedby": describedBy });
    if ("default" in field) input.value = String(field.default);
    read = () => {
      if (input.value === "" && !required) return undefined;
      return input.value;
    };
  } else {
    input = el("textarea", { id, rows: 3, class: "json", "aria-describedby": describedBy });
    if ("default" in field) input.value = JSON.stringify(field.default);
    read = () => (input.value.trim() === "" && !required ? undefined : parseJson(input.value, name));
    return {
      node: el("div", { class: "field" }, el("label", { for: id, text: `${label}, JSON` }), input, hint),
      read,
    };
  }
  input.required = required && SIMPLE.has(type) && type !== "boolean";
  return { node: el("div", { class: "field" }, el("label", { for: id, text: label }), input, hint), read };
}

// -- chat ----------------------------------------------------------------------------------------------

function transcriptAdd(node) {
  if (!node) return;
  const transcript = $("transcript");
  transcript.append(node);
  transcript.scrollTop = transcript.scrollHeight;
}

function setRunning(running) {
  state.running = running;
  $("send-button").disabled = running || !state.agents.length;
  $("cancel-button").disabled = !running;
}

async function loadAgents() {
  state.agents = await api("/agents");
  const select = $("agent-select");
  fill(select, ...state.agents.map((agent) => el("option", { value: agent.name, text: agent.name })));
  if (!state.agents.length) {
    $("agent-description").textContent = "No agent to chat with: start the hub with spec files, `mcpagents ui SPEC.yaml`.";
    select.disabled = true;
    $("task-input").disabled = true;
  }
  describeAgent();
  setRunning(false);
}

function describeAgent() {
  const agent = state.agents.find((candidate) => candidate.name === $("agent-select").value);
  if (agent) $("agent-description").textContent = `${agent.description || ""} (model: ${agent.model})`;
}

function newConversation() {
  state.chat = null;
  fill($("transcript"));
  describeAgent();
}

async function send(event) {
  event.preventDefault();
  const input = $("task-input");
  const task = input.value.trim();
  if (!task || state.running) return;
  setRunning(true);
  try {
    if (!state.chat) state.chat = (await api("/chats", { body: { agent: $("agent-select").value } })).id;
    input.value = "";
    transcriptAdd(el("div", { class: "record user" }, el("div", { class: "record-title", text: "You" }), el("p", { text: task })));
    const response = await api(`/chats/${state.chat}/messages`, { body: { task }, stream: true });
    const live = {};
    for await (const record of records(response)) {
      if (record.type === "question") transcriptAdd(questionView(record));
      else transcriptAdd(recordView(record, live));
    }
  } catch (error) {
    transcriptAdd(block("error", "Error", el("pre", { class: "value", text: error.message })));
  } finally {
    setRunning(false);
  }
}

async function cancelRun() {
  if (!state.chat) return;
  try {
    await api(`/chats/${state.chat}/cancel`, { body: {} });
  } catch (error) {
    say(error.message, true);
  }
}

function questionView(question) {
  const chat = state.chat;
  const fields = question.mode === "form" ? schemaFields(question.schema || {}) : { nodes: [], read: () => ({}) };
  const problem = el("p", { class: "error", role: "alert" });
  const buttons = [];
  async function answer(action) {
    let content;
    try {
      content = action === "accept" ? fields.read() : undefined;
      await api(`/chats/${chat}/answers/${question.id}`, { body: { action, content } });
    } catch (error) {
      problem.textContent = error.message;
      return;
    }
    problem.textContent = "";
    form.querySelectorAll("input, select, textarea, button").forEach((control) => (control.disabled = true));
    form.append(el("p", { class: "muted", text: `Answered: ${action}` }));
  }
  const link =
    question.mode === "url" && /^https?:\/\//.test(question.url || "")
      ? el("p", {}, "Open ", el("a", { href: question.url, target: "_blank", rel: "noopener noreferrer", text: question.url }), ", then accept.")
      : null;
  buttons.push(
    el("button", { type: "submit", text: question.mode === "url" ? "Done" : "Answer" }),
    el("button", { type: "button", text: "Decline", onclick: () => answer("decline") }),
    el("button", { type: "button", text: "Cancel", onclick: () => answer("cancel") }),
  );
  const form = el(
    "form",
    { class: "record question", onsubmit: (event) => { event.preventDefault(); answer("accept"); } },
    el("div", { class: "record-title", text: `Question from ${question.server}` }),
    el("p", { text: question.message }),
    link,
    fields.nodes,
    el("div", { class: "actions" }, buttons),
    problem,
  );
  return form;
}

// -- runs ------------------------------------------------------------------------------------------------

async function loadRuns() {
  const list = $("run-list");
  const runs = await api("/runs");
  fill(
    list,
    ...runs.map((run) => {
      const ended = run.state === null ? "running" : run.state;
      const tokens = run.total_tokens ? ` · ${run.total_tokens} tokens` : "";
      return el(
        "li",
        { class: run.depth ? "child" : "" },
        el(
          "button",
          { type: "button", class: `run ${ended === "success" ? "" : "warn"}`, onclick: () => showRun(run.run_id) },
          el("strong", { text: `${run.depth ? "↳ " : ""}${run.agent}` }),
          el("span", { class: "task", text: run.task }),
          el("small", { text: `${when(run.started)} · ${ended}${run.duration === null ? "" : ` · ${seconds(run.duration)}`}${tokens}` }),
        ),
      );
    }),
  );
  if (!runs.length) list.append(el("li", { class: "muted", text: "No run logged yet." }));
}

async function showRun(runId) {
  const detail = $("run-detail");
  fill(detail, el("p", { class: "muted", text: "Loading the run…" }));
  try {
    const run = await api(`/runs/${encodeURIComponent(runId)}`);
    const header = run.header;
    const trace = run.trace.length
      ? el("button", { type: "button", text: `Show the whole trace (${run.trace.length + 1} runs)`, onclick: () => showTrace(header.trace_id) })
      : null;
    fill(
      detail,
      el("h3", { text: `${header.agent}: ${header.task}` }),
      runFacts(header, run.result),
      trace,
      el("h4", { text: "Timeline" }),
      timeline(run.spans),
      el("h4", { text: "Events" }),
      eventsView(run.events),
    );
  } catch (error) {
    fill(detail, el("p", { class: "error", text: error.message }));
  }
}

async function showTrace(traceId) {
  const detail = $("run-detail");
  try {
    const runs = await api(`/traces/${encodeURIComponent(traceId)}`);
    fill(
      detail,
      el("h3", { text: `Trace ${traceId}: ${runs.length} runs` }),
      el("h4", { text: "Timeline" }),
      timeline(runs.flatMap((run) => run.spans)),
      runs.map((run) => [
        el("h4", { text: `${run.header.agent}: ${run.header.task}` }),
        runFacts(run.header, run.result),
        eventsView(run.events),
      ]),
    );
  } catch (error) {
    fill(detail, el("p", { class: "error", text: error.message }));
  }
}

function runFacts(header, result) {
  const usage = (result && result.token_usage) || {};
  const timing = (result && result.timing) || {};
  const facts = [
    ["Model", header.model],
    ["Started", when(header.started)],
    ["State", result ? result.state : "running (or stopped without a result)"],
    ["Duration", timing.end ? seconds(timing.end - timing.start) : ""],
    ["Tokens", result ? `${usage.input_tokens || 0} in, ${usage.output_tokens || 0} out` : ""],
    ["Called by", (header.chain || []).join(" → ")],
    ["Run id", header.run_id],
  ];
  return el(
    "dl",
    { class: "facts" },
    facts.filter(([, value]) => value).map(([name, value]) => [el("dt", { text: name }), el("dd", { text: String(value) })]),
    result && result.error ? [el("dt", { text: "Error" }), el("dd", { class: "error", text: result.error })] : null,
  );
}

function eventsView(events) {
  const container = el("div", { class: "events" });
  const live = {};
  for (const record of events) {
    const view = recordView(record, live);
    if (view) container.append(view);
  }
  return container;
}

function spanTokens(span) {
  const attributes = span.attributes || {};
  const input = attributes["gen_ai.usage.input_tokens"];
  const output = attributes["gen_ai.usage.output_tokens"];
  return input === undefined && output === undefined ? "" : ` · ${input || 0} in / ${output || 0} out tokens`;
}

/** The spans as bars on one time axis, each under its parent. */
function timeline(spans) {
  if (!spans.length) return el("p", { class: "muted", text: "No spans in this log." });
  const start = Math.min(...spans.map((span) => span.start));
  const end = Math.max(...spans.map((span) => span.end || span.start));
  const total = Math.max(end - start, 1e-6);
  const ids = new Set(spans.map((span) => span.span_id));
  const children = new Map();
  for (const span of spans) {
    const parent = ids.has(span.parent_id) ? span.parent_id : null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(span);
  }
  const rows = [];
  const walk = (parent, depth) => {
    for (const span of (children.get(parent) || []).sort((a, b) => a.start - b.start)) {
      const duration = (span.end || span.start) - span.start;
      const bar = el("div", { class: `bar ${span.kind}${span.status === "error" ? " error" : ""}` });
      bar.style.left = `${((span.start - start) / total) * 100}%`;
      bar.style.width = `${Math.max((duration / total) * 100, 0.4)}%`;
      const text = `${span.name} · ${seconds(duration)}${spanTokens(span)}`;
      const label = el("span", { class: "span-label", text, title: text });
      label.style.paddingLeft = `${depth * 1.1}em`;
      rows.push(
        el(
          "li",
          { class: "span-row" },
          label,
          el("div", { class: "track", "aria-hidden": "true" }, bar),
          span.error ? el("span", { class: "span-error error", text: span.error }) : null,
        ),
      );
      walk(span.span_id, depth + 1);
    }
  };
  walk(null, 0);
  return el("ol", { class: "timeline", "aria-label": "Spans, each under its parent" }, rows);
}

// -- servers -------------------------------------------------------------------------------------------

async function loadServers() {
  const servers = await api("/servers");
  const list = $("server-list");
  fill(
    list,
    ...servers.map((server) =>
      el(
        "li",
        {},
        el(
          "button",
          { type: "button", class: `server ${server.error ? "warn" : ""}`, onclick: () => showServer(server) },
          el("strong", { text: server.name }),
          el("small", { text: server.source }),
        ),
      ),
    ),
  );
  if (!servers.length) list.append(el("li", { class: "muted", text: "No server configured for a host, nor in the specs." }));
}

async function showServer(server) {
  const detail = $("server-detail");
  fill(detail, el("h3", { text: server.name }), el("p", { class: "muted", text: `Starting ${server.describe || server.name}…` }));
  let described;
  try {
    described = await api(`/servers/${encodeURIComponent(server.id)}`);
  } catch (error) {
    fill(detail, el("h3", { text: server.name }), el("pre", { class: "error", text: error.message }));
    return;
  }
  const parts = [
    el("h3", { text: server.name }),
    el("p", { class: "muted", text: server.source }),
    server.describe ? el("p", {}, el("code", { text: server.describe })) : null,
  ];
  if (!described.connected) {
    parts.push(el("p", { class: "error", text: "Failed to start:" }), el("pre", { class: "value error server-error", text: described.error }));
    fill(detail, ...parts);
    return;
  }
  parts.push(
    el("p", { class: "ok", text: `Running (protocol ${described.protocol_version}): ${described.tools.length} tools` }),
    described.instructions ? el("pre", { class: "value", text: described.instructions }) : null,
    el("h4", { text: "Tools" }),
    el("div", { class: "tools" }, described.tools.map((tool) => toolView(server, tool))),
    el("h4", { text: "Resources" }),
    listOf(described.resources, (resource) => `${resource.name}: ${resource.uri}${resource.description ? ` — ${resource.description}` : ""}`),
    el("h4", { text: "Prompts" }),
    listOf(described.prompts, (prompt) => `${prompt.name}(${prompt.arguments.join(", ")})${prompt.description ? ` — ${prompt.description}` : ""}`),
    described.listing_error ? el("p", { class: "error", text: described.listing_error }) : null,
  );
  fill(detail, ...parts);
}

function listOf(items, text) {
  if (!items.length) return el("p", { class: "muted", text: "None." });
  return el("ul", {}, items.map((item) => el("li", { text: text(item) })));
}

function toolView(server, tool) {
  const fields = schemaFields(tool.input_schema);
  const output = el("div", { class: "tool-output", "aria-live": "polite" });
  async function call(event) {
    event.preventDefault();
    fill(output, el("p", { class: "muted", text: "Calling…" }));
    try {
      const arguments_ = fields.read();
      const answer = await api(`/servers/${encodeURIComponent(server.id)}/call`, { body: { tool: tool.name, arguments: arguments_ } });
      fill(
        output,
        answer.error !== undefined
          ? block("tool error", "Error", el("pre", { class: "value", text: answer.error }))
          : block("tool", "Result", valueView(answer.result)),
      );
    } catch (error) {
      fill(output, block("tool error", "Error", el("pre", { class: "value", text: error.message })));
    }
  }
  return el(
    "details",
    { class: "tool" },
    el("summary", { text: tool.title && tool.title !== tool.name ? `${tool.name} — ${tool.title}` : tool.name }),
    el("p", { class: "description", text: tool.description }),
    el("details", {}, el("summary", { text: "Input schema" }), el("pre", { class: "value", text: json(tool.input_schema) })),
    el("form", { class: "tool-form", "aria-label": `Call ${tool.name}`, onsubmit: call }, fields.nodes, el("button", { type: "submit", text: `Call ${tool.name}` })),
    output,
  );
}

// -- views -----------------------------------------------------------------------------------------------

const LOADERS = { runs: loadRuns, servers: loadServers };

async function showView(name) {
  for (const button of document.querySelectorAll("nav button")) {
    const chosen = button.dataset.view === name;
    if (chosen) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
    $(`${button.dataset.view}-view`).hidden = !chosen;
  }
  if (LOADERS[name] && !state.loaded.has(name)) {
    state.loaded.add(name);
    try {
      await LOADERS[name]();
    } catch (error) {
      state.loaded.delete(name);
      say(error.message, true);
    }
  }
}

async function start() {
  try {
    await loadAgents();
    say("");
  } catch (error) {
    if (!(error instanceof HubError)) say(error.message, true);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("nav button")) {
    button.addEventListener("click", () => showView(button.dataset.view));
  }
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.token = $("token-input").value.trim();
    sessionStorage.setItem(TOKEN_KEY, state.token);
    $("token-view").hidden = true;
    state.loaded.clear();
    start();
  });
  $("agent-select").addEventListener("change", newConversation);
  $("new-chat").addEventListener("click", newConversation);
  $("chat-form").addEventListener("submit", send);
  $("task-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("chat-form").requestSubmit();
    }
  });
  $("cancel-button").addEventListener("click", cancelRun);
  $("refresh-runs").addEventListener("click", () => loadRuns().catch((error) => say(error.message, true)));
  state.token = takeToken();
  if (!state.token) askForToken("This page needs the hub's token.");
  else start();
});
