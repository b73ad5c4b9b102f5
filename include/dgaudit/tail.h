/* Following log files as they grow (the daemon's edge): sources are paths or globs; each file
 * instance (one inode) is followed from an offset, through rename rotation (the old file is
 * drained to its end before it is let go), copytruncate and truncation (unread bytes are
 * recovered from the rotated copy when it can be found, and reported as a gap otherwise),
 * delete-and-recreate (a file is known by device, inode and a fingerprint of its first bytes,
 * so a reused inode is not mistaken for the old file). inotify drives it; a poll timer is the
 * fallback and a queue overflow triggers a full rescan. */
#ifndef DGAUDIT_TAIL_H
#define DGAUDIT_TAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dgaudit/hash.h"

#define DG_TAIL_FP_BYTES 1024

/* What identifies a file instance across renames and restarts. */
struct dg_tail_id {
	uint64_t dev, ino;
	char fp[DG_HASH_HEXLEN]; /* SHA-256 of fp_len bytes from fp_off: the content's start */
	uint32_t fp_len;
	uint64_t fp_off; /* 0, or where the content began after a hole left by a truncation */
};

struct dg_tail_hooks {
	/* A file instance starts, at offset and line: returns the pipeline input for it. source is
	 * the path the source glob matched (app.log), name the file's name now (app.log.1 for a
	 * generation found after its rotation). */
	uint32_t (*open)(void *arg, const char *source, const char *name,
	                 const struct dg_tail_id *id, uint64_t offset, uint64_t line);
	/* Bytes of input at stream offset. */
	void (*data)(void *arg, uint32_t input, const char *buf, size_t len, uint64_t offset);
	/* The input ended: its file was rotated away and drained, truncated or deleted. */
	void (*close)(void *arg, uint32_t input, const char *why);
	/* Something happened to the audit trail itself: rotation, truncation, a gap of bytes that
	 * could not be read (bytes > 0), a rescan. */
	void (*event)(void *arg, uint32_t input, const char *type, uint64_t bytes,
	              const char *detail);
	/* Where the pipeline would resume reading input (start of its first incomplete line), and
	 * that line's number. */
	uint64_t (*resume)(void *arg, uint32_t input, uint64_t *line);
	void *arg;
};

/* A checkpointed file to continue, as the given pipeline input; path is its source path. */
struct dg_tail_resume {
	const char *path;
	struct dg_tail_id id;
	uint64_t offset, line;
	uint32_t input;
};

struct dg_tail_stats {
	uint64_t files, held, bytes_read, gaps, gap_bytes, rescans;
	uint64_t behind;         /* bytes written to followed files and not read yet */
	uint64_t watch_failures; /* watches inotify refused: those paths are polled only */
	uint64_t unopened;       /* files found at the last look that wait for a descriptor */
	uint64_t parked;         /* followed files whose descriptor is closed until they change */
	uint64_t parks;          /* how many times one was closed so */
};

struct dg_tail;

/* A tailer for the given sources (globs); at most max_held rotated files are kept open while
 * they are drained, and a drained rotated file is let go after idle_ms without growing. Rotated
 * files last modified before since (seconds since the epoch: the start, or the checkpoint's
 * time) are history; newer ones nobody followed are generations rotated away before they were
 * seen, and are read. */
struct dg_tail *dg_tail_new(char *const *globs, size_t nglobs, size_t max_held, int64_t idle_ms,
                            int64_t since, const struct dg_tail_hooks *hooks);
void dg_tail_free(struct dg_tail *t);
/* At most max_open followed files open at once (0, the default: as many as the descriptor
 * limit allows, less a reserve); files read to their end are closed to make room, and opened
 * again when a look finds them changed. */
void dg_tail_limit_open(struct dg_tail *t, size_t max_open);
/* Continues checkpointed files: each is looked for at its path and among its rotated siblings
 * (a compressed one is read through), by identity and fingerprint. Call before the first scan. */
void dg_tail_restore(struct dg_tail *t, const struct dg_tail_resume *files, size_t n);
/* Remembers files consumed before (their fingerprint and how far), so a rotated copy that
 * matches a source glob is not audited again. */
void dg_tail_remember(struct dg_tail *t, const struct dg_tail_id *id, uint64_t offset,
                      uint64_t line);
/* Calls fn for each remembered file: for checkpoints. */
void dg_tail_each_remembered(const struct dg_tail *t,
                             void (*fn)(void *arg, const struct dg_tail_id *id, uint64_t offset,
                                        uint64_t line),
                             void *arg);
/* Looks for new, rotated and vanished files (the poll timer, and after an overflow). */
void dg_tail_scan(struct dg_tail *t);
/* The inotify descriptor to wait on; dg_tail_events reads what is available, then the
 * events, rescanning when a directory changed. A file named as a rotation of a followed file
 * (FILE.N, FILE-DATE, FILE.N.gz) is never a new source: its content is read through the
 * original. */
int dg_tail_fd(const struct dg_tail *t);
void dg_tail_events(struct dg_tail *t);
/* Reads what is available, at most budget bytes; true if more is waiting. */
bool dg_tail_pump(struct dg_tail *t, size_t budget);
/* From a hook: the pump going on returns after the read in progress (more waiting), and
 * nothing more is read until the next dg_tail_pump (a look reads held files past the held
 * limit, at most so far); a file drained on letting it go is still read to its end. */
void dg_tail_yield(struct dg_tail *t);
/* While held, nothing is read, by a pump or a look (a sink waits for its collector); looks go
 * on noting what changed. The pump in progress returns after its read. */
void dg_tail_hold(struct dg_tail *t, bool hold);
/* The input's file must be read again from offset (a report period closed mid-line). */
void dg_tail_rewind(struct dg_tail *t, uint32_t input, uint64_t offset);
/* The identity of input's file as it stands (its fingerprint grows with the file's first KiB);
 * false when no file is followed for it. */
bool dg_tail_id_of(struct dg_tail *t, uint32_t input, struct dg_tail_id *out);
/* Calls fn for each followed file (live or held): for checkpoints. */
void dg_tail_each(const struct dg_tail *t,
                  void (*fn)(void *arg, uint32_t input, const char *path,
                             const struct dg_tail_id *id),
                  void *arg);
void dg_tail_stats(const struct dg_tail *t, struct dg_tail_stats *out);

#endif
