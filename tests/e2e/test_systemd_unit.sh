#!/usr/bin/env bash
# The service as installed: `cmake --install` puts the binary, unit, configuration, rule packs
# and README where Debian expects them; `systemd-analyze verify` is clean and
# `systemd-analyze security --offline=true` rates the unit's exposure 1.5 or less.
source "$(dirname "$0")/lib.sh"
command -v systemd-analyze >/dev/null || fail "systemd-analyze is not installed"
cmake -S "$DG_SOURCE_DIR" -B build -DCMAKE_INSTALL_PREFIX=/usr -DDG_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
DESTDIR=$WORK/root cmake --install build >/dev/null
for f in usr/bin/dgaudit etc/dgaudit/dgaudit.conf usr/lib/systemd/system/dgaudit.service \
	usr/share/dgaudit/rules.d/10-pipl.conf usr/share/doc/dgaudit/README.md; do
	[ -e "root/$f" ] || fail "cmake --install did not install /$f"
done
"root/usr/bin/dgaudit" check -c "root/etc/dgaudit/dgaudit.conf" | grep -qx "configuration OK" ||
	fail "the installed configuration does not check"
ok "cmake --install: /usr/bin, /etc/dgaudit, /usr/share/dgaudit/rules.d, /usr/lib/systemd/system"

unit=root/usr/lib/systemd/system/dgaudit.service
grep -q "^ExecStart=/usr/bin/dgaudit daemon -c /etc/dgaudit/dgaudit.conf$" "$unit" || fail "ExecStart"
# verify resolves ExecStart on this system: point it at the binary just installed.
sed "s|/usr/bin/dgaudit|$WORK/root/usr/bin/dgaudit|" "$unit" >dgaudit.service
out=$(systemd-analyze verify ./dgaudit.service 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify is not clean: $out"
exposure=$(systemd-analyze security --offline=true "$unit" 2>/dev/null |
	sed -n 's/.*Overall exposure level for dgaudit.service: \([0-9.]*\).*/\1/p')
[ -n "$exposure" ] || fail "no exposure level"
awk -v e="$exposure" 'BEGIN { exit !(e <= 1.5) }' || fail "exposure $exposure is above 1.5"
ok "systemd-analyze verify is clean; security exposure $exposure (at most 1.5)"
