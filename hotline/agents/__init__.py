"""Agents and seats: directory (agents, softphone seats), the seat state machine and its
ready index (`seats`), seat states, shifts and rosters."""
