#!/usr/bin/env bash
# The demo: a real collectd in the foreground with the anomaly plugin, the
# shipped rule pack, and simulated e-commerce traffic with a scheduled
# incident. Notifications and a few values scroll by; ^C (or q) stops it
# and prints what was shown.
#
# Time is compressed so that it all happens in a minute: reads every second
# carry ten seconds of traffic, and TimeScale 60 turns the rule pack's
# minutes into seconds (its 5-minute windows last 5 s).
set -euo pipefail
so=${1:-build/anomaly.so}
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/anomaly-demo.XXXXXX)
mkdir -p "$dir/plugins" "$dir/csv"
# collectd refuses plugins that are symlinks: copy them.
cp "$so" "$dir/plugins/anomaly.so"
cp /usr/lib/collectd/logfile.so /usr/lib/collectd/csv.so "$dir/plugins/"

cat > "$dir/collectd.conf" <<CONF
Hostname "demo-shop"
FQDNLookup false
BaseDir "$dir"
PIDFile "$dir/collectd.pid"
PluginDir "$dir/plugins"
TypesDB "/usr/share/collectd/types.db"
Interval 1
WriteQueueLimitHigh 100000
WriteQueueLimitLow 100000
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File STDOUT
  Timestamp true
  PrintSeverity false
</Plugin>
LoadPlugin csv
<Plugin csv>
  DataDir "$dir/csv"
</Plugin>
Include "$repo/collectd.conf.d/anomaly.conf"
<Plugin anomaly>
  TimeScale 60
  <Simulation>
    Seed 2026
    TrafficMultiplier 10
    # 30% of the pages fail for 20 s: web-failed-requests and
    # web-server-errors fire for [page], then recover.
    <Incident "pages-failing">
      Start 15
      Duration 20
      PageError400 0.2
      PageError500 0.1
    </Incident>
  </Simulation>
</Plugin>
CONF

cat <<INTRO
collectd-anomaly demo - collectd $(/usr/sbin/collectd -h 2>&1 | sed -n 's/^collectd \([0-9.]*\).*/\1/p')
  config:  $dir/collectd.conf (rules: $repo/collectd.conf.d/anomaly.conf)
  values:  $dir/csv/demo-shop/ecommerce/
  at 15 s an incident makes 30% of the pages fail for 20 s: watch for the
  FAILURE notifications, then their OKAY. Stop with ^C.

INTRO

# A line of values every 5 s, read back from collectd's csv output.
latest() { tail -n 1 "$dir"/csv/demo-shop/ecommerce/gauge-"$1"-* 2>/dev/null | cut -d, -f2 | cut -d. -f1; }
(
  sleep 4
  while kill -0 $$ 2>/dev/null; do
    printf '  values: page hits %s (4xx %s, 5xx %s), asset hits %s, page latency %s ms, sessions %s\n' \
      "$(latest page-hits-total)" "$(latest page-response-400)" "$(latest page-response-500)" \
      "$(latest asset-hits-total)" "$(latest page-latency-mean)" "$(latest new-sessions)"
    sleep 5
  done
) &
reporter=$!

# ^C ends the demo, and the demo ends well: a ^C the terminal turned into
# SIGINT would also reach make, which then reports the recipe as failed
# (make: *** [Makefile: demo] Error 1) and dies of the signal. On a terminal
# the demo takes ^C as a key instead (stty -isig), stops collectd with
# SIGTERM and prints what was shown; elsewhere SIGINT and SIGTERM do the same.
started=$(date +%s)
tty=
if [ -t 0 ]; then
  tty=$(stty -g)
  # min 0 time 10: a read of the terminal returns a key or, after a
  # second, nothing.
  stty -isig -icanon -echo min 0 time 10
fi
stop() { [ -n "${collectd:-}" ] && kill -TERM "$collectd" 2>/dev/null || true; }
trap stop INT TERM
trap 'if [ -n "$tty" ]; then stty "$tty"; fi; kill $reporter 2>/dev/null || true; rm -rf "$dir"' EXIT

log="$dir/collectd.log"
/usr/sbin/collectd -f -C "$dir/collectd.conf" > >(tee -i "$log") 2>&1 &
collectd=$!
if [ -n "$tty" ]; then
  # Keys: ^C or q stop the demo; anything else is ignored. (dd, not bash's
  # read, which turns the terminal's signals back on between reads.)
  while kill -0 "$collectd" 2>/dev/null; do
    key=$(dd bs=1 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')
    if [ "$key" = 03 ] || [ "$key" = 71 ]; then
      stop
      break
    fi
  done
fi
rc=0
wait "$collectd" || rc=$?
# wait returns early when a trapped signal arrives: wait for collectd itself.
while kill -0 "$collectd" 2>/dev/null; do sleep 0.2; done
sleep 0.2 # the last lines through tee
failures=$(grep -c 'severity = FAILURE' "$log" || true)
okays=$(grep -c 'severity = OKAY' "$log" || true)
incidents=$(grep -c 'simulated incident ".*" starts' "$log" || true)
echo
echo "demo stopped after $(( $(date +%s) - started )) s: $incidents incident(s) simulated, $failures FAILURE and $okays OKAY notification(s) shown"
if [ "$rc" -ne 0 ] && [ "$rc" -ne 143 ]; then
  echo "collectd exited with status $rc; its log is above" >&2
  exit "$rc"
fi
