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
#include "dgaudit/run.h"
#include "dgaudit/sign.h"
#include "dgaudit/ts.h"
#include "dgaudit/xmalloc.h"

/* What is in force: packs and their rules, what the site disabled, exceptions and their
 * state, so the paper trail of a configuration is one command away. */
static void print_enabled(const struct dg_config *cfg)
{
	const struct dg_ruleset *rs = cfg->rules;
	char *const *disabled;
	size_t ndisabled;
	char ts[DG_TS_BUFSZ];

	for (size_t p = 0; p < cfg->npacks; p++) {
		const char *file = strrchr(cfg->packs[p].name, cfg->packs[p].builtin ? ':' : '/');
		size_t n = 0;

		file = file ? file + 1 : cfg->packs[p].name;
		for (size_t i = 0; i < dg_rules_count(rs); i++)
			n += strcmp(dg_rules_get(rs, i)->pack, file) == 0;
		printf("pack %s (%s): %zu rules\n", file,
		       cfg->packs[p].builtin ? "bundled" : cfg->packs[p].name, n);
		for (size_t i = 0; i < dg_rules_count(rs); i++) {
			const struct dg_rule *r = dg_rules_get(rs, i);

			if (strcmp(r->pack, file) != 0)
				continue;
			printf("  %-8s %-28s %-9s %zu test(s)%s\n",
			       dg_rules_severity_name(r->severity), r->id,
			       dg_rules_kind_name(r->kind), r->nfixtures,
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
	bool quiet = false;
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
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return DG_EXIT_USAGE;
	}
	printf("configuration OK\n");
	printf("%s: %zu rules from %zu packs (rules sha256:%s), %zu exceptions, %zu assets, %zu "
	       "sources\n",
	       conf ? conf : "built-in defaults", dg_rules_count(cfg->rules), cfg->npacks,
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
		fprintf(stderr, "dgaudit keygen: %s\n", cause);
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
				fprintf(stderr, "dgaudit verify: %s\n", cause);
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
		ok = single ? dg_bundle_verify(argv[i], pem, pemlen, &problems, &info)
		            : dg_bundle_verify_chain(argv[i], pem, pemlen, &problems, &info);
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
