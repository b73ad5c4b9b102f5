#include "dgaudit/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dgaudit/xmalloc.h"

char *dg_fileio_read(const char *path, size_t max, size_t *len, char **cause)
{
	/* O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below) */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	char *data;
	size_t got = 0, size;

	if (fd < 0) {
		*cause = dg_xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0) {
		*cause = dg_xasprintf("%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	/* A device, FIFO or socket has no end to read to (/dev/zero would fill memory). */
	if (!S_ISREG(st.st_mode)) {
		*cause = dg_xasprintf("%s: not a regular file", path);
		close(fd);
		return NULL;
	}
	if ((uint64_t)st.st_size > max) {
		*cause = dg_xasprintf("%s: larger than %zu bytes", path, max);
		close(fd);
		return NULL;
	}
	/* what the file holds now: a writer appending meanwhile does not make it read further */
	size = (size_t)st.st_size;
	data = dg_xmalloc(size + 1);
	while (got < size) {
		ssize_t n = read(fd, data + got, size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*cause = dg_xasprintf("%s: %s", path, strerror(errno));
			free(data);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break; /* it shrank */
		got += (size_t)n;
	}
	close(fd);
	data[got] = '\0';
	*len = got;
	return data;
}

int dg_fileio_write(const char *path, const void *data, size_t len, mode_t mode, char **cause)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	const char *p = data;

	if (fd < 0)
		goto fail;
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) != 0)
		goto fail;
	close(fd);
	return 0;
fail:
	*cause = dg_xasprintf("%s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

int dg_fileio_fsync_dir(const char *dir, char **cause)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) != 0) {
		*cause = dg_xasprintf("%s: %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int dg_fileio_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                           char **cause)
{
	char *tmp = dg_xasprintf("%s.tmp", path);
	char *copy = dg_xstrdup(path);
	int rc = -1;

	if (dg_fileio_write(tmp, data, len, mode, cause) != 0)
		goto out;
	if (rename(tmp, path) != 0) {
		*cause = dg_xasprintf("%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = dg_fileio_fsync_dir(dirname(copy), cause);
out:
	free(tmp);
	free(copy);
	return rc;
}

int dg_fileio_mkdirs(const char *path, mode_t mode, char **cause)
{
	char *p = dg_xstrdup(path);
	int rc = 0;

	for (char *s = p + 1; *s != '\0' && rc == 0; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) != 0 && errno != EEXIST) {
			*cause = dg_xasprintf("%s: %s", p, strerror(errno));
			rc = -1;
		}
		*s = '/';
	}
	if (rc == 0 && mkdir(path, mode) != 0 && errno != EEXIST) {
		*cause = dg_xasprintf("%s: %s", path, strerror(errno));
		rc = -1;
	}
	free(p);
	return rc;
}

int dg_fileio_check_private(int fd, const char *path, const char *what, char **cause)
{
	struct stat st, dst;
	char *copy, *dir;
	int rc = 0;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		*cause = dg_xasprintf("%s %s: not a regular file", what, path);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		*cause =
		    dg_xasprintf("%s %s is accessible by group or others (mode %04o); refusing "
		                 "it: run chmod 600 %s",
		                 what, path, (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		*cause =
		    dg_xasprintf("%s %s belongs to uid %u, not to this process's user (uid %u): "
		                 "another user could have put it there; refusing it",
		                 what, path, (unsigned)st.st_uid, (unsigned)geteuid());
		return -1;
	}
	/* whoever may write the directory may swap the key for one of their own */
	copy = dg_xstrdup(path);
	dir = dirname(copy);
	if (stat(dir, &dst) == 0 && (dst.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		*cause = dg_xasprintf("%s %s is in %s, which group or others may write (mode "
		                      "%04o); refusing it: move the key to a private directory",
		                      what, path, dir, (unsigned)(dst.st_mode & 07777));
		rc = -1;
	}
	free(copy);
	return rc;
}
