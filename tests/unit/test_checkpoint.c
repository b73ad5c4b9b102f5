/* The checkpoint's seal: what dgaudit wrote opens, anything else is caught, and the text stays
 * canonical JSON that parses without the seal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "dgaudit/checkpoint.h"
#include "dgaudit/cjson.h"
#include "dgaudit/config.h"
#include "dgaudit/pipeline.h"

static const uint8_t key[DG_CHECKPOINT_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
static const char body[] = "{\"inputs\":[{\"path\":\"app.log\",\"resume\":4096}],\"version\":2}";

static void sealed(struct dg_buf *b, const char *text)
{
	dg_buf_reset(b);
	dg_buf_adds(b, text);
	dg_checkpoint_seal(key, b);
}

static void test_round_trip(void **state)
{
	struct dg_buf b = {0};
	size_t len;
	const char *why;
	struct dg_cjson *c;

	(void)state;
	sealed(&b, body);
	assert_true(b.len > sizeof body);
	/* the seal is the last member: the text as written is still one canonical object */
	c = dg_cjson_parse(b.data, b.len, &why);
	assert_non_null(c);
	assert_non_null(dg_cjson_get(c, "~mac"));
	dg_cjson_free(c);
	assert_int_equal(dg_checkpoint_open(key, b.data, b.len, &len), DG_CHECKPOINT_SEALED);
	assert_int_equal(len, strlen(body));
	assert_memory_equal(b.data, body, len);
	sealed(&b, "{}");
	assert_int_equal(dg_checkpoint_open(key, b.data, b.len, &len), DG_CHECKPOINT_SEALED);
	assert_int_equal(len, 2);
	dg_buf_release(&b);
}

static void test_edits_are_caught(void **state)
{
	static const uint8_t other[DG_CHECKPOINT_KEY_LEN] = {9};
	struct dg_buf b = {0};
	size_t len;
	char *at;

	(void)state;
	/* an offset changed */
	sealed(&b, body);
	at = strstr(b.data, "4096");
	at[0] = '8';
	assert_int_equal(dg_checkpoint_open(key, b.data, b.len, &len), DG_CHECKPOINT_BROKEN);
	/* another key */
	sealed(&b, body);
	assert_int_equal(dg_checkpoint_open(other, b.data, b.len, &len), DG_CHECKPOINT_BROKEN);
	/* the MAC itself changed, or cut */
	sealed(&b, body);
	b.data[b.len - 3] = b.data[b.len - 3] == '0' ? '1' : '0';
	assert_int_equal(dg_checkpoint_open(key, b.data, b.len, &len), DG_CHECKPOINT_BROKEN);
	sealed(&b, body);
	assert_int_equal(dg_checkpoint_open(key, b.data, b.len - 5, &len), DG_CHECKPOINT_BROKEN);
	/* no seal at all: a checkpoint from before seals (the caller decides by its version) */
	dg_buf_reset(&b);
	dg_buf_adds(&b, body);
	assert_int_equal(dg_checkpoint_open(key, b.data, b.len, &len), DG_CHECKPOINT_UNSEALED);
	assert_int_equal(len, strlen(body));
	dg_buf_release(&b);
}

/* A configuration from text: the bundled packs, with rules left out. */
static struct dg_config *config(const char *text)
{
	char path[] = "/tmp/dg-test-checkpoint-XXXXXX";
	int fd = mkstemp(path);
	char *cause = NULL;
	struct dg_config *cfg;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	cfg = dg_config_load(path, 0, &cause);
	unlink(path);
	if (cfg == NULL)
		fail_msg("%s", cause);
	return cfg;
}

static size_t rule_index(const struct dg_ruleset *rs, const char *id)
{
	for (size_t i = 0; i < dg_rules_count(rs); i++)
		if (strcmp(dg_rules_get(rs, i)->id, id) == 0)
			return i;
	fail_msg("no rule %s", id);
	return 0;
}

static struct dg_cjson *reparsed(struct dg_cjson *v)
{
	struct dg_buf b = {0};
	const char *why = NULL;
	struct dg_cjson *r;

	dg_cjson_write(v, &b);
	dg_cjson_free(v);
	r = dg_cjson_parse(b.data, b.len, &why);
	assert_non_null(r);
	dg_buf_release(&b);
	return r;
}

/* A period's totals come back as they went, through the text a checkpoint holds. */
static void test_totals_round_trip(void **state)
{
	struct dg_config *cfg = config("");
	const struct dg_ruleset *rs = cfg->rules;
	uint8_t k[32] = {0};
	struct dg_pipeline_hooks hooks = {0};
	struct dg_pipeline *a = dg_pipeline_new(cfg, k, sizeof k, &hooks),
	                   *b = dg_pipeline_new(cfg, k, sizeof k, &hooks);
	struct dg_pipeline_totals *t = dg_pipeline_totals_mut(a), *u = dg_pipeline_totals_mut(b);
	size_t harvest = rule_index(rs, "PIPL-HARVEST");
	struct dg_cjson *saved;

	(void)state;
	t->records = 1234;
	t->malformed = 5;
	t->findings = 7;
	t->by_severity[DG_SEV_HIGH] = 6;
	t->by_rule[harvest] = 3;
	t->rule_stats[harvest].evaluations = 1000;
	t->rule_stats[harvest].evicted_records = 9;
	t->first_ms = 1000;
	t->last_ms = 2000;
	t->have_time = true;
	saved = reparsed(dg_checkpoint_save_totals(t, rs));
	dg_checkpoint_load_totals(u, rs, saved);
	assert_int_equal(u->records, 1234);
	assert_int_equal(u->malformed, 5);
	assert_int_equal(u->findings, 7);
	assert_int_equal(u->by_severity[DG_SEV_HIGH], 6);
	assert_int_equal(u->by_rule[harvest], 3);
	assert_int_equal(u->rule_stats[harvest].evaluations, 1000);
	assert_int_equal(u->rule_stats[harvest].evicted_records, 9);
	assert_int_equal(u->last_ms, 2000);
	assert_true(u->have_time);
	dg_cjson_free(saved);
	dg_pipeline_free(a);
	dg_pipeline_free(b);
	dg_config_free(cfg);
}

/* Counters are kept by rule id: read under a rule set without a rule, the others keep theirs
 * (by their new positions) and the one gone is dropped; a reload carries them the same way;
 * values that are not counts are ignored, not believed. */
static void test_counters_follow_rule_ids(void **state)
{
	struct dg_config *all = config("");
	struct dg_config *fewer =
	    config("rules = { disable_rules = [\"PIPL-SENSITIVE-NO-BASIS\"]; };");
	struct dg_checkpoint_counters k = {0}, l = {0}, m = {0};
	size_t harvest_all = rule_index(all->rules, "PIPL-HARVEST");
	size_t harvest_fewer = rule_index(fewer->rules, "PIPL-HARVEST");
	struct dg_cjson *saved;
	const char *why = NULL;
	const char bad[] = "{\"records\":-4,\"gaps\":\"many\",\"rules\":{\"PIPL-HARVEST\":[-1]}}";

	(void)state;
	assert_int_equal(dg_rules_count(fewer->rules) + 1, dg_rules_count(all->rules));
	dg_checkpoint_counters_reset(&k, all->rules);
	k.records = 99;
	k.gaps = 2;
	k.gap_bytes = 4096;
	k.reports = 3;
	k.rules[harvest_all].findings = 11;
	k.rules[rule_index(all->rules, "PIPL-SENSITIVE-NO-BASIS")].findings = 5;
	saved = reparsed(dg_checkpoint_save_counters(&k, all->rules));
	dg_checkpoint_counters_reset(&l, fewer->rules);
	dg_checkpoint_load_counters(&l, fewer->rules, saved);
	assert_int_equal(l.records, 99);
	assert_int_equal(l.gap_bytes, 4096);
	assert_int_equal(l.reports, 3);
	assert_int_equal(l.rules[harvest_fewer].findings, 11);
	for (size_t i = 0; i < dg_rules_count(fewer->rules); i++)
		if (i != harvest_fewer)
			assert_int_equal(l.rules[i].findings, 0);
	dg_checkpoint_counters_carry(&k, all->rules, fewer->rules);
	assert_int_equal(k.rules[harvest_fewer].findings, 11);
	dg_cjson_free(saved);
	saved = dg_cjson_parse(bad, sizeof bad - 1, &why);
	dg_checkpoint_counters_reset(&m, all->rules);
	m.records = 7;
	m.rules[harvest_all].evaluations = 8;
	dg_checkpoint_load_counters(&m, all->rules, saved);
	assert_int_equal(m.records, 7);
	assert_int_equal(m.gaps, 0);
	assert_int_equal(m.rules[harvest_all].evaluations, 8);
	dg_cjson_free(saved);
	dg_checkpoint_counters_release(&k);
	dg_checkpoint_counters_release(&l);
	dg_checkpoint_counters_release(&m);
	dg_config_free(all);
	dg_config_free(fewer);
}

static void test_identity(void **state)
{
	struct dg_tail_id id = {.dev = 2049, .ino = 1234567, .fp_len = 1024, .fp_off = 0}, back;
	struct dg_cjson *o = dg_cjson_object();

	(void)state;
	memset(id.fp, 'a', 64);
	id.fp[64] = '\0';
	dg_checkpoint_save_id(o, &id);
	o = reparsed(o);
	assert_true(dg_checkpoint_load_id(o, &back));
	assert_int_equal(back.dev, 2049);
	assert_int_equal(back.ino, 1234567);
	assert_int_equal(back.fp_len, 1024);
	assert_string_equal(back.fp, id.fp);
	dg_cjson_set(o, "fp_len", dg_cjson_int(DG_TAIL_FP_BYTES + 1)); /* more than a fingerprint */
	assert_false(dg_checkpoint_load_id(o, &back));
	dg_cjson_set(o, "fp_len", dg_cjson_int(10));
	dg_cjson_set(o, "fp", dg_cjson_str("abc"));
	assert_false(dg_checkpoint_load_id(o, &back));
	dg_cjson_free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_edits_are_caught),
	    cmocka_unit_test(test_totals_round_trip),
	    cmocka_unit_test(test_counters_follow_rule_ids),
	    cmocka_unit_test(test_identity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
