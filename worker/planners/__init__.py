"""Pure planners of a tick: each takes plain values (snapshot, now, settings) and returns actions; no I/O, no clock."""
