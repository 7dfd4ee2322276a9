#!/usr/bin/env bash
# Start (once) or stop the background Prefect worker of the multidc work pool.
source "$(dirname "$0")/env.sh"
pidfile="$MULTIDC_STATE/worker.pid"
alive() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
case "${1:-start}" in
  start)
    if alive; then echo "worker already running (pid $(cat "$pidfile"))"; exit 0; fi
    cd "$MULTIDC_ROOT"
    nohup uv run prefect worker start --pool "$MULTIDC_POOL" >"$MULTIDC_STATE/worker.log" 2>&1 &
    echo $! >"$pidfile"
    echo "worker started (pid $!, log $MULTIDC_STATE/worker.log)"
    ;;
  stop)
    if alive; then
      pid=$(cat "$pidfile")
      # A Prefect worker needs two signals to stop: SIGTERM, then SIGINT.
      kill -TERM "$pid" 2>/dev/null; sleep 1; kill -INT "$pid" 2>/dev/null
      pkill -TERM -P "$pid" 2>/dev/null || true
      echo "worker stopped"
    fi
    rm -f "$pidfile"
    ;;
esac
