#!/bin/sh
# Quick start for a fresh Debian 12 machine, as root (or with sudo):
#   ./quickstart.sh run    install dependencies, build, create the development
#                          PKI, run the gateway in the foreground (embedded default)
#   ./quickstart.sh test   the same set-up, then every test (tests/run)
set -eu
cd "$(dirname "$0")"

PACKAGES="meson ninja-build pkg-config gcc clang libclang-rt-14-dev python3 python3-cryptography iproute2
  libsofia-sip-ua-dev libgnutls28-dev nettle-dev gnutls-bin libsrtp2-dev libevent-dev
  libconfig-dev libcmocka-dev libsqlite3-dev sqlite3 libseccomp-dev libjansson-dev libcurl4-gnutls-dev libtasn1-6-dev debhelper dpkg-dev groff-base strace sip-tester stunnel4 socat baresip-core tcpdump libhiredis-dev redis-server liburing-dev
  kamailio kamailio-tls-modules kamailio-secsipid-modules prometheus chromium"

install_packages() {
	missing=""
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	as_root=""
	[ "$(id -u)" -eq 0 ] || as_root=sudo
	echo "installing:$missing"
	$as_root apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends $missing >/dev/null
	# Debian's kamailio and prometheus packages enable and start system-wide
	# servers (SIP on port 5060 of every address, Prometheus on 9090); the
	# tests start their own, so one installed here is stopped and disabled
	# (one installed before is left alone).
	for svc in kamailio prometheus; do
		case " $missing " in *" $svc "*) ;; *) continue ;; esac
		if command -v systemctl >/dev/null 2>&1; then
			$as_root systemctl disable --now "$svc.service" >/dev/null 2>&1 || true
		fi
		# Without systemd the package's init script may have started it.
		if command -v service >/dev/null 2>&1; then
			$as_root service "$svc" stop >/dev/null 2>&1 || true
		fi
	done
}

setup() {
	install_packages
	./certs/mkdev.sh
	[ -f build/build.ninja ] || meson setup build >/dev/null
	ninja -C build
}

case "${1:-}" in
run)
	setup
	exec build/gateway/portcullis
	;;
test)
	setup
	exec tests/run
	;;
*)
	echo "usage: $0 run|test" >&2
	exit 2
	;;
esac
