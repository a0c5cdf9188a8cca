#!/bin/bash
# Builds the benchmark programs into BUILD/bench-bin from the release build's
# static libraries (bench/ is not part of the meson project):
#   bench/build.sh [BUILD]     (default: build-bench)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build-bench}
OUT=$BUILD/bench-bin
mkdir -p "$OUT"
CFLAGS="-std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wno-unused-parameter -Werror"
cc $CFLAGS -o "$OUT/media_load" "$ROOT/bench/media_load.c" "$ROOT/bench/srtp_lite.c" \
	$(pkg-config --cflags --libs nettle libsrtp2)
cc $CFLAGS -DFLOOR_URING -o "$OUT/media_floor" "$ROOT/bench/media_floor.c" $(pkg-config --cflags --libs liburing)
cc $CFLAGS -I"$ROOT/gateway" -I"$BUILD" -o "$OUT/media_relay" "$ROOT/bench/media_relay.c" \
	"$BUILD/gateway/media/libpc_media.a" "$BUILD/gateway/core/libpc_core.a" \
	$(pkg-config --cflags --libs libevent_core nettle gnutls liburing)
for kh in keyholder_rtt digest_rtt; do
	cc $CFLAGS -I"$ROOT" -I"$ROOT/gateway" -I"$BUILD" -o "$OUT/$kh" "$ROOT/bench/$kh.c" \
		"$BUILD/gateway/keyholder/libpc_keyholder.a" "$BUILD/policy/libpc_policy.a" \
		"$BUILD/gateway/sandbox/libpc_sandbox.a" "$BUILD/gateway/config/libpc_config.a" \
		"$BUILD/gateway/core/libpc_core.a" \
		$(pkg-config --cflags --libs gnutls libseccomp nettle sofia-sip-ua libconfig)
done
cc $CFLAGS -I"$ROOT" -I"$ROOT/gateway" -I"$BUILD" -o "$OUT/stir_rate" "$ROOT/bench/stir_rate.c" \
	"$BUILD/gateway/sti/libpc_sti.a" "$BUILD/gateway/http/libpc_http.a" "$BUILD/gateway/stir/libpc_stir.a" \
	"$BUILD/gateway/keyholder/libpc_keyholder.a" "$BUILD/policy/libpc_policy.a" \
	"$BUILD/gateway/sandbox/libpc_sandbox.a" "$BUILD/gateway/config/libpc_config.a" \
	"$BUILD/gateway/core/libpc_core.a" \
	$(pkg-config --cflags --libs gnutls libseccomp nettle sofia-sip-ua jansson libtasn1 libcurl libevent_core libconfig)
"$OUT/media_load" --selftest >/dev/null
