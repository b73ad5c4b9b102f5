/* The period drives every sink in one order: each finding serialised once for all, sync before
 * the checkpoint and publish after it (nothing published when a sink cannot sync), a close that
 * links the next report, and a restart that resumes, begins the next period, or begins again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/buf.h"
#include "dgaudit/config.h"
#include "dgaudit/period.h"
#include "dgaudit/xmalloc.h"

/* A sink that writes down what it was asked, as letters: B begin, F finding, M malformed,
 * I integrity, N input, S sync, V save, R restore, P publish (E at a period's end), C close. */
struct fake {
	struct dg_buf *log;
	char name;
	int fail_sync;
	int restored; /* what restore answers */
	bool full;
	char last_line[128], last_id[40], last_input[40];
	int64_t last_bytes;
	uint64_t last_seq;
};

static void note(struct fake *f, char what)
{
	dg_buf_addc(f->log, f->name);
	dg_buf_addc(f->log, what);
	dg_buf_addc(f->log, ' ');
}

static int f_begin(void *self, const struct dg_period_id *id, char **cause)
{
	struct fake *f = self;

	(void)cause;
	f->last_seq = id->seq;
	note(f, 'B');
	return 0;
}

static void f_finding(void *self, const struct dg_sink_finding *sf)
{
	struct fake *f = self;

	snprintf(f->last_line, sizeof f->last_line, "%.*s", (int)sf->len, sf->line);
	snprintf(f->last_id, sizeof f->last_id, "%s", sf->id);
	snprintf(f->last_input, sizeof f->last_input, "%s", sf->input);
	note(f, 'F');
}

static void f_malformed(void *self, const char *input, const struct dg_record *rec, const char *why)
{
	(void)input, (void)rec, (void)why;
	note(self, 'M');
}

static void f_integrity(void *self, const struct dg_integrity *ev)
{
	struct fake *f = self;

	f->last_bytes = ev->bytes;
	note(f, 'I');
}

static void f_input(void *self, const struct dg_report_input *in)
{
	(void)in;
	note(self, 'N');
}

static bool f_full(void *self)
{
	return ((struct fake *)self)->full;
}

static int f_sync(void *self, char **cause)
{
	struct fake *f = self;

	note(f, 'S');
	if (f->fail_sync) {
		*cause = dg_xstrdup("disk full");
		return -1;
	}
	return 0;
}

static void f_save(void *self, struct dg_cjson *state)
{
	struct fake *f = self;
	char key[] = {'k', f->name, '\0'};

	dg_cjson_set(state, key, dg_cjson_int(f->name));
	note(f, 'V');
}

static int f_restore(void *self, const struct dg_cjson *state, const struct dg_period_id *id,
                     char sha256[65], char **cause)
{
	struct fake *f = self;

	(void)state, (void)cause;
	f->last_seq = id->seq;
	if (f->restored == DG_SINK_PUBLISHED)
		memset(sha256, 'a', 64);
	note(f, 'R');
	return f->restored;
}

static void f_publish(void *self, bool end)
{
	note(self, end ? 'E' : 'P');
}

static int f_close(void *self, struct dg_period_end *end, char **cause)
{
	struct fake *f = self;

	(void)cause;
	if (f->name == 'a') { /* the one that signs */
		memset(end->sha256, 'b', 64);
		end->sha256[64] = '\0';
		end->path = dg_xstrdup("reports/x");
		end->findings = 1;
	}
	note(f, 'C');
	return 0;
}

static const struct dg_sink_ops fake_ops = {
    .name = "fake",
    .begin = f_begin,
    .finding = f_finding,
    .malformed = f_malformed,
    .integrity = f_integrity,
    .input = f_input,
    .full = f_full,
    .sync = f_sync,
    .save = f_save,
    .restore = f_restore,
    .publish = f_publish,
    .close = f_close,
};

static struct dg_buf log_;
static struct fake fa, fb;
static char *saved;

static int checkpoint(void *arg, struct dg_cjson *state, char **cause)
{
	struct dg_buf b = {0};

	(void)cause;
	dg_buf_adds(arg, "CK ");
	dg_cjson_write(state, &b);
	dg_buf_addc(&b, '\0');
	free(saved);
	saved = dg_xstrdup(b.data);
	dg_buf_release(&b);
	dg_cjson_free(state);
	return 0;
}

static struct dg_period *two_sinks(void)
{
	struct dg_period *p = dg_period_new("run");

	dg_buf_reset(&log_);
	fa = (struct fake){.log = &log_, .name = 'a'};
	fb = (struct fake){.log = &log_, .name = 'b'};
	dg_period_add_sink(p, dg_sink_new(&fake_ops, &fa));
	dg_period_add_sink(p, dg_sink_new(&fake_ops, &fb));
	return p;
}

static const char *logged(void)
{
	dg_buf_addc(&log_, '\0');
	log_.len--;
	return log_.data;
}

static void test_commit_order(void **state)
{
	struct dg_period *p = two_sinks();
	struct dg_match m = {.kind = DG_MATCH_FINDING};
	struct dg_cjson *f = dg_cjson_object();
	char *cause = NULL;

	(void)state;
	assert_int_equal(dg_period_begin(p, 1000, &cause), 0);
	dg_cjson_set(f, "id", dg_cjson_str("0123abcd"));
	dg_cjson_set(f, "rule", dg_cjson_str("R-1"));
	dg_period_finding(p, &m, f, "app.log");
	assert_int_equal(dg_period_pending(p), 1);
	/* both sinks get the same bytes, the id and the input, serialised once */
	assert_string_equal(fa.last_line, "{\"id\":\"0123abcd\",\"rule\":\"R-1\"}");
	assert_string_equal(fb.last_line, fa.last_line);
	assert_string_equal(fb.last_id, "0123abcd");
	assert_string_equal(fb.last_input, "app.log");
	dg_period_event(p, 2000, "gap", NULL, 4096, "a gap of 4096 bytes");
	assert_int_equal(fb.last_bytes, 4096);
	dg_buf_reset(&log_);
	assert_int_equal(dg_period_commit(p, checkpoint, &log_, &cause), 0);
	/* every sink durable, then the checkpoint, then what they publish */
	assert_string_equal(logged(), "aS bS aV bV CK aP bP ");
	assert_int_equal(dg_period_pending(p), 0);
	assert_non_null(strstr(saved, "\"ka\":97"));
	assert_non_null(strstr(saved, "\"kb\":98"));
	assert_non_null(strstr(saved, "\"seq\":1"));
	assert_non_null(strstr(saved, "\"prev_sha256\":null"));
	dg_cjson_free(f);
	dg_period_free(p);
}

static void test_sync_failure_publishes_nothing(void **state)
{
	struct dg_period *p = two_sinks();
	char *cause = NULL;

	(void)state;
	fb.fail_sync = 1;
	assert_int_equal(dg_period_begin(p, 1000, &cause), 0);
	dg_buf_reset(&log_);
	assert_int_equal(dg_period_commit(p, checkpoint, &log_, &cause), -1);
	assert_string_equal(cause, "disk full");
	assert_string_equal(logged(), "aS bS "); /* no checkpoint, nothing published */
	free(cause);
	dg_period_free(p);
}

static void test_close_links_the_next(void **state)
{
	struct dg_period *p = two_sinks();
	struct dg_config *cfg;
	char *cause = NULL, *path = NULL;

	(void)state;
	cfg = dg_config_load(NULL, 0, &cause);
	assert_non_null(cfg);
	assert_int_equal(dg_period_begin(p, 1000, &cause), 0);
	assert_int_equal(dg_period_id(p)->seq, 1);
	assert_null(dg_period_id(p)->prev_sha256);
	dg_period_input(p, &(struct dg_report_input){.path = "app.log"});
	fb.full = true;
	assert_true(dg_period_full(p));
	dg_buf_reset(&log_);
	assert_int_equal(dg_period_close(p, 5000, cfg, NULL, &path, &cause), 0);
	assert_string_equal(logged(), "aE aC bE bC ");
	assert_string_equal(path, "reports/x");
	assert_int_equal(dg_period_closed_findings(p), 1);
	assert_int_equal(dg_period_id(p)->seq, 2);
	assert_non_null(dg_period_id(p)->prev_sha256);
	assert_int_equal(dg_period_id(p)->prev_sha256[0], 'b');
	assert_int_equal(dg_period_begin(p, 6000, &cause), 0);
	assert_int_equal(fa.last_seq, 2);
	assert_int_equal(dg_period_id(p)->started_ms, 6000);
	free(path);
	dg_config_free(cfg);
	dg_period_free(p);
}

static void test_restore(void **state)
{
	static const struct {
		int a, b;        /* what each sink's restore says */
		int want;        /* for the period */
		uint64_t seq;    /* after it */
		const char *log; /* what the sinks were asked */
	} cases[] = {
	    {DG_SINK_RESUMED, DG_SINK_RESUMED, DG_SINK_RESUMED, 7, "aR bR "},
	    /* put in place before the crash: the next report, linked to it, begins */
	    {DG_SINK_PUBLISHED, DG_SINK_RESUMED, DG_SINK_PUBLISHED, 8, "aR bR aB bB "},
	    /* gone: begun again under the same number, and said */
	    {DG_SINK_LOST, DG_SINK_RESUMED, DG_SINK_LOST, 7, "aR bR aB bB aI bI "},
	};
	const char *text = "{\"name\":\"20261201T000000Z-000007-0011aabb\",\"prev_sha256\":null,"
	                   "\"report_id\":\"0011aabb\",\"seq\":7,\"started\":123}";
	const char *why = NULL;
	struct dg_cjson *st = dg_cjson_parse(text, strlen(text), &why);

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct dg_period *p = two_sinks();
		char *cause = NULL;

		fa.restored = cases[i].a;
		fb.restored = cases[i].b;
		assert_int_equal(dg_period_restore(p, st, 9000, &cause), cases[i].want);
		assert_string_equal(logged(), cases[i].log);
		assert_int_equal(dg_period_id(p)->seq, cases[i].seq);
		if (cases[i].want == DG_SINK_PUBLISHED)
			assert_int_equal(dg_period_id(p)->prev_sha256[0], 'a');
		else
			assert_null(dg_period_id(p)->prev_sha256);
		if (cases[i].want == DG_SINK_RESUMED) {
			assert_int_equal(dg_period_id(p)->started_ms, 123);
			assert_string_equal(dg_period_id(p)->report_id, "0011aabb");
		} else {
			assert_int_equal(dg_period_id(p)->started_ms, 9000);
		}
		dg_period_free(p);
	}
	dg_cjson_free(st);
	{ /* a period without a name is refused, not half restored */
		struct dg_period *p = two_sinks();
		char *cause = NULL;

		st = dg_cjson_parse("{\"seq\":1}", 9, &why);
		assert_int_equal(dg_period_restore(p, st, 0, &cause), -1);
		assert_non_null(cause);
		assert_string_equal(logged(), "");
		free(cause);
		dg_cjson_free(st);
		dg_period_free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_commit_order),
	    cmocka_unit_test(test_sync_failure_publishes_nothing),
	    cmocka_unit_test(test_close_links_the_next),
	    cmocka_unit_test(test_restore),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	dg_buf_release(&log_);
	free(saved);
	return rc;
}
