// SPDX-License-Identifier: GPL-2.0
/* The control socket's request reading (ctl/server.c) on a real unix socket and event loop:
 * a client sends the input (in two writes, split where the first byte says), the server
 * answers; an observer then gets one published line and its pod filter (an fnmatch pattern
 * from the request) is applied; the client goes away. The server lives for the whole run, so
 * a client it failed to drop would show as a leak of its 32 slots. */
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "fuzz.h"
#include "loop/loop.h"
#include "util/strbuf.h"

static struct loop *L;
static struct ctl_server *S;
static struct sockaddr_un sa = { .sun_family = AF_UNIX };
static int observers;
static char dir[] = "/tmp/obsbpf-fuzz-ctl-XXXXXX";

static void status(void *arg, struct strbuf *b)
{
	(void)arg;
	sb_puts(b, "{\"mode\":\"daemon\",\"pods\":[]}");
}

static void on_observers(void *arg, int n)
{
	(void)arg;
	observers = n;
}

static void cleanup(void)
{
	ctl_server_stop(S);
	loop_free(L);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_quiet();
	FUZZ_CHECK(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/ctl.sock", dir);
	FUZZ_CHECK((L = loop_new()));
	FUZZ_CHECK((S = ctl_server_start(L, sa.sun_path, status, NULL)));
	ctl_server_on_observers(S, on_observers);
	atexit(cleanup);
	return 0;
}

/* Reads what the server sent; returns true once it closed its end. */
static bool drain(int fd)
{
	char buf[4096];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0)
			return true;
		if (n < 0)
			return false;
	}
}

static void spin(int turns)
{
	for (int i = 0; i < turns; i++)
		loop_run_once(L, 0);
}

/* A status request still gets its answer: no client slot was left taken. */
static void probe(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	FUZZ_CHECK(send(fd, "status\n", 7, MSG_NOSIGNAL) == 7);
	char buf[256];
	ssize_t n = 0;
	for (int i = 0; i < 8 && n <= 0; i++) {
		spin(1);
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	}
	FUZZ_CHECK(n > 0 && buf[0] == '{');
	close(fd);
	spin(1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	size_t cut = data[0] % size;
	data++, size--;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	spin(1); /* accepted */
	if (cut > size)
		cut = size;
	if (cut)
		FUZZ_CHECK(send(fd, data, cut, MSG_NOSIGNAL) == (ssize_t)cut);
	spin(2);
	if (size > cut && send(fd, data + cut, size - cut, MSG_NOSIGNAL) > 0)
		spin(2);
	bool closed = drain(fd);
	if (!closed && observers) {
		ctl_server_publish(S, "web-7d4b9", "{\"pod\":\"web-7d4b9\",\"status\":200}", 32);
		ctl_server_publish(S, NULL, "{}", 2);
		spin(1);
		drain(fd);
	}
	close(fd);
	for (int i = 0; i < 8 && observers; i++)
		spin(1);
	spin(2);
	FUZZ_CHECK(observers == 0); /* the server saw the client go */
	static unsigned runs;
	if (++runs % 16 == 0)
		probe();
	return 0;
}
