#!/usr/bin/env bash
# Installs the Debian packages that building and testing the plugin need, if
# they are missing: collectd's daemon and headers, libyajl2 (collectd-core
# lacks it, and the daemon's write_log/json plugins need it), gcc and iproute2.
set -euo pipefail
need=()
[ -x /usr/sbin/collectd ] || need+=(collectd-core)
[ -f /usr/include/collectd/core/daemon/plugin.h ] || need+=(collectd-dev)
dpkg-query -W -f='${Status}' libyajl2 2>/dev/null | grep -q "ok installed" || need+=(libyajl2)
command -v gcc >/dev/null || need+=(gcc)
# The fleet tests make network namespaces with ip (a minimal image may lack it).
command -v ip >/dev/null || need+=(iproute2)
# `deps.sh loadbench`: the peer of the load benchmark, Prometheus 2.42, and
# what collectd's write_prometheus plugin links (collectd-core lacks them).
if [ "${1:-}" = loadbench ]; then
  command -v prometheus >/dev/null || need+=(prometheus)
  for lib in libprotobuf-c1 libmicrohttpd12; do
    dpkg-query -W -f='${Status}' "$lib" 2>/dev/null | grep -q "ok installed" || need+=("$lib")
  done
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${need[*]}" >&2
  echo "install them with: sudo apt-get install ${need[*]}  (or run make as root)" >&2
  exit 1
fi
echo "installing ${need[*]} ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends keeps collectd's long list of optional plugins' libraries out.
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts the daemon it installs; the project runs its own.
if [ -d /run/systemd/system ]; then systemctl disable --now collectd prometheus >/dev/null 2>&1 || true; fi
