"""Built-in sandbox: a fake Jumpseller store and a fake OpenFactura, for local runs and tests."""
