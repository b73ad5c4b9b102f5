#include "dgaudit/sink_syslog.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "dgaudit/clock.h"
#include "dgaudit/log.h"
#include "dgaudit/metrics.h"
#include "dgaudit/relp.h"
#include "dgaudit/tls.h"
#include "dgaudit/ts.h"
#include "dgaudit/xmalloc.h"

#define SD_ID       "dgaudit@32473" /* 32473: the enterprise number RFC 5612 sets aside */
#define RELP_WINDOW 128             /* frames sent before an acknowledgement is waited for */
#define UDP_MAX     65000           /* a datagram's payload, with room for the headers */
#define BACKOFF_MAX 5000            /* ms between attempts to reach an absent collector */

/* ---- messages (pure) ----------------------------------------------------------------------- */

/* An SD-PARAM value: '"', '\' and ']' escaped (RFC 5424, 6.3.3). */
static void sd_param(struct dg_buf *b, const char *name, const char *v)
{
	dg_buf_printf(b, " %s=\"", name);
	for (; *v; v++) {
		if (*v == '"' || *v == '\\' || *v == ']')
			dg_buf_addc(b, '\\');
		dg_buf_addc(b, *v);
	}
	dg_buf_addc(b, '"');
}

static void header(struct dg_buf *b, const struct dg_syslog_origin *o, int severity, int64_t ms,
                   const char *msgid)
{
	char ts[DG_TS_BUFSZ];

	dg_buf_printf(b, "<%d>1 %s %s dgaudit %d %s [" SD_ID, o->facility * 8 + severity,
	              dg_ts_format(ms, ts), o->hostname && *o->hostname ? o->hostname : "-", o->pid,
	              msgid);
	sd_param(b, "report_id", o->report_id ? o->report_id : "");
}

/* The syslog severity of a finding's: critical 2, high 3 (error), medium 4 (warning), low 5
 * (notice), info 6. */
static int severity_of(enum dg_severity s)
{
	return 6 - (int)s;
}

void dg_sink_syslog_finding(struct dg_buf *out, const struct dg_syslog_origin *o, int64_t now_ms,
                            const struct dg_sink_finding *f)
{
	const struct dg_rule *r = f->match->rule;

	header(out, o, severity_of(r->severity), now_ms,
	       f->match->kind == DG_MATCH_OPEN ? "alert" : "finding");
	sd_param(out, "id", f->id);
	sd_param(out, "rule", r->id);
	sd_param(out, "severity", dg_rules_severity_name(r->severity));
	for (size_t i = 0; i < r->ncompliance; i++)
		for (size_t k = 0; k < r->compliance[i].nrefs; k++) {
			char *ref = dg_xasprintf("%s %s", r->compliance[i].framework,
			                         r->compliance[i].refs[k]);

			sd_param(out, "compliance", ref);
			free(ref);
		}
	dg_buf_adds(out, "] ");
	dg_buf_add(out, f->line, f->len);
}

void dg_sink_syslog_integrity(struct dg_buf *out, const struct dg_syslog_origin *o,
                              const struct dg_integrity *ev)
{
	static const char *const serious[] = {"gap",
	                                      "lost",
	                                      "deleted",
	                                      "read_error",
	                                      "input_unreadable",
	                                      "shrunk",
	                                      "state_lost",
	                                      "state_restored",
	                                      "keys_replaced",
	                                      "report_lost",
	                                      "malformed_ratio",
	                                      "descriptors_exhausted",
	                                      NULL};
	struct dg_cjson *j = dg_cjson_object();
	char ts[DG_TS_BUFSZ], bytes[24];
	int sev = 5;

	for (size_t i = 0; serious[i] != NULL; i++)
		if (strcmp(serious[i], ev->type) == 0)
			sev = 4;
	header(out, o, sev, ev->time_ms, "integrity");
	sd_param(out, "type", ev->type);
	if (ev->bytes >= 0) {
		snprintf(bytes, sizeof bytes, "%lld", (long long)ev->bytes);
		sd_param(out, "bytes", bytes);
	}
	dg_buf_adds(out, "] ");
	dg_cjson_set(j, "time", dg_cjson_str(dg_ts_format(ev->time_ms, ts)));
	dg_cjson_set(j, "type", dg_cjson_str(ev->type));
	if (ev->input != NULL)
		dg_cjson_set(j, "input", dg_cjson_str(ev->input));
	if (ev->bytes >= 0)
		dg_cjson_set(j, "bytes", dg_cjson_int(ev->bytes));
	dg_cjson_set(j, "detail", dg_cjson_str(ev->detail));
	dg_cjson_write(j, out);
	dg_cjson_free(j);
}

/* ---- the sink ------------------------------------------------------------------------------ */

struct msg {
	char *data;
	size_t len;
};

struct syslog_sink {
	/* settings, copied: a reload frees the configuration */
	enum dg_syslog_transport transport;
	char *host, *port, *ca, *cert, *key, *peer;
	bool tls, verify, alerts;
	size_t limit;
	int timeout_ms;
	struct dg_syslog_origin origin;
	char hostname[256], report_id[33];
	void (*wake)(void *);
	void *wake_arg;
	struct dg_buf line; /* the message being made (main thread) */

	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* Under mu. Messages [freed, head) are in ring (a power of two long); [acked, head) are not
	 * acknowledged yet, [sent, head) not sent on the present connection. */
	struct msg *ring;
	uint64_t cap, freed, acked, sent, head;
	bool stop, connected;
	int live_fd; /* the thread's socket, for a stop to shut down what blocks on it */
	uint64_t connects, failures, resent;
	char error[256]; /* why the collector cannot be reached, "" when it can */

	/* the forwarding thread's own */
	int fd;
	struct dg_tls *tlsconn;
	struct dg_relp *relp;
	struct dg_buf frame;
};

static void grow(struct syslog_sink *s)
{
	uint64_t cap = s->cap ? s->cap * 2 : 64;
	struct msg *ring = dg_xcalloc(cap, sizeof *ring);

	for (uint64_t i = s->freed; i < s->head; i++)
		ring[i & (cap - 1)] = s->ring[i & (s->cap - 1)];
	free(s->ring);
	s->ring = ring;
	s->cap = cap;
}

/* Frees what the collector has (under mu): memory holds what it does not. */
static void drop_acked(struct syslog_sink *s)
{
	for (; s->freed < s->acked; s->freed++)
		free(s->ring[s->freed & (s->cap - 1)].data);
}

/* Hands the message in s->line to the thread. */
static void enqueue(struct syslog_sink *s)
{
	struct msg m = {dg_xstrndup(s->line.data, s->line.len), s->line.len};

	pthread_mutex_lock(&s->mu);
	drop_acked(s);
	if (s->head - s->freed == s->cap)
		grow(s);
	s->ring[s->head++ & (s->cap - 1)] = m;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void ss_begin_id(struct syslog_sink *s, const char *id)
{
	snprintf(s->report_id, sizeof s->report_id, "%s", id ? id : "");
}

static int ss_begin(void *self, const struct dg_period_id *id, char **cause)
{
	(void)cause;
	ss_begin_id(self, id->report_id);
	return 0;
}

static int ss_restore(void *self, const struct dg_cjson *state, const struct dg_period_id *id,
                      char sha256[65], char **cause)
{
	(void)state, (void)sha256, (void)cause;
	ss_begin_id(self, id->report_id);
	return DG_SINK_RESUMED;
}

static void ss_finding(void *self, const struct dg_sink_finding *f)
{
	struct syslog_sink *s = self;

	if (f->match->kind == DG_MATCH_CARRIED || /* for the report: the finding follows */
	    (f->match->kind == DG_MATCH_OPEN && !s->alerts))
		return;
	dg_buf_reset(&s->line);
	dg_sink_syslog_finding(&s->line, &s->origin, dg_clock_wall_ms(), f);
	enqueue(s);
}

static void ss_integrity(void *self, const struct dg_integrity *ev)
{
	struct syslog_sink *s = self;

	dg_buf_reset(&s->line);
	dg_sink_syslog_integrity(&s->line, &s->origin, ev);
	enqueue(s);
}

static bool ss_busy(void *self)
{
	struct syslog_sink *s = self;
	bool busy;

	pthread_mutex_lock(&s->mu);
	busy = s->head - s->acked >= s->limit;
	pthread_mutex_unlock(&s->mu);
	return busy;
}

/* The checkpoint passes over what the collector has acknowledged only: messages made after it
 * are made again after a crash. */
static int ss_sync(void *self, char **cause)
{
	struct syslog_sink *s = self;
	int rc;

	(void)cause;
	pthread_mutex_lock(&s->mu);
	drop_acked(s);
	rc = s->acked == s->head ? 0 : DG_SINK_WAITING;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static void ss_metrics(void *self, struct dg_buf *b)
{
	struct syslog_sink *s = self;
	uint64_t head, acked, connects, failures, resent;
	bool connected;

	pthread_mutex_lock(&s->mu);
	head = s->head;
	acked = s->acked;
	connects = s->connects;
	failures = s->failures;
	resent = s->resent;
	connected = s->connected;
	pthread_mutex_unlock(&s->mu);
	dg_metrics_one(b, "dgaudit_syslog_messages_total", DG_METRICS_COUNTER,
	               "Messages made for the syslog collector since the start.", head);
	dg_metrics_one(b, "dgaudit_syslog_acknowledged_total", DG_METRICS_COUNTER,
	               "Messages the collector has (acknowledged, for RELP; sent, for the others).",
	               acked);
	dg_metrics_one(b, "dgaudit_syslog_unacknowledged", DG_METRICS_GAUGE,
	               "Messages waiting for the collector; reading waits at syslog.queue.",
	               head - acked);
	dg_metrics_one(b, "dgaudit_syslog_queue_limit", DG_METRICS_GAUGE,
	               "syslog.queue: unacknowledged messages at which reading waits.", s->limit);
	dg_metrics_one(b, "dgaudit_syslog_connected", DG_METRICS_GAUGE,
	               "1 while a connection to the collector is up.", connected);
	dg_metrics_one(b, "dgaudit_syslog_connects_total", DG_METRICS_COUNTER,
	               "Connections made to the collector.", connects);
	dg_metrics_one(b, "dgaudit_syslog_failures_total", DG_METRICS_COUNTER,
	               "Connections that failed or broke.", failures);
	dg_metrics_one(b, "dgaudit_syslog_resent_total", DG_METRICS_COUNTER,
	               "Messages sent again after a connection broke before acknowledging them.",
	               resent);
}

static int ss_health(void *self, char *why, size_t cap)
{
	struct syslog_sink *s = self;
	int rc = 0;

	pthread_mutex_lock(&s->mu);
	if (!s->connected && s->error[0] != '\0') {
		snprintf(why, cap, "syslog collector unreachable, %llu messages waiting: %s",
		         (unsigned long long)(s->head - s->acked), s->error);
		rc = -1;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- the forwarding thread ----------------------------------------------------------------- */

/* A stop shuts down the socket the thread may be blocked on (a connect, a send, a poll for
 * acknowledgements), so that it ends at once rather than after syslog.timeout. */
static void publish_fd(struct syslog_sink *s, int fd)
{
	pthread_mutex_lock(&s->mu);
	s->live_fd = fd;
	if (s->stop && fd >= 0)
		shutdown(fd, SHUT_RDWR);
	pthread_mutex_unlock(&s->mu);
}

static void close_fd(struct syslog_sink *s, int fd)
{
	publish_fd(s, -1); /* before the close: its number may be reused at once */
	close(fd);
}

static int tcp_connect(struct syslog_sink *s, int type, char *why, size_t cap)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = type}, *ai, *a;
	struct timeval tv = {s->timeout_ms / 1000, (s->timeout_ms % 1000) * 1000};
	int rc = getaddrinfo(s->host, s->port, &hints, &ai), fd = -1;

	if (rc != 0) {
		snprintf(why, cap, "%s: %s", s->host, gai_strerror(rc));
		return -1;
	}
	for (a = ai; a != NULL && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		/* the send timeout bounds connect too (Linux) */
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		if (type == SOCK_STREAM) /* frames go as they are made, each in one write */
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
		publish_fd(s, fd);
		if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
			snprintf(why, cap, "%s:%s: %s", s->host, s->port, strerror(errno));
			close_fd(s, fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	return fd;
}

static int conn_open(struct syslog_sink *s, char *why, size_t cap)
{
	char *cause = NULL;

	s->fd = tcp_connect(s, s->transport == DG_SYSLOG_UDP ? SOCK_DGRAM : SOCK_STREAM, why, cap);
	if (s->fd < 0)
		return -1;
	if (s->tls) {
		s->tlsconn = dg_tls_connect(s->fd, s->peer ? s->peer : s->host, s->ca, s->cert,
		                            s->key, s->verify, &cause);
		if (s->tlsconn == NULL) {
			snprintf(why, cap, "%s:%s: TLS: %s", s->host, s->port, cause);
			goto fail;
		}
	}
	if (s->transport == DG_SYSLOG_RELP &&
	    (s->relp = dg_relp_open(s->fd, s->tlsconn, s->timeout_ms, &cause)) == NULL) {
		snprintf(why, cap, "%s:%s: RELP: %s", s->host, s->port, cause);
		goto fail;
	}
	return 0;
fail:
	free(cause);
	dg_tls_free(s->tlsconn);
	s->tlsconn = NULL;
	close_fd(s, s->fd);
	s->fd = -1;
	return -1;
}

static void conn_close(struct syslog_sink *s)
{
	dg_relp_close(s->relp);
	s->relp = NULL;
	dg_tls_free(s->tlsconn);
	s->tlsconn = NULL;
	if (s->fd >= 0)
		close_fd(s, s->fd);
	s->fd = -1;
}

static int send_all(struct syslog_sink *s, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = s->tlsconn ? dg_tls_write(s->tlsconn, p, len)
		                       : send(s->fd, p, len, MSG_NOSIGNAL);

		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* RELP: what the collector acknowledged into *acked, waiting up to wait_ms for the first. */
static int relp_acks(struct syslog_sink *s, int wait_ms, uint64_t *acked, char *why, size_t cap)
{
	char *cause = NULL;

	if (dg_relp_acks(s->relp, wait_ms, acked, &cause) == 0)
		return 0;
	snprintf(why, cap, "%s:%s: RELP: %s", s->host, s->port, cause);
	free(cause);
	return -1;
}

/* Sends a message; *acked gets how many the collector acknowledged meanwhile (for RELP, in
 * order; the others count a message had once it is written). */
static int conn_send(struct syslog_sink *s, const struct msg *m, uint64_t *acked, char *why,
                     size_t cap)
{
	char frame[24], *cause = NULL;

	*acked = 1;
	switch (s->transport) {
	case DG_SYSLOG_RELP:
		if (dg_relp_send(s->relp, m->data, m->len, &cause) != 0) {
			snprintf(why, cap, "%s:%s: RELP: %s", s->host, s->port, cause);
			free(cause);
			return -1;
		}
		/* a window's worth in flight, then the answers are waited for */
		return relp_acks(s, dg_relp_outstanding(s->relp) >= RELP_WINDOW ? s->timeout_ms : 0,
		                 acked, why, cap);
	case DG_SYSLOG_UDP:
		if (send(s->fd, m->data, m->len > UDP_MAX ? UDP_MAX : m->len, 0) < 0) {
			snprintf(why, cap, "%s:%s: %s", s->host, s->port, strerror(errno));
			return -1;
		}
		return 0;
	default: /* octet counting (RFC 6587 3.4.1): the length, a space, the message */
		snprintf(frame, sizeof frame, "%zu ", m->len);
		dg_buf_reset(&s->frame); /* one write: see relp.c on Nagle */
		dg_buf_adds(&s->frame, frame);
		dg_buf_add(&s->frame, m->data, m->len);
		if (send_all(s, s->frame.data, s->frame.len) != 0) {
			snprintf(why, cap, "%s:%s: %s", s->host, s->port,
			         errno ? strerror(errno) : "the connection broke");
			return -1;
		}
		return 0;
	}
}

static void wait_ms(struct syslog_sink *s, int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&s->cv, &s->mu, &ts);
}

/* The connection failed (under mu): what it did not acknowledge goes again on the next. */
static void broke(struct syslog_sink *s, const char *why)
{
	pthread_mutex_unlock(&s->mu);
	conn_close(s);
	pthread_mutex_lock(&s->mu);
	dg_log_warnx("syslog: %s: connecting again", why);
	snprintf(s->error, sizeof s->error, "%s", why);
	s->connected = false;
	s->failures++;
	s->resent += s->sent - s->acked;
	s->sent = s->acked;
}

/* Acknowledgements came (under mu): the commit waiting for them is told. */
static void acknowledged(struct syslog_sink *s, uint64_t n)
{
	s->acked += n;
	if (n > 0 && s->wake && s->acked == s->head)
		s->wake(s->wake_arg);
}

/* Sends what is queued, in order; a connection that fails is made again (waiting longer each
 * time, up to BACKOFF_MAX) and what it had not acknowledged is sent again. */
static void *forward(void *arg)
{
	struct syslog_sink *s = arg;
	int64_t backoff = 100;
	char why[256];

	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		struct msg m;
		uint64_t n = 0;
		int rc;

		if (s->sent == s->head) {
			if (s->connected && s->acked < s->sent) { /* RELP: answers to wait for */
				pthread_mutex_unlock(&s->mu);
				rc = relp_acks(s, s->timeout_ms, &n, why, sizeof why);
				pthread_mutex_lock(&s->mu);
				if (rc != 0)
					broke(s, why);
				else
					acknowledged(s, n);
				continue;
			}
			pthread_cond_wait(&s->cv, &s->mu);
			continue;
		}
		if (!s->connected) {
			pthread_mutex_unlock(&s->mu);
			rc = conn_open(s, why, sizeof why);
			pthread_mutex_lock(&s->mu);
			if (rc != 0) {
				if (s->error[0] == '\0' || strcmp(s->error, why) != 0)
					dg_log_warnx("syslog: %s: findings wait (retrying)", why);
				snprintf(s->error, sizeof s->error, "%s", why);
				s->failures++;
				wait_ms(s, backoff);
				backoff = backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : backoff * 2;
				continue;
			}
			if (s->error[0] != '\0')
				dg_log_info("syslog: %s:%s reached again", s->host, s->port);
			s->error[0] = '\0';
			s->connected = true;
			s->connects++;
			backoff = 100;
		}
		m = s->ring[s->sent & (s->cap - 1)];
		pthread_mutex_unlock(&s->mu);
		errno = 0;
		rc = conn_send(s, &m, &n, why, sizeof why);
		pthread_mutex_lock(&s->mu);
		if (rc != 0) {
			broke(s, why);
			continue;
		}
		s->sent++;
		acknowledged(s, n);
	}
	pthread_mutex_unlock(&s->mu);
	conn_close(s);
	return NULL;
}

static void ss_free(void *self)
{
	struct syslog_sink *s = self;

	if (s->started) {
		pthread_mutex_lock(&s->mu);
		s->stop = true;
		if (s->live_fd >= 0)
			shutdown(s->live_fd, SHUT_RDWR);
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
	}
	for (uint64_t i = s->freed; i < s->head; i++)
		free(s->ring[i & (s->cap - 1)].data);
	free(s->ring);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	dg_buf_release(&s->line);
	dg_buf_release(&s->frame);
	free(s->host);
	free(s->port);
	free(s->ca);
	free(s->cert);
	free(s->key);
	free(s->peer);
	free(s);
}

static const struct dg_sink_ops ops = {
    .name = "syslog",
    .begin = ss_begin,
    .finding = ss_finding,
    .integrity = ss_integrity,
    .busy = ss_busy,
    .sync = ss_sync,
    .restore = ss_restore,
    .metrics = ss_metrics,
    .health = ss_health,
    .free = ss_free,
};

static char *dup_or_null(const char *s)
{
	return s ? dg_xstrdup(s) : NULL;
}

struct dg_sink *dg_sink_syslog_new(const struct dg_syslog_cfg *cfg, bool alerts,
                                   void (*wake)(void *arg), void *arg)
{
	struct syslog_sink *s = dg_xcalloc(1, sizeof *s);

	s->alerts = alerts;
	s->transport = cfg->transport;
	s->host = dg_xstrdup(cfg->host);
	s->port = dg_xstrdup(cfg->port);
	s->ca = dup_or_null(cfg->ca);
	s->cert = dup_or_null(cfg->cert);
	s->key = dup_or_null(cfg->key);
	s->peer = dup_or_null(cfg->peer_name);
	s->tls = cfg->tls;
	s->verify = cfg->verify;
	s->limit = cfg->queue;
	s->timeout_ms = (int)cfg->timeout_ms;
	s->wake = wake;
	s->wake_arg = arg;
	s->fd = -1;
	s->live_fd = -1;
	gethostname(s->hostname, sizeof s->hostname - 1);
	s->origin =
	    (struct dg_syslog_origin){cfg->facility, s->hostname, (int)getpid(), s->report_id};
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	grow(s);
	signal(SIGPIPE, SIG_IGN); /* a collector gone is an error to handle, not a death */
	if (pthread_create(&s->thread, NULL, forward, s) != 0)
		dg_log_fatal("syslog: starting the forwarding thread");
	s->started = true;
	return dg_sink_new(&ops, s);
}
