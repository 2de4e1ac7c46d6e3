"""EIP-681 payment requests for listings, and their terminal QR codes."""

from __future__ import annotations

import io


def build_buy_uri(
    escrow: str, chain_id: int, listing_id: int, price_wei: int, share_id: int = 0
) -> str:
    """An EIP-681 request that calls `Escrow.buy(listing_id, share_id)` with the price as value
    (ETH listings; an ERC-20 listing needs an `approve` first)."""
    from eth_utils import to_checksum_address

    address = to_checksum_address(escrow)
    return (
        f"ethereum:{address}@{chain_id}/buy?uint256={listing_id}&uint256={share_id}"
        f"&value={price_wei}"
    )


def render_qr(data: str) -> str:
    """`data` as a QR code drawn with block characters, for a terminal."""
    import qrcode  # loaded here: `sec escrow post` prints one and must start fast

    qr = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_L)
    qr.add_data(data)
    qr.make(fit=True)
    out = io.StringIO()
    qr.print_ascii(out=out, invert=True)
    return out.getvalue()
