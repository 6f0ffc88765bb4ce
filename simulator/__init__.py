"""Stand-ins for what a Q.rad owner has and a developer lacks: emulated Q.rads."""
