/* Where the signing and pseudonymisation keys live: the paths the configuration names, or files
 * in the state directory created on first use (mode 0600) and announced in the log. */
#ifndef DGAUDIT_KEYSTORE_H
#define DGAUDIT_KEYSTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "dgaudit/config.h"
#include "dgaudit/sign.h"

#define DG_PSEUDONYM_KEY_LEN 32

/* The report signing key. A configured key must exist; the default one is created if missing.
 * NULL with *cause. */
struct dg_signer *dg_keystore_signer(const struct dg_config *cfg, bool service, char **cause);
/* The site key for HMAC pseudonyms, loaded or created the same way. */
int dg_keystore_pseudonym(const struct dg_config *cfg, bool service,
                          uint8_t key[DG_PSEUDONYM_KEY_LEN], char **cause);

#endif
