// Shared by every page: the gateway API, the visitor's wallet (any EIP-1193 provider), the live
// event stream, and one-sentence errors. No keys are kept: the wallet signs everything.
import { ethers } from "/vendor/ethers.js";

export { ethers };

export const ESCROW_ABI = [
  "function buy_signed((address seller,uint256 price,address token,uint256 auto_complete,uint256 ship_window,bytes32 metadata,uint256 quantity,uint256 expiry,uint256 salt) listing, bytes signature, uint256 share_id) payable returns (uint256)",
  "function ship(uint256 order_id, bytes32 tracking)",
  "function confirm(uint256 order_id)",
  "function dispute(uint256 order_id, bytes32 evidence) payable",
  "function dispute_deposit(uint256 order_id) view returns (uint256)",
  "event OrderPaid(uint256 indexed order_id, uint256 indexed listing_id, address indexed buyer, uint256 price, uint256 share_id, uint256 ship_by)",
];
export const TOKEN_ABI = [
  "function nonces(address) view returns (uint256)",
  "function approve(address spender, uint256 amount) returns (bool)",
];
export const FORWARDER_ABI = ["function nonces(address) view returns (uint256)"];
export const SHARES_ABI = ["function share(uint256 order_id) returns (uint256)", "function claim()"];
export const COURT_ABI = [
  "function draw(uint256 case_id)",
  "function vote(uint256 case_id, uint8 ruling)",
  "function execute(uint256 case_id)",
];
export const ETH = "0x0000000000000000000000000000000000000000";
export const RELAY_GAS = { buy_signed: 400000n, default: 300000n };

// ── messages ──────────────────────────────────────────────────────────────────────────
export function showError(err) {
  const box = document.getElementById("error");
  const text = typeof err === "string" ? err : sentence(err);
  box.textContent = text;
  box.hidden = false;
  box.focus?.();
}
export function clearError() {
  const box = document.getElementById("error");
  box.hidden = true;
  box.textContent = "";
}
export function showNotice(text, id = "notice") {
  const box = document.getElementById(id);
  box.textContent = text;
  box.hidden = false;
}

/** One clear sentence for any failure: gateway problem, wallet refusal, revert, network. */
export function sentence(err) {
  if (!err) return "Something went wrong.";
  if (err.userMessage) return err.userMessage;
  const code = err.code ?? err.error?.code;
  if (code === 4001 || code === "ACTION_REJECTED") return "You rejected the request in your wallet.";
  if (code === 4100) return "Your wallet did not allow this site: connect it and try again.";
  const msg = String(err.message ?? err.reason ?? err);
  const revert = msg.match(/execution reverted:?\s*(.*)$/i);
  if (revert) return `The contract refused: ${revert[1] || "no reason given"}.`;
  if (/Failed to fetch|NetworkError|Load failed/i.test(msg)) {
    return "The gateway cannot be reached: check your connection and try again.";
  }
  return msg.endsWith(".") ? msg : msg + ".";
}

function userError(text) {
  const e = new Error(text);
  e.userMessage = text;
  return e;
}

// ── the gateway ───────────────────────────────────────────────────────────────────────
export async function api(path, options = {}) {
  const init = { ...options, headers: { Accept: "application/json", ...(options.headers || {}) } };
  if (options.json !== undefined) {
    init.method = init.method || "POST";
    init.body = JSON.stringify(options.json);
    init.headers["Content-Type"] = "application/json";
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw userError("The gateway cannot be reached: check your connection and try again.");
  }
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const detail = body?.detail || body?.title || `HTTP ${res.status}`;
    throw userError(`The gateway refused: ${detail.replace(/\.$/, "")}.`);
  }
  return body;
}

let configPromise = null;
export function getConfig() {
  configPromise ||= api("/v1/config");
  return configPromise;
}

// ── the wallet ────────────────────────────────────────────────────────────────────────
function provider() {
  if (!window.ethereum) {
    throw userError("No wallet found: open this page in a browser with a wallet to continue.");
  }
  return window.ethereum;
}

export async function rpc(method, params = []) {
  return provider().request({ method, params });
}

/** Asks the wallet for its account and checks it is on the gateway's chain. */
export async function connect() {
  const accounts = await rpc("eth_requestAccounts");
  if (!accounts || !accounts.length) throw userError("Your wallet gave no account.");
  const config = await getConfig();
  const chain = Number(await rpc("eth_chainId"));
  if (chain !== config.chain_id) {
    throw userError(`Your wallet is on chain ${chain}: switch it to chain ${config.chain_id}.`);
  }
  return ethers.getAddress(accounts[0]);
}

export async function signTyped(account, typed) {
  return rpc("eth_signTypedData_v4", [account, JSON.stringify(typed)]);
}

export async function call(to, data) {
  return rpc("eth_call", [{ to, data }, "latest"]);
}

export async function blockTime() {
  const block = await rpc("eth_getBlockByNumber", ["latest", false]);
  return Number(block.timestamp);
}

async function waitReceipt(hash, timeoutMs = 60000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const receipt = await rpc("eth_getTransactionReceipt", [hash]);
    if (receipt) {
      if (Number(receipt.status) !== 1) throw userError("The transaction failed on chain.");
      return receipt;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw userError("The transaction was not mined within a minute: look at it again later.");
}

/** Sends a call from the wallet (it pays the gas); the call is tried first so a refusal shows
 *  the contract's reason before anything is signed. */
export async function sendTx(account, to, data, value = 0n) {
  const tx = { from: account, to, data, value: ethers.toQuantity(value) };
  await rpc("eth_call", [tx, "latest"]);
  const hash = await rpc("eth_sendTransaction", [tx]);
  return waitReceipt(hash);
}

/** A call the relayer pays for: the wallet signs an ERC-2771 ForwardRequest (and a permit,
 *  when given); the gateway's relayer sends it. Returns the receipt. */
export async function relayTx(account, to, data, { gas = RELAY_GAS.default, permit } = {}) {
  const config = await getConfig();
  if (!config.relay) throw userError("This gateway runs no relayer: pay the gas from your wallet.");
  const forwarder = config.contracts.Forwarder;
  const fwd = new ethers.Interface(FORWARDER_ABI);
  const nonce = fwd.decodeFunctionResult(
    "nonces",
    await call(forwarder, fwd.encodeFunctionData("nonces", [account])),
  )[0];
  const deadline = (await blockTime()) + 3600;
  const request = {
    from: account, to, value: "0", gas: gas.toString(), nonce: nonce.toString(), deadline, data,
  };
  const typed = {
    types: {
      EIP712Domain: [
        { name: "name", type: "string" }, { name: "version", type: "string" },
        { name: "chainId", type: "uint256" }, { name: "verifyingContract", type: "address" },
      ],
      ForwardRequest: [
        { name: "from", type: "address" }, { name: "to", type: "address" },
        { name: "value", type: "uint256" }, { name: "gas", type: "uint256" },
        { name: "nonce", type: "uint256" }, { name: "deadline", type: "uint48" },
        { name: "data", type: "bytes" },
      ],
    },
    primaryType: "ForwardRequest",
    domain: { name: "SEC Forwarder", version: "1", chainId: config.chain_id, verifyingContract: forwarder },
    message: request,
  };
  const signature = await signTyped(account, typed);
  const sent = await api("/v1/relay", { json: { request, signature, permit } });
  const end = Date.now() + 60000;
  let outcome = sent;
  while (!["mined", "reverted", "dropped"].includes(outcome.status)) {
    if (Date.now() > end) throw userError("The relayer has not finished within a minute: look again later.");
    await new Promise((r) => setTimeout(r, 300));
    outcome = await api(`/v1/relay/${sent.hash}`);
  }
  if (outcome.status !== "mined") throw userError(`The relayed call ${outcome.status}: ${outcome.reason}.`);
  return rpc("eth_getTransactionReceipt", [outcome.tx_hash]);
}

/** Sends from the wallet when the account has ETH for gas, else through the relayer. */
export async function act(account, to, data) {
  const balance = BigInt(await rpc("eth_getBalance", [account, "latest"]));
  if (balance > 0n) return sendTx(account, to, data);
  return relayTx(account, to, data);
}

/** The EIP-2612 permit typed data for `value` of the SEC token to `spender`. */
export async function signPermit(account, spender, value) {
  const config = await getConfig();
  const token = config.sec.address;
  const iface = new ethers.Interface(TOKEN_ABI);
  const nonce = iface.decodeFunctionResult(
    "nonces",
    await call(token, iface.encodeFunctionData("nonces", [account])),
  )[0];
  const deadline = (await blockTime()) + 3600;
  const message = {
    owner: account, spender, value: value.toString(), nonce: nonce.toString(), deadline: String(deadline),
  };
  const typed = {
    types: {
      EIP712Domain: [
        { name: "name", type: "string" }, { name: "version", type: "string" },
        { name: "chainId", type: "uint256" }, { name: "verifyingContract", type: "address" },
      ],
      Permit: [
        { name: "owner", type: "address" }, { name: "spender", type: "address" },
        { name: "value", type: "uint256" }, { name: "nonce", type: "uint256" },
        { name: "deadline", type: "uint256" },
      ],
    },
    primaryType: "Permit",
    domain: { name: config.sec.name, version: "1", chainId: config.chain_id, verifyingContract: token },
    message,
  };
  const signature = await signTyped(account, typed);
  return { token, ...message, signature };
}

// ── formatting ────────────────────────────────────────────────────────────────────────
export function amount(value, token) {
  const decimals = token?.decimals ?? 18;
  const symbol = token?.symbol ?? "";
  const text = ethers.formatUnits(BigInt(value ?? 0), decimals).replace(/\.0$/, "");
  return `${text} ${symbol}`.trim();
}
export function short(addr) {
  return addr ? `${addr.slice(0, 6)}…${addr.slice(-4)}` : "—";
}
export function when(ts) {
  return ts ? new Date(Number(ts) * 1000).toISOString().replace("T", " ").slice(0, 16) + " UTC" : "—";
}
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "onclick") node.addEventListener("click", v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) node.append(c instanceof Node ? c : String(c ?? ""));
  return node;
}

// ── the live event stream ─────────────────────────────────────────────────────────────
/** Server-sent events from /v1/events (every event name), resumed from the last id after a
 *  drop. `onEvent(event)` gets the parsed JSON. Returns a function that stops it. */
export function subscribe(onEvent, { account, after } = {}) {
  let last = after ?? null;
  let stopped = false;
  let controller = null;
  async function run() {
    while (!stopped) {
      controller = new AbortController();
      const params = new URLSearchParams();
      if (account) params.set("account", account);
      if (last === null) {
        last = 0;
        const status = await api("/v1/status").catch(() => null);
        if (status) last = status.events;
      }
      const headers = { Accept: "text/event-stream" };
      if (last) headers["Last-Event-ID"] = String(last);
      try {
        const res = await fetch(`/v1/events?${params}`, { headers, signal: controller.signal });
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replace(/\r\n/g, "\n");
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            let id = null, data = "";
            for (const line of block.split("\n")) {
              if (line.startsWith("id:")) id = line.slice(3).trim();
              else if (line.startsWith("data:")) data += line.slice(5).trim();
            }
            if (!data) continue;
            if (id) last = Number(id);
            try { onEvent(JSON.parse(data)); } catch (e) { console.error(e); }
          }
        }
      } catch (e) {
        if (stopped) return;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  run();
  return () => { stopped = true; controller?.abort(); };
}

export function setLive(ok) {
  const live = document.getElementById("live");
  if (live) live.textContent = ok ? "live" : "offline";
}
