/* `dgaudit daemon`: the service. Follows the configured sources with the tailer, feeds the
 * shared pipeline, and keeps every record audited exactly once across rotation, restarts and
 * crashes: findings stream into the current report period's bundle, and a commit (fsync of the
 * outputs, then an atomic checkpoint of offsets, digests, totals and threshold windows) makes
 * them durable; recovery cuts the outputs back to the last commit and resumes from its offsets.
 * Reports are closed every report.interval and at stop, chained by report_seq and
 * prev_report_sha256. Speaks sd_notify, serves /metrics and /healthz on loopback. */
#ifndef DGAUDIT_DAEMON_H
#define DGAUDIT_DAEMON_H

/* Runs the command with its arguments (argv[0] is "daemon"); returns the exit status. */
int dg_daemon_main(int argc, char **argv);

#endif
