/* Detectors for personal data in free text: PRC resident identity numbers (GB 11643 check
 * digit, plausible region and birth date), payment card numbers (Luhn, issuer prefix 3-6), PRC
 * mobile numbers and e-mail addresses. Numbers must stand alone (no letter or digit next to
 * them), so hashes and ids that merely contain digits do not match. Pure; no allocation. */
#ifndef DGAUDIT_DETECT_H
#define DGAUDIT_DETECT_H

#include <stdbool.h>
#include <stddef.h>

#include "dgaudit/buf.h"

enum dg_detect_kind {
	DG_DETECT_CN_ID = 1 << 0,
	DG_DETECT_BANK_CARD = 1 << 1,
	DG_DETECT_CN_MOBILE = 1 << 2,
	DG_DETECT_EMAIL = 1 << 3,
	DG_DETECT_ALL = (1 << 4) - 1
};

struct dg_detect_hit {
	enum dg_detect_kind kind;
	size_t start, len;
};

/* Parses a detector name ("cn_resident_id", "bank_card", "cn_mobile", "email"); 0 if unknown. */
enum dg_detect_kind dg_detect_kind_parse(const char *name);
const char *dg_detect_kind_name(enum dg_detect_kind kind);
/* Finds up to max hits of the given kinds in text, in order; returns how many were found in
 * total (which may exceed max). */
size_t dg_detect_scan(const char *text, size_t len, unsigned kinds, struct dg_detect_hit *hits,
                      size_t max);
/* Appends text to out with every hit masked: identity numbers keep their first 3 and last 4
 * characters, cards their first 6 and last 4 (PCI DSS 3.4), mobiles their first 3 and last 4,
 * e-mail its first character and domain. */
void dg_detect_mask(const char *text, size_t len, struct dg_buf *out);
/* The check digit rules on their own, for 18-character ids and digit strings. */
bool dg_detect_cn_id_valid(const char *id);
bool dg_detect_luhn_valid(const char *digits, size_t len);

#endif
