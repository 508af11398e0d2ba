/* Steady client: N SSE subscribers and one publisher offering a fixed event rate.
 *
 *   steadyclient PORT SUBPATH N SUBPORTS RATE BATCH DURATION_S REQUEST...
 *
 * SUBPORTS is a comma-separated list of ports the subscribers are spread over (several
 * servers sharing one backend), or "-" for PORT. Each REQUEST is one whole HTTP/1.1 POST
 * (head and body) that publishes part of a batch of BATCH events; its body holds the
 * 17-character placeholder STAMP wherever an event's publish time goes. Every 1/RATE*BATCH
 * seconds the publisher writes the batch's time (CLOCK_REALTIME, "%.6f", 17 characters
 * until the year 2286) over every placeholder and sends the requests one after another,
 * each once the reply to the one before has come, on one keep-alive connection, as
 * benchmarks/_loadclient.py does. A batch that is late starts at once.
 *
 * Subscribers connect in waves of 100 (each wave waits for its response heads, so that
 * no server's listen backlog overflows), then everything runs in one epoll loop. Every
 * subscriber counts events (blank lines, "\n\n") and reads the publish time of every
 * event it receives ("t": in the event's JSON): latency is this process's CLOCK_REALTIME
 * right after the recv() that returned the event, less the time the publisher stamped,
 * so both ends read one clock on one machine. Latencies go into a histogram of 0.05 ms
 * bins (percentiles over every delivery, not a sample).
 *
 * Prints a JSON line {"phase": "publishing"} when the first batch goes out and one JSON
 * object with the figures at the end: the event rate sustained, the share of deliveries
 * that arrived, latency percentiles over every delivery and over the first 20 streams
 * (the sample benchmarks/_loadclient.py reads), and this process's CPU share of one core.
 * It is written in C so that the load client takes little of a 2-core machine: the
 * Python client spent two thirds of a core on 1,000 streams at 1,000 events/s.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define STAMP "1111111111.111111"
#define STAMP_LEN 17
#define SAMPLES 20
#define BIN_MS 0.05
#define BINS 40000 /* up to 2 s; later ones land in the last bin */
#define TAIL_MAX 48
#define PUB_ID 0xFFFFFFFFu
#define TIMER_ID 0xFFFFFFFEu

typedef struct {
  int fd, headers, status, head_len;
  char head[1024];
  long events;
  char last;                 /* the last byte of the previous read: "\n" + "\n" spans reads */
  char tail[TAIL_MAX];       /* a "t": field cut by the end of the previous read */
  int tail_len;
} sub_t;

typedef struct {
  long counts[BINS];
  long n;
} hist_t;

static hist_t all_hist, sample_hist;

static double mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double wall(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

static void record(hist_t *h, double seconds) {
  long bin = (long)(seconds * 1000 / BIN_MS);
  if (bin < 0) bin = 0;
  if (bin >= BINS) bin = BINS - 1;
  h->counts[bin]++;
  h->n++;
}

static double percentile_ms(const hist_t *h, double q) {
  if (h->n == 0) return -1;
  long rank = (long)(q * h->n), seen = 0;
  if (rank >= h->n) rank = h->n - 1;
  for (int i = 0; i < BINS; i++) {
    seen += h->counts[i];
    if (seen > rank) return (i + 0.5) * BIN_MS;
  }
  return (BINS - 0.5) * BIN_MS;
}

static int connect_to(int port) {
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Count events and read publish times in data[0..n), which follows what the previous
 * read left in s->tail (copied just before data by the caller, at data - s->tail_len). */
static void scan(sub_t *s, char *data, long n, double now, int sample) {
  for (char *p = data, *end = data + n; (p = memchr(p, '\n', end - p)) != NULL; p++) {
    if (p == data ? s->last == '\n' : p[-1] == '\n') s->events++;
  }
  if (n > 0) s->last = data[n - 1];
  char *p = data - s->tail_len, *end = data + n;
  s->tail_len = 0;
  while (p < end) {
    char *hit = memmem(p, end - p, "\"t\":", 4);
    if (hit == NULL) {
      /* Keep what could be the start of a "t": cut by the end of this read. */
      long keep = end - p < 3 ? end - p : 3;
      memmove(s->tail, end - keep, keep);
      s->tail_len = (int)keep;
      return;
    }
    char *q = hit + 4;
    while (q < end && *q == ' ') q++;
    char *digits = q;
    while (q < end && ((*q >= '0' && *q <= '9') || *q == '.')) q++;
    if (q == end) { /* the number may go on in the next read */
      long keep = end - hit;
      if (keep <= TAIL_MAX) {
        memmove(s->tail, hit, keep);
        s->tail_len = (int)keep;
      }
      return;
    }
    if (q > digits) {
      double latency = now - strtod(digits, NULL);
      record(&all_hist, latency);
      if (sample) record(&sample_hist, latency);
    }
    p = q;
  }
}

/* One recv() on a subscriber into buf, scanned with what its previous read left. */
static ssize_t read_sub(sub_t *s, char *buf, long size, int sample) {
  memcpy(buf - s->tail_len, s->tail, s->tail_len);
  ssize_t got = recv(s->fd, buf, size, 0);
  if (got > 0) scan(s, buf, got, wall(), sample);
  return got;
}

typedef struct {
  int fd, port, waiting, current, count;
  char **requests;
  long *lengths;
  long *stamps[64]; /* per request: offsets of STAMP in it, -1 ended */
  char reply[65536];
  int reply_len;
} publisher_t;

static void find_stamps(publisher_t *pub) {
  for (int r = 0; r < pub->count; r++) {
    int found = 0;
    pub->stamps[r] = malloc(sizeof(long) * (pub->lengths[r] / STAMP_LEN + 2));
    for (char *p = pub->requests[r]; (p = memmem(p, pub->lengths[r] - (p - pub->requests[r]), STAMP, STAMP_LEN));
         p += STAMP_LEN)
      pub->stamps[r][found++] = p - pub->requests[r];
    pub->stamps[r][found] = -1;
  }
}

static int pub_send(publisher_t *pub, int r) {
  long sent = 0;
  while (sent < pub->lengths[r]) {
    ssize_t k = send(pub->fd, pub->requests[r] + sent, pub->lengths[r] - sent, MSG_NOSIGNAL);
    if (k <= 0) return -1;
    sent += k;
  }
  pub->current = r;
  pub->waiting = 1;
  pub->reply_len = 0;
  return 0;
}

/* 1 when the reply in pub->reply is complete (sets *close_after), 0 if not yet, -1 bad. */
static int reply_complete(publisher_t *pub, int *close_after, int *status) {
  pub->reply[pub->reply_len] = 0;
  char *end = strstr(pub->reply, "\r\n\r\n");
  if (end == NULL) return 0;
  *status = atoi(pub->reply + 9);
  long head = end + 4 - pub->reply;
  *close_after = strcasestr(pub->reply, "\r\nconnection: close") != NULL &&
                 strcasestr(pub->reply, "\r\nconnection: close") < end;
  char *cl = strcasestr(pub->reply, "\r\ncontent-length:");
  if (cl != NULL && cl < end) return pub->reply_len >= head + atol(cl + 17);
  char *te = strcasestr(pub->reply, "\r\ntransfer-encoding: chunked");
  if (te != NULL && te < end) return strstr(end + 4, "0\r\n\r\n") != NULL;
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 9) {
    fprintf(stderr, "usage: %s PORT SUBPATH N SUBPORTS RATE BATCH DURATION_S REQUEST...\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]), n = atoi(argv[3]), rate = atoi(argv[5]), batch = atoi(argv[6]);
  const char *path = argv[2];
  double duration = atof(argv[7]);
  int sub_ports[64], n_ports = 0;
  if (strcmp(argv[4], "-") == 0) {
    sub_ports[n_ports++] = port;
  } else {
    for (char *p = strtok(argv[4], ","); p != NULL && n_ports < 64; p = strtok(NULL, ","))
      sub_ports[n_ports++] = atoi(p);
  }
  publisher_t pub = {.port = port, .count = argc - 8, .requests = argv + 8};
  if (pub.count > 64) {
    fprintf(stderr, "at most 64 requests per batch\n");
    return 2;
  }
  pub.lengths = malloc(sizeof(long) * pub.count);
  for (int r = 0; r < pub.count; r++) pub.lengths[r] = (long)strlen(pub.requests[r]);
  find_stamps(&pub);

  struct rlimit lim;
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);

  char request[2048];
  int request_len = snprintf(request, sizeof request,
                             "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n", path);
  sub_t *subs = calloc(n, sizeof *subs);
  int ep = epoll_create1(0);
  static char storage[TAIL_MAX + 262144];
  char *buf = storage + TAIL_MAX; /* a sub's tail is copied just before what recv() reads */
  const long buf_size = 262144;
  struct epoll_event events[1024];

  /* Connect in waves; each waits for its heads. */
  for (int start = 0; start < n; start += 100) {
    int stop = start + 100 < n ? start + 100 : n, pending = stop - start;
    for (int i = start; i < stop; i++) {
      sub_t *s = &subs[i];
      s->fd = connect_to(sub_ports[i % n_ports]);
      if (s->fd < 0 || send(s->fd, request, request_len, MSG_NOSIGNAL) != request_len) {
        fprintf(stderr, "subscriber %d could not connect: %s\n", i, strerror(errno));
        return 1;
      }
      struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (unsigned)i};
      epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
    }
    double deadline = mono() + 30;
    while (pending > 0) {
      if (mono() > deadline) {
        fprintf(stderr, "stream heads did not come within 30 s\n");
        return 1;
      }
      int k = epoll_wait(ep, events, 1024, 100);
      for (int e = 0; e < k; e++) {
        sub_t *s = &subs[events[e].data.u32];
        ssize_t got = s->headers ? read_sub(s, buf, buf_size, 0) : recv(s->fd, buf, buf_size, 0);
        if (got <= 0) {
          fprintf(stderr, "a stream closed before the run began\n");
          return 1;
        }
        if (s->headers) continue;
        int take = got < (ssize_t)(sizeof s->head - 1 - s->head_len) ? (int)got
                                                                      : (int)(sizeof s->head - 1 - s->head_len);
        memcpy(s->head + s->head_len, buf, take);
        s->head_len += take;
        s->head[s->head_len] = 0;
        char *end = strstr(s->head, "\r\n\r\n");
        if (end == NULL) continue;
        s->status = atoi(s->head + 9);
        if (s->status != 200) {
          fprintf(stderr, "stream refused: %d\n", s->status);
          printf("{\"error\": \"stream refused: %d\"}\n", s->status);
          return 1;
        }
        s->headers = 1;
        pending--;
        long body = (end + 4 - s->head) - (s->head_len - take);
        scan(s, buf + body, got - body, wall(), 0);
      }
    }
  }

  /* Let connection-time events (retry:, a greeting) arrive, as the Python client does. */
  for (double until = mono() + 0.5; mono() < until;) {
    int k = epoll_wait(ep, events, 1024, 50);
    for (int e = 0; e < k; e++) {
      read_sub(&subs[events[e].data.u32], buf, buf_size, 0);
    }
  }
  memset(&all_hist, 0, sizeof all_hist);
  memset(&sample_hist, 0, sizeof sample_hist);
  long base = 0;
  for (int i = 0; i < n; i++) base += subs[i].events;

  pub.fd = connect_to(port);
  if (pub.fd < 0) {
    fprintf(stderr, "the publisher could not connect\n");
    return 1;
  }
  struct epoll_event pev = {.events = EPOLLIN, .data.u32 = PUB_ID};
  epoll_ctl(ep, EPOLL_CTL_ADD, pub.fd, &pev);
  int timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  struct epoll_event tev = {.events = EPOLLIN, .data.u32 = TIMER_ID};
  epoll_ctl(ep, EPOLL_CTL_ADD, timer, &tev);

  printf("{\"phase\": \"publishing\"}\n");
  fflush(stdout);
  double interval = (double)batch / rate, start = mono(), next_at = start, cpu0 = cpu_seconds();
  long sent = 0;
  int publishing = 1, closed_streams = 0, errors = 0;
  double publish_end = 0, wait_deadline = 0;

#define START_BATCH()                                                                      \
  do {                                                                                     \
    char stamp[32];                                                                        \
    snprintf(stamp, sizeof stamp, "%.6f", wall());                                         \
    for (int r = 0; r < pub.count; r++)                                                    \
      for (long *o = pub.stamps[r]; *o >= 0; o++) memcpy(pub.requests[r] + *o, stamp, STAMP_LEN); \
    if (pub_send(&pub, 0) < 0) errors++;                                                   \
  } while (0)

  START_BATCH();
  for (;;) {
    long delivered = 0;
    if (!publishing) {
      for (int i = 0; i < n; i++) delivered += subs[i].events;
      if (delivered - base >= sent * (long)n || mono() > wait_deadline) break;
    }
    int k = epoll_wait(ep, events, 1024, publishing ? 1000 : 5);
    for (int e = 0; e < k; e++) {
      unsigned id = events[e].data.u32;
      if (id == TIMER_ID) {
        unsigned long long expirations;
        if (read(timer, &expirations, sizeof expirations) > 0 && publishing && !pub.waiting) START_BATCH();
        continue;
      }
      if (id == PUB_ID) {
        ssize_t got = recv(pub.fd, pub.reply + pub.reply_len, sizeof pub.reply - 1 - pub.reply_len, 0);
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        int close_after = 0, status = 0, done = 0;
        if (got > 0) {
          pub.reply_len += (int)got;
          done = reply_complete(&pub, &close_after, &status);
          if (!done) continue;
        }
        if (got <= 0 || close_after) { /* the server closed the keep-alive connection */
          epoll_ctl(ep, EPOLL_CTL_DEL, pub.fd, NULL);
          close(pub.fd);
          pub.fd = connect_to(port);
          if (pub.fd < 0) {
            fprintf(stderr, "the publisher could not reconnect\n");
            return 1;
          }
          epoll_ctl(ep, EPOLL_CTL_ADD, pub.fd, &pev);
          if (got <= 0) {
            if (!pub.waiting) continue; /* closed while idle: the next batch uses the new one */
            if (pub.reply_len == 0) {   /* closed before answering: send it again */
              if (pub_send(&pub, pub.current) < 0) errors++;
              continue;
            }
            errors++; /* cut off mid-reply: count it, go on */
          }
        }
        if (done && status >= 300) {
          fprintf(stderr, "publish answered %d\n", status);
          errors++;
        }
        pub.waiting = 0;
        if (pub.current + 1 < pub.count) {
          if (pub_send(&pub, pub.current + 1) < 0) errors++;
          continue;
        }
        sent += batch;
        next_at += interval;
        double t = mono();
        if (t - start >= duration) {
          publishing = 0;
          publish_end = t;
          wait_deadline = t + 10;
        } else if (next_at <= t) {
          START_BATCH();
        } else {
          struct itimerspec when = {.it_value = {.tv_sec = (time_t)next_at,
                                                 .tv_nsec = (long)((next_at - (time_t)next_at) * 1e9)}};
          timerfd_settime(timer, TFD_TIMER_ABSTIME, &when, NULL);
        }
        continue;
      }
      sub_t *s = &subs[id];
      if (s->fd < 0) continue;
      ssize_t got = read_sub(s, buf, buf_size, id < SAMPLES);
      if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
        epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
        close(s->fd);
        s->fd = -1;
        closed_streams++;
      }
    }
  }
  double finished = mono(), cpu = cpu_seconds() - cpu0;
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  long delivered = 0;
  for (int i = 0; i < n; i++) delivered += subs[i].events;
  delivered -= base;
  printf("{\"sustained_events_per_s\": %.2f, \"delivered_fraction\": %.6f, \"client_cpu\": %.4f, "
         "\"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, \"p999_ms\": %.3f, \"max_ms\": %.3f, "
         "\"sample_p50_ms\": %.3f, \"sample_p99_ms\": %.3f, \"latencies\": %ld, \"sent\": %ld, "
         "\"closed_streams\": %d, \"publish_errors\": %d, \"span_s\": %.4f, \"client_sys_s\": %.3f}\n",
         sent / (publish_end - start), (double)delivered / (sent * (double)n > 0 ? sent * (double)n : 1),
         cpu / (finished - start), percentile_ms(&all_hist, 0.5), percentile_ms(&all_hist, 0.9),
         percentile_ms(&all_hist, 0.99), percentile_ms(&all_hist, 0.999), percentile_ms(&all_hist, 1.0),
         percentile_ms(&sample_hist, 0.5), percentile_ms(&sample_hist, 0.99), all_hist.n, sent, closed_streams,
         errors, finished - start, usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6);
  return 0;
}
