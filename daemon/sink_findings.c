#include "dgaudit/sink_findings.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dgaudit/buf.h"
#include "dgaudit/log.h"
#include "dgaudit/xmalloc.h"

struct findings_sink {
	char *path; /* NULL for a stream */
	FILE *out;
	bool close, failed;
	uint64_t len, dev, ino; /* the log's length at the last sync, and its identity */
	struct dg_buf pending;  /* the log's lines since the last sync */
};

static int open_log(struct findings_sink *s, char **cause)
{
	struct stat st;
	int fd;

	if (s->out != NULL)
		fclose(s->out);
	s->out = NULL;
	fd = open(s->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0 || fstat(fd, &st) != 0 || (s->out = fdopen(fd, "a")) == NULL) {
		*cause = dg_xasprintf("%s: %s", s->path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	s->dev = (uint64_t)st.st_dev;
	s->ino = (uint64_t)st.st_ino;
	s->len = (uint64_t)st.st_size;
	return 0;
}

static void log_finding(void *self, const struct dg_sink_finding *f)
{
	struct findings_sink *s = self;

	if (f->match->kind == DG_MATCH_CARRIED) /* a burst carried into the report only */
		return;
	dg_buf_add(&s->pending, f->line, f->len);
	dg_buf_addc(&s->pending, '\n');
}

static int log_sync(void *self, char **cause)
{
	struct findings_sink *s = self;

	if (s->pending.len == 0)
		return 0;
	if (fwrite(s->pending.data, 1, s->pending.len, s->out) != s->pending.len ||
	    fflush(s->out) != 0 || fsync(fileno(s->out)) != 0) {
		*cause = dg_xasprintf("%s: %s", s->path, strerror(errno));
		return -1;
	}
	s->len += s->pending.len;
	dg_buf_reset(&s->pending);
	return 0;
}

static void log_save(void *self, struct dg_cjson *state)
{
	struct findings_sink *s = self;

	dg_cjson_set(state, "findings_length", dg_cjson_int((int64_t)s->len));
	dg_cjson_set(state, "findings_dev", dg_cjson_int((int64_t)s->dev));
	dg_cjson_set(state, "findings_ino", dg_cjson_int((int64_t)s->ino));
}

static int log_restore(void *self, const struct dg_cjson *state, const struct dg_period_id *id,
                       char sha256[65], char **cause)
{
	struct findings_sink *s = self;
	int64_t len, dev, ino;
	bool known = dg_cjson_intval(dg_cjson_get(state, "findings_dev"), &dev) &&
	             dg_cjson_intval(dg_cjson_get(state, "findings_ino"), &ino);

	(void)id, (void)sha256;
	if (!dg_cjson_intval(dg_cjson_get(state, "findings_length"), &len) || len < 0) {
		*cause = dg_xstrdup("the findings log's length is missing");
		return -1;
	}
	/* Findings made after the checkpoint are made again: the log is cut back to it. */
	if ((!known || ((uint64_t)dev == s->dev && (uint64_t)ino == s->ino)) &&
	    s->len >= (uint64_t)len) {
		if (ftruncate(fileno(s->out), (off_t)len) != 0) {
			*cause = dg_xasprintf("%s: %s", s->path, strerror(errno));
			return -1;
		}
		s->len = (uint64_t)len;
	} else {
		dg_log_warnx("%s is not the findings log the checkpoint describes (rotated or "
		             "replaced): left as it is; findings made since the last commit may be "
		             "in both files",
		             s->path);
	}
	return DG_SINK_RESUMED;
}

static int log_reopen(void *self, bool rotated, char **cause)
{
	struct findings_sink *s = self;
	struct stat st;

	if (rotated) /* what the old file should hold was synced before */
		return open_log(s, cause);
	if (stat(s->path, &st) == 0 && (uint64_t)st.st_dev == s->dev &&
	    (uint64_t)st.st_ino == s->ino)
		return 0;
	return open_log(s, cause) == 0 ? 1 : -1; /* deleted: it starts again */
}

static void log_free(void *self)
{
	struct findings_sink *s = self;

	if (s->out != NULL)
		fclose(s->out);
	dg_buf_release(&s->pending);
	free(s->path);
	free(s);
}

static const struct dg_sink_ops log_ops = {
    .name = "findings",
    .finding = log_finding,
    .sync = log_sync,
    .save = log_save,
    .restore = log_restore,
    .reopen = log_reopen,
    .free = log_free,
};

struct dg_sink *dg_sink_findings_log(const char *path, char **cause)
{
	struct findings_sink *s = dg_xcalloc(1, sizeof *s);

	s->path = dg_xstrdup(path);
	if (open_log(s, cause) != 0) {
		log_free(s);
		return NULL;
	}
	return dg_sink_new(&log_ops, s);
}

static void stream_finding(void *self, const struct dg_sink_finding *f)
{
	struct findings_sink *s = self;

	if (f->match->kind == DG_MATCH_OPEN || f->match->kind == DG_MATCH_CARRIED)
		return;
	if (fwrite(f->line, 1, f->len, s->out) != f->len || putc('\n', s->out) == EOF)
		s->failed = true;
}

static int stream_sync(void *self, char **cause)
{
	struct findings_sink *s = self;

	if (fflush(s->out) != 0 || s->failed) {
		*cause = dg_xasprintf("writing findings: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void stream_free(void *self)
{
	struct findings_sink *s = self;

	if (s->close)
		fclose(s->out);
	free(s);
}

static const struct dg_sink_ops stream_ops = {
    .name = "findings",
    .finding = stream_finding,
    .sync = stream_sync,
    .free = stream_free,
};

struct dg_sink *dg_sink_findings_stream(FILE *out, bool close)
{
	struct findings_sink *s = dg_xcalloc(1, sizeof *s);

	s->out = out;
	s->close = close;
	return dg_sink_new(&stream_ops, s);
}
