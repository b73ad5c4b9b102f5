/* Syslog messages as RFC 5424 has them: PRI from the facility and the finding's severity, the
 * header, structured data whose values are escaped, the finding's JSON as MSG; integrity events
 * with their byte count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "dgaudit/sink_syslog.h"

static void test_finding(void **state)
{
	char *refs_a[] = {(char *)"Art. 51", (char *)"Art. 55", NULL};
	char *refs_b[] = {(char *)"10.2.1", NULL};
	struct dg_compliance comp[] = {{(char *)"PIPL", refs_a, 2},
	                               {(char *)"PCI DSS 4.0", refs_b, 1}};
	struct dg_rule rule = {.id = (char *)"R-\"1]\\",
	                       .severity = DG_SEV_HIGH,
	                       .compliance = comp,
	                       .ncompliance = 2};
	struct dg_ref ref = {0};
	struct dg_match m = {.kind = DG_MATCH_FINDING, .rule = &rule, .ref = &ref};
	const char json[] = "{\"id\":\"00ff\",\"rule\":\"R-\\\"1]\\\\\"}";
	struct dg_sink_finding f = {&m, NULL, json, sizeof json - 1, "00ff", "app.log"};
	struct dg_syslog_origin o = {13, "db1.bank.example", 4242, "abcd"};
	struct dg_buf b = {0};

	(void)state;
	dg_sink_syslog_finding(&b, &o, 1764547200123, &f);
	dg_buf_addc(&b, '\0');
	/* log audit (13) * 8 + error (3) */
	assert_string_equal(
	    b.data,
	    "<107>1 2025-12-01T00:00:00.123Z db1.bank.example dgaudit 4242 finding "
	    "[dgaudit@32473 report_id=\"abcd\" id=\"00ff\" rule=\"R-\\\"1\\]\\\\\" "
	    "severity=\"high\" compliance=\"PIPL Art. 51\" compliance=\"PIPL Art. 55\" "
	    "compliance=\"PCI DSS 4.0 10.2.1\"] {\"id\":\"00ff\",\"rule\":\"R-\\\"1]\\\\\"}");
	/* an alert: MSGID alert; a critical one: PRI severity 2 */
	dg_buf_reset(&b);
	m.kind = DG_MATCH_OPEN;
	rule.severity = DG_SEV_CRITICAL;
	o.facility = 16;
	o.hostname = "";
	dg_sink_syslog_finding(&b, &o, 0, &f);
	dg_buf_addc(&b, '\0');
	assert_memory_equal(b.data, "<130>1 1970-01-01T00:00:00Z - dgaudit 4242 alert ", 49);
	dg_buf_release(&b);
}

static void test_integrity(void **state)
{
	struct dg_syslog_origin o = {13, "h", 1, "abcd"};
	struct dg_integrity gap = {1000, "gap", NULL, 4096, "4096 bytes lost"};
	struct dg_integrity start = {1000, "start", "app.log", -1, "started"};
	struct dg_buf b = {0};

	(void)state;
	dg_sink_syslog_integrity(&b, &o, &gap);
	dg_buf_addc(&b, '\0');
	assert_string_equal(b.data,
	                    "<108>1 1970-01-01T00:00:01Z h dgaudit 1 integrity "
	                    "[dgaudit@32473 report_id=\"abcd\" type=\"gap\" bytes=\"4096\"] "
	                    "{\"bytes\":4096,\"detail\":\"4096 bytes lost\","
	                    "\"time\":\"1970-01-01T00:00:01Z\",\"type\":\"gap\"}");
	dg_buf_reset(&b);
	dg_sink_syslog_integrity(&b, &o, &start); /* notice (5), no bytes, its input */
	dg_buf_addc(&b, '\0');
	assert_string_equal(b.data, "<109>1 1970-01-01T00:00:01Z h dgaudit 1 integrity "
	                            "[dgaudit@32473 report_id=\"abcd\" type=\"start\"] "
	                            "{\"detail\":\"started\",\"input\":\"app.log\","
	                            "\"time\":\"1970-01-01T00:00:01Z\",\"type\":\"start\"}");
	dg_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_finding),
	    cmocka_unit_test(test_integrity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
