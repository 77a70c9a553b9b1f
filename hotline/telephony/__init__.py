"""Drivers, one per wire protocol (ARI, FastAGI, AMI): a sans-I/O codec and a thin
asyncio adapter each; they only translate between the wire and the kernel."""
