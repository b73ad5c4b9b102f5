/* The small commands: check (validate configuration and rules), keygen (new signing key),
 * verify (check report bundles) and rules test (run rule fixtures). Each takes its arguments with
 * argv[0] the command name and returns the exit status. */
#ifndef DGAUDIT_CLI_H
#define DGAUDIT_CLI_H

int dg_cli_check(int argc, char **argv);
int dg_cli_keygen(int argc, char **argv);
int dg_cli_verify(int argc, char **argv);
int dg_cli_rules(int argc, char **argv);

#endif
