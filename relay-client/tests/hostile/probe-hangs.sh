#!/bin/sh
# An executable that the probe runs (`--help`) and that never answers: it starts a long-lived
# worker, writes its own pid and its worker's to broker.pid and worker.pid beside itself, then
# hangs. Used by tests/hostile.rs to check that a cancelled probe leaves nothing behind.

dir=$(dirname "$0")
sleep 300 </dev/null >/dev/null 2>&1 &
echo $! >"$dir/worker.pid.tmp"
mv "$dir/worker.pid.tmp" "$dir/worker.pid"
echo $$ >"$dir/broker.pid.tmp"
mv "$dir/broker.pid.tmp" "$dir/broker.pid"
exec sleep 300
