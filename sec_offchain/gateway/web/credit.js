// A product's credit checked in the page, trusting nothing the gateway served: the checks of
// `sec verify` (sec_offchain/gateway/proofs.py, verify_credit_bundle), in the same order and
// with the same reasons. The leaf and the fold follow OpenZeppelin's StandardMerkleTree
// (leaf = keccak256(keccak256(abi.encode(bytes32 product, int256 credit))), each pair hashed
// in ascending order); the header is hashed as the EIP-712 AreaHeader under the AnchorHub
// domain of the chain the reader is on, and that digest must be the one AnchorHub stores
// for (area, height), read from the chain itself (two RPC calls: eth_chainId, one eth_call).
import { ethers } from "/vendor/ethers.js";

export class BundleError extends Error {}

const HEADER_FIELDS = ["parent_hash", "tx_root", "credit_root", "egress_root"];
const AREA_HEADER = {
  AreaHeader: [
    { name: "area_id", type: "uint256" }, { name: "height", type: "uint256" },
    { name: "parent_hash", type: "bytes32" }, { name: "tx_root", type: "bytes32" },
    { name: "credit_root", type: "bytes32" }, { name: "egress_root", type: "bytes32" },
    { name: "timestamp", type: "uint256" },
  ],
};
const HUB = new ethers.Interface([
  "function anchored_hash(uint256 area_id, uint256 height) view returns (bytes32)",
]);
const ZERO32 = "0x" + "00".repeat(32);
const abi = ethers.AbiCoder.defaultAbiCoder();

function b32(value, what) {
  if (typeof value !== "string" || !value.startsWith("0x") || value.length !== 66) {
    throw new BundleError(`${what}: not a 0x-prefixed 32-byte hex string`);
  }
  if (!/^0x[0-9a-fA-F]{64}$/.test(value)) throw new BundleError(`${what}: not hex`);
  return value.toLowerCase();
}

function uint(value, what) {
  // JSON numbers past 2^53 are not exact in a browser: refused rather than rounded
  if (!Number.isSafeInteger(value) || value < 0) throw new BundleError(`${what}: not an unsigned integer`);
  return value;
}

function headerOf(data) {
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new BundleError("header: not an object");
  }
  const header = {};
  for (const k of ["area_id", "height", ...HEADER_FIELDS, "timestamp"]) {
    if (!(k in data)) throw new BundleError(`header: missing ${k}`);
    header[k] = HEADER_FIELDS.includes(k) ? b32(data[k], `header.${k}`) : uint(data[k], `header.${k}`);
  }
  return header;
}

export function creditLeaf(product, credit) {
  return ethers.keccak256(ethers.keccak256(abi.encode(["bytes32", "int256"], [product, credit])));
}

export function foldProof(leaf, proof) {
  let node = leaf;
  for (const sibling of proof) {
    node = ethers.keccak256(node <= sibling ? ethers.concat([node, sibling]) : ethers.concat([sibling, node]));
  }
  return node;
}

export function headerDigest(header, chainId, anchorHub) {
  const domain = { name: "SEC AnchorHub", version: "1", chainId, verifyingContract: anchorHub };
  return ethers.TypedDataEncoder.hash(domain, AREA_HEADER, header);
}

/** Checks `bundle` (what GET /v1/products/<id>/credit served) for `productId`; `request`
 *  is an EIP-1193 request function to the chain (the wallet's, or a public RPC's) and
 *  `anchorHub` the AnchorHub address; with `expectChain` the chain must be that one. Returns {area_id, height, credit, header_hash};
 *  throws BundleError naming what failed. */
export async function verifyCredit(bundle, productId, request, anchorHub, expectChain = null) {
  if (bundle === null || typeof bundle !== "object" || bundle.kind !== "credit") {
    throw new BundleError('not a credit proof bundle (kind must be "credit")');
  }
  const header = headerOf(bundle.header);
  if (bundle.area_id !== header.area_id || bundle.height !== header.height) {
    throw new BundleError("area_id/height: do not match the header's");
  }
  const product = b32(bundle.product_id, "product_id");
  if (product !== productId.toLowerCase()) {
    throw new BundleError(`product_id: the proof is for product ${product}, not this listing's ${productId}`);
  }
  const credit = bundle.credit;
  if (!Number.isSafeInteger(credit)) throw new BundleError("credit: not an int256");
  if (!Array.isArray(bundle.proof) || bundle.proof.length > 256) {
    throw new BundleError("proof: not a list of at most 256 hashes");
  }
  const proof = bundle.proof.map((p, i) => b32(p, `proof[${i}]`));
  if (foldProof(creditLeaf(product, credit), proof) !== header.credit_root) {
    throw new BundleError(
      "credit proof: the product's credit and the proof do not lead to the header's credit_root",
    );
  }
  const chainId = Number(await request({ method: "eth_chainId", params: [] }));
  if (expectChain !== null && chainId !== Number(expectChain)) {
    throw new BundleError(`chain: the wallet is on chain ${chainId}, the listing is on chain ${expectChain}`);
  }
  const digest = headerDigest(header, chainId, anchorHub);
  const data = HUB.encodeFunctionData("anchored_hash", [header.area_id, header.height]);
  const raw = await request({ method: "eth_call", params: [{ to: anchorHub, data }, "latest"] });
  const anchored = HUB.decodeFunctionResult("anchored_hash", raw)[0].toLowerCase();
  const where = `area ${header.area_id} height ${header.height}`;
  if (anchored === ZERO32) throw new BundleError(`header: nothing is anchored at ${where}`);
  if (anchored !== digest) {
    throw new BundleError(
      `header: not the one anchored at ${where} (anchored ${anchored}, the bundle's hashes to ${digest})`,
    );
  }
  return { area_id: header.area_id, height: header.height, credit, header_hash: digest, chain_id: chainId };
}
