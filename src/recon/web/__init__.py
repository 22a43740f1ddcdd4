"""Serving the web frontend (the built SPA in frontend/dist) from the api process in the embedded mode."""
