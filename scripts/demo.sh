#!/usr/bin/env bash
# The demo: a real collectd in the foreground with the anomaly plugin, the
# shipped rule pack, and simulated e-commerce traffic with a scheduled
# incident. Notifications and a few values scroll by; ^C stops it.
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
trap 'kill $reporter 2>/dev/null; rm -rf "$dir"' EXIT
/usr/sbin/collectd -f -C "$dir/collectd.conf"
