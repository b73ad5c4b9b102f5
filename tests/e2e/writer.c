/* A log writer for the daemon tests: appends numbered JSON lines ("message":"n000000042") at a
 * given rate with O_APPEND, and reopens its file on SIGHUP as an application does after
 * logrotate's create mode. With --partial it leaves its last line without the newline; with
 * --no-append it writes at its own offset, as programs that open logs without O_APPEND do.
 *
 *   dg_writer PATH RATE COUNT [--start N] [--partial] [--no-append]
 *
 * Prints "wrote N" (the last number written) when it ends: after COUNT lines or on SIGTERM. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t reopen, stop;

static void on_hup(int sig)
{
	(void)sig;
	reopen = 1;
}

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int append = O_APPEND;

static int open_log(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | append | O_CLOEXEC, 0644);

	if (fd < 0) {
		perror(path);
		exit(2);
	}
	return fd;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			perror("write");
			exit(2);
		}
		p += w;
		n -= (size_t)w;
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_hup};
	struct timespec t0, now;
	long rate, count, n = 0, start = 1;
	int partial = 0, fd;
	char line[160];

	if (argc < 4) {
		fprintf(stderr,
		        "usage: dg_writer PATH RATE COUNT [--start N] [--partial] [--no-append]\n");
		return 2;
	}
	rate = atol(argv[2]);
	count = atol(argv[3]);
	for (int i = 4; i < argc; i++) {
		if (strcmp(argv[i], "--start") == 0 && i + 1 < argc)
			start = atol(argv[++i]);
		else if (strcmp(argv[i], "--partial") == 0)
			partial = 1;
		else if (strcmp(argv[i], "--no-append") == 0)
			append = 0;
	}
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	fd = open_log(argv[1]);
	if (!append)
		lseek(fd, 0, SEEK_END);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (n < count && !stop) {
		long due;
		int len;

		if (reopen) {
			reopen = 0;
			close(fd);
			fd = open_log(argv[1]);
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		due = (long)(((double)(now.tv_sec - t0.tv_sec) +
		              (double)(now.tv_nsec - t0.tv_nsec) / 1e9) *
		             (double)rate);
		if (n >= due) {
			struct timespec nap = {0, 200000};

			nanosleep(&nap, NULL);
			continue;
		}
		while (n < due && n < count) {
			long num = start + n;

			len = snprintf(line, sizeof line,
			               "{\"@timestamp\":\"2026-11-02T%02ld:%02ld:%02ld.%03ldZ\","
			               "\"event.action\":\"read\",\"user.name\":\"w\","
			               "\"message\":\"n%09ld\"}\n",
			               num / 3600000 % 24, num / 60000 % 60, num / 1000 % 60,
			               num % 1000, num);
			if (partial && n == count - 1)
				len--; /* the last line stays open */
			write_all(fd, line, (size_t)len);
			n++;
		}
	}
	close(fd);
	printf("wrote %ld\n", start + n - 1);
	return 0;
}
