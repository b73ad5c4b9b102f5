/* Whole-file I/O at the edges: reading a file, writing one durably (fsync, and for atomic
 * replacement temp + rename + fsync of the directory), creating directories. */
#ifndef DGAUDIT_FILEIO_H
#define DGAUDIT_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* Reads a regular file into a NUL-terminated buffer the caller frees; NULL with *cause. Other
 * kinds of file (FIFOs, devices) and files larger than max bytes are refused unread; what is
 * read is the size the file had when opened. */
char *dg_fileio_read(const char *path, size_t max, size_t *len, char **cause);
/* Creates or truncates path with mode, writes data and fsyncs it. */
int dg_fileio_write(const char *path, const void *data, size_t len, mode_t mode, char **cause);
/* Replaces path atomically: a reader sees the old or the new contents, never a mix, and the new
 * contents survive a crash once this returns 0. */
int dg_fileio_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                           char **cause);
/* mkdir -p with mode for the directories it creates. */
int dg_fileio_mkdirs(const char *path, mode_t mode, char **cause);
int dg_fileio_fsync_dir(const char *dir, char **cause);

/* A key file is safe to use: a regular file of this process's user, readable by no one else,
 * in a directory group and others cannot write. what names it in *cause ("signing key"). */
int dg_fileio_check_private(int fd, const char *path, const char *what, char **cause);

#endif
