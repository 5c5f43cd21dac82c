#!/bin/sh
# lab: needs-daemon timeout=420
# ours-pair-sequencing on the kernel data path (issue 12), shorter: our LAC and our LNS both
# with `dataPath: kernel` and `sequencing: true`, 2 tunnels of 2 calls. Both tunnels come
# from 192.0.2.2:1701, and one socket holds one kernel tunnel: one tunnel a side is a kernel
# one (its 2 sessions in `ip l2tp show session`, sequenced by the kernel), the other stays
# on the userspace path. Every data message on the wire carries sequence numbers, every link
# pings both ways; one LNS worker is killed while the other's links ping (none lost), the
# LAC redials and all links ping again.
PAIR_TUNNELS=2
PAIR_CALLS=2
OURS_DATA_PATH=kernel
. "$LAB_REPO/test/e2e/scenarios/ours-pair-sequencing.sh"
