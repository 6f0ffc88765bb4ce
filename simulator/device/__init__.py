"""One emulated Q.rad: its model (unit), room (physics) and network face (server)."""
