#!/bin/bash
# The scripted Linux audit workload, run as root while an auditd records: watches on a data
# directory and on the audit log, reads by an account allowed to and by one refused, a write,
# a copy that is created and removed, the audit log's mode changed, a failed su, and the
# watches removed again. Usage: audit_workload.sh DIR AUDIT_LOG (DIR is created).
set -euo pipefail
dir=$1 log=$2
mkdir -p "$dir/data"
chmod 755 "$dir" "$dir/data"
echo "110105194912310021,zhang" >"$dir/data/customers.dat"
chgrp backup "$dir/data/customers.dat"
chmod 640 "$dir/data/customers.dat"
auditctl -w "$dir/data" -p rwa -k dg-data >/dev/null
auditctl -w "$log" -p wa -k dg-audit-trail >/dev/null
runuser -u backup -- cat "$dir/data/customers.dat" >/dev/null
runuser -u nobody -- cat "$dir/data/customers.dat" 2>/dev/null && exit 1
echo "110105195001010011,li" >>"$dir/data/customers.dat"
(cd "$dir" && cp data/customers.dat "data/copy of customers.dat" && rm "data/copy of customers.dat")
chmod 0644 "$log"
echo wrong | runuser -u nobody -- su -c true root >/dev/null 2>&1 && exit 1
auditctl -W "$dir/data" -p rwa -k dg-data >/dev/null
auditctl -W "$log" -p wa -k dg-audit-trail >/dev/null
