/* `dgaudit run`: the one-off audit. Feeds every input through the pipeline to its end, prints
 * findings as JSON lines, writes a signed report bundle and a summary on stderr. */
#ifndef DGAUDIT_RUN_H
#define DGAUDIT_RUN_H

enum dg_exit {
	DG_EXIT_OK = 0,         /* no finding at or above --fail-on; bundle valid */
	DG_EXIT_FINDINGS = 1,   /* findings at or above --fail-on; bundle invalid */
	DG_EXIT_USAGE = 2,      /* usage or configuration error */
	DG_EXIT_UNREADABLE = 3, /* an input could not be read to its end */
};

/* Runs the command with its arguments (argv[0] is "run"); returns the exit status. */
int dg_run_main(int argc, char **argv);

#endif
