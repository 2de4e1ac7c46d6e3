// My orders, live over the event stream: the seller ships (with tracking), the buyer confirms,
// disputes with evidence or shares; share rewards are claimed here. A wallet with no ETH acts
// through the relayer.
import {
  COURT_ABI, ESCROW_ABI, SHARES_ABI, TOKEN_ABI, act, amount, api, clearError, connect, el, ethers,
  getConfig, sendTx, showError, showNotice, subscribe, call, when,
} from "/app/common.js";

const escrowIface = new ethers.Interface(ESCROW_ABI);
const sharesIface = new ethers.Interface(SHARES_ABI);
const tokenIface = new ethers.Interface(TOKEN_ABI);
let account = null;
let config = null;
let shared = new Map(); // order id -> share

async function shareLink(share) {
  const listing = await api(`/v1/listings/${share.listing_id}`);
  if (!listing.digest) return null;
  const { items } = await api(`/v1/signed-listings?digest=${listing.digest}`);
  return items.length ? `${items[0].link}?share=${share.share_id}` : null;
}

const tokenOf = (t) => (t === ethers.ZeroAddress ? { symbol: "ETH", decimals: 18 } : config.sec);

async function run(label, fn) {
  clearError();
  try {
    await fn();
    showNotice(label);
    await render();
  } catch (err) {
    showError(err);
  }
}

function actions(o) {
  const isSeller = o.seller?.toLowerCase() === account.toLowerCase();
  const isBuyer = o.buyer?.toLowerCase() === account.toLowerCase();
  const escrow = config.contracts.Escrow;
  const out = [];
  if (isSeller && o.status === "paid") {
    const id = `tracking-${o.order_id}`;
    out.push(el("label", { for: id }, "Tracking number"), el("input", { id, autocomplete: "off" }),
      el("button", { type: "button", onclick: () => run(`Order #${o.order_id} shipped.`, async () => {
        const text = document.getElementById(id).value.trim();
        if (!text) throw new Error("Give the tracking number.");
        await act(account, escrow, escrowIface.encodeFunctionData("ship", [o.order_id, ethers.id(text)]));
      }) }, "Ship"));
  }
  if (isBuyer && o.status === "shipped") {
    out.push(el("button", { type: "button", onclick: () => run(`Order #${o.order_id} confirmed: the seller is paid.`,
      () => act(account, escrow, escrowIface.encodeFunctionData("confirm", [o.order_id]))) }, "Confirm delivery"));
    const id = `evidence-${o.order_id}`;
    out.push(el("label", { for: id }, "What went wrong (kept as a hash on chain)"), el("textarea", { id, rows: 2 }),
      el("button", { type: "button", class: "secondary", onclick: () => run(`Order #${o.order_id} disputed.`, async () => {
        const text = document.getElementById(id).value.trim();
        if (!text) throw new Error("Describe the problem before disputing.");
        const deposit = escrowIface.decodeFunctionResult("dispute_deposit",
          await call(escrow, escrowIface.encodeFunctionData("dispute_deposit", [o.order_id])))[0];
        const data = escrowIface.encodeFunctionData("dispute", [o.order_id, ethers.id(text)]);
        if (o.token === ethers.ZeroAddress) return sendTx(account, escrow, data, deposit);
        if (deposit > 0n) await act(account, o.token, tokenIface.encodeFunctionData("approve", [escrow, deposit]));
        return act(account, escrow, data);
      }) }, "Dispute"));
  }
  const share = shared.get(o.order_id);
  if (share) {
    const link = el("a", { class: "share-link", href: "#" }, "…");
    out.push(el("p", {}, `Shared (share #${share.share_id}): `, link));
    shareLink(share).then((href) => {
      if (href) { link.href = href; link.textContent = href; } else link.textContent = "no link: the listing was not posted here";
    }).catch(showError);
  } else if (isBuyer && o.status === "completed") {
    out.push(el("button", { type: "button", class: "secondary", onclick: () => run(`Order #${o.order_id} shared.`,
      () => act(account, config.contracts.ShareRewards, sharesIface.encodeFunctionData("share", [o.order_id]))) }, "Share this purchase"));
  }
  return out;
}

async function render() {
  const [{ items }, me, shares] = await Promise.all([
    api(`/v1/orders?party=${account}&order=desc&limit=100`),
    api(`/v1/accounts/${account}`),
    api(`/v1/shares?sharer=${account}&order=desc&limit=100`),
  ]);
  shared = new Map(shares.items.map((sh) => [sh.order_id, sh]));
  const box = document.getElementById("orders");
  box.replaceChildren(...(items.length ? items.map((o) => {
    const role = o.seller?.toLowerCase() === account.toLowerCase() ? "selling" : "buying";
    return el("div", { class: "order", id: `order-${o.order_id}`, "data-status": o.status },
      el("p", {}, el("strong", {}, `Order #${o.order_id}`), ` · ${role} · `,
        el("span", { class: "status" }, o.status), ` · ${amount(o.price, tokenOf(o.token))}`),
      el("p", { class: "muted" }, `Paid ${when(o.paid_at)}` +
        (o.ship_by ? ` · ship by ${when(o.ship_by)}` : "") +
        (o.deadline ? ` · completes ${when(o.deadline)}` : "") +
        (o.tracking ? ` · tracking ${o.tracking.slice(0, 10)}…` : "") +
        (o.case_id ? ` · case #${o.case_id}` : "")),
      ...actions(o));
  }) : [el("p", { class: "muted" }, "No orders yet.")]));
  const claimable = BigInt(me.share_rewards_claimable);
  document.getElementById("rewards-card").hidden = shares.items.length === 0 && claimable === 0n;
  const commission = new Map();
  for (const sh of shares.items) {
    for (const r of sh.rewards) commission.set(r.token, (commission.get(r.token) || 0n) + BigInt(r.commission));
  }
  const paid = [...commission].map(([t, v]) => amount(v, tokenOf(t))).join(", ") || "none yet";
  document.getElementById("rewards").textContent =
    `${shares.items.length} shares · commission ${paid} · bonus earned ` +
    `${amount(me.share_rewards_earned, config.sec)} · claimable ${amount(me.share_rewards_claimable, config.sec)}`;
  document.getElementById("claim").disabled = claimable === 0n;
}

document.getElementById("claim").addEventListener("click", () => run("Rewards claimed.",
  () => act(account, config.contracts.ShareRewards, sharesIface.encodeFunctionData("claim", []))));

let timer = null;
document.getElementById("connect").addEventListener("click", async () => {
  clearError();
  try {
    config = await getConfig();
    account = await connect();
    document.getElementById("account").textContent = account;
    document.getElementById("connect").hidden = true;
    await render();
    subscribe(() => {
      clearTimeout(timer);
      timer = setTimeout(() => render().catch(showError), 150);
    }, { account });
    document.getElementById("live").textContent = "Live: updates as they happen.";
  } catch (err) {
    showError(err);
  }
});
