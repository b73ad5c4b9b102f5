#include "dgaudit/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dgaudit/bundle.h"
#include "dgaudit/clock.h"
#include "dgaudit/config.h"
#include "dgaudit/fileio.h"
#include "dgaudit/log.h"
#include "dgaudit/ruletest.h"
#include "dgaudit/run.h"
#include "dgaudit/sign.h"
#include "dgaudit/ts.h"
#include "dgaudit/verify.h"
#include "dgaudit/xmalloc.h"

/* What is in force: packs and their rules, what the site disabled, exceptions and their
 * state, so the paper trail of a configuration is one command away. */
static void print_enabled(const struct dg_config *cfg)
{
	const struct dg_ruleset *rs = cfg->rules;
	char *const *disabled;
	size_t ndisabled;
	char ts[DG_TS_BUFSZ];
	int w = 0; /* the longest rule id, for the columns */

	for (size_t i = 0; i < dg_rules_count(rs); i++)
		if ((int)strlen(dg_rules_get(rs, i)->id) > w)
			w = (int)strlen(dg_rules_get(rs, i)->id);
	for (size_t p = 0; p < cfg->npacks; p++) {
		const char *file = strrchr(cfg->packs[p].name, cfg->packs[p].builtin ? ':' : '/');
		size_t n = 0;

		if (!dg_rules_pack_loaded(rs, p)) {
			printf("pack %s (bundled): off unless named in rules.packs\n", file + 1);
			continue;
		}
		file = file ? file + 1 : cfg->packs[p].name;
		for (size_t i = 0; i < dg_rules_count(rs); i++)
			n += strcmp(dg_rules_get(rs, i)->pack, file) == 0;
		printf("pack %s (%s): %zu rules\n", file,
		       cfg->packs[p].builtin ? "bundled" : cfg->packs[p].name, n);
		for (size_t i = 0; i < dg_rules_count(rs); i++) {
			const struct dg_rule *r = dg_rules_get(rs, i);

			if (strcmp(r->pack, file) != 0)
				continue;
			printf("  %-8s %-*s %-13s %zu %stest(s)%s\n",
			       dg_rules_severity_name(r->severity), w, r->id,
			       dg_rules_kind_name(r->kind), r->nfixtures,
			       r->site_tests ? "site " : "",
			       r->nexceptions ? ", exceptions apply" : "");
		}
	}
	disabled = dg_rules_disabled(rs, &ndisabled);
	for (size_t i = 0; i < ndisabled; i++)
		printf("disabled %s\n", disabled[i]);
	for (size_t i = 0; i < dg_rules_exception_count(rs); i++) {
		const struct dg_exception *x = dg_rules_exception(rs, i);

		printf("exception %s (%s): ticket %s, approved by %s, %s %s\n", x->id, x->where,
		       x->ticket, x->approved_by, x->expired ? "EXPIRED on" : "expires",
		       dg_ts_format(x->expires_ms, ts));
	}
}

int dg_cli_check(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	                                     {"quiet", no_argument, NULL, 'q'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	static const char use[] = "usage: dgaudit check [-c CONF] [--quiet]\n";
	const char *conf = NULL;
	struct dg_config *cfg;
	char *cause = NULL;
	bool quiet = dg_log_level() < DG_LOG_INFO; /* --quiet: taken by main for every command */
	size_t npacks = 0;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:qh", opts, NULL)) != -1) {
		if (c == 'c') {
			conf = optarg;
			continue;
		}
		if (c == 'q') {
			quiet = true;
			continue;
		}
		fputs(use, c == 'h' ? stdout : stderr);
		return c == 'h' ? DG_EXIT_OK : DG_EXIT_USAGE;
	}
	if (optind != argc) {
		fputs(use, stderr);
		return DG_EXIT_USAGE;
	}
	cfg = dg_config_load(conf, dg_clock_wall_ms(), &cause);
	if (cfg == NULL) {
		dg_log_diagnostics(cause);
		free(cause);
		return DG_EXIT_USAGE;
	}
	printf("configuration OK\n");
	for (size_t p = 0; p < cfg->npacks; p++)
		npacks += dg_rules_pack_loaded(cfg->rules, p);
	printf("%s: %zu rules from %zu packs (rules sha256:%s), %zu exceptions, %zu assets, %zu "
	       "sources\n",
	       conf ? conf : "built-in defaults", dg_rules_count(cfg->rules), npacks,
	       dg_rules_digest(cfg->rules), dg_rules_exception_count(cfg->rules),
	       dg_catalog_count(cfg->catalog), cfg->nsources);
	if (!quiet)
		print_enabled(cfg);
	dg_config_free(cfg);
	return DG_EXIT_OK;
}

int dg_cli_keygen(int argc, char **argv)
{
	static const struct option opts[] = {{"type", required_argument, NULL, 't'},
	                                     {"output", required_argument, NULL, 'o'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	static const char use[] =
	    "usage: dgaudit keygen [--type ed25519|ecdsa-p256|rsa-pss] -o KEY\n";
	enum dg_sign_type type = DG_SIGN_ED25519;
	const char *out = NULL;
	char *cause = NULL, *pubpath, *pem;
	char fp[DG_HASH_HEXLEN];
	size_t len;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "t:o:h", opts, NULL)) != -1) {
		if (c == 't' && dg_sign_type_parse(optarg, &type))
			continue;
		if (c == 'o') {
			out = optarg;
			continue;
		}
		fputs(use, c == 'h' ? stdout : stderr);
		return c == 'h' ? DG_EXIT_OK : DG_EXIT_USAGE;
	}
	if (out == NULL || optind != argc) {
		fputs(use, stderr);
		return DG_EXIT_USAGE;
	}
	if (dg_sign_keygen(out, type, &cause) != 0) {
		dg_log_errx("%s", cause);
		free(cause);
		return DG_EXIT_USAGE;
	}
	pubpath = dg_xasprintf("%s.pub.pem", out);
	pem = dg_fileio_read(pubpath, 65536, &len, &cause);
	if (pem != NULL && dg_sign_fingerprint(pem, len, fp, &cause) == 0)
		printf("%s key written to %s (mode 0600), public key %s\nfingerprint sha256:%s\n",
		       dg_sign_type_name(type), out, pubpath, fp);
	free(cause);
	free(pem);
	free(pubpath);
	return DG_EXIT_OK;
}

int dg_cli_verify(int argc, char **argv)
{
	static const struct option opts[] = {{"pubkey", required_argument, NULL, 'k'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	static const char use[] = "usage: dgaudit verify [--pubkey PEM] BUNDLE|DIR...\n"
	                          "  DIR: a directory of bundles, whose chain is checked too\n";
	char *pem = NULL, *cause = NULL;
	size_t pemlen = 0;
	int c, rc = DG_EXIT_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
		if (c == 'k') {
			free(pem);
			pem = dg_fileio_read(optarg, 65536, &pemlen, &cause);
			if (pem == NULL) {
				dg_log_errx("%s", cause);
				free(cause);
				return DG_EXIT_USAGE;
			}
			continue;
		}
		fputs(use, c == 'h' ? stdout : stderr);
		free(pem);
		return c == 'h' ? DG_EXIT_OK : DG_EXIT_USAGE;
	}
	if (optind == argc) {
		fputs(use, stderr);
		free(pem);
		return DG_EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		struct dg_buf problems = {0};
		char *info = NULL;

		char *member = dg_xasprintf("%s/report.json", argv[i]);
		bool single = access(member, F_OK) == 0;
		int ok;

		free(member);
		ok = single ? dg_verify_bundle(argv[i], pem, pemlen, &problems, &info)
		            : dg_verify_chain(argv[i], pem, pemlen, &problems, &info);
		if (ok == 0) {
			printf("%s: OK: %s\n", argv[i], info);
		} else {
			fputs(problems.data, stderr);
			printf("%s: INVALID\n", argv[i]);
			rc = DG_EXIT_FINDINGS;
		}
		free(info);
		dg_buf_release(&problems);
	}
	free(pem);
	return rc;
}

/* dgaudit rules test: runs the fixtures of every rule in force (with FILE..., of the rules in
 * those pack files only), a line per rule. */
static int rules_test(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	                                     {"verbose", no_argument, NULL, 'v'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	static const char use[] = "usage: dgaudit rules test [-c CONF] [--verbose] [FILE...]\n";
	const char *conf = NULL;
	struct dg_config *cfg;
	char *cause = NULL, **files = NULL;
	size_t tested = 0, failed = 0, untested = 0, pack_failed = 0, nfiles;
	bool verbose = dg_log_level() >= DG_LOG_DEBUG; /* --verbose, as taken by main */
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		if (c == 'c') {
			conf = optarg;
			continue;
		}
		if (c == 'v') {
			verbose = true;
			continue;
		}
		fputs(use, c == 'h' ? stdout : stderr);
		return c == 'h' ? DG_EXIT_OK : DG_EXIT_USAGE;
	}
	nfiles = (size_t)(argc - optind);
	files = dg_xcalloc(nfiles + 1, sizeof *files);
	for (size_t i = 0; i < nfiles; i++)
		files[i] = argv[optind + (int)i];
	cfg = dg_config_load_extra(conf, files, dg_clock_wall_ms(), &cause);
	if (cfg == NULL) {
		dg_log_diagnostics(cause);
		free(cause);
		free(files);
		return DG_EXIT_USAGE;
	}
	for (size_t i = 0; i < dg_rules_count(cfg->rules); i++) {
		const struct dg_rule *r = dg_rules_get(cfg->rules, i);
		bool pass = true, chosen = nfiles == 0;
		struct dg_buf why = {0};

		for (size_t k = 0; k < nfiles; k++) {
			const char *base = strrchr(files[k], '/');

			chosen |= strcmp(base ? base + 1 : files[k], r->pack) == 0;
		}
		if (!chosen)
			continue;
		if (r->nfixtures == 0) {
			printf("NONE %s: no tests (%s)\n", r->id, r->where);
			untested++;
			continue;
		}
		for (size_t k = 0; k < r->nfixtures; k++) {
			struct dg_ruletest_result res;

			dg_ruletest_run(cfg->rules, r, k, cfg->lateness_ms, &res);
			if (!res.pass || verbose)
				dg_buf_printf(&why, "\n  %s %s (%s): %llu events, %s",
				              res.pass ? "ok" : "FAIL", r->fixtures[k].name,
				              r->fixtures[k].where, (unsigned long long)res.events,
				              res.pass ? "as expected" : res.why);
			pass &= res.pass;
		}
		printf("%s %s (%zu %stest%s)%s\n", pass ? "PASS" : "FAIL", r->id, r->nfixtures,
		       r->site_tests ? "site " : "", r->nfixtures == 1 ? "" : "s",
		       why.data ? why.data : "");
		dg_buf_release(&why);
		tested++;
		failed += !pass;
		pack_failed += !pass && !r->site_tests;
	}
	printf("%zu rules tested, %zu failed, %zu without tests\n", tested, failed, untested);
	if (pack_failed && conf != NULL)
		printf(
		    "The tests ran with the values of %s. If a rule fails because the site "
		    "tuned it on purpose,\nput tests of what it now does in rule_tests = ( { rule "
		    "= \"ID\"; reason = \"...\"; tests = ( ... ); } ).\n",
		    conf);
	dg_config_free(cfg);
	free(files);
	return failed ? DG_EXIT_FINDINGS : DG_EXIT_OK;
}

int dg_cli_rules(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "test") == 0)
		return rules_test(argc - 1, argv + 1);
	fprintf(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr,
	        "usage: dgaudit rules test [-c CONF] [--verbose] [FILE...]\n"
	        "  runs the tests (fixtures) of the rules in force, or of the rule packs FILE...;\n"
	        "  exits 1 if any fails\n");
	return argc >= 2 && strcmp(argv[1], "--help") == 0 ? DG_EXIT_OK : DG_EXIT_USAGE;
}
