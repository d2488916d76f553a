#!/bin/sh
# A relay-adapter/1 adapter (docs/ADAPTERS.md) for a tiny client written here, in POSIX sh: it
# starts the broker, speaks stdio protocol v1 to it (fixtures/README.md), and has three calls:
# list_agents, get_status and shutdown. Every other call is `unsupported`. It exists to show that
# docs/ADAPTERS.md and fixtures/README.md are enough to write an adapter without reading the kit's
# code: nothing here comes from elsewhere (tests/foreign_adapter.rs runs the corpus through it).
#
# Tools: sed, grep, cat, cp, tail, mkfifo, mktemp, sleep (fractional seconds) and kill. No JSON parser: the
# job's strings are picked out with sed, which is enough for the members this client needs.
set -u

log() { printf 'sh adapter: %s\n' "$*" >&2; }
report() { printf '%s\n' "$1"; }

IFS= read -r job || { log "no job on stdin"; exit 2; }
case $job in
*'"protocol":"relay-adapter/1"'*) ;;
*) log "not a relay-adapter/1 job"; exit 2 ;;
esac

# The broker's members (the job's first object member called `broker`).
binary=$(printf '%s\n' "$job" | sed -n 's/.*"broker":{[^}]*"binary":"\([^"]*\)".*/\1/p')
name=$(printf '%s\n' "$job" | sed -n 's/.*"broker":{[^}]*"name":"\([^"]*\)".*/\1/p')
cwd=$(printf '%s\n' "$job" | sed -n 's/.*"broker":{[^}]*"cwd":"\([^"]*\)".*/\1/p')
channels=$(printf '%s\n' "$job" | sed -n 's/.*"broker":{[^}]*"channels":\[\([^]]*\)\].*/\1/p' | sed 's/"//g')
timeout_ms=$(printf '%s\n' "$job" | sed -n 's/.*"request_timeout_ms":\([0-9]*\).*/\1/p')
[ -n "$binary" ] || { log "the job has no broker.binary"; exit 2; }
: "${name:=lead}" "${timeout_ms:=10000}"
# The calls, in order, each with what follows its name up to the next action.
calls=$(printf '%s\n' "$job" | sed 's/.*"actions":\[//' | sed 's/{"call":"/\
/g' | sed '1d')

broker=
scratch=$(mktemp -d) || exit 4
trap '[ -z "$broker" ] || kill "$broker" 2>/dev/null; cat "$scratch/stderr" >&2 2>/dev/null; rm -rf "$scratch"' EXIT
mkfifo "$scratch/in" || exit 4
frames=$scratch/frames
: >"$frames"
[ -z "$cwd" ] || mkdir -p "$cwd"

# The broker: stdin from a FIFO this shell holds open, stdout appended to a file the calls poll,
# stderr kept (its last line names why a broker exited; passed on to ours at the end).
(
    [ -z "$cwd" ] || cd "$cwd" || exit 1
    exec "$binary" init --name "$name" --channels "$channels"
) <"$scratch/in" >>"$frames" 2>"$scratch/stderr" &
broker=$!
exec 3>"$scratch/in"

send() { printf '%s\n' "$1" >&3 2>/dev/null; }

# The complete lines the broker has written so far (a line still being written is left out).
complete_lines() {
    cp "$frames" "$scratch/snapshot"
    if [ -n "$(tail -c 1 "$scratch/snapshot")" ]; then
        sed '$d' "$scratch/snapshot"
    else
        cat "$scratch/snapshot"
    fi
}

# Waits for the answer to request $1 (a frame of type $3: `ok|error` by default) for at most $2 ms;
# sets `answer` to the line, or to `timeout` or `disconnected`.
await() {
    waited=0
    types=${3:-ok|error}
    while :; do
        answer=$(complete_lines | grep -F "\"request_id\":\"$1\"" | grep -E "\"type\":\"($types)\"" | head -n 1)
        [ -n "$answer" ] && return 0
        if ! kill -0 "$broker" 2>/dev/null; then
            answer=$(complete_lines | grep -F "\"request_id\":\"$1\"" | grep -E "\"type\":\"($types)\"" | head -n 1)
            [ -n "$answer" ] || answer=disconnected
            return 0
        fi
        if [ "$waited" -ge "$2" ]; then
            answer=timeout
            return 0
        fi
        sleep 0.05
        waited=$((waited + 50))
    done
}

# The outcome of an answer: the `ok` payload's `result`, or the `error` payload. Without a JSON
# parser: the frame's other members (`v`, `type`, `request_id`, written without spaces) are taken
# out, which leaves `{"payload":{"result":R}}` or `{"payload":E}`.
outcome_of() {
    case $answer in
    timeout) printf '{"timeout":{"message":"no answer within %s ms"}}' "$1" ;;
    disconnected)
        # Its last stderr line, JSON-escaped (backslashes and quotes; control characters dropped).
        last=$(tail -n 1 "$scratch/stderr" 2>/dev/null | tr -d '\000-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')
        printf '{"disconnected":{"message":"the broker exited: %s"}}' "$last"
        ;;
    *)
        payload=$(printf '%s\n' "$answer" |
            sed -e 's/"v":1//' -e 's/"type":"[a-z_]*"//' -e "s/\"request_id\":\"$2\"//" \
                -e 's/^{,*//' -e 's/,*}$//' -e 's/,,*/,/' -e 's/^"payload"://')
        case $answer in
        *'"type":"ok"'*)
            result=$(printf '%s\n' "$payload" | sed -n 's/^{"result":\(.*\)}$/\1/p')
            printf '{"result":%s}' "${result:-null}"
            ;;
        *) printf '{"error":%s}' "${payload:-null}" ;;
        esac
        ;;
    esac
}

send '{"v":1,"type":"hello","request_id":"req_1","payload":{"client_name":"relay-conformance-sh","client_version":"0.1.0"}}'
await req_1 "$timeout_ms" 'hello_ack|error'
if ! complete_lines | grep -q '"type":"hello_ack"'; then
    # An answer to req_1 that is not a hello_ack: an error frame, a timeout, an exit.
    report "{\"kind\":\"start_failed\",\"outcome\":$(outcome_of "$timeout_ms" req_1)}"
    exec 3>&-
    wait "$broker"
    report '{"kind":"finished"}'
    exit 0
fi
report '{"kind":"started","sdk":"relay-conformance-sh","version":"0.1.0"}'

index=0
id=1
printf '%s\n' "$calls" | {
    while IFS= read -r action; do
        [ -n "$action" ] || continue
        call=${action%%\"*}
        rest=${action#"$call"\"}
        # Only calls without arguments: `}`, `,"args":{}` or `,"args":null`, then maybe a timeout.
        case $rest in
        '}'* | ',"args":{}'* | ',"args":null'*) plain=yes ;;
        *) plain=no ;;
        esac
        this_timeout=$(printf '%s\n' "$rest" | sed -n 's/^[^{]*"timeout_ms":\([0-9]*\).*/\1/p')
        case $call in
        list_agents | get_status | shutdown) ;;
        *) plain=unsupported ;;
        esac
        if [ "$plain" != yes ]; then
            why="the sh client has no $call"
            [ "$plain" = no ] && why="the sh client passes no arguments to $call"
            report "{\"kind\":\"outcome\",\"action\":$index,\"call\":\"$call\",\"outcome\":{\"unsupported\":{\"message\":\"$why\"}}}"
            # The fixture is skipped: no further calls.
            break
        fi
        id=$((id + 1))
        send "{\"v\":1,\"type\":\"$call\",\"request_id\":\"req_$id\",\"payload\":{}}"
        await "req_$id" "${this_timeout:-$timeout_ms}"
        if [ "$call" = shutdown ] && [ "$answer" = disconnected ]; then
            outcome='{"result":null}'
        else
            outcome=$(outcome_of "${this_timeout:-$timeout_ms}" "req_$id")
        fi
        report "{\"kind\":\"outcome\",\"action\":$index,\"call\":\"$call\",\"outcome\":$outcome}"
        index=$((index + 1))
    done
}

# Close without another request: end the broker's stdin and wait for it (then TERM, then KILL).
exec 3>&-
waited=0
while kill -0 "$broker" 2>/dev/null && [ "$waited" -lt 5000 ]; do
    sleep 0.05
    waited=$((waited + 50))
done
kill -TERM "$broker" 2>/dev/null
wait "$broker" 2>/dev/null
report '{"kind":"finished"}'
exit 0
