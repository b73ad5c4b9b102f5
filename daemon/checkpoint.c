#include "dgaudit/checkpoint.h"

#include <stdlib.h>

#include <stdbool.h>
#include <string.h>

#include "dgaudit/hash.h"
#include "dgaudit/log.h"
#include "dgaudit/register.h"
#include "dgaudit/xmalloc.h"

#define SEAL_HEAD "\"~mac\":\""
#define SEAL_LEN  (1 + sizeof SEAL_HEAD - 1 + 2 * DG_HASH_LEN + 2) /* ,"~mac":"<hex>"} */

void dg_checkpoint_seal(const uint8_t key[DG_CHECKPOINT_KEY_LEN], struct dg_buf *text)
{
	uint8_t mac[DG_HASH_LEN];
	char hex[2 * DG_HASH_LEN + 1];
	bool empty = text->len == 2; /* "{}" */

	dg_hash_hmac(key, DG_CHECKPOINT_KEY_LEN, text->data, text->len, mac);
	dg_hash_hex(mac, DG_HASH_LEN, hex);
	text->len--; /* the closing brace */
	if (!empty)
		dg_buf_addc(text, ',');
	dg_buf_adds(text, SEAL_HEAD);
	dg_buf_adds(text, hex);
	dg_buf_adds(text, "\"}");
}

/* Compares without an early exit: how much of a guessed MAC is right must not show. */
static bool same(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t diff = 0;

	for (size_t i = 0; i < n; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

enum dg_checkpoint_seal dg_checkpoint_open(const uint8_t key[DG_CHECKPOINT_KEY_LEN], char *text,
                                           size_t len, size_t *body_len)
{
	uint8_t want[DG_HASH_LEN], got[DG_HASH_LEN];
	char hex[2 * DG_HASH_LEN + 1];
	size_t at, head = sizeof SEAL_HEAD - 1;

	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	*body_len = len;
	if (len < SEAL_LEN || memcmp(text + len - 2, "\"}", 2) != 0 ||
	    memcmp(text + len - 2 - 2 * DG_HASH_LEN - head, SEAL_HEAD, head) != 0)
		return memmem(text, len, SEAL_HEAD, head) != NULL ? DG_CHECKPOINT_BROKEN
		                                                  : DG_CHECKPOINT_UNSEALED;
	at = len - 2 - 2 * DG_HASH_LEN - head; /* the seal's first quote */
	memcpy(hex, text + at + head, 2 * DG_HASH_LEN);
	hex[2 * DG_HASH_LEN] = '\0';
	if (dg_hash_unhex(hex, want, DG_HASH_LEN) != 0 || at < 1 ||
	    (text[at - 1] != ',' && text[at - 1] != '{'))
		return DG_CHECKPOINT_BROKEN;
	/* what was sealed: the object as it was before the seal went in */
	if (text[at - 1] == ',')
		at--;
	text[at] = '}';
	dg_hash_hmac(key, DG_CHECKPOINT_KEY_LEN, text, at + 1, got);
	if (!same(want, got, DG_HASH_LEN))
		return DG_CHECKPOINT_BROKEN;
	*body_len = at + 1;
	return DG_CHECKPOINT_SEALED;
}

/* ---- the checkpoint's parts that are not the daemon's own ---------------------------- */

void dg_checkpoint_save_id(struct dg_cjson *o, const struct dg_tail_id *id)
{
	dg_cjson_set(o, "dev", dg_cjson_int((int64_t)id->dev));
	dg_cjson_set(o, "ino", dg_cjson_int((int64_t)id->ino));
	dg_cjson_set(o, "fp", dg_cjson_str(id->fp));
	dg_cjson_set(o, "fp_len", dg_cjson_int(id->fp_len));
	dg_cjson_set(o, "fp_off", dg_cjson_int((int64_t)id->fp_off));
}

bool dg_checkpoint_load_id(const struct dg_cjson *o, struct dg_tail_id *id)
{
	int64_t dev, ino, len, off;
	const char *fp = dg_cjson_string(dg_cjson_get(o, "fp"));

	if (!dg_cjson_intval(dg_cjson_get(o, "dev"), &dev) ||
	    !dg_cjson_intval(dg_cjson_get(o, "ino"), &ino) ||
	    !dg_cjson_intval(dg_cjson_get(o, "fp_len"), &len) ||
	    !dg_cjson_intval(dg_cjson_get(o, "fp_off"), &off) || fp == NULL || strlen(fp) != 64 ||
	    len < 0 || len > DG_TAIL_FP_BYTES || off < 0)
		return false;
	id->fp_off = (uint64_t)off;
	id->dev = (uint64_t)dev;
	id->ino = (uint64_t)ino;
	id->fp_len = (uint32_t)len;
	memcpy(id->fp, fp, 65);
	return true;
}

struct dg_cjson *dg_checkpoint_save_totals(const struct dg_pipeline_totals *t,
                                           const struct dg_ruleset *rs)
{
	struct dg_cjson *o = dg_cjson_object(), *a;

	dg_cjson_set(o, "records", dg_cjson_int((int64_t)t->records));
	dg_cjson_set(o, "malformed", dg_cjson_int((int64_t)t->malformed));
	dg_cjson_set(o, "findings", dg_cjson_int((int64_t)t->findings));
	dg_cjson_set(o, "have_time", dg_cjson_bool(t->have_time));
	dg_cjson_set(o, "first", dg_cjson_int(t->first_ms));
	dg_cjson_set(o, "last", dg_cjson_int(t->last_ms));
	a = dg_cjson_set(o, "by_severity", dg_cjson_array());
	for (int s = 0; s < DG_SEV_COUNT; s++)
		dg_cjson_push(a, dg_cjson_int((int64_t)t->by_severity[s]));
	a = dg_cjson_set(o, "by_rule", dg_cjson_object());
	for (size_t i = 0; i < dg_rules_count(rs); i++)
		if (t->by_rule[i] > 0)
			dg_cjson_set(a, dg_rules_get(rs, i)->id,
			             dg_cjson_int((int64_t)t->by_rule[i]));
	a = dg_cjson_set(o, "rule_stats", dg_cjson_object());
	for (size_t i = 0; i < dg_rules_count(rs); i++) {
		const struct dg_rule_stats *st = &t->rule_stats[i];
		struct dg_cjson *x = dg_cjson_set(a, dg_rules_get(rs, i)->id, dg_cjson_array());
		const uint64_t v[] = {st->evaluations,    st->matches,        st->exempted,
		                      st->findings,       st->suppressed,     st->cpu_ns,
		                      st->evicted_groups, st->evicted_records};

		for (size_t j = 0; j < sizeof v / sizeof v[0]; j++)
			dg_cjson_push(x, dg_cjson_int((int64_t)v[j]));
	}
	dg_cjson_set(o, "sharing", dg_register_save(t->sharing));
	a = dg_cjson_set(o, "exception_stats", dg_cjson_object());
	for (size_t i = 0; i < dg_rules_exception_count(rs); i++) {
		struct dg_cjson *x =
		    dg_cjson_set(a, dg_rules_exception(rs, i)->id, dg_cjson_array());

		dg_cjson_push(x, dg_cjson_int((int64_t)t->exception_stats[i].exempted));
		dg_cjson_push(x, dg_cjson_int((int64_t)t->exception_stats[i].expired));
	}
	return o;
}

/* The counters /metrics shows for the periods already reported, so that they go on after a
 * restart from where the checkpoint stands. */
struct dg_cjson *dg_checkpoint_save_counters(const struct dg_checkpoint_counters *k,
                                             const struct dg_ruleset *rs)
{
	struct dg_cjson *o = dg_cjson_object(), *a;

	dg_cjson_set(o, "records", dg_cjson_int((int64_t)k->records));
	dg_cjson_set(o, "malformed", dg_cjson_int((int64_t)k->malformed));
	dg_cjson_set(o, "gaps", dg_cjson_int((int64_t)k->gaps));
	dg_cjson_set(o, "gap_bytes", dg_cjson_int((int64_t)k->gap_bytes));
	dg_cjson_set(o, "reports", dg_cjson_int((int64_t)k->reports));
	a = dg_cjson_set(o, "by_severity", dg_cjson_array());
	for (int s = 0; s < DG_SEV_COUNT; s++)
		dg_cjson_push(a, dg_cjson_int((int64_t)k->by_severity[s]));
	a = dg_cjson_set(o, "rules", dg_cjson_object());
	for (size_t i = 0; i < dg_rules_count(rs); i++) {
		const struct dg_rule_stats *c = &k->rules[i];
		const uint64_t v[] = {c->evaluations,    c->matches,        c->exempted,
		                      c->findings,       c->suppressed,     c->cpu_ns,
		                      c->evicted_groups, c->evicted_records};
		struct dg_cjson *x = dg_cjson_set(a, dg_rules_get(rs, i)->id, dg_cjson_array());

		for (size_t j = 0; j < sizeof v / sizeof v[0]; j++)
			dg_cjson_push(x, dg_cjson_int((int64_t)v[j]));
	}
	a = dg_cjson_set(o, "exceptions", dg_cjson_object());
	for (size_t i = 0; i < dg_rules_exception_count(rs); i++) {
		struct dg_cjson *x =
		    dg_cjson_set(a, dg_rules_exception(rs, i)->id, dg_cjson_array());

		dg_cjson_push(x, dg_cjson_int((int64_t)k->exceptions[i].exempted));
		dg_cjson_push(x, dg_cjson_int((int64_t)k->exceptions[i].expired));
	}
	return o;
}

static void load_u64(const struct dg_cjson *v, uint64_t *out)
{
	int64_t n;

	if (dg_cjson_intval(v, &n) && n >= 0)
		*out = (uint64_t)n;
}

void dg_checkpoint_load_counters(struct dg_checkpoint_counters *k, const struct dg_ruleset *rs,
                                 const struct dg_cjson *o)
{

	if (o == NULL) /* a checkpoint of an older version: counters start here */
		return;
	load_u64(dg_cjson_get(o, "records"), &k->records);
	load_u64(dg_cjson_get(o, "malformed"), &k->malformed);
	load_u64(dg_cjson_get(o, "gaps"), &k->gaps);
	load_u64(dg_cjson_get(o, "gap_bytes"), &k->gap_bytes);
	load_u64(dg_cjson_get(o, "reports"), &k->reports);
	for (int s = 0; s < DG_SEV_COUNT; s++)
		load_u64(dg_cjson_at(dg_cjson_get(o, "by_severity"), (size_t)s),
		         &k->by_severity[s]);
	for (size_t i = 0; i < dg_rules_count(rs); i++) {
		const struct dg_cjson *x =
		    dg_cjson_get(dg_cjson_get(o, "rules"), dg_rules_get(rs, i)->id);
		struct dg_rule_stats *c = &k->rules[i];
		uint64_t *f[] = {&c->evaluations,    &c->matches,        &c->exempted,
		                 &c->findings,       &c->suppressed,     &c->cpu_ns,
		                 &c->evicted_groups, &c->evicted_records};

		for (size_t j = 0; j < sizeof f / sizeof f[0]; j++)
			load_u64(dg_cjson_at(x, j), f[j]);
	}
	for (size_t i = 0; i < dg_rules_exception_count(rs); i++) {
		const struct dg_cjson *x =
		    dg_cjson_get(dg_cjson_get(o, "exceptions"), dg_rules_exception(rs, i)->id);

		load_u64(dg_cjson_at(x, 0), &k->exceptions[i].exempted);
		load_u64(dg_cjson_at(x, 1), &k->exceptions[i].expired);
	}
}

void dg_checkpoint_load_totals(struct dg_pipeline_totals *t, const struct dg_ruleset *rs,
                               const struct dg_cjson *o)
{
	const struct dg_cjson *sev = dg_cjson_get(o, "by_severity"),
	                      *br = dg_cjson_get(o, "by_rule");
	int64_t v;

#define GET(key, field)                                                                            \
	if (dg_cjson_intval(dg_cjson_get(o, key), &v))                                             \
	t->field = v
	GET("records", records);
	GET("malformed", malformed);
	GET("findings", findings);
	GET("first", first_ms);
	GET("last", last_ms);
#undef GET
	dg_cjson_boolval(dg_cjson_get(o, "have_time"), &t->have_time);
	for (int s = 0; s < DG_SEV_COUNT; s++)
		if (dg_cjson_intval(dg_cjson_at(sev, (size_t)s), &v))
			t->by_severity[s] = (uint64_t)v;
	for (size_t i = 0; i < dg_rules_count(rs); i++) {
		const struct dg_cjson *x =
		    dg_cjson_get(dg_cjson_get(o, "rule_stats"), dg_rules_get(rs, i)->id);
		uint64_t *f[] = {
		    &t->rule_stats[i].evaluations,    &t->rule_stats[i].matches,
		    &t->rule_stats[i].exempted,       &t->rule_stats[i].findings,
		    &t->rule_stats[i].suppressed,     &t->rule_stats[i].cpu_ns,
		    &t->rule_stats[i].evicted_groups, &t->rule_stats[i].evicted_records};

		if (dg_cjson_intval(dg_cjson_get(br, dg_rules_get(rs, i)->id), &v))
			t->by_rule[i] = (uint64_t)v;
		for (size_t j = 0; j < sizeof f / sizeof f[0]; j++)
			if (dg_cjson_intval(dg_cjson_at(x, j), &v) && v >= 0)
				*f[j] = (uint64_t)v;
	}
	if (dg_cjson_get(o, "sharing") != NULL &&
	    dg_register_load(t->sharing, dg_cjson_get(o, "sharing")) != 0)
		dg_log_warnx("checkpoint: the data-sharing register could not be restored");
	for (size_t i = 0; i < dg_rules_exception_count(rs); i++) {
		const struct dg_cjson *x =
		    dg_cjson_get(dg_cjson_get(o, "exception_stats"), dg_rules_exception(rs, i)->id);

		if (dg_cjson_intval(dg_cjson_at(x, 0), &v) && v >= 0)
			t->exception_stats[i].exempted = (uint64_t)v;
		if (dg_cjson_intval(dg_cjson_at(x, 1), &v) && v >= 0)
			t->exception_stats[i].expired = (uint64_t)v;
	}
}

void dg_checkpoint_counters_reset(struct dg_checkpoint_counters *k, const struct dg_ruleset *rs)
{
	free(k->rules);
	free(k->exceptions);
	k->rules = dg_xcalloc(dg_rules_count(rs) + 1, sizeof *k->rules);
	k->exceptions = dg_xcalloc(dg_rules_exception_count(rs) + 1, sizeof *k->exceptions);
}

void dg_checkpoint_counters_add(struct dg_checkpoint_counters *k,
                                const struct dg_pipeline_totals *t, const struct dg_ruleset *rs)
{
	k->records += t->records;
	k->malformed += t->malformed;
	for (int s = 0; s < DG_SEV_COUNT; s++)
		k->by_severity[s] += t->by_severity[s];
	k->reports++;

	for (size_t i = 0; i < dg_rules_count(rs); i++) {
		k->rules[i].evaluations += t->rule_stats[i].evaluations;
		k->rules[i].matches += t->rule_stats[i].matches;
		k->rules[i].exempted += t->rule_stats[i].exempted;
		k->rules[i].findings += t->rule_stats[i].findings;
		k->rules[i].suppressed += t->rule_stats[i].suppressed;
		k->rules[i].cpu_ns += t->rule_stats[i].cpu_ns;
		k->rules[i].evicted_groups += t->rule_stats[i].evicted_groups;
		k->rules[i].evicted_records += t->rule_stats[i].evicted_records;
	}
	for (size_t i = 0; i < dg_rules_exception_count(rs); i++) {
		k->exceptions[i].exempted += t->exception_stats[i].exempted;
		k->exceptions[i].expired += t->exception_stats[i].expired;
	}
}

void dg_checkpoint_counters_carry(struct dg_checkpoint_counters *k, const struct dg_ruleset *prev,
                                  const struct dg_ruleset *next)
{
	struct dg_rule_stats *rules = dg_xcalloc(dg_rules_count(next) + 1, sizeof *rules);
	struct dg_exception_stats *exc =
	    dg_xcalloc(dg_rules_exception_count(next) + 1, sizeof *exc);

	for (size_t i = 0; i < dg_rules_count(next); i++)
		for (size_t j = 0; j < dg_rules_count(prev); j++)
			if (strcmp(dg_rules_get(next, i)->id, dg_rules_get(prev, j)->id) == 0)
				rules[i] = k->rules[j];
	for (size_t i = 0; i < dg_rules_exception_count(next); i++)
		for (size_t j = 0; j < dg_rules_exception_count(prev); j++)
			if (strcmp(dg_rules_exception(next, i)->id,
			           dg_rules_exception(prev, j)->id) == 0)
				exc[i] = k->exceptions[j];
	free(k->rules);
	free(k->exceptions);
	k->rules = rules;
	k->exceptions = exc;
}

void dg_checkpoint_counters_release(struct dg_checkpoint_counters *k)
{
	free(k->rules);
	free(k->exceptions);
	k->rules = NULL;
	k->exceptions = NULL;
}
