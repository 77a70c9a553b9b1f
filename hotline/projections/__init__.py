"""Projections built from facts alone: live statistics, CDR, staffing advice."""
