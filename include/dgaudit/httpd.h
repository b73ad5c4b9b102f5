/* The metrics endpoint's HTTP server: GET and HEAD of a few fixed paths, one response per
 * connection, and limits so that a flood of local clients degrades it, never the daemon: at
 * most max_conns connections at once (more are closed at accept), a request head of at most
 * max_header bytes (431 past it), no body, and timeout_ms to send the request and take the
 * response (a slow client is dropped). Accepting stops for a second when descriptors run out,
 * and connections never take the descriptors the daemon keeps for its own work. */
#ifndef DGAUDIT_HTTPD_H
#define DGAUDIT_HTTPD_H

#include <event2/buffer.h>
#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

struct dg_httpd_route {
	const char *path;
	/* Writes the body into out; returns the status (200, 503, ...) and sets *type. */
	int (*fn)(void *arg, struct evbuffer *out, const char **type);
};

struct dg_httpd_limits {
	unsigned max_conns;  /* default 64 */
	size_t max_header;   /* default 8 KiB */
	unsigned timeout_ms; /* default 5 s */
};

struct dg_httpd_stats {
	uint64_t served, refused, timed_out, too_large, bad;
};

struct dg_httpd;

/* Listens on "host:port" ("[v6]:port"). NULL with *cause. */
struct dg_httpd *dg_httpd_new(struct event_base *base, const char *listen,
                              const struct dg_httpd_route *routes, size_t nroutes, void *arg,
                              const struct dg_httpd_limits *limits, char **cause);
void dg_httpd_free(struct dg_httpd *h);
void dg_httpd_stats(const struct dg_httpd *h, struct dg_httpd_stats *out);

#endif
