#!/bin/bash
# The Debian package (issue 11): builds it with dpkg-buildpackage from a copy
# of the tree (the work tree stays as it was), unpacks it with dpkg -x into a
# scratch root (nothing is installed on this system) and checks what an
# install gets: the three programs and nothing else executable (no test peers,
# no fuzz targets), the example configuration accepted by the packaged
# gateway with the development certificates where its header says they go
# and refused without one of them, its `user` the package's system user,
# which the maintainer script creates only when missing, the service neither
# enabled nor started on install, the manual pages rendering without a
# warning, the systemd unit accepted by systemd-analyze, every system call
# the packaged gateway makes from start to stop admitted by the unit's
# SystemCallFilter, a start that survives the sockets RestrictAddressFamilies
# refuses, and no lintian error.
# test-timeout: 480 (dpkg-buildpackage compiles the whole tree: 100-170 s on two cores)
. "$TESTS/integration/lib.sh"
top=$(cd "$TESTS/.." && pwd)

# The package does not depend on the sanitizer build: built once, in the
# normal pass.
case $(basename "$WORK") in
asan-*) echo "package: built and checked in the normal pass only"; exit 0 ;;
esac

failed=0
pass() { echo "PASS package.$1"; }
bad() { echo "FAIL package.$1 $2"; failed=1; }

for tool in dpkg-buildpackage dh dpkg-deb groff; do
	command -v "$tool" >/dev/null ||
		fail "$tool missing: quickstart.sh installs debhelper, dpkg-dev and groff-base"
done

# A copy of the tracked and new (not ignored) files as they are now: what a
# developer is about to commit is what gets packaged.
tree_before=$(git -C "$top" status --porcelain)
src="$WORK/src"
mkdir -p "$src"
(cd "$top" && git ls-files -co --exclude-standard -z |
	tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -xf - -C "$src" ||
	fail "cannot copy the tree"

started=$(date +%s)
if (cd "$src" && DEB_BUILD_OPTIONS="parallel=$(nproc) noautodbgsym" \
	dpkg-buildpackage -us -uc -b >"$WORK/build.log" 2>&1); then
	pass build
else
	tail -30 "$WORK/build.log" >&2
	fail "dpkg-buildpackage failed (build.log)"
fi
note "dpkg-buildpackage took $(($(date +%s) - started)) s"
[ "$(git -C "$top" status --porcelain)" = "$tree_before" ] && pass tree_untouched ||
	bad tree_untouched "the build changed the work tree"

deb=$(ls "$WORK"/portcullis_*_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "no .deb in $WORK"
root="$WORK/root"
dpkg -x "$deb" "$root" && dpkg-deb -e "$deb" "$WORK/control" || fail "cannot unpack $deb"

# Contents: the programs where the unit and the manual expect them, the
# configuration a conffile, and no other executable.
execs=$(cd "$root" && find . -type f -perm -u+x | sort | tr '\n' ' ')
[ "$execs" = "./usr/bin/portcullis-passwd ./usr/sbin/portcullis ./usr/sbin/portcullisctl " ] && pass executables ||
	bad executables "executables in the package: $execs"
missing=""
for f in etc/portcullis/portcullis.conf lib/systemd/system/portcullis.service \
	usr/share/man/man8/portcullis.8.gz usr/share/man/man5/portcullis.conf.5.gz \
	usr/share/man/man8/portcullis-passwd.8.gz usr/share/man/man8/portcullisctl.8.gz \
	usr/share/doc/portcullis/configuration.md.gz; do
	[ -f "$root/$f" ] || missing="$missing $f"
done
grep -qx /etc/portcullis/portcullis.conf "$WORK/control/conffiles" || missing="$missing conffile"
[ -z "$missing" ] && pass contents || bad contents "missing:$missing"

# The example configuration, with certificates where its header says they go
# (beside it); run from elsewhere so relative paths must resolve against the
# file's directory. The portcullis user exists only where the package was
# installed, so here the check names another one when it must.
conf="$root/etc/portcullis/portcullis.conf"
grep -qx 'user = "portcullis";' "$conf" && pass user_key ||
	bad user_key "the example does not set user = \"portcullis\""
"$top/certs/mkdev.sh" "$WORK/certs" >/dev/null || fail "cannot make the development PKI"
for f in gateway.crt gateway.key ca.crt sti.crt sti.key sti-ca.crt; do
	cp "$WORK/certs/$f" "$root/etc/portcullis/"
done
as_user=()
getent passwd portcullis >/dev/null || as_user=(--user nobody)
[ "$(id -u)" -eq 0 ] || as_user=(--user "$(id -un)")
out=$(cd / && "$root/usr/sbin/portcullis" --check-config --config "$conf" "${as_user[@]}" 2>&1)
[ "$out" = "$conf: configuration OK" ] && pass check_config || bad check_config "$out"
mv "$root/etc/portcullis/sti.key" "$WORK/sti.key"
out=$(cd / && "$root/usr/sbin/portcullis" --check-config --config "$conf" "${as_user[@]}" 2>&1) &&
	bad check_config_missing_key "accepted without sti.key"
[[ "$out" == *"$root/etc/portcullis/sti.key"* ]] && pass check_config_missing_key ||
	bad check_config_missing_key "missing key not named: $out"
mv "$WORK/sti.key" "$root/etc/portcullis/sti.key"
# Without --config the packaged binary looks in /etc/portcullis (-Dcertdir).
out=$("$root/usr/sbin/portcullis" --check-config "${as_user[@]}" 2>&1)
[[ "$out" == *"/etc/portcullis/"* || "$out" == *"configuration OK"* ]] && pass embedded_certdir ||
	bad embedded_certdir "the embedded default does not use /etc/portcullis: $out"

# The control socket: the example puts it in the unit's RuntimeDirectory,
# where the packaged portcullisctl looks by default.
if grep -q '^  socket = "/run/portcullis/control.sock";' "$conf" &&
	grep -qx 'RuntimeDirectory=portcullis' "$root/lib/systemd/system/portcullis.service" &&
	"$root/usr/sbin/portcullisctl" --help | grep -q 'default /run/portcullis/control.sock'; then
	pass control_socket_path
else
	bad control_socket_path "the example, the unit and portcullisctl disagree on the control socket"
fi

# The maintainer script, run against stubs that log what they are asked and
# answer as on a fresh install (deb-systemd-helper: the unit never installed
# before, "was-enabled" true as for a new unit): the user made only when
# missing, the service not enabled, and no start action at all (until
# certificates are in place it could not start; a restart drops calls).
stubs="$WORK/stubs"
mkdir -p "$stubs"
for cmd in adduser addgroup deb-systemd-invoke systemctl; do
	printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\n' "$cmd" "$stubs" >"$stubs/$cmd"
done
printf '#!/bin/sh\necho "deb-systemd-helper $*" >>"%s/calls"\n[ "$1" != debian-installed ]\n' \
	"$stubs" >"$stubs/deb-systemd-helper"
chmod +x "$stubs"/*
postinst_run() { # postinst_run USER_EXISTS(0|1)
	printf '#!/bin/sh\nexit %s\n' "$1" >"$stubs/getent"
	chmod +x "$stubs/getent"
	rm -f "$stubs/calls"
	PATH="$stubs:$PATH" sh "$WORK/control/postinst" configure "" >/dev/null 2>&1
	cat "$stubs/calls" 2>/dev/null
}
calls=$(postinst_run 1)
calls_again=$(postinst_run 0)
if [[ "$calls" == *"adduser --system --group"*" portcullis"* && "$calls_again" != *adduser* ]]; then
	pass postinst_user
else
	bad postinst_user "first: ${calls//$'\n'/; } / again: ${calls_again//$'\n'/; }"
fi
# The user store's group (the key holder keeps it to re-read the store).
if [[ "$calls" == *"addgroup --system"*" portcullis-users"* && "$calls_again" != *addgroup* ]]; then
	pass postinst_users_group
else
	bad postinst_users_group "first: ${calls//$'\n'/; } / again: ${calls_again//$'\n'/; }"
fi
if grep -qE 'deb-systemd-helper enable|systemctl (start|enable)' <<<"$calls" ||
	grep -qE 'deb-systemd-invoke|systemctl.*(start|enable)' "$WORK/control/postinst"; then
	bad postinst_no_start "postinst enables or starts the service: ${calls//$'\n'/; }"
else
	pass postinst_no_start
fi

# Manual pages: each renders, and groff has nothing to warn about.
man_bad=""
for page in "$root"/usr/share/man/man*/*.gz; do
	warn=$(zcat "$page" | LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z 2>&1)
	text=$(zcat "$page" | LC_ALL=C.UTF-8 groff -man -Tutf8 -P-bcou 2>/dev/null)
	[ -z "$warn" ] && grep -q NAME <<<"$text" || man_bad="$man_bad $(basename "$page"): $warn"
	if command -v man >/dev/null && ! MANWIDTH=80 man -l "$page" 2>/dev/null | grep -q SYNOPSIS; then
		man_bad="$man_bad $(basename "$page"): man -l"
	fi
done
[ -z "$man_bad" ] && pass man_pages || bad man_pages "$man_bad"

# The unit, with the binary at its unpacked path (verify runs what it names);
# verify exits 0 on a key it ignores, so any output fails.
unit="$root/lib/systemd/system/portcullis.service"
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$WORK/unit"
	sed "s|/usr/sbin/portcullis|$root/usr/sbin/portcullis|g" "$unit" >"$WORK/unit/portcullis.service"
	out=$(systemd-analyze verify --man=no "$WORK/unit/portcullis.service" 2>&1)
	[ -z "$out" ] && pass unit_verify || bad unit_verify "$out"
	systemd-analyze security --offline=true "$WORK/unit/portcullis.service" 2>/dev/null |
		grep 'Overall exposure' >&2
else
	echo "package: systemd-analyze not installed, unit not verified" >&2
fi

# Every system call of --check-config and of a real start, a counter dump
# and a stop, in both processes, against the unit's SystemCallFilter: the
# gateway's own seccomp filter comes later and is stricter, but everything
# before it (libraries' start-up, the key holder's fork) must pass systemd's.
expand_filter() { # every call a SystemCallFilter set names, groups expanded
	local item
	for item in "$@"; do
		case $item in
		@*) expand_filter $(systemd-analyze syscall-filter "$item" 2>/dev/null |
			sed -n '2,$p' | grep -v '^ *#' | tr -d ' ') ;;
		*) echo "$item" ;;
		esac
	done
}
# The traced runs use the example with its control socket moved out of
# /run/portcullis (systemd makes that directory; this test runs outside it)
# and ask the packaged portcullisctl for the counters over it.
run_conf="$root/etc/portcullis/run.conf"
sed "s|/run/portcullis/control.sock|$WORK/control.sock|" "$conf" >"$run_conf"
traced_run() { # traced_run NAME [STRACE OPTION...]: start, portcullisctl, SIGUSR1, SIGTERM; 0 if clean
	local name=$1
	shift
	strace -f -qq "$@" -o "$WORK/$name.trace" "$root/usr/sbin/portcullis" --config "$run_conf" \
		"${as_user[@]}" >"$WORK/$name.log" 2>&1 &
	local tracer=$!
	PIDS="$PIDS $tracer"
	for _ in $(seq 100); do grep -q 'running with' "$WORK/$name.log" && break; sleep 0.1; done
	local gw
	gw=$(sed -n 's/.*network process \([0-9]*\) runs as.*/\1/p' "$WORK/$name.log")
	[ -n "$gw" ] || { kill "$tracer"; return 1; }
	"$root/usr/sbin/portcullisctl" -s "$WORK/control.sock" counters >"$WORK/$name.ctl" 2>&1 ||
		{ kill "$tracer"; return 1; }
	kill -USR1 "$gw"; sleep 0.5; kill -TERM "$gw"
	wait "$tracer" && grep -q 'info: stopped' "$WORK/$name.log"
}
if command -v strace >/dev/null && command -v systemd-analyze >/dev/null; then
	expand_filter $(sed -n 's/^SystemCallFilter=//p' "$unit") | sort -u >"$WORK/allowed"
	# ExecStartPre's check runs under the same filter.
	strace -f -qq -o "$WORK/check.trace" "$root/usr/sbin/portcullis" --check-config \
		--config "$conf" "${as_user[@]}" >/dev/null 2>&1 || bad syscall_filter "check-config failed"
	if traced_run syscalls; then
		cat "$WORK/check.trace" "$WORK/syscalls.trace" |
			awk '{ sub(/^[0-9]+ +/, ""); if (match($0, /^[a-z_0-9]+\(/)) print substr($0, 1, RLENGTH - 1) }' |
			sort -u >"$WORK/used"
		outside=$(comm -23 "$WORK/used" "$WORK/allowed" | tr '\n' ' ')
		[ -s "$WORK/used" ] && [ -z "$outside" ] && pass syscall_filter ||
			bad syscall_filter "calls outside the unit's SystemCallFilter: $outside"
		# RestrictAddressFamilies: a socket of another family (glibc's
		# netlink query in getaddrinfo) fails with EAFNOSUPPORT under the
		# unit; the gateway must start and stop cleanly all the same.
		families=$(sed -n 's/^RestrictAddressFamilies=//p' "$unit")
		gw=$(awk '/socket\(/ { print $1; exit }' "$WORK/syscalls.trace")
		refused=$(grep -E "^$gw +socket\(" "$WORK/syscalls.trace" |
			awk -v ok=" $families " '{ split($2, f, /[(,]/); n++; if (index(ok, " " f[2] " ") == 0) print n }')
		if [ -z "$refused" ]; then
			pass address_families
		elif [ "$(wc -w <<<"$refused")" -gt 1 ]; then
			bad address_families "several sockets outside RestrictAddressFamilies ($families): extend this check"
		elif traced_run families -e trace=socket -e inject=socket:error=EAFNOSUPPORT:when="$refused" &&
			grep -q 'EAFNOSUPPORT.*INJECTED' "$WORK/families.trace"; then
			pass address_families
		else
			bad address_families "the gateway fails when socket $refused is refused: $(tail -3 "$WORK/families.log")"
		fi
	else
		bad syscall_filter "the packaged gateway did not run cleanly: $(tail -3 "$WORK/syscalls.log")"
	fi
else
	echo "package: strace or systemd-analyze not installed, system calls not checked" >&2
fi

# lintian, when installed: errors fail, warnings are the maintainer's call.
if command -v lintian >/dev/null; then
	changes=$(ls "$WORK"/portcullis_*.changes | head -1)
	lintian --tag-display-limit 0 "$changes" >"$WORK/lintian.log" 2>&1
	errors=$(grep '^E:' "$WORK/lintian.log")
	[ -z "$errors" ] && pass lintian || bad lintian "$errors"
	grep '^W:' "$WORK/lintian.log" >&2
else
	echo "package: lintian not installed, not run" >&2
fi
exit $failed
