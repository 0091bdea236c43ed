/* SPDX-License-Identifier: GPL-2.0 */
/* The agent's local control socket (a unix stream socket, default /run/obsbpf/obsbpf.sock) and
 * its two clients, `obsbpf status` and `obsbpf observe`.
 *
 * Protocol: the client sends one request line, the agent answers with JSON:
 *   "status\n"        -> one JSON document (see docs/design.md), then the agent closes.
 *   "observe[ POD]\n" -> one JSON object per line per completed request (of POD only, when
 *                        given), until the client goes away. */
#ifndef OBSBPF_CTL_H
#define OBSBPF_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct loop;
struct strbuf;
struct ctl_server;

#define CTL_DEFAULT_SOCKET "/run/obsbpf/obsbpf.sock"

/* Fills the status document (a JSON object). */
typedef void (*ctl_status_fn)(void *arg, struct strbuf *json);

/* Listens on path (its directory is created 0700; a stale socket is replaced, a live one is an
 * error). Prints one line and returns NULL on error. */
struct ctl_server *ctl_server_start(struct loop *l, const char *path, ctl_status_fn status, void *arg);
/* Closes every client, removes the socket. */
void ctl_server_stop(struct ctl_server *s);

/* Connected observers (so that events are only rendered when someone watches). */
int ctl_server_observers(const struct ctl_server *s);
/* Called with the arg given to ctl_server_start whenever the number of observers changes. */
typedef void (*ctl_observers_fn)(void *arg, int observers);
void ctl_server_on_observers(struct ctl_server *s, ctl_observers_fn fn);
/* Queues one JSON line (without '\n') to every observer of this pod. Never blocks: an
 * observer whose buffer is full loses the line (counted); one that stays full is dropped. */
void ctl_server_publish(struct ctl_server *s, const char *pod, const char *json, size_t len);
/* Lines lost to slow observers, and observers disconnected for being too slow. */
uint64_t ctl_server_dropped(const struct ctl_server *s);
uint64_t ctl_server_kicked(const struct ctl_server *s);

/* Clients: exit status (0, or 1 after one line on stderr). */
int ctl_status(const char *path, bool json, FILE *out);
int ctl_observe(const char *path, const char *pod, bool json, FILE *out);

/* Human renderings of the JSON documents (pure; unit-tested). Return 0 or -EINVAL. */
int ctl_render_status(FILE *out, const char *json);
int ctl_render_event(struct strbuf *out, const char *json_line);

#endif
