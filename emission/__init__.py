"""Everything DTE and OpenFactura: the pure DTE engine, the OpenFactura client, emission."""
