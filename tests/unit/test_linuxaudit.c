/* Linux audit logs: the records of one event assembled (released when the next event begins, or
 * settled), file accesses with who, what, how and the outcome, audit configuration changes,
 * logins, RAW and ENRICHED, hex-encoded names, relative paths. Records are as auditd 3.0.9
 * writes them (see conf/os-samples/audit.log). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "dgaudit/linuxaudit.h"

#include "evt_assert.h"

static struct dg_evt evt;

#define SC(serial, rest)                                                                           \
	"type=SYSCALL msg=audit(1796175631.713:" serial "): arch=c000003e " rest                   \
	" ppid=1 pid=2 tty=(none) ses=4 comm=\"cat\" exe=\"/usr/bin/cat\" key=\"dg-data\""

/* Feeds lines; returns how many events they completed, the last in evt. */
static int feed(struct dg_linuxaudit *p, const char *const *lines, size_t n, bool settle)
{
	struct dg_ref ref;
	int events = 0;

	for (size_t i = 0; i < n; i++) {
		const char *why = NULL;
		struct dg_ref here = {0, i + 1, i};

		dg_linuxaudit_where(p, &here);
		assert_int_equal(dg_linuxaudit_parse(p, lines[i], strlen(lines[i]), &why), 0);
		while (dg_linuxaudit_released(p, &evt, &ref))
			events++;
	}
	if (settle) {
		dg_linuxaudit_settle(p);
		while (dg_linuxaudit_released(p, &evt, &ref))
			events++;
	}
	return events;
}

static void test_file_read_enriched(void **state)
{
	struct dg_linuxaudit *p = dg_linuxaudit_new();
	static const char *const lines[] = {
	    SC("66",
	       "syscall=257 success=yes exit=3 a0=ffffff9c a1=7ffc a2=0 a3=0 items=1 "
	       "auid=1000 uid=111 gid=111 euid=111") "\x1d"
	                                             "ARCH=x86_64 SYSCALL=openat AUID=\"alice\" "
	                                             "UID=\"postgres\" GID=\"postgres\"",
	    "type=CWD msg=audit(1796175631.713:66): cwd=\"/work\"",
	    "type=PATH msg=audit(1796175631.713:66): item=0 name=\"/srv/data/customers.dat\" "
	    "inode=1 dev=fe:00 mode=0100640 ouid=0 ogid=34 rdev=00:00 nametype=NORMAL cap_fp=0"
	    "\x1d"
	    "OUID=\"root\" OGID=\"backup\"",
	    "type=PROCTITLE msg=audit(1796175631.713:66): proctitle=636174",
	};
	struct dg_ref ref;

	(void)state;
	/* nothing is out until the event is whole */
	assert_int_equal(feed(p, lines, 4, false), 0);
	dg_linuxaudit_settle(p);
	assert_true(dg_linuxaudit_released(p, &evt, &ref));
	assert_int_equal(ref.line, 1); /* its first record */
	assert_int_equal(evt.ts_ms, 1796175631713LL);
	assert_evt_field(&evt, DG_F_USER_NAME, "alice");
	assert_evt_field(&evt, DG_F_USER_EFFECTIVE, "postgres");
	assert_evt_field(&evt, DG_F_EVENT_ACTION, "read");
	assert_evt_field(&evt, DG_F_EVENT_OUTCOME, "success");
	assert_evt_field(&evt, DG_F_FILE_PATH, "/srv/data/customers.dat");
	assert_evt_field(&evt, DG_F_AUDIT_KEY, "dg-data");
	assert_evt_field(&evt, DG_F_SERVICE_NAME, "auditd");
	assert_evt_field(&evt, DG_F_MESSAGE, "openat by /usr/bin/cat");
	assert_evt_objects(&evt, "/srv/data/customers.dat:read");
	assert_false(dg_linuxaudit_released(p, &evt, &ref));
	dg_linuxaudit_free(p);
}

/* RAW: numbers only; open flags decide read or write; a failure; unlinkat of a relative,
 * hex-encoded name under the working directory. */
static void test_raw_actions(void **state)
{
	struct dg_linuxaudit *p = dg_linuxaudit_new();
	static const char *const lines[] = {
	    SC("30", "syscall=257 success=yes exit=3 a0=ffffff9c a1=55cc a2=441 a3=1b6 items=1 "
	             "auid=4294967295 uid=0"),
	    "type=PATH msg=audit(1796175631.713:30): item=0 name=\"/srv/data/customers.dat\" "
	    "nametype=NORMAL",
	    SC("31", "syscall=257 success=no exit=-13 a0=ffffff9c a1=7ffc a2=0 a3=0 items=1 "
	             "auid=4294967295 uid=65534"),
	    "type=PATH msg=audit(1796175631.713:31): item=0 name=\"/srv/data/customers.dat\" "
	    "nametype=NORMAL",
	    SC("33", "syscall=263 success=yes exit=0 a0=ffffff9c a1=562c a2=0 items=2 "
	             "auid=1000 uid=0"),
	    "type=CWD msg=audit(1796175631.713:33): cwd=\"/srv\"",
	    "type=PATH msg=audit(1796175631.713:33): item=0 name=\"data/\" nametype=PARENT",
	    "type=PATH msg=audit(1796175631.713:33): item=1 "
	    "name=646174612F636F7079206F6620637573746F6D6572732E646174 nametype=DELETE",
	};
	static const char *const want[][4] = {
	    {"0", "write", "success", "/srv/data/customers.dat"},
	    {"65534", "read", "failure", "/srv/data/customers.dat"},
	    {"1000", "delete", "success", "/srv/data/copy of customers.dat"},
	};

	(void)state;
	for (size_t i = 0, at = 0; i < 3; i++) {
		size_t n = i == 2 ? 4 : 2;

		assert_int_equal(feed(p, lines + at, n, true), 1);
		at += n;
		assert_evt_field(&evt, DG_F_USER_NAME, want[i][0]);
		assert_evt_field(&evt, DG_F_EVENT_ACTION, want[i][1]);
		assert_evt_field(&evt, DG_F_EVENT_OUTCOME, want[i][2]);
		assert_evt_field(&evt, DG_F_FILE_PATH, want[i][3]);
	}
	dg_linuxaudit_free(p);
}

/* Audit rules removed (with their SYSCALL), the daemon stopped, a failed su; a record of the
 * next event completes the one before; PAM bookkeeping carries no event. */
static void test_config_and_logins(void **state)
{
	struct dg_linuxaudit *p = dg_linuxaudit_new();
	static const char *const lines[] = {
	    "type=CONFIG_CHANGE msg=audit(1796175634.809:84): auid=4294967295 ses=4294967295 "
	    "op=remove_rule key=\"dg-data\" list=4 res=1",
	    SC("84", "syscall=44 success=yes exit=1076 a0=4 items=0 auid=4294967295 uid=0"),
	    "type=CRED_ACQ msg=audit(1796175634.810:85): pid=3 uid=0 auid=4294967295 "
	    "msg='op=PAM:setcred grantors=pam_rootok acct=\"nobody\" exe=\"/usr/sbin/runuser\" "
	    "hostname=? addr=? terminal=? res=success'",
	    "node=db1 type=USER_AUTH msg=audit(1796175634.811:86): pid=4 uid=65534 "
	    "auid=4294967295 ses=4 msg='op=PAM:authentication grantors=? acct=\"root\" "
	    "exe=\"/usr/bin/su\" hostname=? addr=10.1.2.3 terminal=? res=failed'",
	    "type=DAEMON_END msg=audit(1796175635.341:8117): op=terminate auid=0 uid=0 "
	    "ses=4294967295 pid=32579 res=success\x1d"
	    "AUID=\"root\" UID=\"root\"",
	};
	struct dg_ref ref;
	const char *why;

	(void)state;
	assert_int_equal(feed(p, lines, 3, false), 1); /* the CRED_ACQ completed the rule's */
	assert_evt_field(&evt, DG_F_EVENT_ACTION, "admin");
	assert_evt_field(&evt, DG_F_OBJECT, "auditd.rules");
	assert_evt_field(&evt, DG_F_AUDIT_CHANGE, "reduce");
	assert_evt_field(&evt, DG_F_AUDIT_KEY, "dg-data");
	assert_evt_field(&evt, DG_F_USER_NAME, "0");
	assert_int_equal(feed(p, lines + 3, 1, false), 0); /* PAM bookkeeping: no event */
	assert_int_equal(feed(p, lines + 4, 1, false), 1);
	assert_evt_field(&evt, DG_F_EVENT_ACTION, "login");
	assert_evt_field(&evt, DG_F_EVENT_OUTCOME, "failure");
	assert_evt_field(&evt, DG_F_USER_NAME, "root");
	assert_evt_field(&evt, DG_F_SOURCE_IP, "10.1.2.3");
	assert_evt_field(&evt, DG_F_HOST_NAME, "db1");
	dg_linuxaudit_settle(p);
	assert_true(dg_linuxaudit_released(p, &evt, &ref));
	assert_evt_field(&evt, DG_F_OBJECT, "auditd");
	assert_evt_field(&evt, DG_F_AUDIT_CHANGE, "reduce");
	assert_evt_field(&evt, DG_F_USER_NAME, "root");
	/* not an audit record */
	assert_int_equal(dg_linuxaudit_parse(p, "type=SYSCALL msg=audit(x): a=1", 30, &why), -1);
	assert_non_null(why);
	assert_true(dg_linuxaudit_looks(lines[0], strlen(lines[0])));
	assert_true(dg_linuxaudit_looks(lines[3], strlen(lines[3])));
	assert_false(dg_linuxaudit_looks("{\"a\":1}", 7));
	dg_linuxaudit_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_file_read_enriched),
	    cmocka_unit_test(test_raw_actions),
	    cmocka_unit_test(test_config_and_logins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
