#!/bin/bash
# A flood of maximal messages (60 KB datagrams of ~8,000 header lines) from
# one source at the configured request rate must not slow OPTIONS from
# another source past 10 ms (intake_flood.py), and each refusal is counted.
. "$TESTS/integration/lib.sh"
write_config "$WORK/gw.conf" required "" '
abuse = { request_rate = 50; request_burst = 100; };'
start_gateway "$WORK/gw.conf"
FLOOD_RATE=50 FLOOD_SECONDS=8 python3 "$TESTS/integration/intake_flood.py"
rc=$?
n=$(counter messages_refused_too_many_headers)
if [ "$n" -ge 100 ]; then echo "PASS intake_flood.refusals_counted"; else echo "FAIL intake_flood.refusals_counted: $n"; rc=1; fi
stop_gateway
exit $rc
