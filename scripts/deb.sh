#!/usr/bin/env bash
# Builds build/collectd-anomaly_<version>_<arch>.deb with dpkg-deb from what
# `make build` and `make anomaly` left in build/: the plugin, the command,
# the rule packs as conffiles, the Grafana files, a man page and the
# documentation Debian expects. Called by `make deb`; the last line it
# prints names the package.
#
#   scripts/deb.sh [PLUGIN [COMMAND]]     (defaults build/anomaly.so, build/anomaly)
#
# VERSION (the Makefile's) is the upstream version; DEBFULLNAME and DEBEMAIL
# (Debian's convention, as for dch) name the maintainer, else git's user.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
so=${1:-build/anomaly.so}
cmd=${2:-build/anomaly}
pkg=collectd-anomaly
for f in "$so" "$cmd"; do
  [ -f "$f" ] || { echo "deb.sh: $f missing: run make build anomaly (or make deb)" >&2; exit 1; }
done
# The version: a tag on HEAD (v1.2.3 -> 1.2.3) as it is; otherwise VERSION
# plus the commit's date and hash, so that later commits sort later for
# dpkg and the hash says what was built. A dirty tree says so: such a
# package is not what any commit holds.
base=${VERSION:-0.0.0}
epoch=$(date +%s)
if git rev-parse --git-dir >/dev/null 2>&1; then
  epoch=$(git log -1 --format=%ct)
  if tag=$(git describe --tags --exact-match 2>/dev/null); then
    version=${tag#v}
  else
    version="$base+git$(TZ=UTC date -d "@$epoch" +%Y%m%d).$(git rev-parse --short HEAD)"
  fi
  git diff --quiet HEAD -- 2>/dev/null || version+=".dirty"
else
  version=$base
fi
# Debian versions start with a digit and hold only these characters.
[[ $version =~ ^[0-9][A-Za-z0-9.+~]*$ ]] || { echo "deb.sh: $version is no Debian version" >&2; exit 1; }
# Timestamps from the commit, not the clock: two builds of one commit give
# the same changelog and man page (gzip -n leaves out names and times).
export SOURCE_DATE_EPOCH=$epoch
arch=$(dpkg --print-architecture)
maintainer="${DEBFULLNAME:-$(git config user.name 2>/dev/null || echo collectd-anomaly maintainers)} <${DEBEMAIL:-$(git config user.email 2>/dev/null || echo root@localhost)}>"

stage=build/deb
root=$stage/root
rm -rf "$stage"
umask 022
mkdir -p "$root/DEBIAN"

# The plugin must be a file, not a symlink: collectd 5.12 refuses to load a
# symlinked .so. Stripped as dh_strip would: the symbol tables are most of
# a Go binary's size, and a .so keeps its dynamic symbols (collectd's
# module_register) whatever strip removes.
install -D -m 0644 "$so" "$root/usr/lib/collectd/anomaly.so"
install -D -m 0755 "$cmd" "$root/usr/bin/anomaly"
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
  "$root/usr/lib/collectd/anomaly.so" "$root/usr/bin/anomaly"

# The rule packs. Debian's collectd.conf reads /etc/collectd/collectd.conf.d
# with Filter "*.conf": the host pack is on; the e-commerce pack (it expects
# the shop's own series) and the simulation (it would mix made-up traffic
# into real values) are off until renamed to .conf. The names start with
# "anomaly-" because the directory is shared with other packages. Each
# file says at its top how it was shipped.
etc_dir=/etc/collectd/collectd.conf.d
etc=$root$etc_dir
install -d "$etc"
ship() { # source, installed name, what the header says
  { printf '%s\n' "# Shipped by the Debian package $pkg as $etc_dir/$2." "$3" '#'; cat "$1"; } > "$etc/$2"
  chmod 0644 "$etc/$2"
}
ship collectd.conf.d/host.conf anomaly-host.conf \
  "# On: collectd reads every *.conf here. Rename it (to .conf.disabled) to turn it off."
ship collectd.conf.d/anomaly.conf anomaly-ecommerce.conf.disabled \
  "# Off: collectd reads only *.conf here. To turn it on:
#   mv $etc_dir/anomaly-ecommerce.conf.disabled $etc_dir/anomaly-ecommerce.conf"
ship collectd.conf.d/simulation.conf anomaly-simulation.conf.disabled \
  "# Off: simulated traffic beside the real values. To turn it on (it needs a
# pack with LoadPlugin anomaly, e.g. anomaly-ecommerce.conf, whose rules it feeds):
#   mv $etc_dir/anomaly-simulation.conf.disabled $etc_dir/anomaly-simulation.conf"
# dpkg keeps what an administrator changed in these across upgrades, and
# keeps them on remove (purge deletes them).
(cd "$root" && find etc -type f | sort | sed 's|^|/|') > "$root/DEBIAN/conffiles"

share=$root/usr/share/$pkg
(cd grafana && find . -type f) | while read -r f; do
  install -D -m 0644 "grafana/$f" "$share/grafana/$f"
done
# Reserved for the plugin's state; empty as shipped. postrm removes it on purge.
install -d -m 0755 "$root/var/lib/$pkg"

# The man page, from the command's own --help and its commands' (man.sh).
doc=$root/usr/share/doc/$pkg
man=$root/usr/share/man/man1
install -d "$doc" "$man"
./scripts/man.sh "$cmd" "$version" "$(TZ=UTC date -d "@$epoch" +%F)" | gzip -9n > "$man/anomaly.1.gz"

# A Debian changelog for this build: a native package's changelog.gz. The
# commits since the last tag (or the last 20) say what is in it.
date_rfc=$(LC_ALL=C date -R -u -d "@$epoch")
{
  echo "$pkg ($version) unstable; urgency=medium"
  echo
  if git rev-parse --git-dir >/dev/null 2>&1; then
    range=HEAD; last=$(git describe --tags --abbrev=0 2>/dev/null) && range="$last..HEAD"
    git log --no-merges --format='  * %s' -n 20 "$range" | fold -s -w 78 | sed -e 's/ *$//' -e 's/^\([^ ]\)/    \1/'
  else
    echo "  * Built from a source tree without git history."
  fi
  echo
  echo " -- $maintainer  $date_rfc"
} | gzip -9n > "$doc/changelog.gz"
gzip -9n < README.md > "$doc/README.md.gz"
# The fleet topologies (README, "Fleet"): examples, where Debian keeps them.
(cd examples && find . -type f) | while read -r f; do
  install -D -m 0644 "examples/$f" "$doc/examples/$f"
done

# The copyright file, machine-readable (DEP-5). The repository names no
# licence: the file says so rather than invent one. The Go modules linked
# into the binaries are listed: their licences travel with their sources.
{
  echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
  echo "Upstream-Name: $pkg"
  echo "Comment: Go modules compiled into /usr/bin/anomaly and"
  echo " /usr/lib/collectd/anomaly.so:"
  { go version -m "$so" "$cmd" 2>/dev/null || true; } | awk '$1 == "dep" { print " " $2 " " $3 }' | sort -u
  echo
  echo "Files: *"
  echo "Copyright: $(TZ=UTC date -d "@$epoch" +%Y) collectd-anomaly maintainers"
  echo "License: not-stated"
  echo " The collectd-anomaly repository does not state a licence yet; this"
  echo " package grants no rights beyond what its authors grant."
} > "$doc/copyright"

# Purge removes the state directory: dpkg removes only the empty directory
# it shipped, and the state in it belongs to the package. Remove keeps the
# conffiles, and an enabled pack then loads a plugin that is gone: collectd
# refuses such a configuration, so postrm says so (it must not edit the
# conffiles itself). Plain sh with set -e, as Debian's maintainer scripts
# are (dash has no pipefail; there is no pipe here).
cat > "$root/DEBIAN/postrm" <<'SH'
#!/bin/sh
set -e
case "$1" in
remove)
  for f in /etc/collectd/collectd.conf.d/anomaly-*.conf; do
    [ -e "$f" ] || continue
    echo "collectd-anomaly: $f stays (a configuration file) and loads the plugin just removed:" >&2
    echo "collectd-anomaly: collectd refuses to start with it; purge the package (dpkg -P collectd-anomaly) or rename it to .conf.disabled" >&2
  done
  ;;
purge)
  rm -rf /var/lib/collectd-anomaly
  ;;
esac
SH
chmod 0755 "$root/DEBIAN/postrm"

# libc6's version from the symbols the binaries use, as dpkg-shlibdeps finds
# it for any Debian package (it wants a debian/control to read).
libc=libc6
if command -v dpkg-shlibdeps >/dev/null; then
  mkdir -p "$stage/src/debian"
  printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$pkg" "$pkg" > "$stage/src/debian/control"
  libc=$(cd "$stage/src" && dpkg-shlibdeps -O "$repo/$root/usr/bin/anomaly" "$repo/$root/usr/lib/collectd/anomaly.so" 2>/dev/null |
    sed -n 's/^shlibs:Depends=//p') || true
  [ -n "$libc" ] || libc=libc6
fi

(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
# collectd-core (>= 5.12): the plugin is built against its headers; the
# structures it shares with the daemon are 5.12's.
cat > "$root/DEBIAN/control" <<CONTROL
Package: $pkg
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $size
Depends: collectd-core (>= 5.12), $libc
Section: utils
Priority: optional
Description: anomaly detection plugin for collectd, with rule packs
 A collectd plugin that judges the values collectd handles against rules:
 thresholds over moving windows, shares, spikes against a recent baseline,
 a detector that learns each host's normal, and missing data. Alerts leave
 as collectd notifications, so the logfile, syslog, email or exec plugins
 deliver them; values and alerts can also go to InfluxDB.
 .
 The host rule pack (CPU, memory, disks, interfaces, processes) is on; the
 e-commerce pack and a traffic simulation ship disabled. The anomaly
 command checks configurations and replays and evaluates rules offline.
 Grafana provisioning files are under /usr/share/collectd-anomaly/grafana.
CONTROL

# Timestamps from the commit as well, so that the archive's do not vary.
find "$root" -exec touch -h -d "@$epoch" {} +
out=build/${pkg}_${version}_${arch}.deb
# One package in build/: the README's `dpkg -i build/collectd-anomaly_*.deb`
# must not install every version ever built.
rm -f build/"${pkg}"_*.deb
# --root-owner-group: files root:root whoever builds.
dpkg-deb --root-owner-group --build "$root" "$out" >/dev/null
echo "$out"
