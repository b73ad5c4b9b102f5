#include "dgaudit/tail.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dgaudit/clock.h"
#include "dgaudit/idtable.h"
#include "dgaudit/log.h"
#include "dgaudit/source.h"
#include "dgaudit/xmalloc.h"

#define READ_CHUNK (1024 * 1024)
#define COPY_MIN                                                                                   \
	64 /* a copy is told by at least this much of the start (an empty start is any file) */
#define PRUNE_MIN   256 /* remembered identities before the first look at what is still on disk */
#define PRUNE_TRIES 16  /* listings found changing before one is used all the same */
#define NO_INPUT    UINT32_MAX
/* Rotated files let go that the looks still check for late writes, and for how long. */
#define LATE_MAX    64
#define LATE_MIN_MS 10000
/* Descriptors never taken for following files: the daemon's checkpoint, report bundle, findings
 * log and metrics connections need theirs whatever the number of files. */
#define FD_RESERVE 128

/* Followed files are found by path, by inode, by pipeline input and, for telling copies, by
 * their first COPY_MIN bytes of data: hash indexes, so that a look at N files costs O(N), not
 * O(N^2). */
enum { IX_PATH, IX_INODE, IX_INPUT, IX_HEAD, NIX };

struct index {
	struct file **bucket;
	size_t nbuckets, n; /* nbuckets: a power of two */
};

struct file {
	struct file *next;
	struct file *chain[NIX]; /* the rest of its bucket in each index */
	uint64_t key[NIX];       /* its hash in each */
	char *path; /* the source path the glob matched: app.log, whatever the file is called now */
	char *name; /* its name when it was opened: where inotify watches it, what evidence cites */
	int fd;
	struct dg_source *gz; /* a compressed rotation being drained, instead of fd */
	bool gz_done;         /* ... and read to its end */
	struct dg_tail_id id;
	uint64_t off;              /* next byte to read */
	uint64_t seen;             /* largest size seen */
	uint32_t input;            /* NO_INPUT while the content after a truncation is awaited */
	uint64_t cut_at, cut_seen; /* at the truncation: bytes read, and the size last seen */
	bool held;                 /* rotated away or deleted: drain, then let go */
	bool parked;               /* its descriptor closed to make room (read to its end) */
	bool fresh;                /* opened again and not read since: not to be parked yet */
	bool bound_said;           /* warned of as read first for daemon.max_held */
	struct timespec mtime;     /* when parked: a look that finds it changed opens it again */
	int64_t idle_since;
	int wd;
};

/* A rotated file let go: a writer that reopens late (its rotation's signal delayed, a process
 * descheduled) may still append to it, and nothing else would read that. */
struct late {
	char *path; /* the source it was a generation of */
	uint64_t dev, ino, off;
	int64_t until; /* monotonic ms */
};

struct pattern {
	char *glob;
	char *dir; /* NULL when the directory part has wildcards: found by polling only */
	int wd;
};

struct dg_tail {
	struct pattern *pats;
	size_t npats;
	struct file *files;
	size_t max_held;
	int64_t idle_ms;
	int64_t since;          /* rotated files modified before this are history */
	const char *sibling_of; /* the source path catch_missed looks around */
	struct dg_tail_hooks h;
	int ifd;
	char *buf;
	char fpbuf[DG_TAIL_FP_BYTES]; /* scratch for fingerprints, apart from buf's data */
	bool rescan;
	bool watch_warned;
	bool yield; /* asked to stop reading for now (dg_tail_yield) */
	bool hold;  /* asked to read nothing until let go (dg_tail_hold) */
	bool fds_warned;
	uint64_t fd_limit; /* the soft limit on descriptors, when there is one */
	bool park_said;
	bool may_park; /* a file may have been read to its end since a pass found none to park */
	bool listing;  /* in a look: sibling searches share the directory listings below */
	struct dirlist *lists;
	size_t nlists;
	uint64_t unopened; /* files waiting for a descriptor, at this look so far */
	size_t max_open;   /* followed files open at once (0: as many as descriptors allow) */
	size_t nopen;      /* followed files open now */
	struct index ix[NIX];
	struct dg_idtable *ids; /* files read to their end, while they can still be seen */
	size_t prune_at;
	unsigned prune_tries;       /* listings found changing since the last prune */
	struct late late[LATE_MAX]; /* oldest first */
	size_t nlate;
	struct dg_tail_stats st;
};

static bool has_wildcard(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Fingerprint of the first bytes (at most DG_TAIL_FP_BYTES) of the content at start. */
static void fingerprint_fd(int fd, uint64_t start, uint64_t size, struct dg_tail_id *id, char *buf)
{
	uint64_t avail = size > start ? size - start : 0;
	size_t want = avail < DG_TAIL_FP_BYTES ? (size_t)avail : DG_TAIL_FP_BYTES;
	ssize_t n = want ? pread(fd, buf, want, (off_t)start) : 0;
	uint8_t d[DG_HASH_LEN];

	if (n < 0)
		n = 0;
	dg_hash_sha256(buf, (size_t)n, d);
	dg_hash_hex(d, DG_HASH_LEN, id->fp);
	id->fp_len = (uint32_t)n;
	id->fp_off = start;
}

/* Whether the first id->fp_len bytes of data match id's fingerprint. */
static bool fp_equal(const struct dg_tail_id *id, const char *data, size_t len)
{
	uint8_t d[DG_HASH_LEN];
	char hex[DG_HASH_HEXLEN];

	if (len < id->fp_len)
		return false;
	dg_hash_sha256(data, id->fp_len, d);
	return strcmp(dg_hash_hex(d, DG_HASH_LEN, hex), id->fp) == 0;
}

static bool fd_matches(int fd, const struct dg_tail_id *id, char *buf)
{
	ssize_t n = id->fp_len ? pread(fd, buf, id->fp_len, (off_t)id->fp_off) : 0;

	return n >= 0 && fp_equal(id, buf, (size_t)n);
}

/* Skips the first n decompressed bytes of src. */
static bool gz_skip(struct dg_source *src, uint64_t n, char *buf)
{
	char *cause = NULL;

	while (n > 0) {
		ssize_t got =
		    dg_source_read(src, buf, n < READ_CHUNK ? (size_t)n : READ_CHUNK, &cause);

		if (got <= 0) {
			free(cause);
			return false;
		}
		n -= (uint64_t)got;
	}
	return true;
}

/* Opens a compressed file and checks that its decompressed start matches id. */
static struct dg_source *gz_matching(const char *path, const struct dg_tail_id *id, char *buf)
{
	char *cause = NULL;
	struct dg_source *src = dg_source_open(path, &cause);
	size_t got = 0;
	ssize_t n;

	free(cause);
	if (src == NULL || !dg_source_compressed(src)) {
		dg_source_free(src);
		return NULL;
	}
	if (!gz_skip(src, id->fp_off, buf)) {
		dg_source_free(src);
		return NULL;
	}
	while (got < id->fp_len &&
	       (n = dg_source_read(src, buf + got, id->fp_len - got, &cause)) > 0)
		got += (size_t)n;
	free(cause);
	if (!fp_equal(id, buf, got)) {
		dg_source_free(src);
		return NULL;
	}
	dg_source_free(src); /* reopened by the caller to read from the start */
	return dg_source_open(path, &cause);
}

/* ---- indexes ------------------------------------------------------------------------------ */

static struct file **bucket_of(const struct index *ix, uint64_t key)
{
	return &ix->bucket[key & (ix->nbuckets - 1)];
}

static void ix_add(struct dg_tail *t, int which, struct file *f, uint64_t key)
{
	struct index *ix = &t->ix[which];
	struct file **b;

	if (ix->n >= ix->nbuckets) { /* load factor 1 at most */
		size_t old = ix->nbuckets;
		struct file **was = ix->bucket;

		ix->nbuckets = old ? 2 * old : 64;
		ix->bucket = dg_xcalloc(ix->nbuckets, sizeof *ix->bucket);
		for (size_t i = 0; i < old; i++)
			for (struct file *g = was[i], *next; g != NULL; g = next) {
				next = g->chain[which];
				b = bucket_of(ix, g->key[which]);
				g->chain[which] = *b;
				*b = g;
			}
		free(was);
	}
	f->key[which] = key;
	b = bucket_of(ix, key);
	f->chain[which] = *b;
	*b = f;
	ix->n++;
}

static void ix_remove(struct dg_tail *t, int which, struct file *f)
{
	struct index *ix = &t->ix[which];
	struct file **p;

	if (ix->nbuckets == 0)
		return;
	for (p = bucket_of(ix, f->key[which]); *p != NULL; p = &(*p)->chain[which])
		if (*p == f) {
			*p = f->chain[which];
			ix->n--;
			return;
		}
}

static struct file *ix_first(const struct dg_tail *t, int which, uint64_t key)
{
	const struct index *ix = &t->ix[which];

	return ix->nbuckets ? *bucket_of(ix, key) : NULL;
}

static uint64_t path_key(const char *path, size_t len)
{
	return dg_hash_fnv(path, len);
}

static uint64_t inode_key(uint64_t dev, uint64_t ino)
{
	uint64_t k[2] = {dev, ino};

	return dg_hash_fnv(k, sizeof k);
}

static uint64_t input_key(uint32_t input)
{
	return (uint64_t)input * 0x9e3779b97f4a7c15ULL;
}

/* Key 0 holds the files only a look at each tells a copy of: compressed, with data after a
 * hole, or with less than COPY_MIN bytes. */
#define HEAD_ANY 0

static uint64_t head_key(const char *head)
{
	uint64_t k = dg_hash_fnv(head, COPY_MIN);

	return k == HEAD_ANY ? 1 : k;
}

/* f's fingerprint changed (fingerprint_fd just left its first bytes in buf): its place in the
 * copy index follows. */
static void index_head(struct dg_tail *t, struct file *f, const char *buf)
{
	ix_remove(t, IX_HEAD, f);
	if (f->id.fp_len == 0)
		return; /* no content yet: a copy of nothing is not told */
	ix_add(t, IX_HEAD, f,
	       f->gz == NULL && f->id.fp_off == 0 && f->id.fp_len >= COPY_MIN ? head_key(buf)
	                                                                      : HEAD_ANY);
}

static void set_input(struct dg_tail *t, struct file *f, uint32_t input)
{
	ix_remove(t, IX_INPUT, f);
	f->input = input;
	ix_add(t, IX_INPUT, f, input_key(input));
}

/* A new file in the list and the indexes. */
static void add_file(struct dg_tail *t, struct file *f, uint32_t input, const char *buf)
{
	f->next = t->files;
	t->files = f;
	ix_add(t, IX_PATH, f, path_key(f->path, strlen(f->path)));
	ix_add(t, IX_INODE, f, inode_key(f->id.dev, f->id.ino));
	f->input = input;
	ix_add(t, IX_INPUT, f, input_key(input));
	f->key[IX_HEAD] = HEAD_ANY;
	index_head(t, f, buf);
}

static void remove_file(struct dg_tail *t, struct file *f)
{
	struct file **p = &t->files;

	while (*p != f)
		p = &(*p)->next;
	*p = f->next;
	for (int i = 0; i < NIX; i++)
		ix_remove(t, i, f);
}

static struct file *by_inode(struct dg_tail *t, uint64_t dev, uint64_t ino)
{
	for (struct file *f = ix_first(t, IX_INODE, inode_key(dev, ino)); f != NULL;
	     f = f->chain[IX_INODE])
		if (f->gz == NULL && f->id.dev == dev && f->id.ino == ino)
			return f;
	return NULL;
}

static struct file *at_path(struct dg_tail *t, const char *path, bool held)
{
	for (struct file *f = ix_first(t, IX_PATH, path_key(path, strlen(path))); f != NULL;
	     f = f->chain[IX_PATH])
		if (f->held == held && strcmp(f->path, path) == 0)
			return f;
	return NULL;
}

static struct file *live_at(struct dg_tail *t, const char *path)
{
	return at_path(t, path, false);
}

static struct file *held_at(struct dg_tail *t, const char *path)
{
	return at_path(t, path, true);
}

static struct file *by_input(struct dg_tail *t, uint32_t input)
{
	for (struct file *f = ix_first(t, IX_INPUT, input_key(input)); f != NULL;
	     f = f->chain[IX_INPUT])
		if (f->input == input)
			return f;
	return NULL;
}

/* A watch the kernel refused (fs.inotify.max_user_watches, most often): that path is found
 * by polling only. Said once, and counted. */
static int add_watch(struct dg_tail *t, const char *path, uint32_t mask)
{
	int wd = inotify_add_watch(t->ifd, path, mask);

	if (wd < 0 && errno != ENOENT) {
		t->st.watch_failures++;
		if (!t->watch_warned)
			dg_log_warnx(
			    "inotify cannot watch %s (%s%s): it and any other path refused a "
			    "watch are followed by polling only",
			    path, strerror(errno),
			    errno == ENOSPC ? ": fs.inotify.max_user_watches reached" : "");
		t->watch_warned = true;
	}
	return wd;
}

static size_t park_some(struct dg_tail *t);
static void listing(struct dg_tail *t, bool on);

/* open(2), unless that would leave fewer than FD_RESERVE descriptors (the one just opened is
 * the lowest free, so it bounds from below how many are open): -1 with errno EMFILE. */
static int open_within(struct dg_tail *t, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0 && t->fd_limit > 0 && (uint64_t)fd + FD_RESERVE >= t->fd_limit) {
		close(fd);
		fd = -1;
		errno = EMFILE;
	}
	return fd;
}

/* Opens a file to follow. At daemon.max_open files open, or out of descriptors, files read to
 * their end are parked to make room; when none can be, -1 with errno EMFILE: the file waits
 * for a later look, and the first such wait is said. */
static int open_source(struct dg_tail *t, const char *path)
{
	int fd = -1;

	if (t->max_open > 0 && t->nopen >= t->max_open && park_some(t) == 0)
		errno = EMFILE;
	else if ((fd = open_within(t, path)) < 0 && (errno == EMFILE || errno == ENFILE) &&
	         park_some(t) > 0)
		fd = open_within(t, path);
	if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
		char detail[PATH_MAX + 200];

		t->unopened++;
		if (!t->fds_warned) {
			if (t->max_open > 0 && t->nopen >= t->max_open)
				snprintf(
				    detail, sizeof detail,
				    "%s and any further file wait to be followed: "
				    "daemon.max_open (%zu) files are open, none read to its end",
				    path, t->max_open);
			else
				snprintf(detail, sizeof detail,
				         "%s and any further file wait to be followed: descriptors "
				         "are exhausted (limit %llu, %d kept for dgaudit's own "
				         "files) and no file open is read to its end; raise "
				         "LimitNOFILE",
				         path, (unsigned long long)t->fd_limit, FD_RESERVE);
			t->h.event(t->h.arg, NO_INPUT, "descriptors_exhausted", 0, detail);
		}
		t->fds_warned = true;
		errno = EMFILE;
	}
	return fd;
}

static bool out_of_fds(int fd)
{
	return fd < 0 && errno == EMFILE;
}

#define REPLACED (-2) /* open_described: the name is another file now, one followed already */

/* Opens name, which a stat just described as st, and makes st describe what was opened: a
 * rename between the two (logrotate's, under load) makes it another file, and taking the
 * stat's identity for the descriptor's file would remember the wrong inode: the file read
 * would be read again when found, and the one stat'ed never. */
static int open_described(struct dg_tail *t, const char *name, struct stat *st)
{
	int fd = open_source(t, name);
	struct stat now;

	if (fd < 0)
		return fd;
	if (fstat(fd, &now) != 0 || !S_ISREG(now.st_mode) ||
	    ((now.st_dev != st->st_dev || now.st_ino != st->st_ino) &&
	     by_inode(t, (uint64_t)now.st_dev, (uint64_t)now.st_ino) != NULL)) {
		close(fd);
		return REPLACED;
	}
	*st = now;
	return fd;
}

static void watch_file(struct dg_tail *t, struct file *f)
{
	f->wd = t->ifd < 0
	            ? -1
	            : add_watch(t, f->name, IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF);
}

/* Where a file's data starts: its first non-NUL byte (0 for a normal file, the size for one that
 * is all hole so far). After a truncation, a writer without O_APPEND leaves a (usually sparse)
 * hole before its next write, and copytruncate's copy keeps it: an identity fingerprints the
 * data, never the zeros every such file starts with. */
static uint64_t hole_end(struct dg_tail *t, int fd)
{
	off_t data = lseek(fd, 0, SEEK_DATA);
	uint64_t off = data > 0 ? (uint64_t)data : 0;
	size_t want = 4096; /* most files start with data: one page tells */
	struct stat st;
	ssize_t n;

	if (data < 0 && errno == ENXIO)
		return fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0; /* all hole, so far */
	while ((n = pread(fd, t->buf, want, (off_t)off)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (t->buf[i] != '\0')
				return off + (uint64_t)i;
		off += (uint64_t)n;
		want = want < READ_CHUNK / 4 ? 4 * want : READ_CHUNK;
	}
	return off;
}

/* Starts following the file name (open as fd) of source path from offset; input is given
 * when restoring. */
static struct file *follow(struct dg_tail *t, const char *path, const char *name, int fd,
                           const struct stat *st, uint64_t offset, uint64_t line,
                           const uint32_t *input)
{
	struct file *f = dg_xcalloc(1, sizeof *f);
	uint64_t start;
	struct stat here;

	/* the identity is the descriptor's, whatever a stat before the open saw */
	if (fstat(fd, &here) == 0)
		st = &here;
	f->path = dg_xstrdup(path);
	f->name = dg_xstrdup(name);
	f->fd = fd;
	t->nopen++;
	f->id.dev = st->st_dev;
	f->id.ino = st->st_ino;
	char head[COPY_MIN];

	start = hole_end(t, fd);
	fingerprint_fd(fd, start, (uint64_t)st->st_size, &f->id, t->buf);
	memcpy(head, t->buf, sizeof head);
	if (offset < start)
		offset = start; /* a hole is not log data */
	f->off = offset;
	f->seen = (uint64_t)st->st_size;
	f->idle_since = dg_clock_mono_ms();
	if (f->off >= f->seen)
		t->may_park = true; /* nothing to read: it can give its descriptor back */
	add_file(t, f, input ? *input : t->h.open(t->h.arg, path, name, &f->id, offset, line),
	         head);
	watch_file(t, f);
	return f;
}

static void remember(struct dg_tail *t, const struct dg_tail_id *id, uint64_t offset, uint64_t line)
{
	if (id->fp_len == 0)
		return;
	dg_idtable_put(t->ids, id, offset, line);
}

/* A file read before that fd's file is: the same inode with the same start, or (a copy, as
 * copytruncate makes) another inode with a remembered file's start. NULL if none. */
static const struct dg_idrec *recall(struct dg_tail *t, int fd)
{
	struct stat st;
	struct dg_tail_id here = {0};
	const struct dg_idrec *r;

	if (fstat(fd, &st) != 0)
		return NULL;
	r = dg_idtable_by_inode(t->ids, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
	if (r != NULL && fd_matches(fd, &r->id, t->buf))
		return r;
	/* most fingerprints are of the first KiB of data: that one is computed once */
	fingerprint_fd(fd, hole_end(t, fd), (uint64_t)st.st_size, &here, t->buf);
	for (size_t i = 0; i < dg_idtable_count(t->ids); i++) {
		r = dg_idtable_at(t->ids, i);
		if (r->id.fp_len < COPY_MIN || r->id.fp_off + r->id.fp_len > (uint64_t)st.st_size)
			continue; /* too little to tell, or too short to start like it */
		if (r->id.fp_off == here.fp_off && r->id.fp_len == here.fp_len
		        ? strcmp(r->id.fp, here.fp) == 0
		        : fd_matches(fd, &r->id, t->buf))
			return r;
	}
	return NULL;
}

/* Remembers how far an input that has ended got. */
static void forget_input(struct dg_tail *t, struct file *f)
{
	uint64_t line, off = t->h.resume(t->h.arg, f->input, &line);

	remember(t, &f->id, off, line);
}

static void file_free(struct file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	dg_source_free(f->gz);
	free(f->path);
	free(f->name);
	free(f);
}

static void late_drop(struct dg_tail *t, size_t i)
{
	free(t->late[i].path);
	memmove(&t->late[i], &t->late[i + 1], (t->nlate - i - 1) * sizeof *t->late);
	t->nlate--;
}

/* A generation of the source path to look at again for a while, from offset off; once only
 * (the looks at an empty one would add it again each time). */
static void late_add(struct dg_tail *t, const char *path, uint64_t dev, uint64_t ino, uint64_t off)
{
	int64_t ms = 10 * t->idle_ms > LATE_MIN_MS ? 10 * t->idle_ms : LATE_MIN_MS;

	for (size_t i = 0; i < t->nlate; i++)
		if (t->late[i].dev == dev && t->late[i].ino == ino)
			return;
	if (t->nlate == LATE_MAX)
		late_drop(t, 0);
	t->late[t->nlate++] =
	    (struct late){dg_xstrdup(path), dev, ino, off, dg_clock_mono_ms() + ms};
}

static void let_go(struct dg_tail *t, struct file *f, const char *why)
{
	if (f->held && f->gz == NULL && f->fd >= 0)
		late_add(t, f->path, f->id.dev, f->id.ino, f->off);
	remove_file(t, f);
	if (f->fd >= 0)
		t->nopen--;
	t->h.close(t->h.arg, f->input, why);
	forget_input(t, f);
	if (f->wd >= 0)
		inotify_rm_watch(t->ifd, f->wd);
	file_free(f);
}

struct dg_tail *dg_tail_new(char *const *globs, size_t nglobs, size_t max_held, int64_t idle_ms,
                            int64_t since, const struct dg_tail_hooks *hooks)
{
	struct dg_tail *t = dg_xcalloc(1, sizeof *t);
	struct rlimit rl;

	t->since = since;
	t->h = *hooks;
	t->max_held = max_held ? max_held : 1;
	t->idle_ms = idle_ms;
	t->buf = dg_xmalloc(READ_CHUNK);
	t->ids = dg_idtable_new();
	t->prune_at = PRUNE_MIN;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		t->fd_limit = (uint64_t)rl.rlim_cur;
	t->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (t->ifd < 0)
		dg_log_warn(
		    "inotify unavailable (fs.inotify.max_user_instances?): following files by "
		    "polling only");
	t->pats = dg_xcalloc(nglobs ? nglobs : 1, sizeof *t->pats);
	for (size_t i = 0; i < nglobs; i++) {
		struct pattern *p = &t->pats[t->npats++];
		char *copy = dg_xstrdup(globs[i]);
		/* once: dirname() may cut its argument in place, and twice would give the
		 * grandparent */
		const char *dir = dirname(copy);

		p->glob = dg_xstrdup(globs[i]);
		p->dir = has_wildcard(dir) ? NULL : dg_xstrdup(dir);
		p->wd = -1;
		free(copy);
	}
	return t;
}

void dg_tail_free(struct dg_tail *t)
{
	if (t == NULL)
		return;
	while (t->files != NULL) {
		struct file *f = t->files;

		t->files = f->next;
		file_free(f);
	}
	for (size_t i = 0; i < t->npats; i++) {
		free(t->pats[i].glob);
		free(t->pats[i].dir);
	}
	free(t->pats);
	for (int i = 0; i < NIX; i++)
		free(t->ix[i].bucket);
	if (t->ifd >= 0)
		close(t->ifd);
	free(t->buf);
	listing(t, false);
	dg_idtable_free(t->ids);
	while (t->nlate > 0)
		late_drop(t, t->nlate - 1);
	free(t);
}

void dg_tail_limit_open(struct dg_tail *t, size_t max_open)
{
	t->max_open = max_open;
}

int dg_tail_fd(const struct dg_tail *t)
{
	return t->ifd;
}

/* A directory's names, sorted: one listing serves every sibling search of a look (a restore
 * or a scan), where a glob per followed file read a directory of N files N times. */
struct dirlist {
	char *dir;
	char **names;
	size_t n;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void dirlist_free(struct dirlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	free(l->dir);
}

static void dirlist_read(struct dirlist *l, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t cap = 0;

	l->dir = dg_xstrdup(dir);
	l->names = NULL;
	l->n = 0;
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (l->n == cap) {
			cap = cap ? 2 * cap : 64;
			l->names = dg_xreallocarray(l->names, cap, sizeof *l->names);
		}
		l->names[l->n++] = dg_xstrdup(e->d_name);
	}
	closedir(d);
	qsort(l->names, l->n, sizeof *l->names, by_name);
}

/* The listing of dir: kept for the rest of the look while t->listing, else made afresh into
 * *tmp (the caller frees it). */
static const struct dirlist *dir_listing(struct dg_tail *t, const char *dir, struct dirlist *tmp)
{
	if (!t->listing) {
		dirlist_read(tmp, dir);
		return tmp;
	}
	for (size_t i = 0; i < t->nlists; i++)
		if (strcmp(t->lists[i].dir, dir) == 0)
			return &t->lists[i];
	t->lists = dg_xreallocarray(t->lists, t->nlists + 1, sizeof *t->lists);
	dirlist_read(&t->lists[t->nlists], dir);
	return &t->lists[t->nlists++];
}

/* Starts (true) or ends a look whose sibling searches share directory listings. */
static void listing(struct dg_tail *t, bool on)
{
	for (size_t i = 0; i < t->nlists; i++)
		dirlist_free(&t->lists[i]);
	free(t->lists);
	t->lists = NULL;
	t->nlists = 0;
	t->listing = on;
}

/* Rotated siblings of path in its directory: "app.log.1", "app.log-20261127", "app.log.2.gz",
 * in strcmp order. Calls fn for each until it returns true. */
static bool each_sibling(struct dg_tail *t, const char *path,
                         bool (*fn)(void *arg, const char *sib), void *arg)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? dg_xstrndup(path, (size_t)(slash - path + (slash == path))) : NULL;
	const char *base = slash ? slash + 1 : path;
	size_t blen = strlen(base);
	struct dirlist tmp = {0};
	const struct dirlist *l = dir_listing(t, dir ? dir : ".", &tmp);
	bool done = false;

	for (const char *sep = "-."; *sep != '\0' && !done; sep++) {
		/* the first name at or after base + sep, then every name that starts so */
		size_t lo = 0, hi = l->n;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int c = strncmp(l->names[mid], base, blen);

			if (c == 0)
				c = (unsigned char)l->names[mid][blen] - (unsigned char)*sep;
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t i = lo; i < l->n && !done; i++) {
			const char *name = l->names[i];
			char *sib;

			if (strncmp(name, base, blen) != 0 || name[blen] != *sep)
				break;
			sib = dir ? dg_xasprintf("%s%s%s", dir, slash == path ? "" : "/", name)
			          : dg_xstrdup(name);
			done = fn(arg, sib);
			free(sib);
		}
	}
	if (l == &tmp)
		dirlist_free(&tmp);
	free(dir);
	return done;
}

/* ---- parking ------------------------------------------------------------------------------- */

static void hold(struct dg_tail *t, struct file *f, const char *why);

/* More files than descriptors (or daemon.max_open): a followed file read to its end can give
 * its descriptor back and keep everything else, its place, its input (a partial last line
 * included) and its inotify watch, which needs no descriptor. A look that finds it changed
 * opens it again; if it was renamed meanwhile, its siblings are searched for its inode. */

static bool parkable(const struct file *f)
{
	return f->fd >= 0 && f->gz == NULL && !f->held && !f->fresh && f->input != NO_INPUT &&
	       f->off >= f->seen;
}

static int by_idle(const void *a, const void *b)
{
	int64_t x = (*(struct file *const *)a)->idle_since,
	        y = (*(struct file *const *)b)->idle_since;

	return (x > y) - (x < y);
}

/* Parks the quarter of open files (at least one) idle longest among those that can be: one
 * pass over the files makes room for many opens. Returns how many were parked. */
static size_t park_some(struct dg_tail *t)
{
	struct file **c = NULL;
	size_t n = 0, cap = 0, want;

	if (!t->may_park)
		return 0; /* a pass over every file per file waiting would cost O(n^2) */
	for (struct file *f = t->files; f != NULL; f = f->next) {
		if (!parkable(f))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			c = dg_xreallocarray(c, cap, sizeof *c);
		}
		c[n++] = f;
	}
	want = t->nopen / 4 ? t->nopen / 4 : 1;
	if (want >= n) {
		want = n;
		t->may_park = false; /* none left */
	}
	if (want < n)
		qsort(c, n, sizeof *c, by_idle);
	for (size_t i = 0; i < want; i++) {
		struct stat st;

		if (fstat(c[i]->fd, &st) == 0)
			c[i]->mtime = st.st_mtim;
		close(c[i]->fd);
		c[i]->fd = -1;
		c[i]->parked = true;
		t->nopen--;
	}
	if (want > 0 && !t->park_said) {
		dg_log_warnx(
		    "more files to follow than descriptors allow (or daemon.max_open): "
		    "files read to their end are closed and opened again when they change");
		t->park_said = true;
	}
	t->st.parks += want;
	free(c);
	return want;
}

/* Whether a look at a parked file's name (st) finds it changed. */
static bool parked_changed(const struct file *f, const struct stat *st)
{
	return (uint64_t)st->st_size != f->off || st->st_mtim.tv_sec != f->mtime.tv_sec ||
	       st->st_mtim.tv_nsec != f->mtime.tv_nsec;
}

/* Opens a parked file again at name, if name is still its inode. */
static bool unpark(struct dg_tail *t, struct file *f, const char *name)
{
	struct stat st;
	int fd = open_source(t, name);

	if (fd < 0)
		return false;
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_dev != f->id.dev ||
	    (uint64_t)st.st_ino != f->id.ino) {
		close(fd);
		errno = ESTALE; /* renamed again between the look and the open */
		return false;
	}
	f->fd = fd;
	f->parked = false;
	f->fresh = true; /* its next read sees what changed (a truncation too) before a park */
	f->idle_since = dg_clock_mono_ms();
	t->nopen++;
	if (strcmp(f->name, name) != 0) {
		free(f->name);
		f->name = dg_xstrdup(name);
	}
	return true;
}

struct moved {
	struct dg_tail *t;
	struct file *f;
	bool no_fd;
};

static bool unpark_if_it(void *arg, const char *sib)
{
	struct moved *m = arg;
	struct stat st;

	if (stat(sib, &st) != 0 || (uint64_t)st.st_dev != m->f->id.dev ||
	    (uint64_t)st.st_ino != m->f->id.ino)
		return false;
	if (unpark(m->t, m->f, sib))
		return true;
	m->no_fd = errno == EMFILE || errno == ENFILE;
	return m->no_fd;
}

/* A followed file's name is gone or another file's: it is held (drained, then let go), a
 * parked one once it is found again among its siblings. One that is not found was deleted
 * while parked: let go, saying so. */
static void rotated(struct dg_tail *t, struct file *f, const char *why)
{
	struct moved m = {t, f, false};
	char detail[PATH_MAX + 200];

	if (!f->parked || each_sibling(t, f->path, unpark_if_it, &m)) {
		if (!f->parked || !m.no_fd) {
			hold(t, f, why);
			return;
		}
		f->held = true; /* parked still: looked for again at the next scan */
		return;
	}
	snprintf(detail, sizeof detail,
	         "%s: deleted while its descriptor was closed for want of descriptors; it had "
	         "been read to byte %llu, anything written after that was not read",
	         f->path, (unsigned long long)f->off);
	t->h.event(t->h.arg, f->input, "deleted", 0, detail);
	let_go(t, f, "deleted while parked");
}

/* ---- truncation ----------------------------------------------------------------------------- */

struct copy_search {
	struct dg_tail *t;
	struct file *f;
	uint64_t recovered_to;       /* how far the copy let us read */
	uint64_t copy_dev, copy_ino; /* the copy, when it is a plain file (0 if none) */
	bool handed_over;            /* the input goes on in the copy, followed */
};

/* Reads the part of a truncated file we had not read yet from its rotated copy (copytruncate
 * copies, then truncates), if this sibling is that copy. */
static bool read_from_copy(void *arg, const char *sib)
{
	struct copy_search *cs = arg;
	struct dg_tail *t = cs->t;
	struct file *f = cs->f;
	struct dg_source *src;
	char *cause = NULL;
	uint64_t off;
	ssize_t n;
	int fd = open(sib, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return false;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    ((uint64_t)st.st_dev == f->id.dev && (uint64_t)st.st_ino == f->id.ino)) {
		close(fd);
		return false;
	}
	if (fd_matches(fd, &f->id, t->buf)) {
		/* A plain copy: the input goes on in it, from where we were, read by the pump
		 * like any held file (so a full report, or a stop, waits for none of it). A copy
		 * no longer than what was read holds nothing more. */
		uint32_t input = f->input; /* goes on: no line number to give */

		cs->copy_dev = (uint64_t)st.st_dev;
		cs->copy_ino = (uint64_t)st.st_ino;
		if ((uint64_t)st.st_size <= f->off) {
			close(fd);
			cs->recovered_to = f->off;
			return true;
		}
		hold(t, follow(t, f->path, sib, fd, &st, f->off, 1, &input),
		     "copytruncate's copy: the rest of the generation read from it");
		cs->handed_over = true;
		cs->recovered_to = (uint64_t)st.st_size;
		f->off = (uint64_t)st.st_size; /* what the copy holds is not lost */
		return true;
	}
	close(fd);
	src = gz_matching(sib, &f->id, t->buf);
	if (src == NULL)
		return false;
	off = f->off;
	if (gz_skip(src, off, t->buf))
		while ((n = dg_source_read(src, t->buf, READ_CHUNK, &cause)) > 0) {
			t->h.data(t->h.arg, f->input, t->buf, (size_t)n, off);
			off += (uint64_t)n;
		}
	free(cause);
	dg_source_free(src);
	cs->recovered_to = off;
	f->off = off;
	return true;
}

/* The file shrank under us (copytruncate, or someone emptied it): recover what we can from a
 * rotated copy, and await the file's new content, which becomes a new input. */
static void truncated(struct dg_tail *t, struct file *f)
{
	struct copy_search cs = {t, f, 0, 0, 0, false};
	char detail[PATH_MAX + 128];
	uint64_t line, off;

	each_sibling(t, f->path, read_from_copy, &cs);
	snprintf(detail, sizeof detail, "%s: truncated at %llu bytes%s", f->path,
	         (unsigned long long)f->seen,
	         cs.recovered_to ? ", the rest read from its rotated copy" : "");
	t->h.event(t->h.arg, f->input, "truncation", 0, detail);
	if (!cs.handed_over)
		t->h.close(t->h.arg, f->input, "truncated");
	off = t->h.resume(t->h.arg, f->input, &line);
	remember(t, &f->id, off, line);
	if (cs.copy_ino != 0 && !cs.handed_over) { /* a followed copy is remembered when let go */
		/* The copy holds what this inode held: remembered by its own inode, which the
		 * next truncation will not overwrite, it is not read again at a restart. */
		struct dg_tail_id copy = f->id;

		copy.dev = cs.copy_dev;
		copy.ino = cs.copy_ino;
		remember(t, &copy, off, line);
	}
	f->cut_at = f->off;
	f->cut_seen = f->seen;
	set_input(t, f, NO_INPUT);
	f->off = f->seen = 0;
	f->id.fp_len = 0;
	index_head(t, f, NULL);
}

/* Bytes written that nobody could read: an integrity event with their count, and in the stats. */
static void declare_gap(struct dg_tail *t, uint64_t bytes, const char *detail)
{
	t->h.event(t->h.arg, NO_INPUT, "gap", bytes, detail);
	t->st.gaps++;
	t->st.gap_bytes += bytes;
}

/* After a truncation, once the file has content again: where it starts tells how many bytes
 * were lost. A writer without O_APPEND goes on at its old offset and leaves a hole of NULs up
 * to there, which is exactly where the bytes nobody could read end; an O_APPEND writer leaves
 * no trace, and what we saw but had not read is all that is known. */
static bool resume_after_cut(struct dg_tail *t, struct file *f, const struct stat *st)
{
	uint64_t start = hole_end(t, f->fd), lost;
	char detail[PATH_MAX + 160];

	if (start >= (uint64_t)st->st_size)
		return false; /* nothing but a hole yet */
	lost = start > 0 ? (start > f->cut_at ? start - f->cut_at : 0)
	                 : (f->cut_seen > f->cut_at ? f->cut_seen - f->cut_at : 0);
	if (lost > 0) {
		snprintf(detail, sizeof detail,
		         "%s: %llu bytes written before the truncation could not be read%s",
		         f->path, (unsigned long long)lost,
		         start > 0 ? "" : " (at least: an appending writer leaves no trace)");
		declare_gap(t, lost, detail);
	}
	fingerprint_fd(f->fd, start, (uint64_t)st->st_size, &f->id, t->buf);
	index_head(t, f, t->buf);
	f->off = start; /* a hole is not log data */
	f->seen = (uint64_t)st->st_size;
	set_input(t, f, t->h.open(t->h.arg, f->path, f->name, &f->id, start, 1));
	return true;
}

/* ---- reading ------------------------------------------------------------------------------- */

#define TO_END SIZE_MAX /* a read_file budget: to the end, whatever dg_tail_yield asked */

/* Reads up to budget bytes of f; returns the bytes read. */
static size_t read_file(struct dg_tail *t, struct file *f, size_t budget)
{
	bool stoppable = budget != TO_END;
	size_t total = 0;
	struct stat st;
	char *cause = NULL;

	if (f->gz != NULL) {
		ssize_t n = 0;

		while (total < budget && !(stoppable && t->yield) &&
		       (n = dg_source_read(f->gz, t->buf, READ_CHUNK, &cause)) > 0) {
			t->h.data(t->h.arg, f->input, t->buf, (size_t)n, f->off);
			f->off += (uint64_t)n;
			total += (size_t)n;
		}
		if (n < 0) {
			t->h.event(t->h.arg, f->input, "read_error", 0, cause);
			free(cause);
		}
		f->gz_done =
		    n < 0 || (n == 0 && !(stoppable && t->yield)); /* the caller lets it go */
		return total;
	}
	if (fstat(f->fd, &st) != 0)
		return 0;
	if (f->input == NO_INPUT && !resume_after_cut(t, f, &st))
		return 0;
	if ((uint64_t)st.st_size < f->off || ((uint64_t)st.st_size > f->seen && f->id.fp_len > 0 &&
	                                      !fd_matches(f->fd, &f->id, t->fpbuf))) {
		/* Shorter than what we read, or grown with another start: emptied and written
		 * again, perhaps past our offset before we looked. */
		truncated(t, f);
		if (!resume_after_cut(t, f, &st))
			return 0;
	} else if (f->id.fp_len == 0 && (uint64_t)st.st_size > f->off) {
		/* Written at last (found empty): where its data starts is known now. */
		uint64_t start = hole_end(t, f->fd), from = f->id.fp_off;

		fingerprint_fd(f->fd, start, (uint64_t)st.st_size, &f->id, t->buf);
		index_head(t, f, t->buf);
		if (f->off == from && start > f->off) {
			/* after a hole (a writer without O_APPEND whose file was emptied): the
			 * input starts with the data, as its offsets must */
			t->h.close(t->h.arg, f->input, "empty until written past a hole");
			set_input(t, f, t->h.open(t->h.arg, f->path, f->name, &f->id, start, 1));
			f->off = start;
		}
	} else if (f->id.fp_len < DG_TAIL_FP_BYTES &&
	           (uint64_t)st.st_size > f->id.fp_off + f->id.fp_len) {
		/* it grew: fingerprint more of it */
		fingerprint_fd(f->fd, f->id.fp_off, (uint64_t)st.st_size, &f->id, t->buf);
		index_head(t, f, t->buf);
	}
	if ((uint64_t)st.st_size > f->seen)
		f->seen = (uint64_t)st.st_size;
	f->fresh = false;
	while (total < budget && !(stoppable && t->yield) && f->off < (uint64_t)st.st_size) {
		size_t want = (uint64_t)st.st_size - f->off < READ_CHUNK
		                  ? (size_t)((uint64_t)st.st_size - f->off)
		                  : READ_CHUNK;
		ssize_t n = pread(f->fd, t->buf, want, (off_t)f->off);

		if (n <= 0) {
			if (n < 0)
				dg_log_warn("%s", f->path);
			break;
		}
		/* NULs where we read: the file may have been truncated between fstat and pread,
		 * and these are the zeros of the hole a writer without O_APPEND leaves. If its
		 * start is no longer ours, they are not data. */
		if (memchr(t->buf, '\0', (size_t)n) != NULL && f->id.fp_len > 0 &&
		    !fd_matches(f->fd, &f->id, t->fpbuf)) {
			truncated(t, f);
			break;
		}
		t->h.data(t->h.arg, f->input, t->buf, (size_t)n, f->off);
		f->off += (uint64_t)n;
		total += (size_t)n;
	}
	if (total > 0)
		f->idle_since = dg_clock_mono_ms();
	if (f->off >= f->seen)
		t->may_park = true;
	t->st.bytes_read += total;
	return total;
}

/* Drains and lets go of the oldest held files beyond the bound. */
static void bound_held(struct dg_tail *t)
{
	for (;;) {
		size_t held = 0;
		struct file *oldest = NULL;
		struct timespec oldest_mtime = {0, 0};
		struct stat st;

		for (struct file *f = t->files; f != NULL; f = f->next) {
			if (!f->held || f->parked)
				continue;
			held++;
			/* the generation written to last longest ago: rotated first */
			if (f->fd < 0 || fstat(f->fd, &st) != 0)
				st.st_mtim = (struct timespec){0, 0}; /* compressed: history */
			if (oldest == NULL || st.st_mtim.tv_sec < oldest_mtime.tv_sec ||
			    (st.st_mtim.tv_sec == oldest_mtime.tv_sec &&
			     st.st_mtim.tv_nsec < oldest_mtime.tv_nsec)) {
				oldest = f;
				oldest_mtime = st.st_mtim;
			}
		}
		if (held <= t->max_held || oldest == NULL || t->hold)
			return;
		if (!oldest->bound_said)
			dg_log_warnx("%zu rotated files held open (limit %zu): reading %s (inode "
			             "%llu) to its end before the others",
			             held, t->max_held, oldest->name,
			             (unsigned long long)oldest->id.ino);
		oldest->bound_said = true;
		/* stoppable: a full report closes first (dg_tail_yield), and the rest of the file
		 * goes into the next, so the limit is exceeded for as long as a report takes to
		 * close, not the report's size */
		read_file(t, oldest, TO_END - 1);
		if (t->yield || (oldest->gz == NULL && fstat(oldest->fd, &st) == 0 &&
		                 oldest->off < (uint64_t)st.st_size))
			return;
		if (oldest->gz != NULL && !oldest->gz_done)
			return;
		let_go(t, oldest, "rotated away, read to its end (held-file limit reached)");
	}
}

bool dg_tail_pump(struct dg_tail *t, size_t budget)
{
	bool more = false;
	struct file *f, *next;
	int64_t now = dg_clock_mono_ms();

	if (t->hold)
		return false; /* the holder pumps again when it lets go */
	/* a yield holds until the next pump: a look after it (dg_tail_events pumps, then looks)
	 * must not read past a full report either */
	t->yield = false;
	for (f = t->files; f != NULL && !t->yield; f = next) {
		next = f->next;
		if (f->parked)
			continue; /* a look opens it again when it changes */
		read_file(t, f, budget);
		if (f->gz != NULL) {
			if (f->gz_done)
				let_go(t, f, "compressed rotation read to its end");
			else
				more = true;
			continue;
		}
		if (f->held) {
			struct stat st;

			if (fstat(f->fd, &st) == 0 && f->off < (uint64_t)st.st_size) {
				more = true;
			} else if (now - f->idle_since >= t->idle_ms) {
				let_go(t, f, "rotated away and read to its end");
			}
		} else {
			struct stat st;

			if (fstat(f->fd, &st) == 0 && f->off < (uint64_t)st.st_size)
				more = true;
		}
	}
	if (t->yield)
		more = true; /* not all looked at */
	return more;
}

void dg_tail_yield(struct dg_tail *t)
{
	t->yield = true;
}

void dg_tail_hold(struct dg_tail *t, bool hold)
{
	t->hold = hold;
	if (hold)
		t->yield = true; /* the pump in progress, if any, stops too */
}

struct next_data {
	struct dg_tail *t;
	uint64_t after, start; /* the first data start at or past after (UINT64_MAX if none) */
};

static bool next_data_in(void *arg, const char *path)
{
	struct next_data *nd = arg;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint64_t start;

	if (fd < 0)
		return false;
	start = hole_end(nd->t, fd);
	if (start >= nd->after && start < nd->start)
		nd->start = start;
	close(fd);
	return false;
}

/* A generation that ends at copy_end, found while dgaudit was stopped or between two looks (a
 * copytruncate copy, most often): a writer without O_APPEND went on at its own offset, so the
 * next generation's data (in the live file or a later copy) starts where the bytes written
 * between the copy and the truncation end. An appending writer leaves no trace, and nothing is
 * declared. */
static void gap_after_copy(struct dg_tail *t, const char *path, uint64_t copy_end)
{
	struct next_data nd = {t, copy_end, UINT64_MAX};
	char detail[PATH_MAX + 160];

	next_data_in(&nd, path);
	each_sibling(t, path, next_data_in, &nd);
	if (nd.start == UINT64_MAX || nd.start == copy_end)
		return;
	snprintf(detail, sizeof detail,
	         "%s: %llu bytes written between copytruncate's copy and its truncation could not "
	         "be read (the next generation's data starts past them)",
	         path, (unsigned long long)(nd.start - copy_end));
	declare_gap(t, nd.start - copy_end, detail);
}

/* ---- discovery ----------------------------------------------------------------------------- */

static bool copy_of_followed(struct dg_tail *t, int fd, bool partial);

/* A sibling of a followed file nobody followed: a generation created and rotated away between
 * two looks (or while dgaudit was stopped), unless it is history, a copy, or known. */
static bool catch_missed(void *arg, const char *sib)
{
	struct dg_tail *t = arg;
	const struct dg_idrec *r;
	struct stat st;
	struct file *f;
	int fd;

	if (stat(sib, &st) != 0 || !S_ISREG(st.st_mode) || st.st_mtime < t->since ||
	    by_inode(t, (uint64_t)st.st_dev, (uint64_t)st.st_ino) != NULL)
		return false;
	fd = open_described(t, sib, &st);
	if (fd < 0)
		return false;
	if (hole_end(t, fd) >= (uint64_t)st.st_size) {
		/* no data yet: a copy just begun, or a generation rotated away empty whose writer
		 * has yet to write; what it gets is looked at like a late writer's */
		late_add(t, t->sibling_of, (uint64_t)st.st_dev, (uint64_t)st.st_ino, 0);
		close(fd);
		return false;
	}
	if (copy_of_followed(t, fd, true) ||
	    (pread(fd, t->fpbuf, 2, 0) == 2 && (uint8_t)t->fpbuf[0] == 0x1f &&
	     (uint8_t)t->fpbuf[1] == 0x8b)) {
		close(fd); /* a copy of what is followed, or a compressed archive */
		return false;
	}
	r = recall(t, fd);
	if (r != NULL && r->offset >= (uint64_t)st.st_size) {
		close(fd); /* read to its end already, under this name or another */
		return false;
	}
	f = follow(t, t->sibling_of, sib, fd, &st, r ? r->offset : 0, r ? r->line : 1, NULL);
	f->held = true;
	f->idle_since = dg_clock_mono_ms();
	t->h.event(t->h.arg, f->input, "rotation", 0,
	           r == NULL ? "a generation rotated away before it was followed: reading it "
	                       "from its start"
	           : r->id.ino == (uint64_t)st.st_ino && r->id.dev == (uint64_t)st.st_dev
	               ? "a rotated file let go was written to later: reading what was added"
	               : "a copy of a file read before holds more: reading what was not read");
	if (r == NULL)
		gap_after_copy(t, t->sibling_of, (uint64_t)st.st_size);
	return false; /* there may be more */
}

static void hold(struct dg_tail *t, struct file *f, const char *why)
{
	char detail[PATH_MAX + 64];

	f->held = true;
	f->idle_since = dg_clock_mono_ms();
	snprintf(detail, sizeof detail, "%s: %s", f->path, why);
	t->h.event(t->h.arg, f->input, "rotation", 0, detail);
}

static void watch_dirs(struct dg_tail *t)
{
	for (size_t i = 0; i < t->npats && t->ifd >= 0; i++)
		if (t->pats[i].dir != NULL && t->pats[i].wd < 0)
			t->pats[i].wd = add_watch(t, t->pats[i].dir,
			                          IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM |
			                              IN_DELETE | IN_ATTRIB);
}

/* Whether the file at fd starts like a file we follow: a copy of it (logrotate copying, or a
 * rotated name the glob also matches). With partial, a file shorter than the fingerprint that
 * holds the same bytes as far as it goes counts too: a rotated sibling, that is copytruncate's
 * copy still being written. */
static bool copy_of(struct dg_tail *t, int fd, uint64_t size, const struct file *f, bool partial)
{
	uint64_t n;

	if (f->id.fp_len == 0 || size <= f->id.fp_off)
		return false;
	if (size >= f->id.fp_off + f->id.fp_len)
		return fd_matches(fd, &f->id, t->buf);
	n = size - f->id.fp_off;
	return partial && f->gz == NULL &&
	       pread(fd, t->buf, n, (off_t)f->id.fp_off) == (ssize_t)n &&
	       pread(f->fd, t->fpbuf, n, (off_t)f->id.fp_off) == (ssize_t)n &&
	       memcmp(t->buf, t->fpbuf, n) == 0;
}

static bool copy_of_followed(struct dg_tail *t, int fd, bool partial)
{
	struct stat st;
	char head[COPY_MIN];

	if (fstat(fd, &st) != 0)
		return false;
	/* the files that start with the same COPY_MIN bytes, and those only a look tells */
	if (pread(fd, head, sizeof head, 0) == (ssize_t)sizeof head) {
		uint64_t key = head_key(head);

		for (const struct file *f = ix_first(t, IX_HEAD, key); f != NULL;
		     f = f->chain[IX_HEAD])
			if (f->key[IX_HEAD] == key &&
			    copy_of(t, fd, (uint64_t)st.st_size, f, partial))
				return true;
	}
	for (const struct file *f = ix_first(t, IX_HEAD, HEAD_ANY); f != NULL;
	     f = f->chain[IX_HEAD])
		if (f->key[IX_HEAD] == HEAD_ANY && copy_of(t, fd, (uint64_t)st.st_size, f, partial))
			return true;
	/* a copy still shorter than COPY_MIN: of the file whose siblings are looked at */
	if (partial && t->sibling_of != NULL)
		for (const struct file *f =
		         ix_first(t, IX_PATH, path_key(t->sibling_of, strlen(t->sibling_of)));
		     f != NULL; f = f->chain[IX_PATH])
			if (strcmp(f->path, t->sibling_of) == 0 &&
			    copy_of(t, fd, (uint64_t)st.st_size, f, partial))
				return true;
	return false;
}

/* Whether path names a rotation of a followed file: FILE.N, FILE-DATE, FILE.N.gz. Such a file
 * holds the followed file's past content (renamed, or copied by copytruncate, perhaps still
 * being copied): it is read through the original, never as a new source. */
static bool rotation_of_followed(struct dg_tail *t, const char *path)
{
	for (size_t n = 1; path[n] != '\0'; n++) {
		if (path[n] != '.' && path[n] != '-')
			continue;
		for (struct file *f = ix_first(t, IX_PATH, path_key(path, n)); f != NULL;
		     f = f->chain[IX_PATH])
			if (strncmp(f->path, path, n) == 0 && f->path[n] == '\0')
				return true;
	}
	return false;
}

/* A file found at path that we do not follow yet. */
static void discover(struct dg_tail *t, const char *path, const struct stat *seen)
{
	struct stat now = *seen, *st = &now;
	int fd;
	const struct dg_idrec *r;
	uint8_t magic[2];

	if (by_inode(t, (uint64_t)st->st_dev, (uint64_t)st->st_ino) != NULL ||
	    rotation_of_followed(t, path))
		return; /* a followed file under a new name, or a copy of one */
	fd = open_described(t, path, st);
	if (fd < 0) {
		if (fd != REPLACED && !out_of_fds(fd))
			dg_log_warn("%s", path);
		return;
	}
	if ((pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) ||
	    copy_of_followed(t, fd, false)) {
		close(
		    fd); /* compressed rotations are archives; copies are read as their original */
		return;
	}
	r = recall(t, fd);
	if (r != NULL && r->offset >= (uint64_t)st->st_size) {
		close(fd); /* consumed already, under another name */
		return;
	}
	if (r != NULL)
		follow(t, path, path, fd, st, r->offset, r->line, NULL);
	else
		follow(t, path, path, fd, st, 0, 1, NULL);
}

/* ---- remembered identities ----------------------------------------------------------------- */

struct inodes {
	uint64_t (*v)[2];
	size_t n, cap;
};

/* Adds the inodes of dir's files; false if the directory changed while it was listed (or may
 * have: changed within the clock tick the listing began in), when readdir may have missed a
 * file being renamed, and forgetting it would have it read again. */
static bool add_dir(struct inodes *in, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat before, after;
	struct timespec now;

	if (d == NULL)
		return true; /* gone: nothing in it can be seen again */
	if (fstat(dirfd(d), &before) != 0 || dg_clock_file_now(&now) != 0) {
		closedir(d);
		return false;
	}
	while ((e = readdir(d)) != NULL) {
		struct stat st;

		if (e->d_name[0] == '.' || fstatat(dirfd(d), e->d_name, &st, 0) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (in->n == in->cap) {
			in->cap = in->cap ? 2 * in->cap : 256;
			in->v = dg_xreallocarray(in->v, in->cap, sizeof *in->v);
		}
		in->v[in->n][0] = (uint64_t)st.st_dev;
		in->v[in->n++][1] = (uint64_t)st.st_ino;
	}
	bool stable =
	    fstat(dirfd(d), &after) == 0 && after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
	    after.st_mtim.tv_nsec == before.st_mtim.tv_nsec &&
	    (before.st_mtim.tv_sec < now.tv_sec ||
	     (before.st_mtim.tv_sec == now.tv_sec && before.st_mtim.tv_nsec < now.tv_nsec));
	closedir(d);
	return stable;
}

static int by_dev_ino(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return x[0] != y[0] ? (x[0] < y[0] ? -1 : 1) : x[1] < y[1] ? -1 : x[1] > y[1];
}

static bool on_disk(void *arg, const struct dg_idrec *r)
{
	const struct inodes *in = arg;
	uint64_t k[2] = {r->id.dev, r->id.ino};

	return in->n > 0 && bsearch(k, in->v, in->n, sizeof *in->v, by_dev_ino) != NULL;
}

/* Forgets the identities of files no longer on disk where discovery looks (the sources'
 * directories): what cannot be seen again cannot be read twice. Run as the table doubles,
 * so its cost per rotation stays constant and its size follows what is kept on disk. */
static void prune(struct dg_tail *t)
{
	struct inodes in = {0};
	size_t dropped;
	bool stable = true;

	for (size_t i = 0; i < t->npats; i++) {
		glob_t g;

		if (t->pats[i].dir != NULL) {
			stable &= add_dir(&in, t->pats[i].dir);
			continue;
		}
		if (glob(t->pats[i].glob, 0, NULL, &g) != 0)
			continue;
		for (size_t k = 0; k < g.gl_pathc; k++) { /* each directory a wildcard reaches */
			char *copy = dg_xstrdup(g.gl_pathv[k]), *dir = dirname(copy);
			bool seen = false;

			for (size_t j = 0; j < k && !seen; j++) {
				char *other = dg_xstrdup(g.gl_pathv[j]);

				seen = strcmp(dirname(other), dir) == 0;
				free(other);
			}
			if (!seen)
				stable &= add_dir(&in, dir);
			free(copy);
		}
		globfree(&g);
	}
	/* renames under way (logrotate): at the next look, unless the directory never looks
	 * still (a network file system's clock ahead of ours) */
	if (!stable && ++t->prune_tries < PRUNE_TRIES) {
		free(in.v);
		return;
	}
	t->prune_tries = 0;
	if (in.n == 0) { /* nothing listed (unreadable directories?): forget nothing */
		t->prune_at *= 2;
		return;
	}
	qsort(in.v, in.n, sizeof *in.v, by_dev_ino);
	dropped = dg_idtable_prune(t->ids, on_disk, &in);
	free(in.v);
	t->prune_at =
	    2 * dg_idtable_count(t->ids) > PRUNE_MIN ? 2 * dg_idtable_count(t->ids) : PRUNE_MIN;
	if (dropped > 0)
		dg_log_debug("forgot %zu identities of files no longer on disk; %zu remembered",
		             dropped, dg_idtable_count(t->ids));
}

static bool late_grown(void *arg, const char *sib)
{
	struct dg_tail *t = arg;
	struct stat st;

	if (stat(sib, &st) != 0)
		return false;
	for (size_t i = 0; i < t->nlate; i++)
		if (t->late[i].ino == (uint64_t)st.st_ino &&
		    t->late[i].dev == (uint64_t)st.st_dev &&
		    strcmp(t->late[i].path, t->sibling_of) == 0) {
			if ((uint64_t)st.st_size > t->late[i].off) {
				late_drop(t, i);
				catch_missed(t, sib); /* followed again from where it was left */
			}
			break;
		}
	return false;
}

/* Rotated files let go lately, under whatever sibling name they have now: one that grew is
 * followed again from where it was left (found by inode, as at a restart). */
static void look_at_late(struct dg_tail *t)
{
	int64_t now = dg_clock_mono_ms();

	for (size_t i = 0; i < t->nlate;)
		if (t->late[i].until <= now)
			late_drop(t, i);
		else
			i++;
	for (size_t i = 0; i < t->nlate; i++) {
		bool seen = false;
		char *path;

		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(t->late[j].path, t->late[i].path) == 0;
		if (seen)
			continue;                   /* its siblings were looked at */
		path = dg_xstrdup(t->late[i].path); /* late_grown may drop the entry */
		t->sibling_of = path;
		each_sibling(t, path, late_grown, t);
		t->sibling_of = NULL;
		free(path);
	}
}

void dg_tail_scan(struct dg_tail *t)
{
	listing(t, true);
	t->unopened = 0;
	watch_dirs(t);
	for (size_t i = 0; i < t->npats; i++) {
		glob_t g;

		if (glob(t->pats[i].glob, 0, NULL, &g) != 0)
			continue;
		for (size_t k = 0; k < g.gl_pathc; k++) {
			const char *path = g.gl_pathv[k];
			struct file *f = live_at(t, path);
			struct stat st;

			if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
				continue;
			bool was = f != NULL;

			if (f != NULL && f->id.dev == (uint64_t)st.st_dev &&
			    f->id.ino == (uint64_t)st.st_ino) {
				if (f->parked && parked_changed(f, &st))
					unpark(t, f, path);
				continue;
			}
			if (f != NULL)
				rotated(t, f, "rotated: a new file took its name");
			else
				was =
				    held_at(t, path) != NULL; /* renamed away at an earlier look */
			discover(t, path, &st);
			/* A new file where one was: generations may have come and gone between
			 * the looks (created, written and rotated away before we saw them). */
			if (was) {
				t->sibling_of = path;
				each_sibling(t, path, catch_missed, t);
			}
		}
		globfree(&g);
	}
	/* Followed files whose name is gone: renamed or deleted. */
	for (struct file *f = t->files, *next; f != NULL; f = next) {
		struct stat st;

		next = f->next; /* a parked file deleted is let go */
		if (f->held && f->parked)
			rotated(t, f, "rotated: renamed or deleted"); /* a descriptor now? */
		else if (!f->held && f->gz == NULL &&
		         (stat(f->path, &st) != 0 || (uint64_t)st.st_ino != f->id.ino ||
		          (uint64_t)st.st_dev != f->id.dev))
			rotated(t, f, "rotated: renamed or deleted");
	}
	bound_held(t);
	look_at_late(t);
	if (dg_idtable_count(t->ids) >= t->prune_at)
		prune(t);
	t->st.unopened = t->unopened;
	if (t->unopened == 0)
		t->fds_warned = false; /* said again if it happens again */
	listing(t, false);
}

void dg_tail_events(struct dg_tail *t)
{
	char ev[16 * (sizeof(struct inotify_event) + NAME_MAX + 1)]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	bool dir_changed = false;
	ssize_t n;

	/* Read first: a rotation in progress (copytruncate) is a race with the truncation. The
	 * bound keeps the loop turning (timers, watchdog, metrics) during a long catch-up. */
	dg_tail_pump(t, 4 << 20);
	while ((n = read(t->ifd, ev, sizeof ev)) > 0) {
		for (char *p = ev; p < ev + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;

			if (e->mask & IN_Q_OVERFLOW) {
				dg_log_warnx("inotify queue overflowed: rescanning all sources");
				t->h.event(t->h.arg, UINT32_MAX, "rescan", 0,
				           "inotify queue overflow");
				t->st.rescans++;
				dir_changed = true;
			}
			if (e->mask & (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
			               IN_MOVE_SELF | IN_DELETE_SELF | IN_IGNORED))
				dir_changed = true;
			p += sizeof *e + e->len;
		}
	}
	if (dir_changed)
		dg_tail_scan(t);
}

/* ---- restart ------------------------------------------------------------------------------- */

struct restore_search {
	struct dg_tail *t;
	const struct dg_tail_resume *r;
	uint32_t input;
	bool found;
};

static bool restore_from(void *arg, const char *sib)
{
	struct restore_search *rs = arg;
	struct dg_tail *t = rs->t;
	struct stat st;
	struct dg_source *src;
	int fd;

	if (stat(sib, &st) != 0 || !S_ISREG(st.st_mode))
		return false;
	/* The same inode, the same start, and at least as long as what was read: an inode freed
	 * by a rotation can be reused at once by its compressed copy. */
	if ((uint64_t)st.st_dev == rs->r->id.dev && (uint64_t)st.st_ino == rs->r->id.ino &&
	    (uint64_t)st.st_size >= rs->r->offset) {
		uint8_t magic[2];

		fd = open(sib, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || !fd_matches(fd, &rs->r->id, t->buf) ||
		    (pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b)) {
			if (fd >= 0)
				close(fd);
			return false;
		}
		hold(t,
		     follow(t, rs->r->path, sib, fd, &st, rs->r->offset, rs->r->line, &rs->input),
		     "rotated while dgaudit was stopped");
		rs->found = true;
		return true;
	}
	/* Another inode with the same start: copytruncate's copy. */
	if (rs->r->id.fp_len >= COPY_MIN && (fd = open(sib, O_RDONLY | O_CLOEXEC)) >= 0) {
		uint8_t magic[2];

		if ((uint64_t)st.st_size < rs->r->offset && fd_matches(fd, &rs->r->id, t->buf) &&
		    !(pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b)) {
			/* Shorter than what was read: made before we read on in the original (and
			 * the truncation handled, but not checkpointed, before a crash). All of it
			 * was audited: remembered by its own inode, it is never taken for a
			 * generation nobody read when the original's inode is remembered for its
			 * next generation. */
			struct dg_tail_id copy = rs->r->id;

			close(fd);
			copy.dev = (uint64_t)st.st_dev;
			copy.ino = (uint64_t)st.st_ino;
			remember(t, &copy, (uint64_t)st.st_size, rs->r->line);
			return false;
		}
		/* As long: made while we were stopped. What was audited is in it too; only the
		 * rest is read. */
		if ((uint64_t)st.st_size >= rs->r->offset && fd_matches(fd, &rs->r->id, t->buf) &&
		    !(pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b)) {
			hold(t,
			     follow(t, rs->r->path, sib, fd, &st, rs->r->offset, rs->r->line,
			            &rs->input),
			     "copied and truncated while dgaudit was stopped: the rest read from "
			     "the copy");
			gap_after_copy(t, rs->r->path, (uint64_t)st.st_size);
			rs->found = true;
			return true;
		}
		close(fd);
	}
	src = gz_matching(sib, &rs->r->id, t->buf);
	if (src == NULL)
		return false;
	/* Compressed while we were stopped: read its unread part through decompression. */
	if (!gz_skip(src, rs->r->offset, t->buf)) {
		dg_source_free(src);
		return false;
	}
	struct file *f = dg_xcalloc(1, sizeof *f);

	f->path = dg_xstrdup(rs->r->path);
	f->name = dg_xstrdup(sib);
	f->fd = -1;
	f->wd = -1;
	f->gz = src;
	f->id = rs->r->id;
	f->off = rs->r->offset;
	f->held = true;
	add_file(t, f, rs->input, NULL);
	rs->found = true;
	return true;
}

/* Shorter than the checkpoint's offset, with the same start: cut short while dgaudit was
 * stopped (truncate -s, an older copy put back). Where the cut was is not known, and lines may
 * have been written after it: the file is read again from its start, a new input, and the
 * integrity event says that findings for what was audited before may repeat. Never lost. */
static void shrunk(struct dg_tail *t, const struct dg_tail_resume *r, int fd, const struct stat *st)
{
	char detail[PATH_MAX + 200];

	snprintf(detail, sizeof detail,
	         "%s: %llu bytes, shorter than the %llu audited at the checkpoint with the same "
	         "start: cut while dgaudit was stopped; read again from its start (findings for "
	         "what was audited before may repeat)",
	         r->path, (unsigned long long)st->st_size, (unsigned long long)r->offset);
	t->h.event(t->h.arg, r->input, "shrunk", 0, detail);
	t->h.close(t->h.arg, r->input, "cut short while dgaudit was stopped");
	follow(t, r->path, r->path, fd, st, 0, 1, NULL);
}

void dg_tail_restore(struct dg_tail *t, const struct dg_tail_resume *files, size_t n)
{
	listing(t, true);
	for (size_t i = 0; i < n; i++) {
		const struct dg_tail_resume *r = &files[i];
		uint32_t input = r->input;
		struct restore_search rs = {t, r, input, false};
		char detail[PATH_MAX + 128];
		struct stat st;
		int fd = -1;

		if (stat(r->path, &st) == 0 && (uint64_t)st.st_dev == r->id.dev &&
		    (uint64_t)st.st_ino == r->id.ino && out_of_fds(fd = open_source(t, r->path))) {
			/* remembered, it is taken up where it was once a descriptor is free */
			t->h.close(t->h.arg, input, "waiting for a descriptor");
			remember(t, &r->id, r->offset, r->line);
			continue;
		}
		if (fd >= 0) {
			if (fd_matches(fd, &r->id, t->buf)) {
				if ((uint64_t)st.st_size >= r->offset)
					follow(t, r->path, r->path, fd, &st, r->offset, r->line,
					       &input);
				else
					shrunk(t, r, fd, &st);
				continue;
			}
			close(fd);
			/* Same inode, other content: deleted and recreated (or emptied) while we
			 * were stopped. The new file is found by the scan and read from 0. */
			snprintf(detail, sizeof detail,
			         "%s: same inode but other content than at the checkpoint",
			         r->path);
			t->h.event(t->h.arg, input, "replaced", 0, detail);
		}
		if (each_sibling(t, r->path, restore_from, &rs))
			continue;
		snprintf(detail, sizeof detail,
		         "%s (inode %llu) is gone: what followed offset %llu could not be read",
		         r->path, (unsigned long long)r->id.ino, (unsigned long long)r->offset);
		t->h.event(t->h.arg, input, "lost", 0, detail);
		t->h.close(t->h.arg, input, "lost while dgaudit was stopped");
		remember(t, &r->id, r->offset, r->line);
	}
	/* Generations rotated away while we were stopped, once every checkpointed file is back
	 * (an older one still being drained must not look unknown). */
	for (size_t i = 0; i < n; i++) {
		t->sibling_of = files[i].path;
		each_sibling(t, files[i].path, catch_missed, t);
	}
	listing(t, false);
}

void dg_tail_remember(struct dg_tail *t, const struct dg_tail_id *id, uint64_t offset,
                      uint64_t line)
{
	remember(t, id, offset, line);
}

void dg_tail_each_remembered(const struct dg_tail *t,
                             void (*fn)(void *arg, const struct dg_tail_id *id, uint64_t offset,
                                        uint64_t line),
                             void *arg)
{
	for (size_t i = 0; i < dg_idtable_count(t->ids); i++) {
		const struct dg_idrec *r = dg_idtable_at(t->ids, i);

		fn(arg, &r->id, r->offset, r->line);
	}
}

bool dg_tail_id_of(struct dg_tail *t, uint32_t input, struct dg_tail_id *out)
{
	const struct file *f = by_input(t, input);

	if (f == NULL)
		return false;
	*out = f->id;
	return true;
}

void dg_tail_rewind(struct dg_tail *t, uint32_t input, uint64_t offset)
{
	struct file *f = by_input(t, input);

	if (f != NULL && f->gz == NULL && offset <= f->off)
		f->off = offset;
}

void dg_tail_each(const struct dg_tail *t,
                  void (*fn)(void *arg, uint32_t input, const char *path,
                             const struct dg_tail_id *id),
                  void *arg)
{
	for (const struct file *f = t->files; f != NULL; f = f->next)
		if (f->input != NO_INPUT)
			fn(arg, f->input, f->path, &f->id);
}

void dg_tail_stats(const struct dg_tail *t, struct dg_tail_stats *out)
{
	*out = t->st;
	out->files = out->held = out->behind = out->parked = 0;
	for (const struct file *f = t->files; f != NULL; f = f->next) {
		struct stat st;

		out->files++;
		out->held += f->held;
		out->parked += f->parked;
		if (f->fd >= 0 && fstat(f->fd, &st) == 0 && (uint64_t)st.st_size > f->off)
			out->behind += (uint64_t)st.st_size - f->off;
	}
}
