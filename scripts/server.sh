#!/usr/bin/env bash
# Start (once, then wait until it answers) or stop the project-local Prefect server.
# Not `prefect server start --background`: that leaves the server's stdout and stderr on pipes that
# nobody reads once the CLI exits, and the server dies the first time it logs an error. Here its
# output goes to a log file.
source "$(dirname "$0")/env.sh"
pidfile="$MULTIDC_STATE/prefect-server.pid"
log="$MULTIDC_STATE/prefect-server.log"
alive() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
cd "$MULTIDC_ROOT"
case "${1:-start}" in
  start)
    if ! curl -fsS "$PREFECT_API_URL/health" >/dev/null 2>&1 && ! alive; then
      nohup .venv/bin/prefect server start >"$log" 2>&1 &
      echo $! >"$pidfile"
      echo "Prefect server starting (pid $!, log $log)"
    fi
    uv run prefect server status --wait --timeout 180
    ;;
  stop)
    if alive; then
      pid=$(cat "$pidfile")
      kill -TERM "$pid" 2>/dev/null || true
      timeout 30 tail --pid="$pid" -f /dev/null || kill -KILL "$pid" 2>/dev/null || true
      echo "Prefect server stopped"
    fi
    rm -f "$pidfile"
    ;;
esac
