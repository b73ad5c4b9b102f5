#include "dgaudit/source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "dgaudit/xmalloc.h"

#define RAW_CHUNK         (256 * 1024)
#define FINGERPRINT_BYTES 1024

struct dg_source {
	char *path;
	int fd;
	bool gz, eof, z_ready;
	z_stream z;
	unsigned char *raw; /* compressed input awaiting inflate */
	size_t raw_len, raw_pos;
	/* Bytes peeked at open for the magic number and the fingerprint, served first. */
	unsigned char head[FINGERPRINT_BYTES];
	size_t head_len, head_pos;
	struct dg_hash *hash;
	uint64_t raw_total;
	struct dg_source_id id;
};

static ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

struct dg_source *dg_source_open(const char *path, char **cause)
{
	struct dg_source *src;
	struct stat st;
	ssize_t n;
	uint8_t d[DG_HASH_LEN];
	int fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		*cause = dg_xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
		*cause = dg_xasprintf("%s: %s", path,
		                      S_ISDIR(st.st_mode) ? "is a directory" : strerror(errno));
		close(fd);
		return NULL;
	}
	src = dg_xcalloc(1, sizeof *src);
	src->path = dg_xstrdup(path);
	src->fd = fd;
	src->hash = dg_hash_new();
	src->id.dev = st.st_dev;
	src->id.ino = st.st_ino;
	src->id.size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	n = read_full(fd, src->head, sizeof src->head);
	if (n < 0) {
		*cause = dg_xasprintf("%s: %s", path, strerror(errno));
		dg_source_free(src);
		return NULL;
	}
	src->head_len = (size_t)n;
	src->raw_total = (uint64_t)n;
	dg_hash_sha256(src->head, src->head_len, d);
	dg_hash_hex(d, DG_HASH_LEN, src->id.fingerprint);
	src->gz = n >= 2 && src->head[0] == 0x1f && src->head[1] == 0x8b;
	if (src->gz)
		dg_hash_update(src->hash, src->head, src->head_len);
	return src;
}

void dg_source_free(struct dg_source *src)
{
	if (src == NULL)
		return;
	if (src->z_ready)
		inflateEnd(&src->z);
	if (src->fd >= 0)
		close(src->fd);
	dg_hash_free(src->hash);
	free(src->raw);
	free(src->path);
	free(src);
}

/* Stored bytes: the peeked head first, then the file. */
static ssize_t read_stored(struct dg_source *src, void *buf, size_t cap)
{
	ssize_t n;

	if (src->head_pos < src->head_len) {
		size_t k = src->head_len - src->head_pos;

		if (k > cap)
			k = cap;
		memcpy(buf, src->head + src->head_pos, k);
		src->head_pos += k;
		return (ssize_t)k;
	}
	do
		n = read(src->fd, buf, cap);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		/* Plain files are hashed by the pipeline as they are audited; only archives need
		 * the digest of their stored bytes too. */
		if (src->gz)
			dg_hash_update(src->hash, buf, (size_t)n);
		src->raw_total += (uint64_t)n;
	}
	return n;
}

static ssize_t read_gz(struct dg_source *src, char *buf, size_t cap, char **cause)
{
	if (!src->z_ready) {
		if (inflateInit2(&src->z, 15 + 16) != Z_OK) {
			*cause = dg_xasprintf("%s: cannot start gzip decompression", src->path);
			return -1;
		}
		src->z_ready = true;
		src->raw = dg_xmalloc(RAW_CHUNK);
	}
	src->z.next_out = (unsigned char *)buf;
	src->z.avail_out = (unsigned)cap;
	while (src->z.avail_out == cap) {
		int rc;

		if (src->raw_pos == src->raw_len) {
			ssize_t n = read_stored(src, src->raw, RAW_CHUNK);

			if (n < 0) {
				*cause = dg_xasprintf("%s: %s", src->path, strerror(errno));
				return -1;
			}
			if (n == 0) {
				if (src->eof)
					return 0;
				*cause = dg_xasprintf("%s: gzip archive is truncated", src->path);
				return -1;
			}
			src->raw_len = (size_t)n;
			src->raw_pos = 0;
		}
		src->z.next_in = src->raw + src->raw_pos;
		src->z.avail_in = (unsigned)(src->raw_len - src->raw_pos);
		rc = inflate(&src->z, Z_NO_FLUSH);
		src->raw_pos = src->raw_len - src->z.avail_in;
		if (rc == Z_STREAM_END) {
			/* Another member may follow (cat a.gz b.gz is a valid gzip file). */
			src->eof = true;
			inflateReset(&src->z);
		} else if (rc == Z_OK || rc == Z_BUF_ERROR) {
			src->eof = false;
		} else {
			*cause =
			    dg_xasprintf("%s: corrupt gzip data near byte %llu: %s", src->path,
			                 (unsigned long long)(src->raw_total - src->z.avail_in),
			                 src->z.msg ? src->z.msg : "inflate error");
			return -1;
		}
	}
	return (ssize_t)(cap - src->z.avail_out);
}

ssize_t dg_source_read(struct dg_source *src, char *buf, size_t cap, char **cause)
{
	ssize_t n;

	if (src->gz)
		return read_gz(src, buf, cap, cause);
	n = read_stored(src, buf, cap);
	if (n < 0)
		*cause = dg_xasprintf("%s: %s", src->path, strerror(errno));
	return n;
}

const struct dg_source_id *dg_source_identity(const struct dg_source *src)
{
	return &src->id;
}

bool dg_source_compressed(const struct dg_source *src)
{
	return src->gz;
}

uint64_t dg_source_raw_bytes(const struct dg_source *src)
{
	return src->raw_total;
}

void dg_source_raw_sha256(const struct dg_source *src, char *hex)
{
	uint8_t d[DG_HASH_LEN];

	dg_hash_peek(src->hash, d);
	dg_hash_hex(d, DG_HASH_LEN, hex);
}
