/* Checking report bundles, apart from writing them (bundle.h): what `dgaudit verify` does, and
 * what an auditor's own tools could do with openssl alone. Reads each member within a bound. */
#ifndef DGAUDIT_VERIFY_H
#define DGAUDIT_VERIFY_H

#include <stddef.h>

#include "dgaudit/buf.h"

/* Checks a bundle: the signature (against pubkey_pem if given, else the bundle's own key),
 * SHA256SUMS, and that report.json is a canonical, well-formed, self-consistent report. Each
 * problem is appended to problems as a line. Returns 0 if valid, -1 if not. On success *info
 * (if not NULL) receives a one-line description; caller frees. */
int dg_verify_bundle(const char *bundle, const char *pubkey_pem, size_t pemlen,
                     struct dg_buf *problems, char **info);
/* Checks every bundle in dir (its subdirectories holding a report.json; "latest" and reports
 * in progress are skipped) and the chain they form: report_seq without gaps or repeats, and
 * each prev_report_sha256 equal to the SHA-256 of the previous report.json. Problems are
 * appended as lines. Returns 0 if all is valid, -1 if not; *info (if not NULL) describes the
 * chain. */
int dg_verify_chain(const char *dir, const char *pubkey_pem, size_t pemlen, struct dg_buf *problems,
                    char **info);

#endif
