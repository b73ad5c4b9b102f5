#include "dgaudit/dirlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "dgaudit/fileio.h"
#include "dgaudit/xmalloc.h"

struct dg_dirlock {
	int fd;
};

/* The PID the holder wrote, or 0 when it has not written it yet. */
static long holder(int fd)
{
	char buf[24];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

struct dg_dirlock *dg_dirlock_new(const char *dir, mode_t mode, char **cause)
{
	char *path, pid[24];
	int fd, n;
	struct dg_dirlock *l;

	if (dg_fileio_mkdirs(dir, mode, cause) != 0)
		return NULL;
	path = dg_xasprintf("%s/.lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		*cause = dg_xasprintf("%s: %s", path, strerror(errno));
		free(path);
		return NULL;
	}
	/* flock: the lock goes with the open file, so with the process however it ends. */
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		long other = errno == EWOULDBLOCK ? holder(fd) : 0;

		if (errno == EWOULDBLOCK && other > 0)
			*cause = dg_xasprintf("%s is in use by PID %ld (%s): one dgaudit daemon or "
			                      "run at a time writes there",
			                      dir, other, path);
		else if (errno == EWOULDBLOCK)
			*cause = dg_xasprintf("%s is in use by another dgaudit (%s)", dir, path);
		else
			*cause = dg_xasprintf("%s: cannot lock: %s", path, strerror(errno));
		close(fd);
		free(path);
		return NULL;
	}
	n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		*cause = dg_xasprintf("%s: %s", path, strerror(errno));
		close(fd);
		free(path);
		return NULL;
	}
	free(path);
	l = dg_xmalloc(sizeof *l);
	l->fd = fd;
	return l;
}

void dg_dirlock_free(struct dg_dirlock *l)
{
	if (l == NULL)
		return;
	close(l->fd); /* releases the lock; the file stays, its PID stale but harmless */
	free(l);
}
