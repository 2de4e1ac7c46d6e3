// Cases I judge: the panel's cases with the dispute's evidence hash and deadlines; draw, vote
// (buyer or seller) and execute, live over the event stream.
import {
  COURT_ABI, act, api, clearError, connect, el, ethers, getConfig, showError, showNotice, subscribe, when,
} from "/app/common.js";

const court = new ethers.Interface(COURT_ABI);
const RULINGS = { 1: "buyer", 2: "seller" };
let account = null;
let config = null;

async function run(label, data) {
  clearError();
  try {
    await act(account, config.contracts.Court, data);
    showNotice(label);
    await render();
  } catch (err) {
    showError(err);
  }
}

async function render() {
  const { items } = await api(`/v1/cases?order=desc&limit=200`);
  const mine = items.filter((c) => c.panel.some((j) => j.toLowerCase() === account.toLowerCase())
    || c.status === "drawing");
  const orders = await Promise.all(mine.map((c) => api(`/v1/orders/${c.order_id}`).catch(() => ({}))));
  const box = document.getElementById("cases");
  box.replaceChildren(...(mine.length ? mine.map((c, i) => {
    const voted = Object.entries(c.votes).find(([j]) => j.toLowerCase() === account.toLowerCase());
    const buttons = [];
    if (c.status === "drawing") {
      buttons.push(el("button", { type: "button", onclick: () => run(`Case #${c.case_id}: panel drawn.`, court.encodeFunctionData("draw", [c.case_id])) }, "Draw the panel"));
    } else if (c.status === "voting") {
      if (!voted) {
        for (const [ruling, side] of Object.entries(RULINGS)) {
          buttons.push(el("button", { type: "button", onclick: () => run(`Case #${c.case_id}: you voted for the ${side}.`, court.encodeFunctionData("vote", [c.case_id, Number(ruling)])) }, `Vote for the ${side}`));
        }
      }
      buttons.push(el("button", { type: "button", class: "secondary", onclick: () => run(`Case #${c.case_id} executed.`, court.encodeFunctionData("execute", [c.case_id])) }, "Execute"));
    }
    return el("div", { class: "order", id: `case-${c.case_id}` },
      el("p", {}, el("strong", {}, `Case #${c.case_id}`), ` · order #${c.order_id} · `, el("span", { class: "status" }, c.status),
        c.ruling ? ` · ruled for the ${RULINGS[c.ruling]}` : ""),
      el("p", { class: "muted addr" }, `Evidence ${orders[i].evidence || "—"}`),
      el("p", { class: "muted" }, `Opened ${when(c.opened_at)} · vote by ${when(c.vote_deadline)} · ` +
        `${Object.keys(c.votes).length} of ${c.panel.length} voted` + (voted ? ` · you voted for the ${RULINGS[voted[1]]}` : "")),
      ...buttons);
  }) : [el("p", { class: "muted" }, "No cases for you.")]));
}

document.getElementById("connect").addEventListener("click", async () => {
  clearError();
  try {
    config = await getConfig();
    account = await connect();
    document.getElementById("account").textContent = account;
    document.getElementById("connect").hidden = true;
    await render();
    let timer = null;
    subscribe((ev) => {
      if (ev.contract !== "Court" && ev.name !== "OrderDisputed") return;
      clearTimeout(timer);
      timer = setTimeout(() => render().catch(showError), 150);
    });
    document.getElementById("live").textContent = "Live: updates as they happen.";
  } catch (err) {
    showError(err);
  }
});
