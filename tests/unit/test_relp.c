/* The RELP reader: the server's frames whole, however they are cut into reads; anything that is
 * not RELP refused, never read past. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "dgaudit/relp.h"

static const char answers[] =
    "1 rsp 93 200 OK\nrelp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\n"
    "commands=syslog\n"
    "2 rsp 6 200 OK\n"
    "3 rsp 27 500 the message is too long\n"
    "0 serverclose 0\n";

static void test_frames_in_any_chunking(void **state)
{
	(void)state;
	for (size_t chunk = 1; chunk <= sizeof answers; chunk++) {
		struct dg_relp_reader r = {0};
		int n = 0;

		for (size_t at = 0; at < sizeof answers - 1; at += chunk) {
			size_t len =
			    sizeof answers - 1 - at < chunk ? sizeof answers - 1 - at : chunk;
			size_t pos = 0;

			while (pos < len) {
				enum dg_relp_event ev = dg_relp_read(&r, answers + at, len, &pos);

				assert_int_not_equal(ev, DG_RELP_ERROR);
				if (ev != DG_RELP_FRAME)
					continue;
				switch (n++) {
				case 0:
					assert_int_equal(r.txnr, 1);
					assert_string_equal(r.command, "rsp");
					assert_int_equal(r.datalen, 93);
					assert_non_null(strstr(r.data, "commands=syslog"));
					break;
				case 1:
					assert_int_equal(r.txnr, 2);
					assert_string_equal(r.data, "200 OK");
					break;
				case 2:
					assert_int_equal(r.txnr, 3);
					assert_string_equal(r.data, "500 the message is too long");
					break;
				case 3:
					assert_int_equal(r.txnr, 0);
					assert_string_equal(r.command, "serverclose");
					assert_int_equal(r.datalen, 0);
					break;
				}
				memset(&r, 0, sizeof r);
			}
		}
		assert_int_equal(n, 4);
	}
}

static void test_not_relp(void **state)
{
	static const char *const bad[] = {
	    "x rsp 6 200 OK\n",  /* no transaction number */
	    "1 RSP 6 200 OK\n",  /* commands are lower case */
	    "1 rsp 6 200 OK!\n", /* no trailer where the data ends */
	    "1 rsp 6\n",         /* data announced, none sent */
	    "1234567890 rsp 0\n" /* a transaction number too long */,
	    "1 rsp 0 \n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct dg_relp_reader r = {0};
		size_t pos = 0, len = strlen(bad[i]);
		enum dg_relp_event ev;

		while ((ev = dg_relp_read(&r, bad[i], len, &pos)) == DG_RELP_FRAME)
			memset(&r, 0, sizeof r);
		assert_int_equal(ev, DG_RELP_ERROR);
		assert_true(pos <= len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frames_in_any_chunking),
	    cmocka_unit_test(test_not_relp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
