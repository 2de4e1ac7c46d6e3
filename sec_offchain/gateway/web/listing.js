// A listing link (/l/<code>): the product, its price, the seller's trust and history, the
// seller's signature checked here in the page, and Pay (ETH from the wallet, or SEC through
// the relayer with a permit: no ETH needed).
import {
  ESCROW_ABI, RELAY_GAS, act, amount, api, clearError, connect, el, ethers, getConfig, relayTx,
  sendTx, sentence, short, showError, showNotice, signPermit, when,
} from "/app/common.js";
import { BundleError, verifyCredit } from "/app/credit.js";

const escrowIface = new ethers.Interface(ESCROW_ABI);
const DAY = 86400;
let data = null;
const shareId = (() => {
  const raw = new URLSearchParams(location.search).get("share") || "0";
  return /^[0-9]{1,12}$/.test(raw) ? Number(raw) : 0;
})();

function code() {
  const path = location.pathname;
  const at = path.lastIndexOf("/l/");
  return at >= 0 ? path.slice(at + 3) : new URLSearchParams(location.search).get("code") || "";
}

function listingTuple(l) {
  return [l.seller, l.price, l.token, l.auto_complete, l.ship_window, l.metadata, l.quantity, l.expiry, l.salt];
}

function verifySignature(d) {
  const { EIP712Domain, ...types } = d.typed_data.types;
  const signer = ethers.verifyTypedData(d.typed_data.domain, types, d.typed_data.message, d.signature);
  return signer === ethers.getAddress(d.listing.seller);
}

async function load() {
  data = await api(`/v1/signed-listings/${encodeURIComponent(code())}`);
  const l = data.listing;
  document.title = `${data.description || "Product"} · SEC`;
  document.getElementById("name").textContent = data.description || `Listing ${data.digest.slice(0, 10)}`;
  document.getElementById("price").textContent = amount(l.price, data.token);
  const left = Number(l.quantity) ? `${Number(l.quantity) - data.state.sold} of ${l.quantity} left` : "unlimited";
  document.getElementById("terms").textContent =
    `Auto-completes ${Number(l.auto_complete) / DAY || 7} days after shipping · ships within ` +
    `${Number(l.ship_window) / DAY || "the default"} days · ${left} · offer ends ${when(l.expiry)}`;
  if (shareId) {
    document.getElementById("terms").append(` · recommended by a friend (share #${shareId})`);
  }
  const ok = verifySignature(data);
  const signed = document.getElementById("signed");
  signed.textContent = ok
    ? "✓ Signed by the seller (checked in this page)."
    : "✗ The signature is not the seller's: do not pay.";
  signed.className = ok ? "notice" : "error";
  checkCredit(data);
  document.getElementById("seller").textContent = l.seller;
  document.getElementById("product").setAttribute("aria-busy", "false");
  const open = ok && !data.state.cancelled && !(Number(l.quantity) && data.state.sold >= Number(l.quantity));
  if (data.state.cancelled) showError("The seller cancelled this listing.");
  else if (!open && ok) showError("This listing is sold out.");
  document.getElementById("pay").hidden = !open;
  const isEth = l.token === ethers.ZeroAddress;
  document.getElementById("pay-eth").hidden = !isEth;
  document.getElementById("pay-sec").hidden = isEth;
  await loadSeller(l.seller);
}

function showCredit(state, text) {
  const credit = document.getElementById("credit");
  credit.textContent = text;
  credit.dataset.state = state;
  credit.className = { verified: "notice", failed: "error" }[state] || "warn";
  credit.hidden = false;
}

/** The chain, read without the gateway: the visitor's wallet, else the public RPC the
 *  gateway names (a node anyone may ask; what it answers is checked the same way). */
async function chainRequest() {
  if (window.ethereum) return (args) => window.ethereum.request(args);
  const config = await getConfig();
  if (!config.public_rpc) return null;
  let id = 0;
  return async ({ method, params }) => {
    const res = await fetch(config.public_rpc, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }),
    });
    const body = await res.json();
    if (body.error) throw new Error(body.error.message);
    return body.result;
  };
}

/** The product's credit: its proof bundle from the gateway, checked here against the header
 *  anchored on chain (credit.js). */
async function checkCredit(d) {
  const listingId = BigInt(d.state.listing_id);
  if (d.credit_area === null || d.credit_area === undefined) {
    showCredit("none", "Product credit: not checked — this gateway watches no areas to prove it from.");
    return;
  }
  if (listingId === 0n) {
    showCredit("none", "Product credit: none yet — nobody has bought through this listing.");
    return;
  }
  showCredit("checking", "Product credit: checking it against the anchored header…");
  const product = ethers.zeroPadValue(ethers.toBeHex(listingId), 32);
  try {
    const request = await chainRequest();
    if (!request) {
      showCredit("none", "Product credit: not checked — open this page with a wallet to check it against the chain.");
      return;
    }
    const res = await fetch(`/v1/products/${product}/credit?area=${d.credit_area}`, {
      headers: { Accept: "application/json" },
    });
    const body = await res.json().catch(() => null);
    if (res.status === 404) {
      const why = body?.detail || "the gateway has none";
      showCredit("none", `Product credit: none anchored yet (${why.replace(/\.$/, "")}).`);
      return;
    }
    if (!res.ok) throw new BundleError(`the gateway refused: ${body?.detail || `HTTP ${res.status}`}`);
    const config = await getConfig();
    const ok = await verifyCredit(body, product, request, config.contracts.AnchorHub, d.chain_id);
    showCredit("verified",
      `✓ Product credit ${ok.credit}: verified at area ${ok.area_id} height ${ok.height} ` +
      "against the header anchored on chain (checked in this page).");
  } catch (err) {
    const reason = err instanceof BundleError ? err.message : sentence(err).replace(/\.$/, "");
    showCredit("failed", `✗ Product credit: not verified — ${reason}.`);
  }
}

async function loadSeller(seller) {
  const [account, history] = await Promise.all([
    api(`/v1/accounts/${seller}`),
    api(`/v1/orders?seller=${seller}&order=desc&limit=5`),
  ]);
  document.getElementById("trust").textContent =
    `Trust index ${account.trust} · ${account.trades} completed trades · ${account.failures} failures · ` +
    `${account.orders_as_seller} orders as seller · ${account.status}` + (account.disabled ? " (disabled)" : "");
  const config = await getConfig();
  const tokenOf = (t) => (t === ethers.ZeroAddress ? { symbol: "ETH", decimals: 18 } : config.sec);
  const rows = history.items.map((o) =>
    el("tr", {}, el("td", {}, `#${o.order_id}`), el("td", {}, o.status),
      el("td", {}, amount(o.price, tokenOf(o.token))), el("td", {}, when(o.paid_at))));
  document.getElementById("history").replaceChildren(
    ...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 4, class: "muted" }, "No orders yet."))]),
  );
}

function orderIdOf(receipt) {
  const escrow = data.escrow.toLowerCase();
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== escrow) continue;
    try {
      const parsed = escrowIface.parseLog(log);
      if (parsed?.name === "OrderPaid") return parsed.args.order_id;
    } catch { /* another event */ }
  }
  return null;
}

async function pay(gasless) {
  clearError();
  const buttons = document.querySelectorAll("#pay button");
  buttons.forEach((b) => (b.disabled = true));
  try {
    const buyer = await connect();
    document.getElementById("account").textContent = buyer;
    const l = data.listing;
    const call = escrowIface.encodeFunctionData("buy_signed", [listingTuple(l), data.signature, shareId]);
    let receipt;
    if (gasless) {
      const permit = await signPermit(buyer, data.escrow, BigInt(l.price));
      receipt = await relayTx(buyer, data.escrow, call, { gas: RELAY_GAS.buy_signed, permit });
    } else {
      receipt = await sendTx(buyer, data.escrow, call, BigInt(l.price));
    }
    const id = orderIdOf(receipt);
    showNotice(`Paid: order #${id} is in escrow until you confirm delivery.`);
    document.getElementById("notice").append(" ", el("a", { href: "/app/orders.html" }, "See my orders"));
    await load();
  } catch (err) {
    showError(err);
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

document.getElementById("pay-eth").addEventListener("click", () => pay(false));
document.getElementById("pay-sec").addEventListener("click", () => pay(true));
load().catch((err) => {
  document.getElementById("name").textContent = "This listing cannot be shown";
  document.getElementById("product").setAttribute("aria-busy", "false");
  showError(err);
});
