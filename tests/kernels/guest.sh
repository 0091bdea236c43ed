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
bash $R/cmd.sh < /dev/null
rc=$?
echo "$rc" > $R/rc.tmp && mv $R/rc.tmp $R/rc
dmesg > $R/dmesg 2>/dev/null
sync
busybox poweroff -f
sleep 10
