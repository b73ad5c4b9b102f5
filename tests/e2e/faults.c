/* LD_PRELOAD shim for the daemon tests, faults a test cannot cause otherwise without changing
 * the machine:
 * - DG_CLOCK_SHIFT=FILE steps the wall clock (CLOCK_REALTIME and time()) by the seconds in
 *   FILE, re-read every 100 ms, as an NTP step or `date -s` would; monotonic time is left alone;
 * - DG_NO_WATCHES=1 makes inotify_add_watch fail with ENOSPC, as when
 *   fs.inotify.max_user_watches is reached;
 * - DG_ROTATE_ON_OPEN=FILE: once FILE holds "PATH WITH", the next open of PATH first renames
 *   PATH to PATH.2 and WITH to PATH, a rotation between the caller's stat and its open, which
 *   only load makes likely; FILE is removed, so it happens once. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

static int (*real_gettime)(clockid_t, struct timespec *);
static long long shift_s, next_read_ms;

static void reread(void)
{
	struct timespec mono;
	const char *path = getenv("DG_CLOCK_SHIFT");
	FILE *f;

	real_gettime(CLOCK_MONOTONIC, &mono);
	if (mono.tv_sec * 1000LL + mono.tv_nsec / 1000000 < next_read_ms || path == NULL)
		return;
	next_read_ms = mono.tv_sec * 1000LL + mono.tv_nsec / 1000000 + 100;
	if ((f = fopen(path, "re")) != NULL) {
		if (fscanf(f, "%lld", &shift_s) != 1)
			shift_s = 0;
		fclose(f);
	}
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	int rc;

	if (real_gettime == NULL)
		real_gettime =
		    (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
	rc = real_gettime(id, ts);
	if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) {
		reread();
		ts->tv_sec += shift_s;
	}
	return rc;
}

time_t time(time_t *t)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (t != NULL)
		*t = ts.tv_sec;
	return ts.tv_sec;
}

int inotify_add_watch(int fd, const char *path, uint32_t mask)
{
	static int (*real_add)(int, const char *, uint32_t);

	if (getenv("DG_NO_WATCHES") != NULL) {
		errno = ENOSPC;
		return -1;
	}
	if (real_add == NULL)
		real_add =
		    (int (*)(int, const char *, uint32_t))dlsym(RTLD_NEXT, "inotify_add_watch");
	return real_add(fd, path, mask);
}

static void rotate_on_open(const char *path)
{
	static int busy;
	const char *file = getenv("DG_ROTATE_ON_OPEN");
	char want[PATH_MAX], with[PATH_MAX], moved[PATH_MAX + 2];
	FILE *f;
	int n;

	if (file == NULL || busy)
		return;
	busy = 1; /* fopen opens too */
	f = fopen(file, "re");
	if (f != NULL) {
		n = fscanf(f, "%4095s %4095s", want, with);
		fclose(f);
		if (n == 2 && strcmp(path, want) == 0) {
			snprintf(moved, sizeof moved, "%s.2", path);
			if (rename(path, moved) == 0 && rename(with, path) == 0)
				unlink(file);
		}
	}
	busy = 0;
}

static int open_as(const char *sym, const char *path, int flags, mode_t mode)
{
	int (*real)(const char *, int, ...) =
	    (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, sym);

	rotate_on_open(path);
	return real(path, flags, mode);
}

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return open_as("open", path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return open_as("open64", path, flags, mode);
}
