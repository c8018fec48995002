"""DNS-01 providers behind one interface, and the propagation check."""
