"""Contract tests of the fake OpenFactura (sandbox/openfactura)."""
