/* The identities of files read to their end (device, inode, content fingerprint) and how far
 * they were read, kept for as long as a file with that identity can still be seen, so that a
 * generation rotated away is recognised whatever the number kept, and never read twice. At
 * most one entry per inode: a reused inode replaces its old entry. Lookups by inode are O(1);
 * the caller prunes what is no longer on disk. */
#ifndef DGAUDIT_IDTABLE_H
#define DGAUDIT_IDTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dgaudit/tail.h"

struct dg_idrec {
	struct dg_tail_id id;
	uint64_t offset, line; /* where reading stopped */
};

struct dg_idtable;

struct dg_idtable *dg_idtable_new(void);
void dg_idtable_free(struct dg_idtable *t);
void dg_idtable_put(struct dg_idtable *t, const struct dg_tail_id *id, uint64_t offset,
                    uint64_t line);
const struct dg_idrec *dg_idtable_by_inode(const struct dg_idtable *t, uint64_t dev, uint64_t ino);
size_t dg_idtable_count(const struct dg_idtable *t);
const struct dg_idrec *dg_idtable_at(const struct dg_idtable *t, size_t i);
/* Keeps the entries keep() says yes to; returns how many were dropped. */
size_t dg_idtable_prune(struct dg_idtable *t, bool (*keep)(void *arg, const struct dg_idrec *r),
                        void *arg);

#endif
