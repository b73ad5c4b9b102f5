#include "dgaudit/relp.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dgaudit/buf.h"
#include "dgaudit/clock.h"
#include "dgaudit/xmalloc.h"

#define TXNR_MAX    999999999 /* then 1 again */
#define DATALEN_MAX 999999999

enum { HEAD_TXNR, HEAD_COMMAND, HEAD_DATALEN, DATA, TRAILER };

static void reader_reset(struct dg_relp_reader *r)
{
	memset(r, 0, sizeof *r);
}

enum dg_relp_event dg_relp_read(struct dg_relp_reader *r, const char *buf, size_t len, size_t *pos)
{
	while (*pos < len) {
		unsigned char c = (unsigned char)buf[(*pos)++];

		switch (r->state) {
		case HEAD_TXNR:
			if (c == ' ' && r->hlen > 0) {
				r->state = HEAD_COMMAND;
				r->hlen = 0;
			} else if (c >= '0' && c <= '9' && r->hlen < 9) {
				r->txnr = r->txnr * 10 + (c - '0');
				r->hlen++;
			} else {
				return DG_RELP_ERROR;
			}
			break;
		case HEAD_COMMAND:
			if (c == ' ' && r->hlen > 0) {
				r->command[r->hlen] = '\0';
				r->state = HEAD_DATALEN;
				r->hlen = 0;
			} else if (((c >= 'a' && c <= 'z') || c == '_') &&
			           r->hlen < sizeof r->command - 1) {
				r->command[r->hlen++] = (char)c;
			} else {
				return DG_RELP_ERROR;
			}
			break;
		case HEAD_DATALEN:
			if (c >= '0' && c <= '9' && r->hlen < 9) {
				r->datalen = r->datalen * 10 + (c - '0');
				r->hlen++;
			} else if (c == ' ' && r->hlen > 0 && r->datalen > 0) {
				r->state = DATA;
			} else if (c == '\n' && r->hlen > 0 && r->datalen == 0) {
				return DG_RELP_FRAME; /* the caller resets before the next byte */
			} else {
				return DG_RELP_ERROR;
			}
			break;
		case DATA:
			if (r->got < sizeof r->data - 1)
				r->data[r->got] = (char)c;
			if (++r->got == r->datalen)
				r->state = TRAILER;
			break;
		case TRAILER:
			if (c != '\n')
				return DG_RELP_ERROR;
			return DG_RELP_FRAME;
		}
	}
	return DG_RELP_MORE;
}

struct dg_relp {
	int fd;
	struct dg_tls *tls;
	int timeout_ms;
	uint64_t txnr; /* the next frame's */
	uint64_t outstanding;
	struct dg_relp_reader rd;
	char buf[4096];
	size_t blen, bpos;
	struct dg_buf out; /* the frame being sent */
};

static int put(struct dg_relp *r, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n =
		    r->tls ? dg_tls_write(r->tls, p, len) : send(r->fd, p, len, MSG_NOSIGNAL);

		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A frame in one write: written in pieces, a small last piece waits for the acknowledgement of
 * the first (Nagle) while the server delays that (delayed ACK), 40 ms a frame. */
static int frame(struct dg_relp *r, const char *command, const char *data, size_t len)
{
	dg_buf_reset(&r->out);
	dg_buf_printf(&r->out, len ? "%llu %s %zu " : "%llu %s %zu", (unsigned long long)r->txnr,
	              command, len);
	dg_buf_add(&r->out, data, len);
	dg_buf_addc(&r->out, '\n');
	r->txnr = r->txnr == TXNR_MAX ? 1 : r->txnr + 1;
	return put(r, r->out.data, r->out.len);
}

/* Fills the buffer, waiting up to wait_ms: 1 if bytes came, 0 if none did, -1 on an error or
 * the end of the stream. */
static int fill(struct dg_relp *r, int wait_ms)
{
	struct pollfd pfd = {r->fd, POLLIN, 0};
	ssize_t n;

	if (!(r->tls && dg_tls_pending(r->tls) > 0)) {
		int rc = poll(&pfd, 1, wait_ms);

		if (rc == 0 || (rc < 0 && errno == EINTR))
			return 0;
		if (rc < 0)
			return -1;
	}
	n = r->tls ? dg_tls_read(r->tls, r->buf, sizeof r->buf)
	           : recv(r->fd, r->buf, sizeof r->buf, MSG_DONTWAIT);
	if (n < 0 && !r->tls && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	r->blen = (size_t)n;
	r->bpos = 0;
	return 1;
}

/* The next frame from the server, waiting up to wait_ms: 1 if one came, 0 if none did. */
static int next_frame(struct dg_relp *r, int wait_ms, char **cause)
{
	int64_t until = dg_clock_mono_ms() + wait_ms;

	for (;;) {
		enum dg_relp_event ev = dg_relp_read(&r->rd, r->buf, r->blen, &r->bpos);
		int64_t left;
		int rc;

		if (ev == DG_RELP_FRAME)
			return 1;
		if (ev == DG_RELP_ERROR) {
			*cause = dg_xstrdup("the collector's answer is not RELP");
			return -1;
		}
		left = until - dg_clock_mono_ms();
		rc = fill(r, left > 0 ? (int)left : 0);
		if (rc < 0) {
			*cause = dg_xasprintf("the collector closed the connection%s%s",
			                      errno ? ": " : "", errno ? strerror(errno) : "");
			return -1;
		}
		if (rc == 0)
			return 0;
	}
}

struct dg_relp *dg_relp_open(int fd, struct dg_tls *tls, int timeout_ms, char **cause)
{
	static const char offers[] = "relp_version=0\nrelp_software=dgaudit\ncommands=syslog";
	struct dg_relp *r = dg_xcalloc(1, sizeof *r);
	int rc;

	r->fd = fd;
	r->tls = tls;
	r->timeout_ms = timeout_ms;
	r->txnr = 1;
	errno = 0;
	if (frame(r, "open", offers, sizeof offers - 1) != 0) {
		*cause = dg_xasprintf("sending the RELP open: %s", strerror(errno));
		goto fail;
	}
	rc = next_frame(r, timeout_ms, cause);
	if (rc <= 0) {
		if (rc == 0)
			*cause = dg_xstrdup("no answer to the RELP open");
		goto fail;
	}
	if (strcmp(r->rd.command, "rsp") != 0 || r->rd.txnr != 1 ||
	    strncmp(r->rd.data, "200", 3) != 0 || strstr(r->rd.data, "syslog") == NULL) {
		*cause = dg_xasprintf("the collector refused the RELP session: %.60s", r->rd.data);
		goto fail;
	}
	reader_reset(&r->rd);
	return r;
fail:
	dg_buf_release(&r->out);
	free(r);
	return NULL;
}

int dg_relp_send(struct dg_relp *r, const char *msg, size_t len, char **cause)
{
	errno = 0;
	if (len > DATALEN_MAX || frame(r, "syslog", msg, len) != 0) {
		*cause =
		    dg_xasprintf("sending: %s", errno ? strerror(errno) : "the connection broke");
		return -1;
	}
	r->outstanding++;
	return 0;
}

uint64_t dg_relp_outstanding(const struct dg_relp *r)
{
	return r->outstanding;
}

int dg_relp_acks(struct dg_relp *r, int wait_ms, uint64_t *acked, char **cause)
{
	*acked = 0;
	for (;;) {
		int rc = next_frame(r, *acked == 0 && r->outstanding > 0 ? wait_ms : 0, cause);

		if (rc < 0)
			return -1;
		if (rc == 0) {
			if (wait_ms > 0 && *acked == 0 && r->outstanding > 0) {
				*cause = dg_xasprintf("no acknowledgement within %d ms", wait_ms);
				return -1;
			}
			return 0;
		}
		if (strcmp(r->rd.command, "serverclose") == 0) {
			*cause = dg_xstrdup("the collector closed the session (serverclose)");
			return -1;
		}
		if (strcmp(r->rd.command, "rsp") != 0 || r->outstanding == 0) {
			*cause = dg_xasprintf("an unexpected RELP frame: %s", r->rd.command);
			return -1;
		}
		if (strncmp(r->rd.data, "200", 3) != 0) {
			*cause = dg_xasprintf("the collector refused a message: %.80s", r->rd.data);
			return -1;
		}
		r->outstanding--; /* answers come in the order of the frames */
		(*acked)++;
		reader_reset(&r->rd);
	}
}

void dg_relp_close(struct dg_relp *r)
{
	char *cause = NULL;

	if (r == NULL)
		return;
	if (frame(r, "close", "", 0) == 0)
		(void)next_frame(r, 1000, &cause); /* its answer, or the server's close */
	free(cause);
	dg_buf_release(&r->out);
	free(r);
}
