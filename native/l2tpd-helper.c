/*
 * l2tpd-helper: starts, signals and reaps the pppds of one l2tpd worker thread.
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * One helper per worker thread (src/pppd/pppd-helper.ts starts it). Why a separate
 * small process rather than the worker forking: fork() copies the caller's page tables,
 * so from a 100-200 MiB daemon each spawn costs 11-15 ms on the worker's event loop; here
 * posix_spawn (vfork + exec) from a process of a few hundred KiB costs what exec costs.
 * And pppds need a live parent to reap them: a dead worker thread cannot.
 *
 * Started by the worker with its control channel (a socketpair) as fd 3. The helper forks
 * once and the first process exits at once, so the helper is re-parented to init (or the
 * nearest subreaper), which reaps it whenever it ends. When the control channel reaches
 * EOF (the worker thread died or was terminated, the daemon is gone, even by SIGKILL) or on
 * SIGTERM/SIGINT, every pppd gets SIGTERM, those left after 3 s SIGKILL, and the helper exits
 * once all are reaped. SIGHUP (the daemon's reload, sent to the process group) is ignored.
 *
 * pppd's data: for each spawn the helper connects a new Unix stream socket to the worker's
 * listening socket (given in HELLO, normally an abstract name), writes a 20-octet header
 * (the HELLO token and the request id), makes a pty pair and starts pppd with the slave as
 * its stdin and stdout (its tty, as under xl2tpd). The helper relays between the master and
 * that socket, doing the async HDLC (see "the relay" below): whole frames, as length records,
 * reach the worker, which accepts the socket and checks the token. No descriptor crosses
 * Node's IPC.
 * pppd's stderr (its log, `logfd 2`) is a pipe to the helper, relayed line by line.
 * The secret options (the LAC's password) come in the SPAWN request and go to pppd as fd 3,
 * an anonymous 0600 memfd; they never appear on a command line and are never logged.
 *
 * Control protocol: records in both directions, little-endian, typed on the Node side in
 * src/pppd/helper-protocol.ts (the reference; docs/architecture/ppp.md):
 *
 *   u32 length (octets after this field, >= 8) | u16 type | u16 flags (0) | u32 id | payload
 *
 * Version 5: DIRECT may receive too, and SENT records count what was received. Version 4:
 * DIRECT, and SENT records on the data socket. Version 3: SPAWN's pppd on a pty, frames
 * relayed here (version 2: pppd on the socket).
 *
 *   worker -> helper                         helper -> worker
 *   1 HELLO  token[16], listener address     0x81 READY   u32 pid, u16 version
 *   2 SPAWN  u16 argc, u16 envc,             0x82 STARTED u32 pid
 *            u32 secret length, path NUL,    0x83 LOG     text (id 0: the helper's own)
 *            args NUL..., NAME=value NUL..., 0x84 EXIT    i32 code (-1 none),
 *            secret octets                                u32 signal (0 none), error text
 *   3 KILL   u32 signal                      0x85 ERROR   u16 request type, text
 *                                            0x86 DONE    u16 request type, [stats]
 *   The kernel data path (version 2), each answered by DONE or ERROR with its id:
 *   4 PROBE         -                        (/dev/ppp, PPPoL2TP, netlink, pidfd_getfd)
 *   5 TUNNEL_CREATE u32 daemon fd, u16 tunnel, u16 peer tunnel, u16 peer port, peer address NUL
 *   6 TUNNEL_DELETE u16 tunnel
 *   7 SPAWN_KERNEL  u16 tunnel, session, peer tunnel, peer session, u16 options, u16 0,
 *                   u32 reorder ms, then SPAWN's payload (answered as SPAWN)
 *   8 STATS         - (id: a SPAWN_KERNEL's)  DONE carries 8 u64 session counters
 *   The userspace path's data messages (version 5; see "DIRECT" below), answered likewise:
 *   9 DIRECT        u32 SPAWN id, u32 daemon fd (or KEEP, STOP), u16 peer tunnel, peer session,
 *                   u16 header (1 L, 2 S, 4 receive), u16 offset padding, u16 Ns, u16 peer
 *                   port, u16 tunnel, u16 session, peer address NUL
 *
 * EXIT is the last record about an id: sent once pppd is reaped and its stderr drained
 * (2 s at most), or at once when it could not be started (the error is "ENAME: sentence").
 * KILL signals pppd only while it is ours and unreaped, so a reused PID is never signalled.
 * A request type this helper does not know gets ERROR, never a crash.
 *
 * Kernel tunnels: the daemon's main thread owns every UDP socket (it routes control
 * messages), so a tunnel's connected socket is the daemon's; the helper takes a copy of it
 * by number with pidfd_getfd (a pidfd on the daemon, opened before the helper forks away,
 * so a reused PID cannot fool it), registers it by generic netlink and closes the copy:
 * the tunnel's life is then the daemon's socket (its last close, SIGKILL included, deletes
 * it) or TUNNEL_DELETE. Node cannot pass a descriptor over a plain socketpair (SCM_RIGHTS
 * only on its IPC channel, one acknowledged handle at a time), and /proc/PID/fd/N cannot be
 * opened for a socket (ENXIO); pidfd_getfd needs Linux 5.6 and ptrace rights (root).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>  /* before the linux/ headers: glibc's netinet/in.h wins, no clash */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/if_pppox.h>
#include <linux/l2tp.h>
#include <linux/ppp-ioctl.h>

#define PROTOCOL_VERSION 5
#define CONTROL_FD 3

enum {
	REQ_HELLO = 1,
	REQ_SPAWN = 2,
	REQ_KILL = 3,
	REQ_PROBE = 4,
	REQ_TUNNEL_CREATE = 5,
	REQ_TUNNEL_DELETE = 6,
	REQ_SPAWN_KERNEL = 7,
	REQ_STATS = 8,
	REQ_DIRECT = 9,
	REP_READY = 0x81,
	REP_STARTED = 0x82,
	REP_LOG = 0x83,
	REP_EXIT = 0x84,
	REP_ERROR = 0x85,
	REP_DONE = 0x86,
};

/* SPAWN_KERNEL: pppd gets its PPPoL2TP session socket as this descriptor (3 is the secret). */
#define KERNEL_SESSION_FD 4
#define PDEATHSIG_MODE "--pdeathsig"
enum { OPT_LNS_MODE = 1, OPT_SEND_SEQ = 2, OPT_RECV_SEQ = 4 };

#define RECORD_HEADER 12        /* length, type, flags, id */
#define MAX_RECORD (1 << 20)    /* a request longer than this is a bug in the worker */
#define TOKEN_LEN 16
#define DATA_HEADER (TOKEN_LEN + 4)
#define KILL_GRACE_MS 3000      /* SIGTERM to SIGKILL when the worker is gone */
#define DRAIN_MS 2000           /* a grandchild holding pppd's stderr delays EXIT no longer */
#define MAX_LOG_LINE 1024       /* longer log lines are relayed in pieces */

extern char **environ;

/* What an epoll event is about: one of a child's descriptors. */
enum { W_STDERR, W_PTY, W_DATA, W_UDP };
struct child;
struct shared_socket;
struct watch {
	struct child *c;
	int kind;
	uint32_t events;        /* registered with epoll (0: not registered) */
	struct shared_socket *s; /* W_UDP's (c is NULL) */
};

/*
 * SPAWN's relay between pppd's pty and the worker's data socket (see "the relay" below).
 * Everything here is NULL/0 while the session is idle: what is left over between two reads
 * or writes is allocated only while it exists.
 */
struct relay {
	int ptyfd, datafd;      /* -1 once closed */
	/* pty -> worker: the frame being deframed when a read ended inside it */
	uint8_t *rx_part;
	uint16_t rx_len, rx_fcs;
	uint8_t rx_escaped, rx_discarding;
	/* worker -> pty: a record split between two reads of the data socket */
	uint8_t *in_part;
	size_t in_len;
	/* octets a write could not take (the other side is full): that direction pauses */
	uint8_t *to_data;
	size_t to_data_len;
	uint8_t *to_pty;
	size_t to_pty_len;
	/* DIRECT: frames from pppd leave as L2TP data messages on our copy of the tunnel's data
	 * socket (-1: as records to the worker), with this header; what was sent since the last
	 * SENT record, and when the next periodic one is due. With `receive`, the session's
	 * unsequenced data messages are read from that copy (for our tunnel and session IDs) */
	int udpfd;
	struct shared_socket *shared;
	uint16_t peer_tunnel, peer_session, ns, offset_pad, local_tunnel, local_session;
	uint8_t length_bit, sequence, receive;
	uint32_t sent_packets, sent_bytes, sent_dropped;
	uint32_t recv_packets, recv_bytes, recv_dropped;
	int64_t report_at;
};

/* One pppd, from SPAWN until EXIT has been sent. */
struct child {
	uint32_t id;
	pid_t pid;
	int errfd;              /* read end of pppd's stderr; -1 once at EOF */
	struct watch w_err, w_pty, w_data;
	struct relay relay;     /* SPAWN only; both fds -1 otherwise */
	struct child *next_dead;
	int l2tpfd;             /* SPAWN_KERNEL: our copy of the session socket (STATS); else -1 */
	uint16_t tunnel;        /* SPAWN_KERNEL: its kernel tunnel's ID; else 0 */
	int reaped;
	int status;             /* from waitpid, once reaped */
	int64_t drain_deadline; /* reaped, stderr still open: EXIT is sent by then */
	size_t log_len;
	char log[MAX_LOG_LINE];
};

static struct child **children;
static struct child *dead;      /* finished, freed once the epoll batch is handled */
static size_t n_children, cap_children;

static int epfd, sigfd;
static int control_open = 1;
static uint8_t *in_buf;
static size_t in_len, in_cap;

static int have_hello;
static uint8_t token[TOKEN_LEN];
static struct sockaddr_un listener;
static socklen_t listener_len, listener_len_alt;

static int closing;
static int64_t kill_deadline = -1;  /* closing: SIGKILL the rest then */
static int64_t exit_deadline = -1;  /* closing: exit even with children left (backstop) */

static sigset_t handled_signals;
/* The daemon (the process that started us), for pidfd_getfd of its UDP sockets; -1 if none. */
static int daemon_pidfd = -1;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put_u16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void put_u32(uint8_t *p, uint32_t v) { put_u16(p, v); put_u16(p + 2, v >> 16); }
static uint16_t get_u16(const uint8_t *p) { return p[0] | p[1] << 8; }
static uint32_t get_u32(const uint8_t *p) { return get_u16(p) | (uint32_t)get_u16(p + 2) << 16; }

/* ---- replies ---------------------------------------------------------------------- */

static void begin_shutdown(void);

/* Write all of buf to the control channel; a failure means the worker is gone. */
static void control_write(const uint8_t *buf, size_t len)
{
	while (len > 0 && control_open) {
		ssize_t n = send(CONTROL_FD, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			control_open = 0;
			begin_shutdown();
			return;
		}
		buf += n;
		len -= n;
	}
}

/* One record: header, then the fixed part `a`, then the variable part `b` (may be empty). */
static void reply(uint16_t type, uint32_t id, const void *a, size_t alen, const void *b,
		  size_t blen)
{
	uint8_t head[RECORD_HEADER];
	put_u32(head, 8 + alen + blen);
	put_u16(head + 4, type);
	put_u16(head + 6, 0);
	put_u32(head + 8, id);
	/* Small records: one buffer, one send (no interleaving worries, one syscall). */
	uint8_t buf[RECORD_HEADER + 64 + MAX_LOG_LINE + 256];
	if (sizeof head + alen + blen <= sizeof buf) {
		memcpy(buf, head, sizeof head);
		memcpy(buf + sizeof head, a, alen);
		memcpy(buf + sizeof head + alen, b, blen);
		control_write(buf, sizeof head + alen + blen);
		return;
	}
	control_write(head, sizeof head);
	control_write(a, alen);
	control_write(b, blen);
}

/* The helper's own news, logged by the worker (id 0). */
static void notice(const char *fmt, ...)
{
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof text)
		n = sizeof text - 1;
	if (control_open)
		reply(REP_LOG, 0, "", 0, text, n);
	else
		fprintf(stderr, "l2tpd-helper[%d]: %s\n", (int)getpid(), text);
}

/* "ENOENT: No such file or directory": the errno name for programs, the sentence for people. */
static int errno_text(char *out, size_t size, int err, const char *what)
{
	const char *name = strerrorname_np(err);
	return snprintf(out, size, "%s: %s%s%s", name ? name : "EUNKNOWN", what, what[0] ? ": " : "",
			strerror(err));
}

static void reply_exit(uint32_t id, int32_t code, uint32_t sig, const char *error)
{
	uint8_t fixed[8];
	put_u32(fixed, (uint32_t)code);
	put_u32(fixed + 4, sig);
	reply(REP_EXIT, id, fixed, sizeof fixed, error, strlen(error));
}

static void reply_error(uint16_t req_type, uint32_t id, const char *text)
{
	uint8_t fixed[2];
	put_u16(fixed, req_type);
	reply(REP_ERROR, id, fixed, sizeof fixed, text, strlen(text));
}

/* ---- the relay: pppd's pty <-> the worker's data socket (SPAWN) ---------------------- */

/*
 * pppd runs on the slave of a pty pair made here, as under xl2tpd (no `notty`, so no relay
 * process of pppd's own); the helper holds the master and the data socket to the worker and
 * moves whole PPP frames between them, so no per-octet work is left to JavaScript:
 *
 *   pty -> worker: async HDLC (RFC 1662 section 4) deframed: flags and escapes removed, the
 *     FCS-16 checked and dropped. Each frame goes to the worker as u16 length (LE, 1..0x7fff)
 *     then the frame; a frame dropped here as one u16 0x8000 | kind (1 FCS error, 2 abort,
 *     3 short, 4 oversized), so the worker's counters and the call's errors stay true.
 *   worker -> pty: the same u16 length records, HDLC-encoded with a fresh FCS, escaping
 *     0x7E, 0x7D and every octet below 0x20 (ACCM ffffffff): pppd's ppp_async removes escapes
 *     whatever it negotiated (section 7.1) and drops unescaped control octets its receive ACCM
 *     names, so this is right before, during and after LCP. xl2tpd escapes the same set.
 *     Nothing on a pty inserts octets, so none received is removed under an ACCM.
 *
 * Batches: one read of up to RELAY_READ octets is deframed or encoded into a shared scratch
 * buffer and written with one write(2); under TCG a system call per frame is what costs.
 * When a write cannot take everything (the worker or pppd is behind), the rest is kept (one
 * read's worth at most) and the side feeding that direction is not read until it is written:
 * the worker's bounded queue (maxQueuedBytes) then drops and counts what does not fit, and
 * pppd's tty writes wait. Descriptors are non-blocking. An idle session holds no buffer: what
 * is left between two reads (a frame split across them) is allocated only while it exists.
 */
#define RELAY_READ 65536
#define DATA_MAX_FRAME 0x7fff   /* a record's largest length; 0x8000 | kind is an error */
#define DATA_ERROR 0x8000
#define HDLC_MAX_FRAME 2000     /* the longest frame taken from pppd, FCS excluded */
#define HDLC_FLAG 0x7e
#define HDLC_ESC 0x7d
#define FCS_INIT 0xffff
#define FCS_GOOD 0xf0b8         /* RFC 1662 section C.2 */
enum { ERR_FCS = 1, ERR_ABORT = 2, ERR_SHORT = 3, ERR_OVERSIZED = 4 };

static uint16_t fcs_table[256];
/* Shared by every session: a read, then what it becomes (encoded: at most 8 octets out for
 * the 3 of a 1-octet record, so 3x the read covers it). */
static uint8_t scratch_in[RELAY_READ];
static uint8_t scratch_out[3 * RELAY_READ];

static void fcs_init(void)
{
	for (unsigned b = 0; b < 256; b++) {
		uint16_t v = b;
		for (int i = 0; i < 8; i++)
			v = (v & 1) ? (v >> 1) ^ 0x8408 : v >> 1;
		fcs_table[b] = v;
	}
}

/* Register, change or drop a descriptor's events (0: not watched, so no EPOLLHUP spins). */
static void watch_set(struct watch *w, int fd, uint32_t events)
{
	if (w->events == events)
		return;
	struct epoll_event ev = { .events = events, .data.ptr = w };
	epoll_ctl(epfd, w->events == 0 ? EPOLL_CTL_ADD : events == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD,
		  fd, &ev);
	w->events = events;
}

/* Each direction reads only while its last write was taken whole. */
static void relay_watch(struct child *c)
{
	struct relay *r = &c->relay;
	watch_set(&c->w_pty, r->ptyfd,
		  (r->to_data == NULL ? EPOLLIN : 0) | (r->to_pty != NULL ? EPOLLOUT : 0));
	watch_set(&c->w_data, r->datafd,
		  (r->to_pty == NULL ? EPOLLIN : 0) | (r->to_data != NULL ? EPOLLOUT : 0));
}

enum { SENT_REPORT = 0, SENT_STARTED = 1, SENT_STOPPED = 2 }; /* DIRECT's SENT records */
static void direct_end(struct child *c);

/* Both ends closed: pppd sees its tty hang up, the worker its socket close. */
static void relay_close(struct child *c)
{
	struct relay *r = &c->relay;
	if (r->ptyfd < 0)
		return;
	direct_end(c);
	watch_set(&c->w_pty, r->ptyfd, 0);
	watch_set(&c->w_data, r->datafd, 0);
	close(r->ptyfd);
	close(r->datafd);
	free(r->rx_part);
	free(r->in_part);
	free(r->to_data);
	free(r->to_pty);
	*r = (struct relay){ .ptyfd = -1, .datafd = -1, .udpfd = -1 };
}

/* Write buf; keep what fd cannot take now in *keep (allocated). 0, or -1: the peer is gone. */
static int relay_write(int fd, const uint8_t *buf, size_t len, uint8_t **keep, size_t *keep_len)
{
	ssize_t n;
	while ((n = write(fd, buf, len)) < 0 && errno == EINTR)
		;
	if (n < 0 && errno == EAGAIN)
		n = 0;
	if (n < 0)
		return -1;
	if ((size_t)n == len)
		return 0;
	*keep = malloc(len - n);
	if (*keep == NULL)
		return -1;
	memcpy(*keep, buf + n, len - n);
	*keep_len = len - n;
	return 0;
}

/* A paused direction's leftover, once its descriptor is writable again. */
static int relay_flush(int fd, uint8_t **keep, size_t *keep_len)
{
	uint8_t *old = *keep;
	*keep = NULL;
	int r = relay_write(fd, old, *keep_len, keep, keep_len);
	free(old);
	return r;
}

/*
 * DIRECT: the userspace data path's data messages, here instead of in the worker. Once the
 * worker's tunnel has a data socket of its own (bound to the listening address, connected to
 * the peer), DIRECT hands us its number: we take a copy (pidfd_getfd, as TUNNEL_CREATE does:
 * the same socket) and each frame deframed from pppd's pty leaves at once as an L2TP data
 * message (RFC 2661 section 3.1: T=0, L if asked, S with Ns and a zero Nr if asked, the
 * peer's tunnel and session IDs, O with zero padding if asked), one sendmmsg(2) per read.
 *
 * With `receive` we also read that socket (the worker stops reading it once told `started`):
 * a data message without S for a receiving session (our tunnel and session IDs, a session
 * that does not send Ns either) is HDLC-encoded onto its pty here, so a frame from the peer
 * crosses one process, as under xl2tpd, not two. Everything else (control messages, data with
 * Ns: sequencing and its reorder buffer stay in the worker, src/dataplane/data-channel.ts;
 * other sessions' data, anything malformed) goes to the worker untouched as a DATAGRAM record
 * on one receiving session's data socket, u16 0xfffe, u16 length, the datagram, which the
 * worker handles as if its socket had read it. Under TCG each process a frame crosses costs
 * more than the work done on it.
 *
 * What the worker must know of what happened here rides in-band, after the records it
 * follows, on pppd's data socket: a SENT record, u16 0xffff, u16 kind (0 report, 1 started,
 * 2 stopped), u16 the next Ns, u16 0, u32 packets, u32 octets, u32 dropped (send failures),
 * u32 received packets, u32 received octets, u32 received and dropped (pppd's pty full), each
 * counted since the last SENT. Started: nothing before it was sent or received here.
 * Stopped (at DIRECT's stop, a KILL, the relay's close, or a new socket): nothing after it
 * will be, its Ns is where the worker's own go on, and the worker reads the socket again.
 * Reports: at most once a second while there are counts to tell.
 */
#define SENT_MARK 0xffff
#define DATAGRAM_MARK 0xfffe
#define SENT_RECORD 32
#define DIRECT_STOP 0xffffffffu  /* DIRECT's fd: stop sending here */
#define DIRECT_KEEP 0xfffffffeu  /* DIRECT's fd: keep the socket, change the header */
#define DIRECT_MAX_PAD 64        /* offset padding we write (the worker's is configured) */
#define DIRECT_BATCH 64          /* messages per sendmmsg */
#define RECV_BATCH 32            /* datagrams per recvmmsg */
#define RECV_BACKLOG 65536       /* octets kept for a full pty or worker socket; more: dropped */
#define REPORT_MS 1000
enum { HDR_LENGTH = 1, HDR_SEQUENCE = 2, HDR_RECEIVE = 4 };

/* Append to a direction's leftover (the other side is behind); 0, or -1 past `max`. */
static int keep_more(uint8_t **keep, size_t *keep_len, const uint8_t *buf, size_t len, size_t max)
{
	if (*keep_len + len > max)
		return -1;
	uint8_t *grown = realloc(*keep, *keep_len + len);
	if (grown == NULL)
		return -1;
	memcpy(grown + *keep_len, buf, len);
	*keep = grown;
	*keep_len += len;
	return 0;
}

/* Write to one relay direction, after what it still holds: 0, or -1 (dropped, or gone). */
static int relay_send(int fd, const uint8_t *buf, size_t len, uint8_t **keep, size_t *keep_len,
		      size_t max)
{
	if (*keep != NULL)
		return keep_more(keep, keep_len, buf, len, max);
	return relay_write(fd, buf, len, keep, keep_len);
}

/* The SENT record of `kind` with the counts so far, which it resets. Kept when the worker is behind. */
static void direct_report(struct child *c, uint16_t kind)
{
	struct relay *r = &c->relay;
	uint8_t rec[SENT_RECORD];
	put_u16(rec, SENT_MARK);
	put_u16(rec + 2, kind);
	put_u16(rec + 4, r->ns);
	put_u16(rec + 6, 0);
	put_u32(rec + 8, r->sent_packets);
	put_u32(rec + 12, r->sent_bytes);
	put_u32(rec + 16, r->sent_dropped);
	put_u32(rec + 20, r->recv_packets);
	put_u32(rec + 24, r->recv_bytes);
	put_u32(rec + 28, r->recv_dropped);
	r->sent_packets = r->sent_bytes = r->sent_dropped = 0;
	r->recv_packets = r->recv_bytes = r->recv_dropped = 0;
	r->report_at = now_ms() + REPORT_MS;
	if (relay_send(r->datafd, rec, sizeof rec, &r->to_data, &r->to_data_len, SIZE_MAX) == 0)
		relay_watch(c);
}

/*
 * Our copies of tunnels' data sockets, one per tunnel however many of its sessions use it: a
 * helper with thousands of sessions already holds a pty master, a socket and a log pipe for
 * each, near the descriptor limit. Two copies are of one socket when their inodes match. A
 * copy is read while one of its sessions receives (`rx`); one closed during an epoll batch
 * is freed after it (`dead_sockets`), as its event may still be in that batch.
 */
struct shared_socket {
	int fd;
	ino_t ino;
	unsigned users;
	struct watch w;
	struct child **rx;
	size_t n_rx, cap_rx;
	struct shared_socket *next_dead;
};
static struct shared_socket **shared_sockets;
static size_t n_shared, cap_shared;
static struct shared_socket *dead_sockets;

/* Take the copy `fd`: the tunnel's shared socket (its existing copy, if any), or NULL. */
static struct shared_socket *share_socket(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return NULL;
	}
	for (size_t i = 0; i < n_shared; i++) {
		if (shared_sockets[i]->ino == st.st_ino) {
			close(fd);
			shared_sockets[i]->users++;
			return shared_sockets[i];
		}
	}
	struct shared_socket *s = calloc(1, sizeof *s);
	if (s != NULL && n_shared == cap_shared) {
		size_t cap = cap_shared ? cap_shared * 2 : 16;
		struct shared_socket **grown = realloc(shared_sockets, cap * sizeof *grown);
		if (grown == NULL) {
			free(s);
			s = NULL;
		} else {
			shared_sockets = grown;
			cap_shared = cap;
		}
	}
	if (s == NULL) {
		close(fd);
		return NULL;
	}
	*s = (struct shared_socket){ .fd = fd, .ino = st.st_ino, .users = 1,
				     .w = { .kind = W_UDP, .s = s } };
	shared_sockets[n_shared++] = s;
	return s;
}

/* A session is done with `s`: closed with the tunnel's last (no copy outlives its users). */
static void unshare_socket(struct shared_socket *s)
{
	if (--s->users > 0)
		return;
	for (size_t i = 0; i < n_shared; i++) {
		if (shared_sockets[i] == s) {
			shared_sockets[i] = shared_sockets[--n_shared];
			break;
		}
	}
	watch_set(&s->w, s->fd, 0);
	close(s->fd);
	s->fd = -1;
	free(s->rx);
	s->rx = NULL;
	s->n_rx = 0;
	s->next_dead = dead_sockets;
	dead_sockets = s;
}

/* Start or stop reading the session's data messages here; the socket is read while any do. */
static void receive_set(struct child *c, int on)
{
	struct relay *r = &c->relay;
	struct shared_socket *s = r->shared;
	if (s == NULL || r->receive == on)
		return;
	if (on) {
		if (s->n_rx == s->cap_rx) {
			size_t cap = s->cap_rx ? s->cap_rx * 2 : 4;
			struct child **grown = realloc(s->rx, cap * sizeof *grown);
			if (grown == NULL)
				return; /* not receiving: the worker goes on reading everything */
			s->rx = grown;
			s->cap_rx = cap;
		}
		s->rx[s->n_rx++] = c;
	} else {
		for (size_t i = 0; i < s->n_rx; i++) {
			if (s->rx[i] == c) {
				s->rx[i] = s->rx[--s->n_rx];
				break;
			}
		}
	}
	r->receive = on;
	watch_set(&s->w, s->fd, s->n_rx > 0 ? EPOLLIN : 0);
}

/* Stop sending and receiving here: our copy of the socket goes, then SENT `stopped` with the
 * last counts (the worker reads the socket again, and its Ns goes on from ours). */
static void direct_end(struct child *c)
{
	struct relay *r = &c->relay;
	if (r->udpfd < 0)
		return;
	receive_set(c, 0);
	unshare_socket(r->shared);
	r->shared = NULL;
	r->udpfd = -1;
	direct_report(c, SENT_STOPPED);
}

/* L2TP data header for a payload of `len` octets; returns its length. */
static size_t direct_header(struct relay *r, uint8_t *h, size_t len)
{
	uint16_t flags = 0x0002 | (r->length_bit ? 0x4000 : 0) | (r->sequence ? 0x0800 : 0) |
			 (r->offset_pad ? 0x0200 : 0);
	size_t n = 2 + (r->length_bit ? 2 : 0);
	h[n] = r->peer_tunnel >> 8, h[n + 1] = r->peer_tunnel;
	h[n + 2] = r->peer_session >> 8, h[n + 3] = r->peer_session;
	n += 4;
	if (r->sequence) {
		h[n] = r->ns >> 8, h[n + 1] = r->ns, h[n + 2] = 0, h[n + 3] = 0;
		r->ns++;
		n += 4;
	}
	if (r->offset_pad) {
		h[n] = r->offset_pad >> 8, h[n + 1] = r->offset_pad;
		memset(h + n + 2, 0, r->offset_pad);
		n += 2 + r->offset_pad;
	}
	h[0] = flags >> 8, h[1] = flags;
	if (r->length_bit)
		h[2] = (n + len) >> 8, h[3] = n + len;
	return n;
}

/* The frames of one read, to the peer; what the socket refuses (a full send queue, an ICMP
 * error from the peer) is dropped and counted, as the kernel's own path would drop it. */
static void direct_send(struct relay *r, const size_t *at, const size_t *len, size_t n,
			const uint8_t *frames)
{
	static uint8_t hdr[DIRECT_BATCH][16 + DIRECT_MAX_PAD];
	static struct iovec iov[DIRECT_BATCH][2];
	static struct mmsghdr msg[DIRECT_BATCH];
	for (size_t done = 0; done < n;) {
		size_t k = n - done < DIRECT_BATCH ? n - done : DIRECT_BATCH;
		for (size_t i = 0; i < k; i++) {
			size_t f = done + i;
			iov[i][0] = (struct iovec){ hdr[i], direct_header(r, hdr[i], len[f]) };
			iov[i][1] = (struct iovec){ (void *)(frames + at[f]), len[f] };
			msg[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = iov[i], .msg_iovlen = 2 } };
		}
		for (size_t i = 0; i < k;) {
			int sent = sendmmsg(r->udpfd, msg + i, k - i, MSG_DONTWAIT);
			if (sent < 0 && errno == EINTR)
				continue;
			if (sent <= 0) {
				r->sent_dropped++; /* this one failed; go on with the next */
				i++;
				continue;
			}
			for (int j = 0; j < sent; j++) {
				r->sent_packets++;
				r->sent_bytes += iov[i + j][1].iov_len;
			}
			i += sent;
		}
		done += k;
	}
}

/* pty -> worker: deframe one read. Returns 1 if it read something. */
static int pty_readable(struct child *c)
{
	struct relay *r = &c->relay;
	ssize_t n = read(r->ptyfd, scratch_in, sizeof scratch_in);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		/* EIO: every slave descriptor is closed, pppd is gone. */
		relay_close(c);
		return 0;
	}
	uint8_t *out = scratch_out;
	/* The frame being collected sits after a 2-octet hole for its length, at `head`. */
	size_t head = 0, o = 2 + r->rx_len;
	/* DIRECT: the good frames stay where they are deframed and leave from there; only
	 * errors go to the worker, from `errs` (sized for a read of nothing but flags). */
	static size_t direct_at[RELAY_READ / 2], direct_len[RELAY_READ / 2];
	static uint8_t errs[RELAY_READ + 2];
	size_t n_direct = 0, n_errs = 0;
	int direct = r->udpfd >= 0;
	memcpy(out + 2, r->rx_part, r->rx_len);
	free(r->rx_part);
	r->rx_part = NULL;
	uint16_t fcs = r->rx_fcs;
	int esc = r->rx_escaped, discarding = r->rx_discarding;
	for (ssize_t i = 0; i < n; i++) {
		uint8_t b = scratch_in[i];
		if (b == HDLC_FLAG) {
			size_t len = o - head - 2; /* FCS included */
			int err = discarding ? ERR_OVERSIZED : esc ? ERR_ABORT : len == 0 ? 0
				: len < 4 ? ERR_SHORT : fcs != FCS_GOOD ? ERR_FCS : -1;
			if (err > 0 && direct) {
				put_u16(errs + n_errs, DATA_ERROR | err);
				n_errs += 2;
			} else if (err > 0) {
				put_u16(out + head, DATA_ERROR | err);
				head += 2;
			} else if (err < 0 && direct) {
				direct_at[n_direct] = head + 2;
				direct_len[n_direct++] = len - 2;
				head += len;
			} else if (err < 0) {
				/* The next record's length overwrites this frame's FCS. */
				put_u16(out + head, len - 2);
				head += len;
			}
			o = head + 2;
			fcs = FCS_INIT;
			esc = discarding = 0;
		} else if (b == HDLC_ESC) {
			esc = !discarding;
		} else if (!discarding) {
			if (esc)
				b ^= 0x20;
			esc = 0;
			if (o - head - 2 == HDLC_MAX_FRAME + 2) {
				discarding = 1;
				continue;
			}
			out[o++] = b;
			fcs = (fcs >> 8) ^ fcs_table[(fcs ^ b) & 0xff];
		}
	}
	/* A frame split across reads: keep its octets (not while discarding it). */
	r->rx_len = discarding ? 0 : o - head - 2;
	r->rx_fcs = fcs;
	r->rx_escaped = esc;
	r->rx_discarding = discarding;
	if (r->rx_len > 0 && (r->rx_part = malloc(r->rx_len)) != NULL)
		memcpy(r->rx_part, out + head + 2, r->rx_len);
	else if (r->rx_len > 0)
		r->rx_len = 0, r->rx_fcs = FCS_INIT; /* out of memory: the frame is lost */
	if (direct) {
		direct_send(r, direct_at, direct_len, n_direct, out);
		out = errs;
		head = n_errs;
	}
	if (head > 0 && relay_write(r->datafd, out, head, &r->to_data, &r->to_data_len) < 0) {
		relay_close(c);
		return 0;
	}
	relay_watch(c);
	return 1;
}

/* One octet out, escaped if it is a flag, an escape or a control octet. */
static inline size_t put_escaped(uint8_t *out, size_t o, uint8_t b)
{
	if (b < 0x20 || b == HDLC_FLAG || b == HDLC_ESC) {
		out[o++] = HDLC_ESC;
		b ^= 0x20;
	}
	out[o++] = b;
	return o;
}

/* One frame, HDLC-encoded at out[o] (at most 2 * len + 6 octets); returns the new end. */
static size_t hdlc_encode(uint8_t *out, size_t o, const uint8_t *f, size_t len)
{
	uint16_t fcs = FCS_INIT;
	out[o++] = HDLC_FLAG;
	for (size_t k = 0; k < len; k++) {
		fcs = (fcs >> 8) ^ fcs_table[(fcs ^ f[k]) & 0xff];
		o = put_escaped(out, o, f[k]);
	}
	/* Ones' complement, least significant octet first (section C.2). */
	fcs ^= 0xffff;
	o = put_escaped(out, o, fcs & 0xff);
	o = put_escaped(out, o, fcs >> 8);
	out[o++] = HDLC_FLAG;
	return o;
}

/* worker -> pty: encode one read's records into one write. */
static void data_readable(struct child *c)
{
	struct relay *r = &c->relay;
	/* A record split across reads comes first (at most 2 + DATA_MAX_FRAME - 1 octets). */
	size_t have = r->in_len;
	memcpy(scratch_in, r->in_part, have);
	ssize_t n = read(r->datafd, scratch_in + have, sizeof scratch_in - have);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* The worker closed the session's socket: pppd sees its tty hang up. */
		relay_close(c);
		return;
	}
	free(r->in_part);
	r->in_part = NULL;
	r->in_len = 0;
	size_t end = have + n, i = 0, o = 0;
	uint8_t *out = scratch_out;
	while (end - i >= 2) {
		size_t len = get_u16(scratch_in + i);
		if (len == 0 || len > DATA_MAX_FRAME) {
			notice("pppd %u: malformed frame record (length %zu): closing", c->id, len);
			relay_close(c);
			return;
		}
		if (end - i < 2 + len)
			break;
		o = hdlc_encode(out, o, scratch_in + i + 2, len);
		i += 2 + len;
	}
	if (i < end) {
		r->in_part = malloc(end - i);
		if (r->in_part == NULL) {
			relay_close(c);
			return;
		}
		memcpy(r->in_part, scratch_in + i, end - i);
		r->in_len = end - i;
	}
	if (o > 0 && relay_write(r->ptyfd, out, o, &r->to_pty, &r->to_pty_len) < 0) {
		relay_close(c);
		return;
	}
	relay_watch(c);
}

/* The receiving session a data message is for: unsequenced, with our tunnel and session IDs
 * (RFC 2661 section 3.1 header); NULL: the worker's to handle. Sets the PPP frame's place. */
static struct child *receiver(struct shared_socket *s, const uint8_t *d, size_t len,
			      size_t *at, size_t *flen)
{
	if (len < 6)
		return NULL;
	uint16_t flags = d[0] << 8 | d[1];
	/* Control (T), another version, or Ns (S): the worker's. */
	if ((flags & 0x8000) || (flags & 0x000f) != 2 || (flags & 0x0800))
		return NULL;
	size_t o = 2;
	if (flags & 0x4000) {
		if ((size_t)(d[2] << 8 | d[3]) != len)
			return NULL;
		o = 4;
	}
	if (len < o + 4)
		return NULL;
	uint16_t tunnel = d[o] << 8 | d[o + 1], session = d[o + 2] << 8 | d[o + 3];
	o += 4;
	if (flags & 0x0200) {
		if (len < o + 2)
			return NULL;
		o += 2 + (d[o] << 8 | d[o + 1]);
	}
	if (o >= len || len - o > DATA_MAX_FRAME)
		return NULL;
	for (size_t i = 0; i < s->n_rx; i++) {
		struct relay *r = &s->rx[i]->relay;
		if (r->local_session == session && r->local_tunnel == tunnel && !r->sequence) {
			*at = o;
			*flen = len - o;
			return s->rx[i];
		}
	}
	return NULL;
}

/* One receiving session's frames of a batch, onto its pty in one write; dropped and counted
 * when its pty is behind by more than RECV_BACKLOG. Never closes the relay here (the shared
 * socket is in use): a gone pty shows on its own read. */
static void receive_flush(struct child *c, const uint8_t *out, size_t len, uint32_t frames,
			  uint32_t octets)
{
	struct relay *r = &c->relay;
	if (relay_send(r->ptyfd, out, len, &r->to_pty, &r->to_pty_len, RECV_BACKLOG) < 0) {
		r->recv_dropped += frames;
		return;
	}
	r->recv_packets += frames;
	r->recv_bytes += octets;
	relay_watch(c);
}

/* What this batch leaves to the worker, as DATAGRAM records on one receiving session's socket. */
static void forward_flush(struct shared_socket *s, const uint8_t *out, size_t len)
{
	if (len == 0 || s->n_rx == 0)
		return;
	struct child *c = s->rx[0];
	struct relay *r = &c->relay;
	if (relay_send(r->datafd, out, len, &r->to_data, &r->to_data_len, RECV_BACKLOG) == 0)
		relay_watch(c);
	else
		notice("pppd %u: the worker is behind: datagrams of its tunnel dropped", c->id);
}

/* DIRECT with receive: read one batch of the tunnel's datagrams (see "DIRECT" above). */
static void udp_readable(struct shared_socket *s)
{
	static uint8_t bufs[RECV_BATCH][65536];
	static struct iovec iov[RECV_BATCH];
	static struct mmsghdr msg[RECV_BATCH];
	static uint8_t out[2 * (DATA_MAX_FRAME + 3) + RELAY_READ];
	static uint8_t fwd[RECV_BATCH * (65536 + 4)];
	if (s->fd < 0 || s->n_rx == 0)
		return;
	for (size_t i = 0; i < RECV_BATCH; i++) {
		iov[i] = (struct iovec){ bufs[i], sizeof bufs[i] };
		msg[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	int n = recvmmsg(s->fd, msg, RECV_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return; /* EAGAIN, or an ICMP error from the peer: nothing to read */
	struct child *cur = NULL;
	size_t o = 0, f = 0;
	uint32_t frames = 0, octets = 0;
	for (int i = 0; i < n; i++) {
		size_t len = msg[i].msg_len, at, flen;
		if (msg[i].msg_hdr.msg_flags & MSG_TRUNC)
			continue;
		struct child *c = receiver(s, bufs[i], len, &at, &flen);
		if (c == NULL) {
			put_u16(fwd + f, DATAGRAM_MARK);
			put_u16(fwd + f + 2, len);
			memcpy(fwd + f + 4, bufs[i], len);
			f += 4 + len;
			continue;
		}
		if (c != cur || o + 2 * flen + 6 > sizeof out) {
			if (cur != NULL)
				receive_flush(cur, out, o, frames, octets);
			cur = c;
			o = 0;
			frames = octets = 0;
		}
		o = hdlc_encode(out, o, bufs[i] + at, flen);
		frames++;
		octets += flen;
	}
	if (cur != NULL)
		receive_flush(cur, out, o, frames, octets);
	forward_flush(s, fwd, f);
}

static void relay_event(struct watch *w, uint32_t events)
{
	struct child *c = w->c;
	struct relay *r = &c->relay;
	if (r->ptyfd < 0)
		return;
	int fd = w->kind == W_PTY ? r->ptyfd : r->datafd;
	uint8_t **keep = w->kind == W_PTY ? &r->to_pty : &r->to_data;
	size_t *keep_len = w->kind == W_PTY ? &r->to_pty_len : &r->to_data_len;
	if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && *keep != NULL) {
		if (relay_flush(fd, keep, keep_len) < 0) {
			relay_close(c);
			return;
		}
		relay_watch(c);
	}
	if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && (w->events & EPOLLIN)) {
		if (w->kind == W_PTY)
			pty_readable(c);
		else
			data_readable(c);
	}
}

/*
 * pppd was reaped: what it wrote before exiting is still in the pty (read until EIO, unless
 * the worker is behind), then both ends close.
 */
static void relay_finish(struct child *c)
{
	for (int i = 0; i < 64 && c->relay.ptyfd >= 0 && c->relay.to_data == NULL; i++)
		if (!pty_readable(c))
			break;
	relay_close(c);
}

/*
 * A pty pair for pppd: the master (non-blocking, ours) and the slave in raw mode, so a
 * stand-in sees raw octets; real pppd sets its own modes and the PPP line discipline. The
 * slave is opened from the master (TIOCGPTPEER: no name lookup, Linux 4.13) and given to
 * pppd as stdin and stdout, so it is open from before pppd starts: no hangup can come first.
 */
static int open_pty(int *slave, char *err, size_t errsize)
{
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (master < 0) {
		/* ENOSPC: the host's ptys are all taken; say which limit, so the log tells how. */
		errno_text(err, errsize, errno,
			   errno == ENOSPC ? "/dev/ptmx (every pty taken: raise sysctl kernel.pty.max)"
					   : "/dev/ptmx");
		return -1;
	}
	struct termios t;
	*slave = -1;
	if (unlockpt(master) < 0 ||
	    (*slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0 ||
	    tcgetattr(*slave, &t) < 0 || (cfmakeraw(&t), tcsetattr(*slave, TCSANOW, &t)) < 0) {
		errno_text(err, errsize, errno, "pty");
		if (*slave >= 0)
			close(*slave);
		close(master);
		return -1;
	}
	return master;
}

/* ---- children ---------------------------------------------------------------------- */

static struct child *find_by_id(uint32_t id)
{
	for (size_t i = 0; i < n_children; i++)
		if (children[i]->id == id)
			return children[i];
	return NULL;
}

static struct child *find_by_pid(pid_t pid)
{
	for (size_t i = 0; i < n_children; i++)
		if (children[i]->pid == pid)
			return children[i];
	return NULL;
}

static int add_child(struct child *c)
{
	if (n_children == cap_children) {
		size_t cap = cap_children ? cap_children * 2 : 64;
		struct child **grown = realloc(children, cap * sizeof *grown);
		if (grown == NULL)
			return -1;
		children = grown;
		cap_children = cap;
	}
	children[n_children++] = c;
	return 0;
}

static int all_reaped(void)
{
	for (size_t i = 0; i < n_children; i++)
		if (!children[i]->reaped)
			return 0;
	return 1;
}

static void flush_log(struct child *c)
{
	if (c->log_len > 0)
		reply(REP_LOG, c->id, "", 0, c->log, c->log_len);
	c->log_len = 0;
}

static void close_stderr(struct child *c)
{
	if (c->errfd < 0)
		return;
	flush_log(c);
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->errfd, NULL);
	close(c->errfd);
	c->errfd = -1;
}

/* Reaped and drained: report the exit, forget the child. */
static void finish_child(struct child *c)
{
	close_stderr(c);
	int st = c->status;
	if (WIFEXITED(st))
		reply_exit(c->id, WEXITSTATUS(st), 0, "");
	else
		reply_exit(c->id, -1, WIFSIGNALED(st) ? WTERMSIG(st) : 0, "");
	relay_close(c);
	for (size_t i = 0; i < n_children; i++) {
		if (children[i] == c) {
			children[i] = children[--n_children];
			break;
		}
	}
	/* Freed after the current batch of events, some of which may still name it. */
	c->next_dead = dead;
	dead = c;
}

/* pppd's log lines, one LOG record each (newline removed, empty lines skipped). */
static void read_stderr(struct child *c)
{
	char buf[4096];
	ssize_t n = read(c->errfd, buf, sizeof buf);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close_stderr(c);
		if (c->reaped)
			finish_child(c);
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			flush_log(c);
			continue;
		}
		if (c->log_len == MAX_LOG_LINE)
			flush_log(c);
		c->log[c->log_len++] = buf[i];
	}
}

static void reap(void)
{
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);
		if (pid <= 0)
			return;
		struct child *c = find_by_pid(pid);
		if (c == NULL)
			continue;
		c->reaped = 1;
		c->status = st;
		/* The kernel session ends with pppd, not when its last log line is read. */
		if (c->l2tpfd >= 0) {
			close(c->l2tpfd);
			c->l2tpfd = -1;
		}
		relay_finish(c);
		if (c->errfd < 0)
			finish_child(c);
		else
			c->drain_deadline = now_ms() + DRAIN_MS;
	}
}

/* Only a child not yet reaped: its PID is still ours, never a stranger's. */
static void signal_child(struct child *c, int sig)
{
	if (!c->reaped)
		kill(c->pid, sig);
}

static void begin_shutdown(void)
{
	if (closing)
		return;
	closing = 1;
	for (size_t i = 0; i < n_children; i++) {
		direct_end(children[i]);
		signal_child(children[i], SIGTERM);
	}
	kill_deadline = now_ms() + KILL_GRACE_MS;
	exit_deadline = kill_deadline + DRAIN_MS + 1000;
}

/* ---- requests ---------------------------------------------------------------------- */

static void on_hello(uint32_t id, const uint8_t *p, size_t len)
{
	if (len < 2 + TOKEN_LEN + 1 || len - 2 - TOKEN_LEN > sizeof listener.sun_path) {
		reply_error(REQ_HELLO, id, "EINVAL: malformed HELLO");
		return;
	}
	if (get_u16(p) != PROTOCOL_VERSION) {
		reply_error(REQ_HELLO, id, "EPROTO: protocol version mismatch");
		return;
	}
	memcpy(token, p + 2, TOKEN_LEN);
	size_t addr_len = len - 2 - TOKEN_LEN;
	memset(&listener, 0, sizeof listener);
	listener.sun_family = AF_UNIX;
	memcpy(listener.sun_path, p + 2 + TOKEN_LEN, addr_len);
	/*
	 * A path is NUL-terminated. An abstract name (leading NUL) is matched on its length
	 * too: libuv in Node 20 binds it padded with NULs to the whole sun_path, a plain
	 * bind() uses exactly its octets. Both are tried (padded first); the one that
	 * connects is kept.
	 */
	listener_len = sizeof listener;
	listener_len_alt = offsetof(struct sockaddr_un, sun_path) + addr_len;
	if (listener.sun_path[0] != 0)
		listener_len = listener_len_alt + (addr_len < sizeof listener.sun_path);
	have_hello = 1;
}

/* A socket connected to the worker's listener, the data header already written. */
static int connect_data_socket(uint32_t id, char *err, size_t errsize)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		errno_text(err, errsize, errno, "socket");
		return -1;
	}
	/* Blocking: when the worker's accept queue is full, the worker is behind; wait for it. */
	int r;
	while ((r = connect(fd, (struct sockaddr *)&listener, listener_len)) < 0 && errno == EINTR)
		;
	if (r < 0 && errno == ECONNREFUSED && listener.sun_path[0] == 0 &&
	    listener_len_alt != listener_len) {
		socklen_t other = listener_len_alt;
		while ((r = connect(fd, (struct sockaddr *)&listener, other)) < 0 && errno == EINTR)
			;
		if (r == 0) {
			listener_len_alt = listener_len;
			listener_len = other;
		}
	}
	uint8_t head[DATA_HEADER];
	memcpy(head, token, TOKEN_LEN);
	put_u32(head + TOKEN_LEN, id);
	if (r < 0 || send(fd, head, sizeof head, MSG_NOSIGNAL) != (ssize_t)sizeof head) {
		errno_text(err, errsize, errno, "connecting to the worker");
		close(fd);
		return -1;
	}
	return fd;
}

/* pppd's secret options as an anonymous 0600 file: no name on any filesystem. */
static int secret_file(const uint8_t *text, size_t len, char *err, size_t errsize)
{
	int fd = memfd_create("l2tpd-secret", MFD_CLOEXEC);
	if (fd < 0) {
		errno_text(err, errsize, errno, "secret file");
		return -1;
	}
	size_t done = 0;
	int ok = fchmod(fd, 0600) == 0;
	while (ok && done < len) {
		ssize_t n = write(fd, text + done, len - done);
		if (n <= 0) {
			ok = 0;
			break;
		}
		done += n;
	}
	if (!ok) {
		errno_text(err, errsize, errno, "secret file");
		close(fd);
		return -1;
	}
	/* pppd reopens it as /proc/self/fd/3, which starts at offset 0 anyway; be tidy for plain reads. */
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* Split `n` NUL-terminated strings off the front of [*p, end) into out[]; -1 if malformed. */
static int take_strings(const uint8_t **p, const uint8_t *end, char **out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const uint8_t *nul = memchr(*p, 0, end - *p);
		if (nul == NULL)
			return -1;
		out[i] = (char *)*p;
		*p = nul + 1;
	}
	return 0;
}

/* environ with the request's NAME=value entries replacing or added to it. */
static char **merged_env(char **extra, size_t n_extra)
{
	size_t n_env = 0;
	while (environ[n_env] != NULL)
		n_env++;
	char **env = malloc((n_env + n_extra + 1) * sizeof *env);
	if (env == NULL)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n_env; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t name_len = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
		int replaced = 0;
		for (size_t j = 0; j < n_extra && !replaced; j++)
			replaced = strncmp(extra[j], environ[i], name_len) == 0 &&
				   extra[j][name_len] == '=';
		if (!replaced)
			env[k++] = environ[i];
	}
	for (size_t j = 0; j < n_extra; j++)
		env[k++] = extra[j];
	env[k] = NULL;
	return env;
}

/* SPAWN_KERNEL's fixed part: the session's four IDs and its data-path options. */
struct kernel_session {
	uint16_t tunnel, session, peer_tunnel, peer_session, options;
	uint32_t reorder_ms;
};

static int open_session(const struct kernel_session *ks, char *err, size_t errsize);

/* SPAWN (ks NULL: pppd's stdin and stdout are a socket to the worker) and SPAWN_KERNEL. */
static void on_spawn(uint32_t id, const uint8_t *p, size_t len, const struct kernel_session *ks)
{
	char err[256] = "";
	if (!have_hello) {
		reply_exit(id, -1, 0, "EPROTO: SPAWN before HELLO");
		return;
	}
	if (len < 8) {
		reply_exit(id, -1, 0, "EINVAL: malformed SPAWN");
		return;
	}
	size_t argc = get_u16(p), envc = get_u16(p + 2);
	uint32_t secret_len = get_u32(p + 4);
	const uint8_t *q = p + 8, *end = p + len;
	/*
	 * argv[0] is the path itself, as a shell would pass it. On the kernel path pppd is
	 * started through this program's PDEATHSIG mode (see main), 3 arguments in front.
	 */
	char **all_argv = calloc(argc + 5, sizeof *all_argv);
	char **argv = all_argv == NULL ? NULL : all_argv + 3;
	char helper_pid[16];
	char **extra = calloc(envc + 1, sizeof *extra);
	char **envp = NULL;
	int sock = -1, errpipe[2] = { -1, -1 }, secret = -1, devnull = -1, master = -1, slave = -1;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int have_fa = 0, have_attr = 0;
	struct child *c = NULL;

	if (argv == NULL || extra == NULL || take_strings(&q, end, argv, 1) < 0 ||
	    take_strings(&q, end, argv + 1, argc) < 0 || take_strings(&q, end, extra, envc) < 0 ||
	    (size_t)(end - q) != secret_len) {
		snprintf(err, sizeof err, "EINVAL: malformed SPAWN");
		goto fail;
	}
	if ((envp = merged_env(extra, envc)) == NULL || (c = calloc(1, sizeof *c)) == NULL) {
		errno_text(err, sizeof err, ENOMEM, "");
		goto fail;
	}
	if (secret_len > 0 && (secret = secret_file(q, secret_len, err, sizeof err)) < 0)
		goto fail;
	if (pipe2(errpipe, O_CLOEXEC) < 0) {
		errno_text(err, sizeof err, errno, "pipe");
		goto fail;
	}
	if (ks == NULL && ((sock = connect_data_socket(id, err, sizeof err)) < 0 ||
			   (master = open_pty(&slave, err, sizeof err)) < 0))
		goto fail;
	/* The kernel carries the frames: pppd's stdin and stdout go nowhere. */
	if (ks != NULL && ((sock = open_session(ks, err, sizeof err)) < 0 ||
			   (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)) {
		if (err[0] == 0)
			errno_text(err, sizeof err, errno, "/dev/null");
		goto fail;
	}

	/*
	 * Every descriptor of ours is close-on-exec and numbered 5 or above (0-4 are taken
	 * in this process from setup on), so these dup2s never meet themselves and pppd gets
	 * exactly 0 and 1 (its pty's slave, or /dev/null), 2 (the log pipe), with a secret 3,
	 * and on the kernel path 4 (its PPPoL2TP socket: `pppol2tp 4`).
	 */
	posix_spawn_file_actions_init(&fa);
	have_fa = 1;
	posix_spawn_file_actions_adddup2(&fa, ks == NULL ? slave : devnull, 0);
	posix_spawn_file_actions_adddup2(&fa, ks == NULL ? slave : devnull, 1);
	posix_spawn_file_actions_adddup2(&fa, errpipe[1], 2);
	if (secret >= 0)
		posix_spawn_file_actions_adddup2(&fa, secret, 3);
	if (ks != NULL)
		posix_spawn_file_actions_adddup2(&fa, sock, KERNEL_SESSION_FD);
	/* pppd starts with default signal dispositions and an empty mask, not ours. */
	posix_spawnattr_init(&attr);
	have_attr = 1;
	sigset_t none, defaults;
	sigemptyset(&none);
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGPIPE);
	sigaddset(&defaults, SIGHUP);
	sigaddset(&defaults, SIGTERM);
	sigaddset(&defaults, SIGINT);
	sigaddset(&defaults, SIGCHLD);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

	char **spawn_argv = argv;
	if (ks != NULL) {
		snprintf(helper_pid, sizeof helper_pid, "%d", (int)getpid());
		spawn_argv = all_argv;
		spawn_argv[0] = "/proc/self/exe";
		spawn_argv[1] = PDEATHSIG_MODE;
		spawn_argv[2] = helper_pid;
	}
	int r = posix_spawn(&c->pid, spawn_argv[0], &fa, &attr, spawn_argv, envp);
	if (r != 0) {
		errno_text(err, sizeof err, r, argv[0]);
		goto fail;
	}
	c->id = id;
	c->errfd = errpipe[0];
	errpipe[0] = -1;
	c->w_err = (struct watch){ .c = c, .kind = W_STDERR, .events = EPOLLIN };
	c->w_pty = (struct watch){ .c = c, .kind = W_PTY };
	c->w_data = (struct watch){ .c = c, .kind = W_DATA };
	/* Kept for STATS; closed when pppd is reaped. */
	c->l2tpfd = ks != NULL ? sock : -1;
	c->tunnel = ks != NULL ? ks->tunnel : 0;
	/* SPAWN: the relay owns the pty's master and the data socket from here. */
	c->relay = (struct relay){ .ptyfd = master, .datafd = ks == NULL ? sock : -1, .udpfd = -1 };
	sock = master = -1;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &c->w_err };
	fcntl(c->errfd, F_SETFL, O_NONBLOCK);
	if (add_child(c) < 0) {
		/* Out of memory with pppd running: end it, it is ours to reap (blocking, rare). */
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		errno_text(err, sizeof err, ENOMEM, "");
		close(c->errfd);
		if (c->l2tpfd >= 0)
			close(c->l2tpfd);
		if (c->relay.ptyfd >= 0) {
			close(c->relay.ptyfd);
			close(c->relay.datafd);
		}
		goto fail;
	}
	epoll_ctl(epfd, EPOLL_CTL_ADD, c->errfd, &ev);
	if (c->relay.ptyfd >= 0) {
		fcntl(c->relay.datafd, F_SETFL, O_NONBLOCK);
		relay_watch(c);
	}
	uint8_t fixed[4];
	put_u32(fixed, c->pid);
	reply(REP_STARTED, id, fixed, sizeof fixed, "", 0);
	c = NULL;
fail:
	if (err[0] != 0)
		reply_exit(id, -1, 0, err);
	free(c);
	if (have_fa)
		posix_spawn_file_actions_destroy(&fa);
	if (have_attr)
		posix_spawnattr_destroy(&attr);
	if (sock >= 0)
		close(sock);
	if (devnull >= 0)
		close(devnull);
	if (master >= 0)
		close(master);
	if (slave >= 0)
		close(slave);
	if (secret >= 0)
		close(secret);
	if (errpipe[0] >= 0)
		close(errpipe[0]);
	if (errpipe[1] >= 0)
		close(errpipe[1]);
	free(envp);
	free(extra);
	free(all_argv);
}

/* ---- the kernel data path: probe, tunnels (generic netlink), sessions (PPPoL2TP) ---- */

static void reply_done(uint16_t req_type, uint32_t id, const void *b, size_t blen)
{
	uint8_t fixed[2];
	put_u16(fixed, req_type);
	reply(REP_DONE, id, fixed, sizeof fixed, b, blen);
}

/* An operation's failure: ERROR with "ENAME: what: sentence". */
static void reply_errno(uint16_t req_type, uint32_t id, int err, const char *what)
{
	char text[256];
	errno_text(text, sizeof text, err, what);
	reply_error(req_type, id, text);
}

struct genl_msg {
	struct nlmsghdr n;
	struct genlmsghdr g;
	uint8_t attrs[128];
};

static void genl_init(struct genl_msg *m, uint16_t family, uint8_t cmd, uint8_t version)
{
	memset(m, 0, sizeof *m);
	m->n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	m->n.nlmsg_type = family;
	m->n.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	m->g.cmd = cmd;
	m->g.version = version;
}

static void genl_put(struct genl_msg *m, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)((uint8_t *)m + NLMSG_ALIGN(m->n.nlmsg_len));
	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((uint8_t *)a + NLA_HDRLEN, data, len);
	m->n.nlmsg_len = NLMSG_ALIGN(m->n.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

/*
 * One request, answered before sendto returns (generic netlink runs it in our context),
 * so blocking here is short. 0 or -errno; `family` (if given) gets CTRL_ATTR_FAMILY_ID of
 * a CTRL_CMD_GETFAMILY answer.
 */
static int genl_call(struct genl_msg *m, uint16_t *family)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (fd < 0)
		return -errno;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	int err = 1;
	if (sendto(fd, m, m->n.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0)
		err = -errno;
	static uint8_t buf[16384];
	while (err > 0) {
		int len = recv(fd, buf, sizeof buf, 0);
		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0) {
			err = len < 0 ? -errno : -EPROTO;
			break;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_ERROR) {
				err = ((struct nlmsgerr *)NLMSG_DATA(h))->error; /* 0: the ACK */
				break;
			}
			if (family == NULL)
				continue;
			int alen = h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
			for (struct nlattr *a = (struct nlattr *)((uint8_t *)NLMSG_DATA(h) + GENL_HDRLEN);
			     alen >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= alen;
			     alen -= NLA_ALIGN(a->nla_len),
			     a = (struct nlattr *)((uint8_t *)a + NLA_ALIGN(a->nla_len)))
				if (a->nla_type == CTRL_ATTR_FAMILY_ID)
					memcpy(family, (uint8_t *)a + NLA_HDRLEN, 2);
		}
	}
	close(fd);
	return err;
}

/* The "l2tp" generic netlink family (asking loads l2tp_netlink if it can): id or -errno. */
static int l2tp_family(void)
{
	static uint16_t id;
	if (id != 0)
		return id;
	struct genl_msg m;
	genl_init(&m, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1);
	genl_put(&m, CTRL_ATTR_FAMILY_NAME, L2TP_GENL_NAME, sizeof L2TP_GENL_NAME);
	uint16_t found = 0;
	int err = genl_call(&m, &found);
	if (err < 0)
		return err;
	id = found;
	return id != 0 ? id : -ENOENT;
}

/*
 * PROBE: can this kernel carry sessions? /dev/ppp (ppp_generic), a PPPoL2TP socket
 * (pppox and l2tp_ppp, loaded on demand), the l2tp generic netlink family, and the right
 * to copy the daemon's descriptors. DONE, or ERROR naming the first thing missing.
 */
static void on_probe(uint32_t id)
{
	int fd = open("/dev/ppp", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		reply_errno(REQ_PROBE, id, errno, "/dev/ppp");
		return;
	}
	close(fd);
	fd = socket(AF_PPPOX, SOCK_DGRAM | SOCK_CLOEXEC, PX_PROTO_OL2TP);
	if (fd < 0) {
		reply_errno(REQ_PROBE, id, errno, "socket(AF_PPPOX, PX_PROTO_OL2TP)");
		return;
	}
	close(fd);
	int family = l2tp_family();
	if (family < 0) {
		reply_errno(REQ_PROBE, id, -family, "generic netlink family " L2TP_GENL_NAME);
		return;
	}
	/* The daemon's fd 0 may be closed (EBADF): the permission is what counts here. */
	fd = daemon_pidfd < 0 ? -1 : pidfd_getfd(daemon_pidfd, 0, 0);
	if (fd < 0 && (daemon_pidfd < 0 || errno != EBADF)) {
		reply_errno(REQ_PROBE, id, daemon_pidfd < 0 ? ENOSYS : errno,
			    "copying the daemon's descriptors (pidfd_getfd)");
		return;
	}
	if (fd >= 0)
		close(fd);
	reply_done(REQ_PROBE, id, "", 0);
}

/* Is `fd` connected to `address` (text, either family) port `port`? 0 or an errno. */
static int check_peer(int fd, const char *address, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return errno;
	uint8_t want[16];
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		if (inet_pton(AF_INET, address, want) == 1 && memcmp(want, &in->sin_addr, 4) == 0 &&
		    ntohs(in->sin_port) == port)
			return 0;
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		if (inet_pton(AF_INET6, address, want) == 1 &&
		    memcmp(want, &in6->sin6_addr, 16) == 0 && ntohs(in6->sin6_port) == port)
			return 0;
	}
	return EADDRNOTAVAIL;
}

/*
 * Our copy of the daemon's UDP socket number `daemon_fd` (pidfd_getfd), checked to be
 * connected to `address` port `port`: a stale number must not reach another socket. -1 once
 * `req_type`'s ERROR is sent.
 */
static int copy_peer_socket(uint16_t req_type, uint32_t id, uint32_t daemon_fd,
			    const char *address, uint16_t port)
{
	int fd = daemon_pidfd < 0 ? -1 : pidfd_getfd(daemon_pidfd, (int)daemon_fd, 0);
	if (fd < 0) {
		reply_errno(req_type, id, daemon_pidfd < 0 ? ENOSYS : errno,
			    "copying the daemon's UDP socket");
		return -1;
	}
	int err = check_peer(fd, address, port);
	if (err != 0) {
		reply_errno(req_type, id, err, "the socket is not connected to that peer");
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * TUNNEL_CREATE: u32 fd (the daemon's number for the tunnel's UDP socket: bound to the
 * listening address, connected to the peer), u16 tunnel id, u16 peer tunnel id, u16 peer
 * port, peer address (text). The socket is copied from the daemon (pidfd_getfd), checked to
 * be connected to that peer (a stale fd number must not turn another socket into a tunnel),
 * registered as a kernel L2TPv2 tunnel, and our copy closed at once: the tunnel then lives
 * exactly as long as the daemon's socket (its last close deletes it, SIGKILL included) or
 * until TUNNEL_DELETE. Control messages keep arriving on the socket as datagrams.
 */
static void on_tunnel_create(uint32_t id, const uint8_t *p, size_t len)
{
	if (len < 11 || p[len - 1] != 0) {
		reply_error(REQ_TUNNEL_CREATE, id, "EINVAL: malformed TUNNEL_CREATE");
		return;
	}
	uint32_t conn = get_u16(p + 4), peer_conn = get_u16(p + 6);
	int fd = copy_peer_socket(REQ_TUNNEL_CREATE, id, get_u32(p), (const char *)p + 10,
				  get_u16(p + 8));
	if (fd < 0)
		return;
	int family = l2tp_family();
	if (family < 0) {
		reply_errno(REQ_TUNNEL_CREATE, id, -family, "generic netlink family " L2TP_GENL_NAME);
		close(fd);
		return;
	}
	struct genl_msg m;
	uint8_t version = 2;
	uint16_t encap = L2TP_ENCAPTYPE_UDP;
	uint32_t fd32 = fd;
	genl_init(&m, family, L2TP_CMD_TUNNEL_CREATE, L2TP_GENL_VERSION);
	genl_put(&m, L2TP_ATTR_CONN_ID, &conn, 4);
	genl_put(&m, L2TP_ATTR_PEER_CONN_ID, &peer_conn, 4);
	genl_put(&m, L2TP_ATTR_PROTO_VERSION, &version, 1);
	genl_put(&m, L2TP_ATTR_ENCAP_TYPE, &encap, 2);
	genl_put(&m, L2TP_ATTR_FD, &fd32, 4);
	int err = genl_call(&m, NULL);
	close(fd);
	if (err < 0)
		reply_errno(REQ_TUNNEL_CREATE, id, -err, "creating the kernel tunnel");
	else
		reply_done(REQ_TUNNEL_CREATE, id, "", 0);
}

/*
 * TUNNEL_DELETE: u16 tunnel id. Its sessions go with it, and our pppds on them get SIGTERM;
 * the daemon's socket stays open.
 */
static void on_tunnel_delete(uint32_t id, const uint8_t *p, size_t len)
{
	if (len != 2) {
		reply_error(REQ_TUNNEL_DELETE, id, "EINVAL: malformed TUNNEL_DELETE");
		return;
	}
	int family = l2tp_family();
	uint32_t conn = get_u16(p);
	struct genl_msg m;
	int err = family;
	if (family >= 0) {
		genl_init(&m, family, L2TP_CMD_TUNNEL_DELETE, L2TP_GENL_VERSION);
		genl_put(&m, L2TP_ATTR_CONN_ID, &conn, 4);
		err = genl_call(&m, NULL);
	}
	if (err < 0) {
		reply_errno(REQ_TUNNEL_DELETE, id, -err, "deleting the kernel tunnel");
		return;
	}
	/*
	 * Deleting a session does not hang its pppd up (6.1 only drops the session's hold on
	 * the socket; the ppp channel stays registered, pppd sees no EOF): end ours here.
	 */
	for (size_t i = 0; i < n_children; i++)
		if (children[i]->tunnel == conn)
			signal_child(children[i], SIGTERM);
	reply_done(REQ_TUNNEL_DELETE, id, "", 0);
}

/* A PPPoL2TP socket connected to a session of a kernel tunnel, options set: fd or -1. */
static int open_session(const struct kernel_session *ks, char *err, size_t errsize)
{
	int fd = socket(AF_PPPOX, SOCK_DGRAM | SOCK_CLOEXEC, PX_PROTO_OL2TP);
	if (fd < 0) {
		errno_text(err, errsize, errno, "socket(AF_PPPOX, PX_PROTO_OL2TP)");
		return -1;
	}
	/* The tunnel is found by its ID; fd and address only matter for 0/0 (unused here). */
	struct sockaddr_pppol2tp sa = {
		.sa_family = AF_PPPOX,
		.sa_protocol = PX_PROTO_OL2TP,
		.pppol2tp = { .fd = -1, .s_tunnel = ks->tunnel, .s_session = ks->session,
			      .d_tunnel = ks->peer_tunnel, .d_session = ks->peer_session },
	};
	int opts[][2] = {
		{ PPPOL2TP_SO_LNSMODE, !!(ks->options & OPT_LNS_MODE) },
		{ PPPOL2TP_SO_SENDSEQ, !!(ks->options & OPT_SEND_SEQ) },
		{ PPPOL2TP_SO_RECVSEQ, !!(ks->options & OPT_RECV_SEQ) },
		{ PPPOL2TP_SO_REORDERTO, (int)ks->reorder_ms },
	};
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		char what[64];
		snprintf(what, sizeof what, "connecting session %u/%u", ks->tunnel, ks->session);
		errno_text(err, errsize, errno, what);
		close(fd);
		return -1;
	}
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
		if (setsockopt(fd, SOL_PPPOL2TP, opts[i][0], &opts[i][1], sizeof(int)) < 0) {
			errno_text(err, errsize, errno, "setsockopt(SOL_PPPOL2TP)");
			close(fd);
			return -1;
		}
	}
	return fd;
}

/*
 * SPAWN_KERNEL: u16 tunnel id, session id, peer tunnel id, peer session id, u16 options
 * (1 LNS mode, 2 send sequence numbers, 4 require them), u16 0, u32 reorder timeout (ms),
 * then a SPAWN request. Answers as SPAWN does (STARTED, LOG, EXIT).
 */
static void on_spawn_kernel(uint32_t id, const uint8_t *p, size_t len)
{
	if (len < 16) {
		reply_exit(id, -1, 0, "EINVAL: malformed SPAWN_KERNEL");
		return;
	}
	struct kernel_session ks = {
		.tunnel = get_u16(p), .session = get_u16(p + 2), .peer_tunnel = get_u16(p + 4),
		.peer_session = get_u16(p + 6), .options = get_u16(p + 8), .reorder_ms = get_u32(p + 12),
	};
	on_spawn(id, p + 16, len - 16, &ks);
}

/*
 * STATS (id: a SPAWN_KERNEL's): DONE with u64 tx packets, tx bytes, tx errors, rx packets,
 * rx bytes, rx sequence discards, rx out-of-order packets, rx errors (the kernel's session
 * counters), while its pppd runs.
 */
static void on_stats(uint32_t id)
{
	struct child *c = find_by_id(id);
	if (c == NULL || c->l2tpfd < 0) {
		reply_error(REQ_STATS, id, "ESRCH: no live kernel session with that id");
		return;
	}
	struct pppol2tp_ioc_stats st;
	memset(&st, 0, sizeof st);
	if (ioctl(c->l2tpfd, PPPIOCGL2TPSTATS, &st) < 0) {
		reply_errno(REQ_STATS, id, errno, "PPPIOCGL2TPSTATS");
		return;
	}
	uint64_t v[8] = { st.tx_packets, st.tx_bytes,	    st.tx_errors,     st.rx_packets,
			  st.rx_bytes,	 st.rx_seq_discards, st.rx_oos_packets, st.rx_errors };
	uint8_t out[sizeof v];
	for (size_t i = 0; i < 8; i++) {
		put_u32(out + 8 * i, (uint32_t)v[i]);
		put_u32(out + 8 * i + 4, (uint32_t)(v[i] >> 32));
	}
	reply_done(REQ_STATS, id, out, sizeof out);
}

static void on_kill(uint32_t id, const uint8_t *p, size_t len)
{
	if (len != 4) {
		reply_error(REQ_KILL, id, "EINVAL: malformed KILL");
		return;
	}
	struct child *c = find_by_id(id);
	if (c == NULL)
		return;
	/* An ending session's tunnel may be closing its socket: our copy must not outlive it
	 * (a connected socket left open would take the peer's next datagrams from the listener). */
	direct_end(c);
	signal_child(c, (int)get_u32(p));
}

/*
 * DIRECT (id: the operation's): u32 the SPAWN's id, u32 fd (the daemon's number for the
 * tunnel's data socket; DIRECT_KEEP: the same socket, a new header; DIRECT_STOP: stop),
 * u16 peer tunnel, u16 peer session, u16 header (1 L, 2 S, 4 receive), u16 offset padding,
 * u16 Ns, u16 peer port, u16 our tunnel, u16 our session, peer address (text). See "DIRECT"
 * above. DONE, or ERROR and frames keep going to and from the worker. The socket is checked to be connected to that peer, as TUNNEL_CREATE
 * checks (a stale number must not send into another socket).
 */
static void on_direct(uint32_t id, const uint8_t *p, size_t len)
{
	if (len < 25 || p[len - 1] != 0) {
		reply_error(REQ_DIRECT, id, "EINVAL: malformed DIRECT");
		return;
	}
	struct child *c = find_by_id(get_u32(p));
	struct relay *r = c == NULL ? NULL : &c->relay;
	if (r == NULL || r->ptyfd < 0 || c->reaped) {
		reply_error(REQ_DIRECT, id, "ESRCH: no live pppd with that id");
		return;
	}
	uint32_t daemon_fd = get_u32(p + 4);
	uint16_t pad = get_u16(p + 14);
	if (daemon_fd == DIRECT_STOP) {
		direct_end(c);
		reply_done(REQ_DIRECT, id, "", 0);
		return;
	}
	if (pad > DIRECT_MAX_PAD) {
		reply_error(REQ_DIRECT, id, "EINVAL: offset padding above 64 octets");
		return;
	}
	if (daemon_fd == DIRECT_KEEP && r->udpfd < 0) {
		reply_error(REQ_DIRECT, id, "ENOTCONN: not sending directly");
		return;
	}
	if (daemon_fd != DIRECT_KEEP) {
		int fd = copy_peer_socket(REQ_DIRECT, id, daemon_fd, (const char *)p + 24,
					  get_u16(p + 18));
		if (fd < 0)
			return;
		struct shared_socket *s = share_socket(fd);
		if (s == NULL) {
			reply_error(REQ_DIRECT, id, "ENOMEM: keeping the tunnel's data socket");
			return;
		}
		direct_end(c); /* a socket given before: its counts first */
		r->shared = s;
		r->udpfd = s->fd;
		r->ns = get_u16(p + 16);
	}
	uint16_t header = get_u16(p + 12);
	r->peer_tunnel = get_u16(p + 8);
	r->peer_session = get_u16(p + 10);
	r->local_tunnel = get_u16(p + 20);
	r->local_session = get_u16(p + 22);
	r->length_bit = !!(header & HDR_LENGTH);
	r->sequence = !!(header & HDR_SEQUENCE);
	r->offset_pad = pad;
	if (daemon_fd != DIRECT_KEEP)
		direct_report(c, SENT_STARTED);
	/* After `started`: the worker stops reading only once it has that record. */
	receive_set(c, !!(header & HDR_RECEIVE));
	reply_done(REQ_DIRECT, id, "", 0);
}

static void on_record(uint16_t type, uint32_t id, const uint8_t *p, size_t len)
{
	if (closing) {
		/* Still connected (SIGTERM): every request gets its answer. */
		if (type == REQ_SPAWN || type == REQ_SPAWN_KERNEL)
			reply_exit(id, -1, 0, "ESHUTDOWN: the helper is shutting down");
		else if (type >= REQ_PROBE && type <= REQ_DIRECT)
			reply_error(type, id, "ESHUTDOWN: the helper is shutting down");
		return;
	}
	switch (type) {
	case REQ_HELLO:
		on_hello(id, p, len);
		break;
	case REQ_SPAWN:
		on_spawn(id, p, len, NULL);
		break;
	case REQ_KILL:
		on_kill(id, p, len);
		break;
	case REQ_PROBE:
		on_probe(id);
		break;
	case REQ_TUNNEL_CREATE:
		on_tunnel_create(id, p, len);
		break;
	case REQ_TUNNEL_DELETE:
		on_tunnel_delete(id, p, len);
		break;
	case REQ_SPAWN_KERNEL:
		on_spawn_kernel(id, p, len);
		break;
	case REQ_STATS:
		on_stats(id);
		break;
	case REQ_DIRECT:
		on_direct(id, p, len);
		break;
	default:
		reply_error(type, id, "ENOSYS: unknown request type");
	}
}

static void read_control(void)
{
	if (in_cap - in_len < 65536) {
		size_t cap = in_cap ? in_cap * 2 : 131072;
		uint8_t *grown = realloc(in_buf, cap);
		if (grown == NULL) {
			notice("out of memory reading requests");
			begin_shutdown();
			return;
		}
		in_buf = grown;
		in_cap = cap;
	}
	ssize_t n = recv(CONTROL_FD, in_buf + in_len, in_cap - in_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* EOF: the worker thread or the daemon is gone. */
		control_open = 0;
		epoll_ctl(epfd, EPOLL_CTL_DEL, CONTROL_FD, NULL);
		begin_shutdown();
		return;
	}
	in_len += n;
	size_t off = 0;
	while (in_len - off >= 4) {
		uint32_t len = get_u32(in_buf + off);
		if (len < 8 || len > MAX_RECORD) {
			notice("malformed request (length %u): closing", (unsigned)len);
			control_open = 0;
			begin_shutdown();
			return;
		}
		if (in_len - off < 4 + (size_t)len)
			break;
		const uint8_t *r = in_buf + off;
		on_record(get_u16(r + 4), get_u32(r + 8), r + RECORD_HEADER, len - 8);
		off += 4 + len;
	}
	memmove(in_buf, in_buf + off, in_len - off);
	in_len -= off;
	/* A large request still arriving: make room for all of it. */
	if (in_len >= 4 && 4 + (size_t)get_u32(in_buf) > in_cap && get_u32(in_buf) <= MAX_RECORD) {
		uint8_t *grown = realloc(in_buf, 4 + get_u32(in_buf) + 65536);
		if (grown != NULL) {
			in_buf = grown;
			in_cap = 4 + get_u32(in_buf) + 65536;
		}
	}
}

/* ---- main loop ---------------------------------------------------------------------- */

static void on_signal(void)
{
	struct signalfd_siginfo si;
	while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGCHLD)
			reap();
		else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			begin_shutdown();
		/* SIGHUP: the daemon's reload, not ours. */
	}
}

/* Deadlines: drained-or-not exits, DIRECT's periodic SENT reports, and the shutdown's SIGKILL
 * and backstop. */
static int run_timers(void)
{
	int64_t now = now_ms(), next = -1;
	for (size_t i = 0; i < n_children;) {
		struct child *c = children[i];
		if (c->reaped && c->errfd >= 0 && c->drain_deadline <= now) {
			finish_child(c); /* moves the last child into slot i */
			continue;
		}
		struct relay *r = &c->relay;
		if (r->ptyfd >= 0 && r->udpfd >= 0 &&
		    (r->sent_packets | r->sent_dropped | r->recv_packets | r->recv_dropped) != 0) {
			if (r->report_at <= now)
				direct_report(c, SENT_REPORT);
			else if (next < 0 || r->report_at < next)
				next = r->report_at;
		}
		if (c->reaped && c->errfd >= 0 && (next < 0 || c->drain_deadline < next))
			next = c->drain_deadline;
		i++;
	}
	if (closing && kill_deadline >= 0) {
		if (kill_deadline <= now) {
			for (size_t i = 0; i < n_children; i++)
				signal_child(children[i], SIGKILL);
			kill_deadline = -1;
		} else if (next < 0 || kill_deadline < next) {
			next = kill_deadline;
		}
	}
	if (closing && (next < 0 || exit_deadline < next))
		next = exit_deadline;
	return next < 0 ? -1 : (int)(next > now ? next - now : 0);
}

static void setup(void)
{
	struct stat st;
	if (fstat(CONTROL_FD, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "l2tpd-helper: started by l2tpd only (needs its control socket on fd 3)\n");
		exit(2);
	}
	/*
	 * Descriptors the daemon leaked without close-on-exec (a test runner's pipe, say) are
	 * not ours and must not reach pppd: keep only 0-2 and the control socket.
	 */
	close_range(CONTROL_FD + 1, ~0U, 0);
	fcntl(CONTROL_FD, F_SETFD, FD_CLOEXEC);
	/*
	 * The daemon is our parent only until the fork below: hold it by a pidfd now (fd 4,
	 * close-on-exec), so TUNNEL_CREATE can take a copy of its UDP socket and a reused PID
	 * can never be mistaken for it. Failure (kernel < 5.3) is reported by PROBE.
	 */
	daemon_pidfd = pidfd_open(getppid(), 0);
	/* Re-parent to init: the first process exits now, and the worker reaps it. */
	pid_t pid = fork();
	if (pid < 0) {
		perror("l2tpd-helper: fork");
		exit(1);
	}
	if (pid > 0)
		_exit(0);
	/* One pipe per live pppd: a worker with thousands of sessions needs the hard limit. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	fcs_init();
	sigemptyset(&handled_signals);
	sigaddset(&handled_signals, SIGCHLD);
	sigaddset(&handled_signals, SIGTERM);
	sigaddset(&handled_signals, SIGINT);
	sigaddset(&handled_signals, SIGHUP);
	sigprocmask(SIG_BLOCK, &handled_signals, NULL);
	sigfd = signalfd(-1, &handled_signals, SFD_CLOEXEC | SFD_NONBLOCK);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sigfd < 0 || epfd < 0) {
		perror("l2tpd-helper: signalfd/epoll");
		exit(1);
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &sigfd };
	epoll_ctl(epfd, EPOLL_CTL_ADD, sigfd, &ev);
	ev.data.ptr = &epfd; /* marks the control channel */
	epoll_ctl(epfd, EPOLL_CTL_ADD, CONTROL_FD, &ev);
}

/*
 * PDEATHSIG mode: `l2tpd-helper --pdeathsig HELPER_PID PATH ARGS...`, how SPAWN_KERNEL
 * starts pppd. A kernel-path pppd has nothing of ours to read EOF from (its frames are the
 * kernel's, and a deleted session does not hang it up), so if the helper is killed pppd
 * must get SIGTERM from the kernel: posix_spawn cannot set PR_SET_PDEATHSIG, this exec can
 * (it survives the exec of pppd: same credentials). Errors go to fd 2, the log pipe.
 */
static int pdeathsig_exec(char **argv)
{
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != atoi(argv[2])) {
		fprintf(stderr, "l2tpd-helper: the helper is gone before pppd started\n");
		return 1;
	}
	execv(argv[3], argv + 3);
	char text[256];
	errno_text(text, sizeof text, errno, argv[3]);
	fprintf(stderr, "%s\n", text);
	return 127;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], PDEATHSIG_MODE) == 0)
		return pdeathsig_exec(argv);
	setup();
	uint8_t ready[6];
	put_u32(ready, getpid());
	put_u16(ready + 4, PROTOCOL_VERSION);
	reply(REP_READY, 0, ready, sizeof ready, "", 0);

	struct epoll_event events[64];
	for (;;) {
		if (closing && (all_reaped() || now_ms() >= exit_deadline))
			return 0;
		int n = epoll_wait(epfd, events, 64, run_timers());
		if (n < 0 && errno != EINTR) {
			notice("epoll_wait: %s", strerror(errno));
			begin_shutdown();
			continue;
		}
		for (int i = 0; i < n; i++) {
			void *tag = events[i].data.ptr;
			if (tag == &sigfd)
				on_signal();
			else if (tag == &epfd)
				read_control();
			else if (((struct watch *)tag)->kind == W_STDERR)
				read_stderr(((struct watch *)tag)->c);
			else if (((struct watch *)tag)->kind == W_UDP)
				udp_readable(((struct watch *)tag)->s);
			else
				relay_event(tag, events[i].events);
		}
		while (dead != NULL) {
			struct child *c = dead;
			dead = c->next_dead;
			free(c);
		}
		while (dead_sockets != NULL) {
			struct shared_socket *s = dead_sockets;
			dead_sockets = s->next_dead;
			free(s);
		}
	}
}
