#!/bin/bash
# cluster_failover.sh with a standby that starts late (issue 12): node B
# starts only after the call was answered and its record written, so no
# notice of it ever reaches B; B must load every call record from Redis
# when it connects (cluster/calls.c, cl_calls_load) and take the call over
# all the same: media through the failover, the BYE afterwards, the
# record gone. Without the load the takeover reports 0 calls.
# test-timeout: 120
LATE_STANDBY=1
. "$TESTS/integration/cluster_failover.sh"
