/* Storm client: N SSE clients connecting to one server at the same instant.
 *
 *   stormclient PORT PATH N NEED TIMEOUT_S [HOLD_S]
 *
 * Every socket is opened non-blocking and connect()ed in one tight loop, then one epoll
 * loop sends each request, reads the response head and counts "data:" lines in the body.
 * A client is done once it has a 200 and NEED events (its replay, or a "connected" event).
 * Prints one JSON object on stdout: how many connected, how many were done, the time until
 * the last was done, latency percentiles, errors by kind, the RLIMIT_NOFILE it ran with
 * and its own CPU time. With HOLD_S, the clients then stay connected that long and a second
 * JSON line follows: the longest silence any client saw meanwhile (with heartbeats on, at
 * most about one heartbeat interval) and how many streams ended. The first line is printed
 * before the hold starts, so the caller can measure the server with every stream open.
 * It is written in C with epoll so that the client is not what limits a 10,000-client storm
 * on a 2-core machine (a Python client spends seconds just opening that many sockets).
 * benchmarks/fanout.py builds it (gcc -O2) into a cache folder and runs it for its storm table.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { CONNECTING, SENT, STREAMING, DONE, ENDED, FAILED }; /* ENDED: closed after DONE */

typedef struct {
  int fd, state, status, head_len, data_seen;
  char head[4096];
  char tail[5]; /* the last bytes of the previous read, so "data:" split over two is found */
  double done_at;
  double last_rx, max_gap; /* during the hold */
} client_t;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* "\ndata:" in the body, counted across reads; the first line of a body counts too. */
static int count_data(client_t *c, const char *buf, int n) {
  char joined[4096 + 8];
  int found = 0, t = (int)strlen(c->tail);
  while (n > 0) {
    int take = n > 4096 ? 4096 : n;
    memcpy(joined, c->tail, t);
    memcpy(joined + t, buf, take);
    int len = t + take;
    for (int i = 0; i + 6 <= len; i++)
      if (joined[i] == '\n' && memcmp(joined + i + 1, "data:", 5) == 0) found++;
    t = len < 5 ? len : 5;
    memcpy(c->tail, joined + len - t, t);
    c->tail[t] = 0;
    buf += take;
    n -= take;
  }
  return found;
}

int main(int argc, char **argv) {
  if (argc != 6 && argc != 7) {
    fprintf(stderr, "usage: %s PORT PATH N NEED TIMEOUT_S [HOLD_S]\n", argv[0]);
    return 2;
  }
  double hold = argc == 7 ? atof(argv[6]) : 0;
  int port = atoi(argv[1]), n = atoi(argv[3]), need = atoi(argv[4]);
  double timeout = atof(argv[5]);
  const char *path = argv[2];

  struct rlimit lim;
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max; /* as far as this machine allows */
  setrlimit(RLIMIT_NOFILE, &lim);
  getrlimit(RLIMIT_NOFILE, &lim);

  char request[2048];
  int request_len = snprintf(request, sizeof request,
                             "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n", path);
  client_t *clients = calloc(n, sizeof *clients);
  int ep = epoll_create1(0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  int err_socket = 0, err_connect = 0, err_reset = 0, err_status = 0, err_closed = 0;
  int connected = 0, done = 0, failed = 0;

  double start = now();
  for (int i = 0; i < n; i++) {
    client_t *c = &clients[i];
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) {
      err_socket++;
      c->state = FAILED;
      failed++;
      continue;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
      err_connect++;
      c->state = FAILED;
      failed++;
      close(c->fd);
      continue;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (unsigned)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
  }

  struct epoll_event events[512];
  char buf[65536];
  double deadline = start + timeout;
  while (done + failed < n && now() < deadline) {
    int k = epoll_wait(ep, events, 512, 100);
    for (int e = 0; e < k; e++) {
      client_t *c = &clients[events[e].data.u32];
      if (c->state == CONNECTING) {
        int soerr = 0;
        socklen_t len = sizeof soerr;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
        if (soerr != 0 || send(c->fd, request, request_len, MSG_NOSIGNAL) != request_len) {
          err_connect++;
          goto fail;
        }
        connected++;
        c->state = SENT;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = events[e].data.u32};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        continue;
      }
      if (c->state == DONE) { /* drain what comes after (heartbeats, live events) */
        ssize_t got = recv(c->fd, buf, sizeof buf, 0);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
          epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL); /* done already; the hold counts it ended */
          close(c->fd);
          c->fd = -1;
          c->state = ENDED;
        }
        continue;
      }
      if (c->state != SENT && c->state != STREAMING) continue;
      ssize_t got = recv(c->fd, buf, sizeof buf, 0);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (got < 0) {
        err_reset++;
        goto fail;
      }
      if (got == 0) {
        err_closed++;
        goto fail;
      }
      char *body = buf;
      int body_len = (int)got;
      if (c->state == SENT) {
        int room = (int)sizeof c->head - 1 - c->head_len;
        int take = body_len < room ? body_len : room;
        memcpy(c->head + c->head_len, buf, take);
        c->head_len += take;
        c->head[c->head_len] = 0;
        char *end = strstr(c->head, "\r\n\r\n");
        if (end == NULL) continue;
        c->status = atoi(c->head + 9);
        if (c->status != 200) {
          err_status++;
          goto fail;
        }
        int head_bytes = (int)(end + 4 - c->head) - (c->head_len - take);
        body = buf + head_bytes;
        body_len -= head_bytes;
        c->state = STREAMING;
        strcpy(c->tail, "\n"); /* the body's first line is a line start too */
      }
      c->data_seen += count_data(c, body, body_len);
      if (c->data_seen >= need) {
        c->state = DONE;
        c->done_at = now() - start;
        done++;
      }
      continue;
    fail:
      c->state = FAILED;
      failed++;
      epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
      close(c->fd);
      c->fd = -1;
    }
  }
  double elapsed = now() - start;

  double *times = malloc(sizeof(double) * (done ? done : 1));
  int m = 0;
  for (int i = 0; i < n; i++)
    if (clients[i].state == DONE) times[m++] = clients[i].done_at;
  qsort(times, m, sizeof(double), cmp_double);
  int timed_out = n - done - failed;
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  double cpu = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec +
               usage.ru_stime.tv_usec / 1e6;
  printf("{\"clients\": %d, \"connected\": %d, \"done\": %d, \"all_done_s\": %.4f, "
         "\"p50_s\": %.4f, \"p99_s\": %.4f, \"errors\": %d, \"err_socket\": %d, \"err_connect\": %d, "
         "\"err_reset\": %d, \"err_closed\": %d, \"err_status\": %d, \"timed_out\": %d, "
         "\"nofile\": %llu, \"client_cpu_s\": %.3f, \"elapsed_s\": %.4f}\n",
         n, connected, done, done == n ? times[m - 1] : -1.0, m ? times[m / 2] : -1.0,
         m ? times[(int)(m * 0.99) < m ? (int)(m * 0.99) : m - 1] : -1.0, failed + timed_out, err_socket,
         err_connect, err_reset, err_closed, err_status, timed_out, (unsigned long long)lim.rlim_cur, cpu,
         elapsed);
  fflush(stdout);
  if (hold > 0) {
    double hold_start = now(), hold_end = hold_start + hold;
    for (int i = 0; i < n; i++) clients[i].last_rx = hold_start;
    int ended = 0;
    for (int i = 0; i < n; i++) ended += clients[i].state == ENDED;
    while (now() < hold_end) {
      int k = epoll_wait(ep, events, 512, 50);
      double t = now();
      for (int e = 0; e < k; e++) {
        client_t *c = &clients[events[e].data.u32];
        if (c->state != DONE && c->state != STREAMING) continue;
        ssize_t got = recv(c->fd, buf, sizeof buf, 0);
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (got <= 0) {
          ended++;
          c->state = ENDED;
          epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
          close(c->fd);
          c->fd = -1;
          continue;
        }
        if (t - c->last_rx > c->max_gap) c->max_gap = t - c->last_rx;
        c->last_rx = t;
      }
    }
    double worst = 0, t = now();
    int held = 0;
    for (int i = 0; i < n; i++) {
      client_t *c = &clients[i];
      if (c->state != DONE && c->state != STREAMING) continue;
      held++;
      if (t - c->last_rx > c->max_gap) c->max_gap = t - c->last_rx;
      if (c->max_gap > worst) worst = c->max_gap;
    }
    printf("{\"held\": %d, \"hold_s\": %.3f, \"hold_max_silence_s\": %.4f, \"hold_ended\": %d}\n", held,
           t - hold_start, worst, ended);
    fflush(stdout);
  }
  for (int i = 0; i < n; i++)
    if (clients[i].fd >= 0 && clients[i].state != FAILED) close(clients[i].fd);
  return 0;
}
