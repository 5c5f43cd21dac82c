/*
 * spawn-limit: this machine's own limit on starting pppd stand-ins, for `npm run bench:load`.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Usage: spawn-limit PROGRAM N
 * Starts N copies of PROGRAM in a tight posix_spawn loop, each with one end of its own
 * socketpair as stdin and stdout (as pppd runs under l2tpd), then sends each one HDLC frame
 * (an LCP Echo-Request) and waits until every copy has answered: a started process that is
 * really running. Prints one JSON line: {"n", "spawnMs" (the loop alone), "answeredMs"}.
 * Then closes the sockets (the stand-in exits on EOF) and reaps every copy.
 * No l2tpd code involved: what the kernel and libc allow, to compare l2tpd's start rate with.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* FCS-16 (RFC 1662 appendix C), bitwise: one frame, speed irrelevant. */
static uint16_t fcs16(const uint8_t *p, size_t n)
{
	uint16_t fcs = 0xffff;
	while (n--) {
		fcs ^= *p++;
		for (int i = 0; i < 8; i++)
			fcs = (fcs & 1) ? (fcs >> 1) ^ 0x8408 : fcs >> 1;
	}
	return fcs ^ 0xffff;
}

/* Async HDLC: flag, body and FCS with 0x7E, 0x7D and every control octet escaped, flag. */
static size_t encode(const uint8_t *frame, size_t n, uint8_t *out)
{
	uint8_t body[64];
	size_t len = 0, k = 0;
	for (size_t i = 0; i < n; i++)
		body[len++] = frame[i];
	uint16_t fcs = fcs16(frame, n);
	body[len++] = fcs & 0xff;
	body[len++] = fcs >> 8;
	out[k++] = 0x7e;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = body[i];
		if (c < 0x20 || c == 0x7e || c == 0x7d) {
			out[k++] = 0x7d;
			c ^= 0x20;
		}
		out[k++] = c;
	}
	out[k++] = 0x7e;
	return k;
}

int main(int argc, char **argv)
{
	if (argc != 3 || atoi(argv[2]) <= 0) {
		fprintf(stderr, "usage: spawn-limit PROGRAM N\n");
		return 2;
	}
	int n = atoi(argv[2]);
	int *socks = calloc(n, sizeof *socks);
	pid_t *pids = calloc(n, sizeof *pids);
	struct pollfd *pfd = calloc(n, sizeof *pfd);
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	char *child_argv[] = { argv[1], "notty", NULL };
	static const uint8_t echo_request[] = { 0xff, 0x03, 0xc0, 0x21, 0x09, 0x01, 0x00, 0x08,
						0x00, 0x00, 0x00, 0x00 };
	uint8_t wire[128];
	size_t wire_len = encode(echo_request, sizeof echo_request, wire);

	double t0 = now_ms();
	for (int i = 0; i < n; i++) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
			perror("socketpair");
			return 1;
		}
		posix_spawn_file_actions_t fa;
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
		posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
		posix_spawn_file_actions_adddup2(&fa, devnull, 2);
		int r = posix_spawn(&pids[i], argv[1], &fa, NULL, child_argv, environ);
		posix_spawn_file_actions_destroy(&fa);
		close(sv[1]);
		if (r != 0) {
			fprintf(stderr, "posix_spawn %s: %s\n", argv[1], strerror(r));
			return 1;
		}
		socks[i] = sv[0];
	}
	double t_spawned = now_ms();
	for (int i = 0; i < n; i++) {
		if (write(socks[i], wire, wire_len) != (ssize_t)wire_len) {
			perror("write");
			return 1;
		}
		pfd[i].fd = socks[i];
		pfd[i].events = POLLIN;
	}
	int answered = 0;
	while (answered < n) {
		if (poll(pfd, n, 60000) <= 0) {
			fprintf(stderr, "spawn-limit: %d of %d answered in 60 s\n", answered, n);
			return 1;
		}
		for (int i = 0; i < n; i++) {
			if (pfd[i].fd >= 0 && pfd[i].revents != 0) {
				uint8_t buf[256];
				(void)!read(pfd[i].fd, buf, sizeof buf);
				pfd[i].fd = -1; /* answered: poll ignores it from now on */
				answered++;
			}
		}
	}
	double t_answered = now_ms();
	for (int i = 0; i < n; i++)
		close(socks[i]);
	for (int i = 0; i < n; i++)
		waitpid(pids[i], NULL, 0);
	printf("{\"n\":%d,\"spawnMs\":%.1f,\"answeredMs\":%.1f}\n", n, t_spawned - t0,
	       t_answered - t0);
	return 0;
}
