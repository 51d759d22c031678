#!/usr/bin/env bash
# Runs the whole local pipeline in the foreground: edge worker under wrangler dev (127.0.0.1:8787, local
# R2 and Durable Objects in .dev-data/wrangler), rollup server (127.0.0.1:3000, ./tapemetric.duckdb), and
# the demo page (http://127.0.0.1:8080/demo/). Ctrl-C stops all three. The dashboard is at the rollup
# server's / and signs in with the admin token printed below (filled in for you).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
set -a; source ./.dev.vars; set +a

WORKER_PORT=${WORKER_PORT:-8787}
SERVER_PORT=${SERVER_PORT:-3000}
DEMO_PORT=${DEMO_PORT:-8080}
DEV_TENANT=${DEV_TENANT:-demo}
ROLLUP="$CARGO_TARGET_DIR/debug/rollup-server"
mkdir -p .dev-data

# The demo page's video, made once with ffmpeg (installed if missing) in the background: the pipeline
# does not wait for it. Its log: .dev-data/demo-video.log.
make_demo_video() {
  if ! command -v ffmpeg >/dev/null; then
    echo "installing ffmpeg (to make the demo video)"
    local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends ffmpeg
  fi
  echo "generating demo/sample.mp4 (30 s test pattern)"
  ffmpeg -loglevel error -y -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i sine=frequency=440 \
    -t 30 -c:v libx264 -pix_fmt yuv420p -c:a aac -movflags +faststart .dev-data/sample.mp4 &&
    mv .dev-data/sample.mp4 demo/sample.mp4 && echo "demo video ready"
}

# One API key for the demo tenant, kept across runs.
if [ ! -s .dev-data/demo-key ]; then
  "$ROLLUP" keys create --tenant "$DEV_TENANT" --name demo-page > .dev-data/demo-key
fi
DEMO_KEY=$(cat .dev-data/demo-key)
ADMIN_TOKEN=$("$ROLLUP" token --tenant "$DEV_TENANT" --role admin --ttl-hours 720)
# The dashboard's sign-in field is filled in with this token (development only: see --dev-token-file).
(umask 077; printf '%s\n' "$ADMIN_TOKEN" > .dev-data/dashboard-token)

pids=()
DEMO_VIDEO_NOTE=""
cleanup() {
  trap - INT TERM EXIT
  echo; echo "==> stopping"
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

setsid node_modules/.bin/wrangler dev --ip 127.0.0.1 --port "$WORKER_PORT" --persist-to .dev-data/wrangler \
  --show-interactive-dev-session=false & pids+=($!)
setsid "$ROLLUP" serve --listen "127.0.0.1:$SERVER_PORT" --edge-url "http://127.0.0.1:$WORKER_PORT" \
  --dev-token-file .dev-data/dashboard-token & pids+=($!)
if [ ! -f demo/sample.mp4 ]; then
  # Not stopped by Ctrl-C: an apt install cut short would leave dpkg half done.
  setsid bash -c "$(declare -f make_demo_video); make_demo_video" >.dev-data/demo-video.log 2>&1 & disown
  DEMO_VIDEO_NOTE="  (its video is being made in the background: .dev-data/demo-video.log)"
fi
setsid python3 scripts/demo-server.py --bind 127.0.0.1 --port "$DEMO_PORT" >/dev/null 2>&1 & pids+=($!)

for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$WORKER_PORT/health" >/dev/null 2>&1 && break
  sleep 0.5
done

cat <<MSG

Tapemetric is running locally
  edge worker    http://127.0.0.1:$WORKER_PORT   (POST /v1/events, GET /v1/collect)
  rollup server  http://127.0.0.1:$SERVER_PORT   (GET /api/v1/views/by-content)
  dashboard      http://127.0.0.1:$SERVER_PORT/   (sign-in filled in with the admin token below)
  demo page      http://127.0.0.1:$DEMO_PORT/demo/index.html?key=$DEMO_KEY
${DEMO_VIDEO_NOTE:-}

  tenant         $DEV_TENANT
  API key        $DEMO_KEY
  admin token    $ADMIN_TOKEN

  load now:      curl -X POST -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:$SERVER_PORT/admin/ingest
  views:         curl -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:$SERVER_PORT/api/v1/views/by-content
  (export TOKEN=$ADMIN_TOKEN)

Ctrl-C stops everything.
MSG
wait
