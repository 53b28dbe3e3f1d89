"""gepad_client: a small Python client for the gepad daemon's websocket API."""
