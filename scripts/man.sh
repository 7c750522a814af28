#!/usr/bin/env bash
# Writes the man page anomaly(1) to stdout from the command's own help:
# `anomaly --help` for the name, synopsis and description, and each
# command's --help (usage, what it does, its flags) for COMMANDS. The page
# says what the binary says, so it cannot drift from it. Used by deb.sh.
#
#   scripts/man.sh COMMAND VERSION [DATE]      (DATE: YYYY-MM-DD, default today)
#
# help2man would run only the top level and read its "Usage:" list as a
# subsection; a few lines of awk know Go's flag output instead.
set -euo pipefail
cmd=$1
version=$2
date=${3:-$(date -u +%F)}
# The commands print their help on stderr.
top=$("$cmd" --help 2>&1)
commands=$(sed -n 's/^  anomaly \([a-z]*\) .*/\1/p' <<<"$top")
[ -n "$commands" ] || { echo "man.sh: no commands in $cmd --help" >&2; exit 1; }

# roff escapes: a backslash, a minus sign (else a hyphen that breaks lines
# and copy-paste), a leading . or ' (else a request).
roff() { sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }

echo ".TH ANOMALY 1 \"$date\" \"collectd-anomaly $version\" \"User Commands\""
echo ".SH NAME"
# "anomaly: what it does" -> "anomaly \- what it does"
head -n1 <<<"$top" | roff | sed 's/^anomaly: /anomaly \\- /'
echo ".SH SYNOPSIS"
sed -n 's/^  anomaly \([a-z]*\) \(.*\)/\1 \2/p' <<<"$top" | roff | while read -r name args; do
  printf '.B anomaly %s\n%s\n.br\n' "$name" "$args"
done
echo ".SH DESCRIPTION"
head -n1 <<<"$top" | roff | sed 's/^anomaly: //; s/^./\U&/; s/$/./'
echo ".PP"
echo "Commands:"
# "  anomaly NAME ARGS" then "      summary": a tagged paragraph each.
roff <<<"$top" | awk '
  /^  anomaly / { print ".TP"; print "\\fB" $2 "\\fR"; next }
  /^      /     { sub(/^ +/, ""); print; next }'
echo ".PP"
tail -n1 <<<"$top" | roff

echo ".SH COMMANDS"
for c in $commands; do
  echo ".SS \"anomaly $c\""
  # A command's help: "Usage: anomaly NAME ARGS", paragraphs (indented
  # lines are tables: kept as they are), then "Flags ...:" and Go's
  # flag.PrintDefaults: "  -name type" with "    <tab>text" lines, or
  # "  -x<tab>text" for a one-letter bool.
  "$cmd" "$c" --help 2>&1 | roff | awk '
    function endpre() { if (pre) { print ".fi"; pre = 0 } }
    NR == 1 && /^Usage: / { sub(/^Usage: /, ""); print "\\fB" $1 " " $2 "\\fR"; $1 = $2 = ""; sub(/^ +/, ""); print; next }
    /^Flags/   { endpre(); print ".PP"; print; flags = 1; next }
    flags && /^  \\-[^\t]*\t/ { sub(/^  /, ""); split($0, f, "\t"); print ".TP"; print "\\fB" f[1] "\\fR"; print f[2]; next }
    flags && /^  \\-/         { sub(/^  /, ""); print ".TP"; print "\\fB" $0 "\\fR"; next }
    flags && /^    \t/        { sub(/^    \t/, ""); print; next }
    /^$/       { endpre(); print ".PP"; next }
    /^ /       { if (!pre) { print ".PP"; print ".nf"; pre = 1 }; print; next }
               { if (pre) { endpre(); print ".PP" }; print }
    END        { endpre() }'
done

cat <<'ROFF'
.SH FILES
.TP
.I /etc/collectd/collectd.conf.d/anomaly\-host.conf
The host rule pack, on: collectd reads every *.conf in the directory.
.TP
.I /etc/collectd/collectd.conf.d/anomaly\-ecommerce.conf.disabled
.TQ
.I /etc/collectd/collectd.conf.d/anomaly\-simulation.conf.disabled
The e\-commerce rule pack and the simulated shop, off until renamed to .conf.
.TP
.I /usr/lib/collectd/anomaly.so
The collectd plugin these files configure.
.TP
.I /usr/share/collectd\-anomaly/grafana/
Grafana provisioning files and the dashboard.
.SH EXAMPLES
.nf
anomaly check /etc/collectd/collectd.conf.d/anomaly\-host.conf
anomaly replay \-\-days 2 /etc/collectd/collectd.conf.d/anomaly\-ecommerce.conf.disabled
anomaly eval \-\-seeds 4 /etc/collectd/collectd.conf.d/anomaly\-ecommerce.conf.disabled
.fi
.SH SEE ALSO
.BR collectd (1),
.BR collectd.conf (5),
/usr/share/doc/collectd\-anomaly/README.md.gz
ROFF
