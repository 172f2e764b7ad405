// slawatch dashboard: plain JavaScript, GraphQL only (queries over HTTP, subscriptions over the
// graphql-transport-ws protocol at /graphql/ws). No framework and no build step.
"use strict";

const SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW"];
const SEVERITY_NAMES = { CRITICAL: "Critical", HIGH: "High", MEDIUM: "Medium", LOW: "Low", INFO: "Info" };
const TOKEN_KEY = "slawatch.token";

const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  productId: "",
  findings: [],
  sort: { key: "deadline", direction: 1 },
  socket: null,
  reconnectDelay: 1000,
  // A reload of the counts and table, and of the alerts, asked for by live events: at most one waiting each
  // (`scheduleRefresh`), and only the answer of the latest reload started is shown (`refreshes`).
  refreshTimer: null,
  alertsTimer: null,
  refreshes: 0,
  alertRefreshes: 0,
  // Whether this sign-in's live connection was up before: a connection made again missed what happened
  // while it was down, so the page reloads then.
  wasLive: false,
  // The trend of the last 90 days: fetched at start, on a product change, and again after a quarter of an hour
  // (it reads every finding of the period; a thousand dashboards must not ask for it every minute). Past days
  // change only when findings arrive with a past SLA start; today's point follows the counts meanwhile.
  trend: null,
  trendFetchedAt: 0,
  trendProduct: null,
};

const TREND_DAYS = 90;
const TREND_REFETCH_MS = 15 * 60 * 1000;

const $ = (selector) => document.querySelector(selector);

function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

// ---- GraphQL over HTTP ----

class GraphqlError extends Error {
  constructor(errors) {
    super(errors.map((e) => e.message).join("; "));
    this.code = errors[0]?.extensions?.code;
  }
}

// Work of a session that has ended (a debounced refresh, a request answered after "Sign out") is dropped
// quietly: it must neither show an error nor put the last user's data on the page of the next one.
class SessionEnded extends Error {
  constructor() {
    super("signed out");
  }
}

async function gql(query, variables = {}, { signedIn = true } = {}) {
  const token = state.token;
  if (signedIn && !token) throw new SessionEnded();
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch("/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  const body = await response.json();
  if (signedIn && state.token !== token) throw new SessionEnded();
  if (body.errors?.length) {
    const error = new GraphqlError(body.errors);
    if (error.code === "UNAUTHENTICATED" && state.token) signOut();
    throw error;
  }
  return body.data;
}

// ---- Sign-in ----

async function signIn(event) {
  event.preventDefault();
  const form = event.target;
  $("#sign-in-error").textContent = "";
  try {
    const data = await gql("mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }", {
      u: form.username.value,
      p: form.password.value,
    }, { signedIn: false });
    state.token = data.login.token;
    sessionStorage.setItem(TOKEN_KEY, state.token);
    form.reset();
    await start();
  } catch (error) {
    if (!(error instanceof SessionEnded)) $("#sign-in-error").textContent = error.message;
  }
}

function signOut() {
  state.token = null;
  clearTimeout(state.refreshTimer);
  clearTimeout(state.alertsTimer);
  state.refreshTimer = state.alertsTimer = null;
  state.wasLive = false;
  sessionStorage.removeItem(TOKEN_KEY);
  if (state.socket) {
    state.socket.onclose = null;
    state.socket.close(1000);
    state.socket = null;
  }
  // Nothing of this user's stays on the page for the next one.
  state.findings = [];
  for (const selector of ["#counts", "#findings tbody", "#feed", "#alert-list"]) $(selector).replaceChildren();
  $("#dashboard").hidden = true;
  $("#session").hidden = true;
  $("#sign-in").hidden = false;
}

// ---- Loading ----

async function start() {
  const data = await gql("{ me { username } products(first: 100) { edges { node { id name } } } }");
  $("#whoami").textContent = data.me.username;
  const select = $("#product");
  select.replaceChildren(element("option", { value: "", text: "All products" }));
  for (const { node } of data.products.edges) select.append(element("option", { value: node.id, text: node.name }));
  select.value = state.productId;
  $("#sign-in").hidden = true;
  $("#session").hidden = false;
  $("#dashboard").hidden = false;
  await Promise.all([refresh(), refreshAlerts()]);
  connectLive();
}

async function refresh() {
  const asked = ++state.refreshes;
  const variables = { p: state.productId || null };
  const data = await gql(
    `query($p: ID) {
      slaSummary(productId: $p) { severity state count }
      findings(filter: {productId: $p, slaStates: [BREACHED, APPROACHING]}, first: 100) {
        totalCount
        edges { node { id title severity slaDeadline slaState product { name } } }
      }
    }`,
    variables,
  );
  // A reload started later answers for a later instant: an earlier one that ends after it must not undo it.
  if (asked !== state.refreshes) return;
  renderCounts(data.slaSummary);
  await refreshTrend(data.slaSummary);
  if (asked !== state.refreshes) return;
  state.findings = data.findings.edges.map(({ node }) => ({
    id: node.id,
    title: node.title,
    severity: node.severity,
    state: node.slaState,
    product: node.product.name,
    deadline: node.slaDeadline ? Date.parse(node.slaDeadline) : null,
  }));
  $("#findings-total").textContent = `(${data.findings.totalCount})`;
  renderFindings();
}

// Live events come in bursts (an import, a sweep of a thousand findings): each asks for a reload, but one
// waiting reload covers every event before it fires, so a burst makes one request every quarter of a second,
// not one per event, and a stream of events never postpones the reload.
function scheduleRefresh() {
  scheduleReload("refreshTimer", refresh);
}

function scheduleAlertsRefresh() {
  scheduleReload("alertsTimer", refreshAlerts);
}

// `reload` in a quarter of a second unless one is waiting already (its timer in `state[timer]`).
function scheduleReload(timer, reload) {
  if (state[timer]) return;
  state[timer] = setTimeout(() => {
    state[timer] = null;
    reload().catch(showProblem);
  }, 250);
}

// The findings of one severity in one SLA state, from `slaSummary`'s rows.
function countOf(rows, severity, slaState) {
  return rows.filter((r) => r.severity === severity && r.state === slaState).reduce((n, r) => n + r.count, 0);
}

function renderCounts(rows) {
  const cards = SEVERITIES.map((severity) => {
    const breached = countOf(rows, severity, "BREACHED");
    const approaching = countOf(rows, severity, "APPROACHING");
    const name = SEVERITY_NAMES[severity];
    return element(
      "div",
      { class: `count ${name} ${breached === 0 ? "met" : "missed"}`, "data-severity": severity },
      [
        element("div", { text: name }),
        element("div", { class: "n", "data-breached": String(breached), text: String(breached) }),
        element("div", { class: "sub", text: `breached · target 0 · ${approaching} approaching` }),
      ],
    );
  });
  $("#counts").replaceChildren(...cards);
}

// ---- The trend chart: inline SVG drawn here (no library, nothing from elsewhere: the CSP allows neither) ----

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

function utcDay(date) {
  return date.toISOString().slice(0, 10);
}

async function refreshTrend(summary) {
  const stale = Date.now() - state.trendFetchedAt > TREND_REFETCH_MS || state.trendProduct !== state.productId;
  if (stale || !state.trend) {
    const to = new Date();
    const from = new Date(to.getTime() - (TREND_DAYS - 1) * 86400000);
    const data = await gql(
      `query($p: ID, $from: Date!, $to: Date!) {
        slaTrend(productId: $p, from: $from, to: $to, interval: DAY) { start bySeverity { severity breached } }
      }`,
      { p: state.productId || null, from: utcDay(from), to: utcDay(to) },
    );
    state.trend = data.slaTrend.map((point) => ({
      day: point.start.slice(0, 10),
      breached: Object.fromEntries(point.bySeverity.map((c) => [c.severity, c.breached])),
    }));
    state.trendFetchedAt = Date.now();
    state.trendProduct = state.productId;
  }
  // Today's point is "breached now": the same figure as the counts above, so it follows them.
  const today = state.trend[state.trend.length - 1];
  if (today) {
    for (const severity of SEVERITIES) today.breached[severity] = countOf(summary, severity, "BREACHED");
  }
  renderTrend(state.trend);
}

function renderTrend(points) {
  const [width, height, left, right, top, bottom] = [760, 220, 44, 12, 12, 28];
  const chart = $("#trend-chart");
  const highest = Math.max(1, ...points.flatMap((p) => SEVERITIES.map((s) => p.breached[s] ?? 0)));
  const x = (i) => left + (points.length < 2 ? 0 : (i * (width - left - right)) / (points.length - 1));
  const y = (n) => top + (height - top - bottom) * (1 - n / highest);
  const nodes = [
    svg("line", { class: "axis", x1: left, y1: top, x2: left, y2: height - bottom }),
    svg("text", { class: "label", x: left - 6, y: top + 4, "text-anchor": "end" }, String(highest)),
    svg("text", { class: "label", x: left - 6, y: height - bottom + 4, "text-anchor": "end" }, "0"),
  ];
  if (points.length > 0) {
    nodes.push(svg("text", { class: "label", x: left, y: height - 8 }, points[0].day));
    nodes.push(svg("text", { class: "label", x: width - right, y: height - 8, "text-anchor": "end" }, points[points.length - 1].day));
  }
  for (const severity of SEVERITIES) {
    const values = points.map((p) => p.breached[severity] ?? 0);
    const line = values.map((n, i) => `${x(i).toFixed(1)},${y(n).toFixed(1)}`).join(" ");
    nodes.push(
      svg("polyline", {
        class: `series ${severity}`,
        "data-severity": severity,
        "data-last": values.length ? values[values.length - 1] : 0,
        points: line,
      }),
    );
  }
  // The target, zero breaches, drawn last so that it shows above the series lying on it.
  nodes.push(svg("line", { class: "target", x1: left, y1: y(0), x2: width - right, y2: y(0) }));
  chart.replaceChildren(...nodes);
  $("#trend-legend").replaceChildren(
    ...SEVERITIES.map((s) => element("span", { class: `key ${s}`, text: SEVERITY_NAMES[s] })),
    element("span", { class: "key target", text: "target: 0" }),
  );
}

// ---- The findings table ----

const SEVERITY_RANK = { CRITICAL: 0, HIGH: 1, MEDIUM: 2, LOW: 3, INFO: 4 };

function sortValue(finding, key) {
  switch (key) {
    case "severity":
      return SEVERITY_RANK[finding.severity];
    case "deadline":
    case "remaining":
      return finding.deadline ?? Infinity;
    default:
      return String(finding[key]).toLowerCase();
  }
}

function remainingText(deadline) {
  if (deadline === null) return "";
  let seconds = Math.round((deadline - Date.now()) / 1000);
  const overdue = seconds < 0;
  seconds = Math.abs(seconds);
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const text = days > 0 ? `${days} d ${hours} h` : hours > 0 ? `${hours} h ${minutes} min` : `${minutes} min`;
  return overdue ? `overdue by ${text}` : text;
}

function renderFindings() {
  const { key, direction } = state.sort;
  const rows = [...state.findings].sort((a, b) => {
    const x = sortValue(a, key);
    const y = sortValue(b, key);
    return (x < y ? -1 : x > y ? 1 : 0) * direction || a.id - b.id;
  });
  const body = $("#findings tbody");
  body.replaceChildren(
    ...rows.map((f) =>
      element("tr", { class: f.state, "data-id": f.id }, [
        element("td", { text: f.product }),
        element("td", { text: f.title }),
        element("td", { class: `sev ${f.severity}`, text: SEVERITY_NAMES[f.severity] }),
        element("td", {}, [
          f.deadline === null
            ? ""
            : element("time", { datetime: new Date(f.deadline).toISOString(), text: new Date(f.deadline).toLocaleString() }),
        ]),
        element("td", { class: "remaining", "data-deadline": String(f.deadline ?? ""), text: remainingText(f.deadline) }),
      ]),
    ),
  );
  $("#findings-empty").hidden = rows.length > 0;
  for (const th of document.querySelectorAll("#findings th")) {
    th.setAttribute("aria-sort", th.dataset.key === key ? (direction > 0 ? "ascending" : "descending") : "none");
  }
}

function sortBy(event) {
  const th = event.target.closest("th");
  if (!th) return;
  const key = th.dataset.key;
  state.sort = { key, direction: state.sort.key === key ? -state.sort.direction : 1 };
  renderFindings();
}

function tick() {
  for (const cell of document.querySelectorAll("#findings td.remaining")) {
    const deadline = cell.dataset.deadline ? Number(cell.dataset.deadline) : null;
    cell.textContent = remainingText(deadline);
  }
}

// ---- Alerts ----

async function refreshAlerts() {
  const asked = ++state.alertRefreshes;
  const data = await gql("{ unreadAlertCount alerts(first: 20) { edges { node { id title url createdAt readAt } } } }");
  if (asked !== state.alertRefreshes) return;
  const badge = $("#unread");
  badge.textContent = String(data.unreadAlertCount);
  badge.classList.toggle("zero", data.unreadAlertCount === 0);
  $("#alert-list").replaceChildren(
    ...data.alerts.edges.map(({ node }) =>
      element("li", { class: node.readAt ? "read" : "unread", "data-id": node.id }, [
        element("div", { text: node.title }),
        node.createdAt ? element("time", { datetime: node.createdAt, text: new Date(node.createdAt).toLocaleString() }) : "",
      ]),
    ),
  );
}

async function markAllRead() {
  await gql("mutation { markAlertsRead }");
  await refreshAlerts();
}

function toggleAlerts() {
  const panel = $("#alerts");
  panel.hidden = !panel.hidden;
  $("#alerts-toggle").setAttribute("aria-expanded", String(!panel.hidden));
}

// ---- Live: graphql-transport-ws ----

function subscriptions() {
  const p = state.productId || null;
  return {
    sla: {
      query: `subscription($p: ID) { slaEvents(productId: $p) {
        kind threshold occurredAt finding { id title severity product { name } } } }`,
      variables: { p },
    },
    changed: { query: "subscription($p: ID) { findingChanged(productId: $p) { id } }", variables: { p } },
    alerts: { query: "subscription { alerts { id title } }", variables: {} },
  };
}

function subscribeAll(socket) {
  for (const [id, payload] of Object.entries(subscriptions())) {
    socket.send(JSON.stringify({ id, type: "subscribe", payload }));
  }
}

function connectLive() {
  if (state.socket) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/graphql/ws`, "graphql-transport-ws");
  state.socket = socket;
  socket.onopen = () => {
    socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${state.token}` } }));
  };
  socket.onmessage = (message) => {
    const frame = JSON.parse(message.data);
    switch (frame.type) {
      case "connection_ack":
        state.reconnectDelay = 1000;
        $("#live").textContent = "live";
        document.body.dataset.live = "true";
        subscribeAll(socket);
        if (state.wasLive) {
          scheduleRefresh();
          scheduleAlertsRefresh();
        }
        state.wasLive = true;
        break;
      case "ping":
        socket.send(JSON.stringify({ type: "pong" }));
        break;
      case "next":
        onNext(frame.id, frame.payload);
        break;
      case "error":
        showProblem(new Error(frame.payload?.[0]?.message ?? "subscription refused"));
        break;
      default:
        break;
    }
  };
  socket.onclose = (event) => {
    state.socket = null;
    document.body.dataset.live = "false";
    $("#live").textContent = "reconnecting…";
    if (event.code === 4403 || event.code === 4401) {
      signOut();
      return;
    }
    setTimeout(() => state.token && connectLive(), state.reconnectDelay);
    state.reconnectDelay = Math.min(state.reconnectDelay * 2, 30000);
  };
}

function onNext(id, payload) {
  if (payload.errors?.[0]?.extensions?.code === "RESYNC_REQUIRED") {
    // The server dropped live events this page did not get: reload what it shows.
    scheduleRefresh();
    scheduleAlertsRefresh();
    return;
  }
  if (payload.errors?.length) {
    showProblem(new GraphqlError(payload.errors));
    return;
  }
  if (id === "sla") {
    addToFeed(payload.data.slaEvents);
    scheduleRefresh();
  } else if (id === "changed") {
    scheduleRefresh();
  } else if (id === "alerts") {
    scheduleAlertsRefresh();
  }
}

const KIND_TEXT = {
  BREACH_APPROACHING: (e) => `${e.threshold} % left`,
  BREACH: () => "Breached",
  ESCALATION: () => "Escalation",
  RESOLVED: () => "Resolved",
};

/** When an event happened, in the viewer's time zone, which is named: the time alone for today, with the
 * date otherwise (a sweep after downtime sends events of earlier days, at the instants they were due). */
function eventTime(iso) {
  const at = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  const zone =
    new Intl.DateTimeFormat(undefined, { timeZoneName: "short" }).formatToParts(at).find((p) => p.type === "timeZoneName")
      ?.value ?? "";
  const time = `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;
  const day = `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`;
  const today = at.toDateString() === new Date().toDateString();
  return `${today ? "" : `${day} `}${time} ${zone}`.trim();
}

function addToFeed(event) {
  const item = element("li", { class: event.kind, "data-finding": event.finding.id, "data-kind": event.kind }, [
    element("span", { class: "kind", text: KIND_TEXT[event.kind]?.(event) ?? event.kind }),
    " · ",
    element("span", { class: `sev ${event.finding.severity}`, text: SEVERITY_NAMES[event.finding.severity] }),
    " · ",
    element("span", { class: "title", text: event.finding.title }),
    " · ",
    element("span", { text: event.finding.product.name }),
    " ",
    event.occurredAt ? element("time", { datetime: event.occurredAt, text: eventTime(event.occurredAt) }) : "",
  ]);
  const feed = $("#feed");
  feed.prepend(item);
  while (feed.children.length > 50) feed.lastElementChild.remove();
}

function changeProduct() {
  state.productId = $("#product").value;
  if (state.socket && state.socket.readyState === WebSocket.OPEN) {
    for (const id of ["sla", "changed"]) state.socket.send(JSON.stringify({ id, type: "complete" }));
    const all = subscriptions();
    for (const id of ["sla", "changed"]) state.socket.send(JSON.stringify({ id, type: "subscribe", payload: all[id] }));
  }
  $("#feed").replaceChildren();
  refresh().catch(showProblem);
}

function showProblem(error) {
  if (error instanceof SessionEnded) return;
  console.error(error);
  $("#live").textContent = `problem: ${error.message}`;
}

// ---- Wiring ----

document.addEventListener("DOMContentLoaded", () => {
  $("#sign-in-form").addEventListener("submit", signIn);
  $("#sign-out").addEventListener("click", signOut);
  $("#product").addEventListener("change", changeProduct);
  $("#findings thead").addEventListener("click", sortBy);
  $("#alerts-toggle").addEventListener("click", toggleAlerts);
  $("#mark-read").addEventListener("click", () => markAllRead().catch(showProblem));
  setInterval(tick, 15000);
  if (state.token) start().catch(() => signOut());
});
