/* Where the signing and pseudonymisation keys live: the paths the configuration names, or files
 * in the state directory created on first use (mode 0600) and announced in the log. */
#ifndef DGAUDIT_KEYSTORE_H
#define DGAUDIT_KEYSTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "dgaudit/config.h"
#include "dgaudit/sign.h"

#define DG_KEY_LEN           32 /* the HMAC keys: pseudonyms, state */
#define DG_PSEUDONYM_KEY_LEN DG_KEY_LEN

/* The report signing key. A configured key must exist; the default one is created if missing
 * (*created then true; created may be NULL). NULL with *cause. */
struct dg_signer *dg_keystore_signer(const struct dg_config *cfg, bool service, bool *created,
                                     char **cause);
/* The site key for HMAC pseudonyms, loaded or created the same way. */
int dg_keystore_pseudonym(const struct dg_config *cfg, bool service,
                          uint8_t key[DG_PSEUDONYM_KEY_LEN], bool *created, char **cause);
/* The daemon's key for the checkpoint's MAC, state.key in the state directory. */
int dg_keystore_state(const struct dg_config *cfg, bool service, uint8_t key[DG_KEY_LEN],
                      bool *created, char **cause);

/* After the state directory vanished under a running daemon: the keys kept in it by default
 * (not configured elsewhere) that are missing are written again from memory, so that a
 * restart finds the same keys. *restored gets how many were. */
int dg_keystore_restore(const struct dg_config *cfg, bool service, const struct dg_signer *signer,
                        const uint8_t pseudonym[DG_KEY_LEN], const uint8_t state[DG_KEY_LEN],
                        int *restored, char **cause);

#endif
