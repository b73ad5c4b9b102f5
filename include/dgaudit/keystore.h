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

#endif
