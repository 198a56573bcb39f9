"""Merchant pages inside the Jumpseller admin: configuration, issuer, documents, queue, summary."""
