"""End-to-end tests: the house as separate processes, driven like a user."""
