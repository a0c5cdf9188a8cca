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

start_trunk uas_trunk_fail.xml
python3 "$TESTS/integration/txn_retransmit.py" invite || rc=1
wait_trunk
n=$(grep -c "^INVITE " "$WORK/trunk_msg.log")
if [ "$n" -eq 1 ]; then echo "PASS txn_retransmit.invite_forwarded_once"
else echo "FAIL txn_retransmit.invite_forwarded_once: the trunk got $n INVITEs"; rc=1; fi
rm -f "$WORK/trunk_msg.log"

start_trunk uas_trunk.xml
python3 "$TESTS/integration/txn_retransmit.py" bye || rc=1
wait_trunk
n=$(grep -c "^BYE " "$WORK/trunk_msg.log")
if [ "$n" -eq 1 ]; then echo "PASS txn_retransmit.bye_forwarded_once"
else echo "FAIL txn_retransmit.bye_forwarded_once: the trunk got $n BYEs"; rc=1; fi

[ "$(counter retransmissions_absorbed)" -ge 4 ] || { echo "FAIL txn_retransmit.counted: absorbed retransmissions not counted"; rc=1; }
stop_gateway
exit $rc
