/*
 * Light stand-in for /usr/sbin/pppd in load benchmarks: echo mode of
 * test/tools/stand-in-pppd.mjs in C, so a thousand of them cost a few MiB and
 * start in about a millisecond each (a Node stand-in is ~9 MiB and tens of ms
 * of CPU). SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Speaks async HDLC (RFC 1662 section 4) on stdin/stdout as pppd does under
 * `notty` (or on the pty xl2tpd hands it: switched to raw mode first). Every
 * frame whose FCS-16 checks is sent back byte-exact with a fresh FCS, escaping
 * 0x7E, 0x7D and every control octet (transmit ACCM 0xffffffff, the default).
 * Frames with a bad FCS, aborted (7D 7E) or too long are dropped. Arguments are
 * accepted and ignored. Exit codes as pppd's: 16 (hangup) when stdin closes or
 * on SIGHUP, 5 on SIGTERM/SIGINT.
 *
 * STANDIN_ACK=N (bench:load --flow ack): the shape of a TCP receiver instead of
 * an echo. Frames of at most N octets still come back whole (setup probes);
 * of the longer ones every second is answered with its first N octets, its
 * length field (octets 12-13 of the load generator's frames) set to N: a
 * delayed cumulative ACK, one small frame back for two large ones forward.
 *
 * Built on demand by the bench harness: cc -O2 -o .cache/stand-in-pppd this.c
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define FLAG 0x7e
#define ESC 0x7d
#define MAX_FRAME 4096
#define IN_SIZE 65536
/* Worst case: every octet of every frame escaped, FCS too, plus flags. */
#define OUT_SIZE (2 * IN_SIZE + 2 * (MAX_FRAME + 4) + 16)

static uint16_t fcs_table[256];
/* 1 when an octet must be escaped under ACCM 0xffffffff. */
static uint8_t must_escape[256];

static uint8_t in[IN_SIZE];
static uint8_t out[OUT_SIZE];
static size_t out_len;
static uint8_t work[MAX_FRAME + 2];
static size_t work_len;
static int escaped;
static int discarding;
static uint16_t rx_fcs = 0xffff;
/* STANDIN_ACK: 0 echoes everything; N acknowledges every second frame longer than N. */
static size_t ack_size;
static unsigned long long_frames;

static void on_term(int sig) { _exit(sig == SIGHUP ? 16 : 5); }

static void init_tables(void) {
  for (int b = 0; b < 256; b++) {
    uint16_t v = (uint16_t)b;
    for (int i = 0; i < 8; i++) v = (v & 1) ? (uint16_t)((v >> 1) ^ 0x8408) : (uint16_t)(v >> 1);
    fcs_table[b] = v;
    must_escape[b] = (b < 0x20 || b == FLAG || b == ESC) ? 1 : 0;
  }
}

static void put(uint8_t b) {
  if (must_escape[b]) {
    out[out_len++] = ESC;
    out[out_len++] = b ^ 0x20;
  } else {
    out[out_len++] = b;
  }
}

/* Write all of out[0, out_len); waits if stdout is non-blocking and full. */
static int flush_out(void) {
  size_t off = 0;
  while (off < out_len) {
    ssize_t n = write(1, out + off, out_len - off);
    if (n > 0) {
      off += (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      struct pollfd p = {.fd = 1, .events = POLLOUT};
      poll(&p, 1, -1);
    } else {
      return -1;
    }
  }
  out_len = 0;
  return 0;
}

static void echo_frame(size_t len) {
  uint16_t fcs = 0xffff;
  out[out_len++] = FLAG;
  for (size_t i = 0; i < len; i++) {
    uint8_t b = work[i];
    fcs = (uint16_t)((fcs >> 8) ^ fcs_table[(fcs ^ b) & 0xff]);
    put(b);
  }
  fcs ^= 0xffff;
  put((uint8_t)(fcs & 0xff));
  put((uint8_t)(fcs >> 8));
  out[out_len++] = FLAG;
}

/* An intact frame of len octets (FCS excluded) in work[]: echo or acknowledge it. */
static void answer_frame(size_t len) {
  if (ack_size == 0 || len <= ack_size) {
    echo_frame(len);
  } else if (++long_frames % 2 == 0) {
    work[12] = (uint8_t)(ack_size >> 8);
    work[13] = (uint8_t)ack_size;
    echo_frame(ack_size);
  }
}

static void end_frame(void) {
  /* FCS over the frame and its FCS octets is 0xf0b8 when intact (RFC 1662 C.2). */
  if (!escaped && !discarding && work_len >= 4 && rx_fcs == 0xf0b8) answer_frame(work_len - 2);
  work_len = 0;
  escaped = 0;
  discarding = 0;
  rx_fcs = 0xffff;
}

static void on_data(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint8_t b = p[i];
    if (b == FLAG) {
      end_frame();
      continue;
    }
    if (discarding) continue;
    if (b == ESC) {
      escaped = 1;
      continue;
    }
    if (escaped) {
      b ^= 0x20;
      escaped = 0;
    }
    if (work_len == sizeof work) {
      discarding = 1;
      continue;
    }
    work[work_len++] = b;
    rx_fcs = (uint16_t)((rx_fcs >> 8) ^ fcs_table[(rx_fcs ^ b) & 0xff]);
  }
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  init_tables();
  const char *ack = getenv("STANDIN_ACK");
  if (ack != NULL) ack_size = (size_t)strtoul(ack, NULL, 10);
  if (ack_size != 0 && (ack_size < 14 || ack_size > MAX_FRAME)) ack_size = 0;
  if (isatty(0)) {
    struct termios t;
    if (tcgetattr(0, &t) == 0) {
      cfmakeraw(&t);
      tcsetattr(0, TCSANOW, &t);
    }
  }
  for (;;) {
    ssize_t n = read(0, in, sizeof in);
    if (n == 0) return 16;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd p = {.fd = 0, .events = POLLIN};
        poll(&p, 1, -1);
        continue;
      }
      return 16;
    }
    on_data(in, (size_t)n);
    if (out_len > 0 && flush_out() < 0) return 16;
  }
}
