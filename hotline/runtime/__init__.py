"""The centre runtime: one asyncio task owns the kernel; drivers plug into it."""
