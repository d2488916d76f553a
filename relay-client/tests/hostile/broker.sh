#!/bin/sh
# A hostile stdio broker for relay-client's tests (tests/hostile.rs): it speaks just enough of
# protocol v1 to answer `hello`, then misbehaves as $HOSTILE_MODE says. It writes its own pid to
# $HOSTILE_DIR/broker.pid and, in the modes that start one, its worker's pid to
# $HOSTILE_DIR/worker.pid, both before it answers `hello`.
#
# Modes:
#   crash-with-worker     starts a long-lived worker, then exits with code 3 on the first request
#   shutdown-with-worker  starts a long-lived worker, then answers `shutdown` and exits with code 0
#   protocol-v2           answers `hello` with protocol_version 2, then waits
#   close-stdout          closes its stdout after `hello_ack`, stays alive
#   close-stdin           closes its stdin before `hello_ack`, stays alive with stdout open
#   boot-failure          closes its stdin, writes an error on stderr and exits with code 1, as a
#                         broker whose Relaycast fails at boot does

set -u
dir=${HOSTILE_DIR:?HOSTILE_DIR is not set}
mode=${HOSTILE_MODE:?HOSTILE_MODE is not set}

# The request id of a request line (the hello is `req_1`, but take it from the line).
request_id() {
    printf '%s\n' "$1" | sed -n 's/.*"request_id":"\([^"]*\)".*/\1/p'
}

hello_ack() {
    printf '{"v":1,"type":"hello_ack","request_id":"%s","payload":{"broker_version":"3.0.0","protocol_version":%s,"workspace_key":"rk_live_hostile"}}\n' "$1" "$2"
}

# A worker that outlives the broker unless killed with its process group; its stdio does not hold
# the broker's pipes open, so only the group kill can end it early.
start_worker() {
    sleep 300 </dev/null >/dev/null 2>&1 &
    echo $! >"$dir/worker.pid.tmp"
    mv "$dir/worker.pid.tmp" "$dir/worker.pid"
}

echo $$ >"$dir/broker.pid.tmp"
mv "$dir/broker.pid.tmp" "$dir/broker.pid"

case $mode in
boot-failure)
    exec 0<&-
    echo "Error: failed to initialize relaycast session" >&2
    echo "    injected fault: POST /v1/workspaces answers 500" >&2
    exit 1
    ;;
crash-with-worker)
    start_worker
    IFS= read -r line
    hello_ack "$(request_id "$line")" 1
    IFS= read -r line
    echo "hostile broker: crashing on purpose" >&2
    exit 3
    ;;
shutdown-with-worker)
    start_worker
    IFS= read -r line
    hello_ack "$(request_id "$line")" 1
    while IFS= read -r line; do
        case $line in
        *'"type":"shutdown"'*)
            printf '{"v":1,"type":"ok","request_id":"%s","payload":{"result":{}}}\n' "$(request_id "$line")"
            exit 0
            ;;
        esac
    done
    exit 0
    ;;
protocol-v2)
    IFS= read -r line
    hello_ack "$(request_id "$line")" 2
    exec sleep 300
    ;;
close-stdout)
    IFS= read -r line
    hello_ack "$(request_id "$line")" 1
    echo "hostile broker: closing stdout on purpose" >&2
    exec >&-
    exec sleep 300
    ;;
close-stdin)
    IFS= read -r line
    # Closed before the answer: every request the client writes after the handshake hits a pipe
    # nobody reads.
    exec <&-
    hello_ack "$(request_id "$line")" 1
    exec sleep 300
    ;;
*)
    echo "hostile broker: unknown mode $mode" >&2
    exit 2
    ;;
esac
