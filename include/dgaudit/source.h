/* Reading an input to its end: a file, standard input ("-"), or a gzip archive (recognised by
 * its magic bytes, multi-member streams included). Gives the decompressed bytes, and records the
 * file's identity and, for archives, the SHA-256 of the bytes as stored (what `sha256sum` of the
 * archive prints); the pipeline hashes the decompressed bytes it audits. */
#ifndef DGAUDIT_SOURCE_H
#define DGAUDIT_SOURCE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "dgaudit/hash.h"

struct dg_source_id {
	uint64_t dev, ino;
	uint64_t size;                    /* at open */
	char fingerprint[DG_HASH_HEXLEN]; /* SHA-256 of the first bytes (up to 1 KiB) */
};

struct dg_source;

/* Opens path ("-" for standard input). NULL with *cause if it cannot be opened. */
struct dg_source *dg_source_open(const char *path, char **cause);
void dg_source_free(struct dg_source *src);
/* Reads up to cap decompressed bytes: returns the count, 0 at the end, -1 with *cause on a read
 * or decompression error (what was returned before stays valid). */
ssize_t dg_source_read(struct dg_source *src, char *buf, size_t cap, char **cause);
const struct dg_source_id *dg_source_identity(const struct dg_source *src);
bool dg_source_compressed(const struct dg_source *src);
/* Bytes read from the file as stored, and (archives only) their SHA-256 so far. */
uint64_t dg_source_raw_bytes(const struct dg_source *src);
void dg_source_raw_sha256(const struct dg_source *src, char *hex);

#endif
