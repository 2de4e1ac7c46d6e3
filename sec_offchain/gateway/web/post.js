// Post a product: the seller's wallet signs an EIP-712 Listing; the gateway checks and keeps
// it and returns the link (and a QR code) to paste into a social post.
import {
  api, amount, clearError, connect, el, ethers, getConfig, showError, showNotice, signTyped, blockTime,
} from "/app/common.js";

const LISTING_TYPES = {
  EIP712Domain: [
    { name: "name", type: "string" }, { name: "version", type: "string" },
    { name: "chainId", type: "uint256" }, { name: "verifyingContract", type: "address" },
  ],
  Listing: [
    { name: "seller", type: "address" }, { name: "price", type: "uint256" },
    { name: "token", type: "address" }, { name: "auto_complete", type: "uint256" },
    { name: "ship_window", type: "uint256" }, { name: "metadata", type: "bytes32" },
    { name: "quantity", type: "uint256" }, { name: "expiry", type: "uint256" },
    { name: "salt", type: "uint256" },
  ],
};
const DAY = 86400;
const LIFE = 30 * DAY;
const SHIP_WINDOW = 3 * DAY;

function readForm(config) {
  const title = document.getElementById("title").value.trim();
  if (!title) throw new Error("Give the product a title.");
  if (new TextEncoder().encode(title).length > 96) throw new Error("The title is longer than 96 bytes.");
  const symbol = document.getElementById("token").value;
  const token = symbol === "ETH" ? ethers.ZeroAddress : config.sec.address;
  let price;
  try {
    price = ethers.parseUnits(document.getElementById("price").value.trim(), 18);
  } catch {
    throw new Error("The price must be a number such as 0.25.");
  }
  if (price <= 0n) throw new Error("The price must be more than zero.");
  const days = Number(document.getElementById("days").value);
  if (!Number.isInteger(days) || days < 1 || days > 90) throw new Error("Auto-complete must be 1 to 90 days.");
  const quantity = Number(document.getElementById("quantity").value);
  if (!Number.isInteger(quantity) || quantity < 0) throw new Error("The quantity must be a whole number, 0 or more.");
  return { title, token, price, days, quantity };
}

async function publish(event) {
  event.preventDefault();
  clearError();
  document.getElementById("notice").hidden = true;
  const button = document.getElementById("sign");
  button.disabled = true;
  try {
    const config = await getConfig();
    const form = readForm(config);
    const seller = await connect();
    document.getElementById("account").textContent = seller;
    const salt = BigInt(ethers.hexlify(ethers.randomBytes(8)));
    const listing = {
      seller,
      price: form.price.toString(),
      token: form.token,
      auto_complete: String(form.days * DAY),
      ship_window: String(SHIP_WINDOW),
      metadata: ethers.keccak256(ethers.toUtf8Bytes(form.title)),
      quantity: String(form.quantity),
      expiry: String((await blockTime()) + LIFE),
      salt: salt.toString(),
    };
    const escrow = config.contracts.Escrow;
    const typed = {
      types: LISTING_TYPES,
      primaryType: "Listing",
      domain: { name: "SEC Escrow", version: "1", chainId: config.chain_id, verifyingContract: escrow },
      message: listing,
    };
    const signature = await signTyped(seller, typed);
    const posted = await api("/v1/listings", {
      json: { chain_id: config.chain_id, escrow, listing, signature, description: form.title },
    });
    const link = document.getElementById("link");
    link.href = posted.link;
    link.textContent = posted.link;
    document.getElementById("qr").src = `/v1/qr.svg?text=${encodeURIComponent(posted.link)}`;
    document.getElementById("result").hidden = false;
    showNotice(`Published: ${form.title} for ${amount(posted.listing.price, posted.token)}.`);
    await showMine(seller);
  } catch (err) {
    showError(err);
  } finally {
    button.disabled = false;
  }
}

async function showMine(seller) {
  const list = document.getElementById("mine");
  const { items } = await api(`/v1/signed-listings?seller=${seller}`);
  list.replaceChildren(
    ...(items.length
      ? items.map((l) =>
          el("li", {}, el("a", { href: l.link }, l.description || l.digest.slice(0, 10)),
            ` — ${amount(l.listing.price, l.token)}, ` +
            // the chain counts orders only of a listing with a quantity limit
            (Number(l.listing.quantity)
              ? `sold ${l.state.sold} of ${l.listing.quantity}`
              : "no quantity limit")))
      : [el("li", { class: "muted" }, "No listings yet.")]),
  );
}

document.getElementById("form").addEventListener("submit", publish);
document.getElementById("copy").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText(document.getElementById("link").href);
    showNotice("Link copied.");
  } catch {
    showError("Copying is not allowed here: select the link and copy it yourself.");
  }
});
