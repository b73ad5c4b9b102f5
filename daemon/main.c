/* dgaudit: data-governance audit of data-access logs. Dispatches to the commands. */
#include <stdio.h>
#include <string.h>

#include "dgaudit/cli.h"
#include "dgaudit/daemon.h"
#include "dgaudit/log.h"
#include "dgaudit/run.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: dgaudit COMMAND [OPTIONS]\n\n"
	    "  run [-c CONF] [-o DIR] [--format F] [--fail-on SEV] FILE...\n"
	    "                      audit log files once: findings, a signed report\n"
	    "  daemon [-c CONF]    follow the configured logs as a service (systemd)\n"
	    "  verify [--pubkey PEM] BUNDLE...\n"
	    "                      check a report bundle's signature, digests and structure\n"
	    "  check [-c CONF]     validate the configuration and rules\n"
	    "  rules test [-c CONF] [FILE...]\n"
	    "                      run the rules' tests (fixtures)\n"
	    "  keygen [--type ed25519|ecdsa-p256|rsa-pss] -o KEY\n"
	    "                      create a report signing key\n\n"
	    "  --verbose, --quiet   before or after the command: more (debug) or less (warnings\n"
	    "                      and errors only) on standard error\n"
	    "  --help, --version\n");
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} commands[] = {
	    {"run", dg_run_main},    {"daemon", dg_daemon_main}, {"verify", dg_cli_verify},
	    {"check", dg_cli_check}, {"keygen", dg_cli_keygen},  {"rules", dg_cli_rules},
	};

	static char progname[32];
	enum dg_log_level level = DG_LOG_INFO;
	int n = 1;

	/* --verbose and --quiet are taken out wherever they stand before a "--": every command
	 * logs through the one path, at the level they set */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (i < argc)
				argv[n++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], "--verbose") == 0)
			level = DG_LOG_DEBUG;
		else if (strcmp(argv[i], "--quiet") == 0)
			level = DG_LOG_WARNING;
		else
			argv[n++] = argv[i];
	}
	argc = n;
	argv[argc] = NULL;
	dg_log_init("dgaudit", level);
	if (argc < 2) {
		usage(stderr);
		return DG_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return DG_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("dgaudit %s\n", DG_VERSION);
		return DG_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0) {
			snprintf(progname, sizeof progname, "dgaudit %s", commands[i].name);
			dg_log_init(progname, level);
			return commands[i].fn(argc - 1, argv + 1);
		}
	dg_log_errx("unknown command '%s'", argv[1]);
	usage(stderr);
	return DG_EXIT_USAGE;
}
