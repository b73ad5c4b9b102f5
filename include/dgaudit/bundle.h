/* Report bundles on disk: a directory with report.json, its detached signature
 * report.json.sig, the signer's public key signer.pub.pem, SHA256SUMS and VERIFY.txt (the stock
 * openssl commands that check it without dgaudit). Written atomically; verify.h checks them. */
#ifndef DGAUDIT_BUNDLE_H
#define DGAUDIT_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dgaudit/buf.h"
#include "dgaudit/sign.h"

struct dg_bundle;

/* The members of a bundle that SHA256SUMS lists, and the sizes verify reads at most. */
#define DG_BUNDLE_NFILES 4
extern const char *const dg_bundle_files[DG_BUNDLE_NFILES];
#define DG_BUNDLE_MAX_REPORT ((size_t)1 << 30)
#define DG_BUNDLE_MAX_MEMBER ((size_t)1 << 20)

#define DG_BUNDLE_NAME_MAX 64

/* A new report's random id (32 hex digits) and its bundle's name: the UTC start time, the
 * report's sequence number and the id's prefix, so that bundles sort by time and then by
 * sequence. name has DG_BUNDLE_NAME_MAX bytes. */
void dg_bundle_identify(int64_t started_ms, uint64_t seq, char id[33],
                        char name[DG_BUNDLE_NAME_MAX]);

/* Starts the bundle dir/name (dir is created if needed) in a temporary directory beside it.
 * NULL with *cause. */
struct dg_bundle *dg_bundle_begin(const char *dir, const char *name, char **cause);
/* Continues a bundle begun before a restart: its report.json is cut back to length (what was
 * made durable) and opened for appending. NULL with *cause if it is not there. */
struct dg_bundle *dg_bundle_resume(const char *dir, const char *name, uint64_t length,
                                   char **cause);
/* The stream report.json is written to. */
FILE *dg_bundle_report(struct dg_bundle *b);
/* When the report in progress lost its directory (the reports directory was deleted): puts a
 * copy of what was written in a new one, under the same stream, so writing goes on. 1 if it
 * did, 0 if nothing was missing, -1 with *cause. */
int dg_bundle_rehome(struct dg_bundle *b, char **cause);
/* Makes what was written so far durable; its length in *length. */
int dg_bundle_sync(struct dg_bundle *b, uint64_t *length, char **cause);
/* Makes the bundle durable and visible: report.json is synced and signed, the other files are
 * written, the directory is renamed into place and dir/latest points at it. Returns 0 (b is
 * freed), the bundle's path in *path (caller frees) and report.json's SHA-256 (hex) in sha256;
 * or -1 with *cause, b left as it was for dg_bundle_abort (or for resuming after a restart). */
int dg_bundle_commit(struct dg_bundle *b, const struct dg_signer *signer, char **path,
                     char sha256[65], char **cause);
/* The SHA-256 (hex) of a committed bundle's report.json, and its report_seq unless seq is NULL
 * (then the report is hashed as it is read, never held or parsed); -1 if absent. */
int dg_bundle_report_digest(const char *bundle, char sha256[65], int64_t *seq);
/* Where the chain in dir ends: its last report's seq and SHA-256 (the highest seq the bundle
 * names give, confirmed by that report's report_seq). Returns 1 if found, 0 if
 * dir holds no reports (or does not exist), -1 with *cause if it holds some but the last cannot
 * be read. */
int dg_bundle_chain_end(const char *dir, int64_t *seq, char sha256[65], char **cause);
/* Leaves a bundle in progress as it is on disk, for dg_bundle_resume after a restart. Frees b;
 * NULL is a no-op. */
void dg_bundle_leave(struct dg_bundle *b);
/* Gives up a bundle that was begun, removing what was written. Frees b; NULL is a no-op. */
void dg_bundle_abort(struct dg_bundle *b);
/* The exact openssl command that verifies report.json.sig for a key type. */
const char *dg_bundle_openssl_command(enum dg_sign_type type);

#endif
