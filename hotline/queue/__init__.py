"""ACD: queues, routing, callbacks and centre mode (`acd.Acd` is the front door).

Modules: `acd` (the kernel object), `rules` (queue rules per mode), `facts` (what the
ACD reports), `waiting` (queue places and their indexes), `timers`, `estimates`
(expected wait, repeat callers), `errors`, `harness` (virtual-time test kit); `stats`,
`staffing` and the simulator build on the facts; `announcements` (what a waiting caller
is told, as prompt ids the centre resolves in the caller's language).
"""
