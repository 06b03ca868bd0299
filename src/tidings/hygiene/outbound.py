"""The outbound stages hygiene contributes (DKIM signing), for the composition root."""

from __future__ import annotations

from tidings.config import Settings
from tidings.delivery.outbound.stages import OutboundStage
from tidings.hygiene.dkim_keys import DKIMKeyStore
from tidings.hygiene.dkim_sign import DKIMSigner


def outbound_stages(settings: Settings) -> tuple[OutboundStage, ...]:
    """DKIM signing with the keys under [hygiene] dkim_dir, unless turned off."""
    h = settings.hygiene
    if not h.dkim_signing:
        return ()
    return (DKIMSigner(DKIMKeyStore(h.dkim_dir or settings.server.data_dir / "dkim")),)
