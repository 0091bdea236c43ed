#!/bin/bash
# PID 1 of a kernel-test guest after switch_root (init runs it from the results share, where
# run.sh copied it): runs cmd.sh, leaves its exit status in rc and the kernel log in dmesg for
# the host, and powers off. As PID 1 it must never exit: the kernel would panic.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
R=/run/kernel
. $R/config
read -r up _ < /proc/uptime
echo "kernel: $(uname -r) up, ${up}s from kernel start to the command"
cd "$CWD" || cd "$REPO_DIR" || cd /
# The first TCP connection of the boot turns on a static key (net_get_random_once: DO_ONCE),
# whose text patching a worker does later; under TCG another vCPU hitting the patch site then
# took an int3 oops in secure_tcp_seq_and_ts_off (6.12, once, mid-test; the likeliest cause of
# an int3 at a patched nop there). One connection here,
# while nothing else runs, and a moment for the worker.
python3 -c '
import socket
for fam, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    try:
        l = socket.socket(fam); l.bind((addr, 0)); l.listen(1)
        c = socket.create_connection(l.getsockname()[:2]); l.accept()[0].close(); c.close(); l.close()
    except OSError:
        pass' 2>/dev/null
sleep 1
# The test receivers' npm packages (tests/integration/node/node_modules, ~4700 files) do not
# change under a test, but the work tree's share (cache=mmap) asks the host about every path
# component of every file each time: under TCG node took 22 s to start the OTLP receiver from
# there, 5 s with them read through the root's share (cache=loose) under the overlay, which a
# bind of / without its submounts still shows. Read-only here: npm ci runs on the host.
nm=$REPO_DIR/tests/integration/node/node_modules
if [ -d "$nm" ] && mkdir -p /run/rootfs && mount --bind / /run/rootfs; then
	[ -d "/run/rootfs$nm" ] && mount --bind "/run/rootfs$nm" "$nm" && mount -o remount,bind,ro "$nm"
	umount /run/rootfs
fi
bash $R/cmd.sh < /dev/null
rc=$?
echo "$rc" > $R/rc.tmp && mv $R/rc.tmp $R/rc
dmesg > $R/dmesg 2>/dev/null
sync
busybox poweroff -f
sleep 10
