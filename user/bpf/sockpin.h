/* SPDX-License-Identifier: GPL-2.0 */
/* The sockhash outlives the agent that made it: pinned in bpffs, freed only once it is empty.
 *
 * A socket leaves a sockmap without loss only by closing. Removed while it lives (which is what
 * freeing the map does to every socket in it), its psock goes, and with it whatever the psock had
 * queued that the app had not read yet: where the sk_skb verdict of the FIONREAD fallback is
 * attached, every received byte passes through that queue. Measured on 6.18.44: kill -9 of an
 * agent under load failed 3 of ~2000 requests per run (the response acked by TCP, never read);
 * with the map pinned, none. So the map is pinned while the agent runs, left pinned when it dies
 * or exits with connections still in it, and unpinned by whichever agent finds it empty later. */
#ifndef OBSBPF_SOCKPIN_H
#define OBSBPF_SOCKPIN_H

#include <stddef.h>

/* Pins map_fd under dir (created if missing) as socks_<pid>_<start time>, the name in path.
 * 0 or -errno (no bpffs at dir, no permission). */
int sockpin_pin(int map_fd, const char *dir, char *path, size_t n);

/* Keys in any map that user space can walk (a sockhash's sockets; map_read.c's fill levels),
 * or -errno (-E2BIG for keys over 256 bytes). */
long map_count_keys(int map_fd);

/* Unpins every empty sockhash in dir that an agent no longer running left behind. Returns the
 * sockets still open in the ones kept, or -errno; *maps (may be NULL) gets how many were kept. */
long sockpin_reap(const char *dir, int *maps);

/* At exit, for the agent's own pin: unpins it when the sockhash is empty. Returns the sockets
 * left in it (0: unpinned), or -errno. */
long sockpin_release(int map_fd, const char *path);

/* Removes dir when nothing is pinned in it any more (an agent leaving the node tidy). */
void sockpin_tidy(const char *dir);

#endif
