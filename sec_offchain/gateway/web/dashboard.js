// The operations dashboard: per area head, final and anchored height and anchor lag, the area
// nodes (up or down, heights, peers), relayers with their queues and failures, volume over
// time, open cases and the gateway's alerts; refreshed by the event stream and, for the nodes,
// polled (no reload).
import { amount, api, el, ethers, getConfig, short, showError, clearError, subscribe, when } from "/app/common.js";

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
  const [config, status, volume, voting, drawing, series] = await Promise.all([
    getConfig(), api("/v1/status"), api("/v1/volume"),
    api("/v1/cases?status=voting&order=desc"), api("/v1/cases?status=drawing&order=desc"), paidSeries(),
  ]);
  const dl = document.getElementById("index");
  const item = (k, v, id) => [el("dt", {}, k), el("dd", { id }, v)];
  dl.replaceChildren(
    ...item("Chain", String(status.chain_id)), ...item("Chain head", String(status.head), "head"),
    ...item("Indexed block", String(status.indexed_block), "indexed"),
    ...item("Indexer lag", `${status.lag} blocks`), ...item("Events", String(status.events), "events"),
  );
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
  await refreshNetwork();
}

// Nodes are not in the event stream: their state, the alerts and the areas' heights are
// asked for every NETWORK_POLL ms (and after every event).
const NETWORK_POLL = 1000;

function relayers(config, net, areas) {
  const out = [];
  if (config.relay) {
    const r = net.relay || {};
    out.push(el("p", { id: "relay-gasless" }, "Gasless relayer ", el("span", { class: "addr" }, config.relayer),
      `: queue ${r.queued ?? 0} queued, ${r.pending ?? 0} pending · ${r.mined ?? 0} mined · ` +
      `failures ${r.reverted ?? 0} reverted, ${r.dropped ?? 0} dropped · ${r.refused ?? 0} refused.`));
  } else {
    out.push(el("p", { class: "muted" }, "This gateway runs no gasless relayer."));
  }
  for (const a of net.areas) {
    out.push(el("p", { class: "anchor-queue", "data-area": a.area_id },
      `Area ${a.area_id} anchor relayer: ${a.anchor_lag ?? "?"} final headers waiting (anchored ${a.anchored}).`));
  }
  if (!net.areas.length && areas.length) {
    out.push(el("p", { class: "muted" }, "Anchor relayers: no node feed, so their queues are unknown."));
  }
  if (net.processes.length) {
    out.push(el("div", { class: "table-wrap" }, el("table", { "aria-label": "Processes" },
      el("thead", {}, el("tr", {}, ...["Process", "PID", "State", "Restarts", "Last exit"].map((h) => el("th", {}, h)))),
      el("tbody", {}, ...net.processes.map((p) => el("tr", { "data-process": p.name },
        el("td", {}, p.name), el("td", {}, String(p.pid ?? "—")), el("td", {}, p.up ? "up" : "down"),
        el("td", {}, String(p.restarts)), el("td", {}, p.last_exit === null ? "—" : String(p.last_exit))))))));
  }
  return out;
}

// The producers on duty for the next block: a community of the proof of work, or the one
// producer whose turn it is under round-robin.
function onDuty(duty) {
  if (!duty) return "—";
  const who = duty.producers.map(short).join(", ");
  return duty.community === null ? `producer ${who}` : `community ${duty.community}: ${who}`;
}

async function refreshNetwork() {
  const [config, net, areas, alerts] = await Promise.all([
    getConfig(), api("/v1/network"), api("/v1/areas"), api("/v1/alerts"),
  ]);
  document.getElementById("alerts").replaceChildren(
    ...(alerts.alerts.length
      ? alerts.alerts.map((a) => el("li", { class: "error", "data-kind": a.kind, "data-area": a.area ?? "" }, a.message))
      : [el("li", { class: "muted" }, "No alerts.")]),
  );
  const byArea = new Map(net.areas.map((a) => [a.area_id, a]));
  const cell = (v) => el("td", {}, v === null || v === undefined ? "—" : String(v));
  document.getElementById("areas").replaceChildren(
    ...(areas.length ? areas.map((a) => {
      const n = byArea.get(a.area_id);
      const lag = n && n.anchor_lag !== null ? `${n.anchor_lag} blocks`
        : a.anchor_age === null ? "—" : `${a.anchor_age} s`;
      return el("tr", { id: `area-${a.area_id}` },
        cell(a.area_id), cell(n?.head), cell(n?.final), cell(a.anchored_height), cell(lag),
        el("td", {}, amount(a.validator_stake, config.sec)), el("td", {}, a.paused ? "paused" : "running"),
        el("td", { class: "duty", "data-slot": n?.on_duty?.slot ?? "" }, onDuty(n?.on_duty)));
    }) : [el("tr", {}, el("td", { colspan: 8, class: "muted" }, "No area has anchored yet."))]),
  );
  const nodes = net.areas.flatMap((a) => a.nodes.map((n) => ({ area: a.area_id, ...n })));
  document.getElementById("nodes").replaceChildren(net.nodes_known
    ? el("div", { class: "table-wrap" }, el("table", { "aria-label": "Nodes" },
      el("thead", {}, el("tr", {}, ...["Area", "Node", "State", "Height", "Final", "Peers", "Pool"].map((h) => el("th", {}, h)))),
      el("tbody", {}, ...nodes.map((n) => el("tr", { "data-node": n.address, "data-up": n.up ? "yes" : "no" },
        cell(n.area), el("td", { class: "addr", title: n.address }, short(n.address)), el("td", {}, n.up ? "up" : "down"),
        cell(n.height), cell(n.final_height), cell(n.peers), cell(n.pool))))))
    : el("p", { class: "muted" }, "This gateway watches no area nodes (start it with --devnet)."));
  document.getElementById("relayers").replaceChildren(...relayers(config, net, areas));
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
    let polling = false;
    setInterval(() => {
      if (polling) return;
      polling = true;
      refreshNetwork().then(clearError).catch(showError).finally(() => (polling = false));
    }, NETWORK_POLL);
  })
  .catch(showError);
