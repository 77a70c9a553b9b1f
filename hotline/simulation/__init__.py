"""Discrete-event simulation of a centre day on virtual time (drives the real kernel)."""
