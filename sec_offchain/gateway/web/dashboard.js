// The operations dashboard: index and anchor state per area, relayers, volume over time, open
// cases and alerts, refreshed by the event stream (no reload).
import { amount, api, el, ethers, getConfig, showError, clearError, subscribe, when } from "/app/common.js";

const ANCHOR_LAG_ALERT = 600; // seconds since an area's last anchor
const INDEX_LAG_ALERT = 20; // blocks the index is behind the chain
const feed = [];

function chart(points) {
  if (points.length < 1) return el("p", { class: "muted" }, "No orders paid yet.");
  const w = 600, h = 160, pad = 24;
  const t0 = points[0].t, t1 = Math.max(points.at(-1).t, t0 + 1);
  const max = points.at(-1).n;
  const x = (t) => pad + ((t - t0) / (t1 - t0)) * (w - 2 * pad);
  const y = (n) => h - pad - (n / max) * (h - 2 * pad);
  const path = points.map((p, i) => `${i ? "L" : "M"}${x(p.t).toFixed(1)},${y(p.n).toFixed(1)}`).join(" ");
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("width", "100%");
  svg.innerHTML =
    `<line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#888"/>` +
    `<line x1="${pad}" y1="${pad}" x2="${pad}" y2="${h - pad}" stroke="#888"/>` +
    `<path d="${path}" fill="none" stroke="#0b57d0" stroke-width="2"/>` +
    points.map((p) => `<circle cx="${x(p.t).toFixed(1)}" cy="${y(p.n).toFixed(1)}" r="3" fill="#0b57d0"/>`).join("") +
    `<text x="${pad + 4}" y="${pad}" font-size="12">${max} orders</text>` +
    `<text x="${w - pad}" y="${h - 6}" font-size="12" text-anchor="end">${when(t1)}</text>`;
  return svg;
}

async function paidSeries() {
  const points = [];
  let cursor = null;
  do {
    const page = await api(`/v1/events?name=OrderPaid&limit=500${cursor ? `&cursor=${cursor}` : ""}`);
    for (const ev of page.items) points.push({ t: ev.timestamp, n: points.length + 1 });
    cursor = page.next_cursor;
  } while (cursor);
  return points;
}

async function refresh() {
  const [config, status, areas, volume, voting, drawing, series] = await Promise.all([
    getConfig(), api("/v1/status"), api("/v1/areas"), api("/v1/volume"),
    api("/v1/cases?status=voting&order=desc"), api("/v1/cases?status=drawing&order=desc"), paidSeries(),
  ]);
  const alerts = [];
  if (status.lag > INDEX_LAG_ALERT) alerts.push(`The indexer is ${status.lag} blocks behind the chain.`);
  if (status.reorgs) alerts.push(`${status.reorgs} reorgs rewound the index since it started.`);
  for (const a of areas) {
    if (a.paused) alerts.push(`Area ${a.area_id} is paused.`);
    if (a.equivocations) alerts.push(`Area ${a.area_id}: ${a.equivocations} equivocations proven.`);
    if (a.anchor_age !== null && a.anchor_age > ANCHOR_LAG_ALERT) {
      alerts.push(`Area ${a.area_id} has not anchored for ${a.anchor_age} s (missed anchors).`);
    }
  }
  document.getElementById("alerts").replaceChildren(
    ...(alerts.length ? alerts.map((t) => el("li", { class: "error" }, t)) : [el("li", { class: "muted" }, "No alerts.")]),
  );
  const dl = document.getElementById("index");
  const item = (k, v, id) => [el("dt", {}, k), el("dd", { id }, v)];
  dl.replaceChildren(
    ...item("Chain", String(status.chain_id)), ...item("Chain head", String(status.head), "head"),
    ...item("Indexed block", String(status.indexed_block), "indexed"),
    ...item("Indexer lag", `${status.lag} blocks`), ...item("Events", String(status.events), "events"),
  );
  document.getElementById("relayers").replaceChildren(config.relay
    ? el("p", {}, "Gasless relayer ", el("span", { class: "addr" }, config.relayer), " accepting requests.")
    : el("p", { class: "muted" }, "This gateway runs no relayer."));
  document.getElementById("areas").replaceChildren(
    ...(areas.length ? areas.map((a) => el("tr", {},
      el("td", {}, String(a.area_id)), el("td", {}, "—"), el("td", {}, "—"),
      el("td", {}, String(a.anchored_height)), el("td", {}, a.anchor_age === null ? "—" : `${a.anchor_age} s`),
      el("td", {}, amount(a.validator_stake, config.sec)), el("td", {}, a.paused ? "paused" : "running")))
      : [el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No area has anchored yet."))]),
  );
  document.getElementById("nodes").replaceChildren(el("p", { class: "muted" },
    "Head and final heights and node health come from area nodes; this gateway has no node feed attached."));
  const tokenOf = (t) => (t === ethers.ZeroAddress ? { symbol: "ETH", decimals: 18 } : config.sec);
  document.getElementById("volume").replaceChildren(
    ...(volume.length ? volume.map((v) => el("p", { class: "volume", "data-token": v.token },
      `${tokenOf(v.token).symbol}: ${v.orders} orders, ${amount(v.paid, tokenOf(v.token))} paid in, ` +
      `${amount(v.completed, tokenOf(v.token))} paid out`)) : [el("p", { class: "muted" }, "No volume yet.")]),
  );
  document.getElementById("chart").replaceChildren(chart(series));
  const open = [...drawing.items, ...voting.items];
  document.getElementById("cases").replaceChildren(
    ...(open.length ? open.map((c) => el("li", {}, `Case #${c.case_id} (order #${c.order_id}): ${c.status}, vote by ${when(c.vote_deadline)}`))
      : [el("li", { class: "muted" }, "No open cases.")]),
  );
  document.getElementById("updated").textContent = new Date().toISOString().slice(11, 19) + " UTC";
}

let timer = null;
function schedule() {
  clearTimeout(timer);
  timer = setTimeout(() => refresh().then(clearError).catch(showError), 150);
}

refresh()
  .then(() => {
    subscribe((ev) => {
      feed.unshift(ev);
      feed.length = Math.min(feed.length, 15);
      document.getElementById("feed").replaceChildren(
        ...feed.map((e) => el("li", { "data-event": e.name }, `#${e.id} ${e.contract}.${e.name} ${e.summary || ""}`)),
      );
      schedule();
    });
    document.getElementById("live").textContent = "live";
  })
  .catch(showError);
