"""Drivers: one per wire protocol (ARI, FastAGI, AMI), each a sans-I/O codec plus a thin asyncio adapter."""
