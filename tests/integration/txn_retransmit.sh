#!/bin/bash
# Finished transactions keep answering retransmissions after they let go of
# the request (issue 12: a transaction in Completed keeps only its key and the
# bytes of its last response): a UDP caller's INVITE copies after the trunk's
# 486 get the same 486 and reach the trunk no more; a BYE copy after its 200
# gets the same 200 and the trunk sees one BYE. txn_retransmit.py is the caller,
# SIPp the trunk behind TLS.
. "$TESTS/integration/lib.sh"
call_config "$WORK/gw.conf"
start_gateway "$WORK/gw.conf"
rc=0

# case_once TRUNK_SCENARIO MODE METHOD NAME: the caller's MODE against the trunk;
# the trunk must have received METHOD exactly once.
case_once() {
	local n
	start_trunk "$1"
	python3 "$TESTS/integration/txn_retransmit.py" "$2" || rc=1
	wait_trunk
	n=$(grep -c "^$3 " "$WORK/trunk_msg.log")
	if [ "$n" -eq 1 ]; then echo "PASS txn_retransmit.$4"
	else echo "FAIL txn_retransmit.$4: the trunk got $n ${3}s"; rc=1; fi
	rm -f "$WORK/trunk_msg.log"
}
case_once uas_trunk_fail.xml invite INVITE invite_forwarded_once
case_once uas_trunk.xml bye BYE bye_forwarded_once

[ "$(counter retransmissions_absorbed)" -ge 4 ] || { echo "FAIL txn_retransmit.counted: absorbed retransmissions not counted"; rc=1; }
stop_gateway
exit $rc
