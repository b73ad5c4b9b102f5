/* One writer per directory: the state directory (checkpoint, keys) and a report chain. Two
 * processes writing one checkpoint or one chain corrupt both, so the second is refused, naming
 * the first. */
#ifndef DGAUDIT_DIRLOCK_H
#define DGAUDIT_DIRLOCK_H

#include <sys/types.h>

struct dg_dirlock;

/* Creates dir (with mode) if missing and locks it (dir/.lock, holding the owner's PID) for as long
 * as the handle lives; the lock ends with the process, kill -9 included. NULL with *cause when
 * another process holds it. */
struct dg_dirlock *dg_dirlock_new(const char *dir, mode_t mode, char **cause);
void dg_dirlock_free(struct dg_dirlock *l);

#endif
