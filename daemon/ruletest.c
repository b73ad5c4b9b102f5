#include "dgaudit/ruletest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/buf.h"
#include "dgaudit/engine.h"
#include "dgaudit/ts.h"
#include "dgaudit/xmalloc.h"

struct run {
	const struct dg_rule *rule;
	struct dg_ruletest_result *out;
};

static void on_match(const struct dg_match *m, void *arg)
{
	struct run *r = arg;

	if (m->rule != r->rule || m->kind == DG_MATCH_OPEN || m->kind == DG_MATCH_CARRIED)
		return;
	if (r->out->findings++ == 0 && (m->fire != NULL || m->seq != NULL)) {
		r->out->has_value = true;
		r->out->value = m->fire ? m->fire->aggregate : m->seq->steps[0].aggregate;
	}
}

/* Appends s to b with "{n}" replaced by n; returns where it starts in b. */
static size_t expand(struct dg_buf *b, const char *s, uint64_t n)
{
	size_t at = b->len;

	for (const char *p = s; *p != '\0'; p++) {
		if (strncmp(p, "{n}", 3) == 0) {
			dg_buf_printf(b, "%llu", (unsigned long long)n);
			p += 2;
		} else {
			dg_buf_addc(b, *p);
		}
	}
	dg_buf_addc(b, '\0');
	return at;
}

/* Fills evt from the fields in force; texts go to b, which must not move before evaluation. */
static void build(struct dg_evt *evt, const struct dg_fixture_value *const *cur, int nfields,
                  int64_t t, uint64_t n, struct dg_buf *b)
{
	size_t offs[DG_MAX_FIELDS][2], at;
	char ts[DG_TS_BUFSZ];

	/* First every text into b (it may grow), then the event points into it. */
	dg_buf_reset(b);
	at = b->len;
	dg_buf_adds(b, dg_ts_format(t, ts));
	dg_buf_addc(b, '\0');
	for (int f = 0; f < nfields; f++) {
		const struct dg_fixture_value *v = cur[f];

		offs[f][0] = b->len;
		if (v == NULL)
			continue;
		if (v->kind == DG_K_STR)
			expand(b, v->text, n);
		else if (v->kind == DG_K_NUM)
			dg_buf_printf(b, "%lld%c", (long long)v->num, 0);
		else if (v->kind == DG_K_BOOL)
			dg_buf_printf(b, "%s%c", v->num ? "true" : "false", 0);
		else
			for (size_t i = 0; i < v->nitems; i++)
				expand(b, v->items[i], n);
		offs[f][1] = b->len;
	}
	memset(evt, 0, sizeof *evt);
	evt->ts_ms = t;
	dg_evt_set(evt, DG_F_TIMESTAMP, b->data + at, strlen(b->data + at));
	for (int f = 0; f < nfields; f++) {
		const struct dg_fixture_value *v = cur[f];
		const char *p = b->data + offs[f][0];

		if (v == NULL || f == DG_F_TIMESTAMP)
			continue;
		switch (v->kind) {
		case DG_K_STR:
			dg_evt_set(evt, f, p, strlen(p));
			break;
		case DG_K_NUM:
			dg_evt_set_int(evt, f, v->num, p, strlen(p));
			break;
		case DG_K_BOOL:
			dg_evt_set(evt, f, p, strlen(p));
			evt->v[f].kind = DG_K_BOOL;
			break;
		default:
			for (size_t i = 0; i < v->nitems; i++) {
				dg_evt_push(evt, f, p, strlen(p));
				p += strlen(p) + 1;
			}
		}
	}
}

void dg_ruletest_run(const struct dg_ruleset *rs, const struct dg_rule *r, size_t i,
                     int64_t lateness_ms, struct dg_ruletest_result *out)
{
	const struct dg_fixture *fx = &r->fixtures[i];
	const struct dg_fixture_value *cur[DG_MAX_FIELDS] = {0};
	/* A test with lists of its own runs the rule compiled with them. */
	const struct dg_ruleset *set = fx->rs ? fx->rs : rs;
	const struct dg_rule *rule = fx->rs ? dg_rules_get(fx->rs, 0) : r;
	struct dg_engine *e = dg_engine_new(set, lateness_ms);
	struct run run = {rule, out};
	struct dg_buf b = {0};
	struct dg_evt evt;
	int64_t t = 0;
	uint64_t n = 0;

	memset(out, 0, sizeof *out);
	dg_engine_ignore_exceptions(e);
	for (size_t k = 0; k < fx->nevents; k++) {
		const struct dg_fixture_event *ev = &fx->events[k];

		for (size_t s = 0; s < ev->nset; s++)
			cur[ev->set[s].field] = &ev->set[s];
		t = ev->relative ? t + ev->at_ms : ev->at_ms;
		for (int64_t rep = 0; rep < ev->repeat; rep++) {
			struct dg_ref ref;

			if (rep > 0)
				t += ev->every_ms;
			n++;
			ref = (struct dg_ref){0, n, n}; /* line and offset: the event's number */
			build(&evt, cur, DG_MAX_FIELDS, t, n, &b);
			dg_engine_eval(e, &evt, &ref, on_match, &run);
		}
	}
	dg_engine_flush(e, on_match, &run);
	out->events = n;
	out->pass = out->findings == fx->expect &&
	            (!fx->has_value || (out->has_value && out->value == fx->value));
	if (!out->pass && out->findings != fx->expect)
		snprintf(out->why, sizeof out->why, "%lld finding%s, want %lld",
		         (long long)out->findings, out->findings == 1 ? "" : "s",
		         (long long)fx->expect);
	else if (!out->pass)
		snprintf(out->why, sizeof out->why, "value %lld, want %lld", (long long)out->value,
		         (long long)fx->value);
	dg_buf_release(&b);
	dg_engine_free(e);
}
