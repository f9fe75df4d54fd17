"""Which people are in which waiting zone, and for how long."""
