"""Everything Jumpseller: OAuth install, stores, tokens, the API client, verified webhooks."""
