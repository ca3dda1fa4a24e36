#!/usr/bin/env bash
# with-kumo.sh CMD [ARGS...] — runs CMD with a local AWS emulator (kumo) behind the AWS SDK.
#
# Builds bin/kumo from the pinned tools module (tools/kumo) when it is missing or its pin
# changed, starts `kumo serve` on a free loopback port, waits until it answers, exports
# AWS_ENDPOINT_URL with dummy credentials and a region, runs CMD, stops kumo when CMD ends
# (or the script is interrupted), and exits with CMD's status.
#
# ZOOMWATCH_EMULATOR=1 tells the integration tests that an emulator was started for them: a
# test that cannot reach it then fails instead of skipping.
#
# When called inside another with-kumo.sh (ZOOMWATCH_EMULATOR=1 and AWS_ENDPOINT_URL answer
# already), the running emulator is reused.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/bin/kumo"
stamp="$root/bin/.kumo.stamp"
go="${GO:-go}"

if [ "$#" -eq 0 ]; then
  echo "usage: tools/with-kumo.sh CMD [ARGS...]" >&2
  exit 2
fi

# healthy PORT: true when kumo answers its health endpoint on 127.0.0.1:PORT. Uses bash's
# /dev/tcp so the script needs no curl.
healthy() {
  local port="$1" reply
  { exec 9<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
  printf 'GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&9
  reply="$(timeout 2 cat <&9 || true)"
  exec 9>&-
  [[ "$reply" == *healthy* ]]
}

# port_in_use PORT: true when something accepts connections on 127.0.0.1:PORT.
port_in_use() {
  { (exec 9<>"/dev/tcp/127.0.0.1/$1"); } 2>/dev/null
}

if [ "${ZOOMWATCH_EMULATOR:-}" = 1 ] && [ -n "${AWS_ENDPOINT_URL:-}" ]; then
  existing="${AWS_ENDPOINT_URL##*:}"
  existing="${existing%%/*}"
  if [[ "$existing" =~ ^[0-9]+$ ]] && healthy "$existing"; then
    exec "$@"
  fi
fi

# Build the emulator when missing or when the pinned tools module changed since the last build.
want="$(cat "$root/tools/kumo/go.mod" "$root/tools/kumo/go.sum" | sha256sum | cut -d' ' -f1)"
fresh() { [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null || true)" = "$want" ]; }
if ! fresh; then
  mkdir -p "$root/bin"
  # Concurrent runs (parallel make targets) build once: the others wait on the lock, then
  # find the binary fresh.
  exec 8>"$root/bin/.kumo.lock"
  command -v flock >/dev/null 2>&1 && flock 8
  if ! fresh; then
    echo "with-kumo: building the AWS emulator into bin/kumo (first build takes a few minutes; cached afterwards)" >&2
    tmp="$(mktemp "$root/bin/.kumo.XXXXXX")"
    if ! (cd "$root/tools/kumo" && GOWORK=off "$go" build -mod=readonly -o "$tmp" github.com/sivchari/kumo/cmd/kumo); then
      rm -f "$tmp"
      echo "with-kumo: building the AWS emulator failed" >&2
      exit 1
    fi
    mv "$tmp" "$bin"
    echo "$want" >"$stamp"
  fi
  exec 8>&-
fi

log="$(mktemp "${TMPDIR:-/tmp}/kumo.XXXXXX.log")"
pid=""
stop() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -f "$log"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Start kumo on a random free loopback port; if another process takes the port between the
# check and the bind, kumo exits and the next attempt picks another port.
port=""
for attempt in $(seq 1 10); do
  candidate=$((20000 + RANDOM % 40000))
  port_in_use "$candidate" && continue
  KUMO_LOG_LEVEL="${KUMO_LOG_LEVEL:-warn}" "$bin" serve --host 127.0.0.1 --port "$candidate" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    if healthy "$candidate"; then
      port="$candidate"
      break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$port" ] && break
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
done
if [ -z "$port" ]; then
  echo "with-kumo: the AWS emulator did not start; its log:" >&2
  cat "$log" >&2 || true
  exit 1
fi

export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export ZOOMWATCH_EMULATOR=1
echo "with-kumo: AWS emulator at $AWS_ENDPOINT_URL" >&2

status=0
"$@" || status=$?
exit "$status"
