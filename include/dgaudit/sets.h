/* Compiled lookups for the rule language's lists, so that a list of any length costs about the
 * same per event: exact strings by hash, prefixes and suffixes by trie, substrings by an
 * Aho-Corasick automaton, addresses by one hash probe per prefix length present, dates by
 * binary search. Built once, then read-only. Pure. */
#ifndef DGAUDIT_SETS_H
#define DGAUDIT_SETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dgaudit/ip.h"

/* Exact strings; with ignore_case, ASCII letters match either case. */
struct dg_strset;

struct dg_strset *dg_sets_str_new(char *const *items, size_t n, bool ignore_case);
void dg_sets_str_free(struct dg_strset *s);
bool dg_sets_str_has(const struct dg_strset *s, const char *p, size_t len);

enum dg_affix_kind { DG_AFFIX_PREFIX, DG_AFFIX_SUFFIX, DG_AFFIX_SUBSTRING };

/* Strings that start with, end with or contain any of a set of needles. */
struct dg_affix;

struct dg_affix *dg_sets_affix_new(enum dg_affix_kind kind, char *const *items, size_t n,
                                   bool ignore_case);
void dg_sets_affix_free(struct dg_affix *a);
bool dg_sets_affix_match(const struct dg_affix *a, const char *p, size_t len);

/* Addresses within any of a set of CIDR blocks. */
struct dg_cidrset;

struct dg_cidrset *dg_sets_cidr_new(const struct dg_ip_cidr *blocks, size_t n);
void dg_sets_cidr_free(struct dg_cidrset *s);
bool dg_sets_cidr_has(const struct dg_cidrset *s, const uint8_t addr[16]);

/* Days (since 1970-01-01). */
struct dg_dateset;

struct dg_dateset *dg_sets_date_new(const int64_t *days, size_t n);
void dg_sets_date_free(struct dg_dateset *s);
bool dg_sets_date_has(const struct dg_dateset *s, int64_t day);
size_t dg_sets_date_count(const struct dg_dateset *s);

#endif
