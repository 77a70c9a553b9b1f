"""The kernel's vocabulary, the leaf every other part builds on.

`events` (what happened, into the kernel), `commands` (what a driver must do), `facts`
(what the kernel reports), `states` (state enums), `queueing` (strategy, exit action,
skill levels), `ports` (clock, classifier), `errors`, `problems` (configuration
problems with their place). Nothing here imports any other part of Hotline.
"""
