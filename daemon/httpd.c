#include "dgaudit/httpd.h"

#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "dgaudit/log.h"
#include "dgaudit/xmalloc.h"

#define RESERVED_FDS 256 /* descriptors no connection may take: the daemon's files */

struct conn {
	struct dg_httpd *h;
	struct bufferevent *bev;
	struct conn *prev, *next; /* the open ones, freed with the server */
};

struct dg_httpd {
	struct event_base *base;
	struct evconnlistener *listener;
	struct event *resume; /* accepting again after running out of descriptors */
	const struct dg_httpd_route *routes;
	size_t nroutes;
	void *arg;
	struct dg_httpd_limits lim;
	unsigned nconns;
	struct conn *conns;
	struct dg_httpd_stats st;
};

static void conn_free(struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->h->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->h->nconns--;
	bufferevent_free(c->bev);
	free(c);
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	default:
		return "Error";
	}
}

/* Sends the response and closes once it is out: one request per connection. */
static void respond(struct conn *c, int status, const char *type, struct evbuffer *body, bool head)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	evbuffer_add_printf(out,
	                    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	                    "Connection: close\r\n\r\n",
	                    status, reason(status), type, body ? evbuffer_get_length(body) : 0);
	if (body != NULL && !head)
		evbuffer_add_buffer(out, body);
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_enable(c->bev, EV_WRITE);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct dg_httpd *h = c->h;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	char line[256], method[8], path[200];
	size_t n;
	struct evbuffer *body;
	const char *type = "text/plain; charset=utf-8";
	int status = 404;

	if (end.pos < 0) {
		if (evbuffer_get_length(in) > h->lim.max_header) {
			h->st.too_large++;
			respond(c, 431, type, NULL, false);
		}
		return; /* the head is not all here yet */
	}
	if ((size_t)end.pos + 4 > h->lim.max_header) {
		h->st.too_large++;
		respond(c, 431, type, NULL, false);
		return;
	}
	n = evbuffer_copyout(in, line, sizeof line - 1);
	line[n] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (sscanf(line, "%7s %199s HTTP/1.%*1[01]", method, path) != 2) {
		h->st.bad++;
		respond(c, 400, type, NULL, false);
		return;
	}
	path[strcspn(path, "?")] = '\0';
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		h->st.bad++;
		respond(c, 405, type, NULL, false);
		return;
	}
	body = evbuffer_new();
	for (size_t i = 0; i < h->nroutes; i++)
		if (strcmp(h->routes[i].path, path) == 0) {
			status = h->routes[i].fn(h->arg, body, &type);
			break;
		}
	h->st.served++;
	respond(c, status, type, body, strcmp(method, "HEAD") == 0);
	evbuffer_free(body);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0 &&
	    !(bufferevent_get_enabled(bev) & EV_READ))
		conn_free(arg); /* the response is out */
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT)
		c->h->st.timed_out++;
	conn_free(c);
}

/* Whether a connection on fd leaves the daemon its reserve: fd, just accepted, is the lowest
 * free descriptor, so it bounds from below how many are open. */
static bool fds_left(evutil_socket_t fd)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return true;
	return (rlim_t)fd + RESERVED_FDS < rl.rlim_cur;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
	struct dg_httpd *h = arg;
	struct timeval tv = {h->lim.timeout_ms / 1000, (h->lim.timeout_ms % 1000) * 1000};
	struct conn *c;

	(void)l, (void)sa, (void)len;
	if (h->nconns >= h->lim.max_conns || !fds_left(fd)) {
		h->st.refused++;
		evutil_closesocket(fd);
		return;
	}
	c = dg_xcalloc(1, sizeof *c);
	c->h = h;
	c->bev = bufferevent_socket_new(h->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	h->nconns++;
	c->next = h->conns;
	if (h->conns != NULL)
		h->conns->prev = c;
	h->conns = c;
	/* the whole exchange, request and response, within the timeout */
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_setwatermark(c->bev, EV_READ, 0, h->lim.max_header + 1);
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_enable(c->bev, EV_READ);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct dg_httpd *h = arg;

	(void)fd, (void)what;
	evconnlistener_enable(h->listener);
}

static void on_listen_error(struct evconnlistener *l, void *arg)
{
	struct dg_httpd *h = arg;
	struct timeval second = {1, 0};
	int err = EVUTIL_SOCKET_ERROR();

	/* out of descriptors (EMFILE, ENFILE): pause, rather than spin on the pending socket */
	h->st.refused++;
	dg_log_warnx("metrics: accept failed (%s): not accepting for a second",
	             evutil_socket_error_to_string(err));
	evconnlistener_disable(l);
	event_add(h->resume, &second);
}

struct dg_httpd *dg_httpd_new(struct event_base *base, const char *listen,
                              const struct dg_httpd_route *routes, size_t nroutes, void *arg,
                              const struct dg_httpd_limits *limits, char **cause)
{
	struct sockaddr_storage ss;
	int sslen = sizeof ss;
	struct dg_httpd *h;

	memset(&ss, 0, sizeof ss);
	if (evutil_parse_sockaddr_port(listen, (struct sockaddr *)&ss, &sslen) != 0) {
		*cause = dg_xasprintf("metrics address '%s' is not an address:port", listen);
		return NULL;
	}
	h = dg_xcalloc(1, sizeof *h);
	h->base = base;
	h->routes = routes;
	h->nroutes = nroutes;
	h->arg = arg;
	h->lim = limits ? *limits : (struct dg_httpd_limits){0};
	if (h->lim.max_conns == 0)
		h->lim.max_conns = 64;
	if (h->lim.max_header == 0)
		h->lim.max_header = 8192;
	if (h->lim.timeout_ms == 0)
		h->lim.timeout_ms = 5000;
	h->listener = evconnlistener_new_bind(
	    base, on_accept, h, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    16, (struct sockaddr *)&ss, sslen);
	if (h->listener == NULL) {
		*cause = dg_xasprintf("cannot listen on %s: %s", listen,
		                      evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		free(h);
		return NULL;
	}
	evconnlistener_set_error_cb(h->listener, on_listen_error);
	h->resume = evtimer_new(base, on_resume, h);
	return h;
}

void dg_httpd_free(struct dg_httpd *h)
{
	if (h == NULL)
		return;
	while (h->conns != NULL)
		conn_free(h->conns);
	evconnlistener_free(h->listener);
	event_free(h->resume);
	free(h);
}

void dg_httpd_stats(const struct dg_httpd *h, struct dg_httpd_stats *out)
{
	*out = h->st;
}
