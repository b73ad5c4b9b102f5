/* The checkpoint's seal: an HMAC-SHA-256 under the daemon's state key, kept as the last member
 * of the checkpoint's canonical JSON object ("~mac" sorts after every other key, so the text
 * stays canonical and is parsed as it is). An edited checkpoint, or one written with another
 * key, is caught before anything in it is believed. */
#ifndef DGAUDIT_CHECKPOINT_H
#define DGAUDIT_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "dgaudit/buf.h"

#define DG_CHECKPOINT_KEY_LEN 32

enum dg_checkpoint_seal {
	DG_CHECKPOINT_SEALED,   /* the MAC verifies */
	DG_CHECKPOINT_UNSEALED, /* no MAC: written before checkpoints carried one */
	DG_CHECKPOINT_BROKEN,   /* a MAC that does not verify: edited, or another key */
};

/* Seals text, the canonical JSON of an object (ending in '}'), in place. */
void dg_checkpoint_seal(const uint8_t key[DG_CHECKPOINT_KEY_LEN], struct dg_buf *text);
/* Checks the seal of the text read back. SEALED and UNSEALED leave in *body_len the length of
 * the object without the seal (text is changed in place to end there). */
enum dg_checkpoint_seal dg_checkpoint_open(const uint8_t key[DG_CHECKPOINT_KEY_LEN], char *text,
                                           size_t len, size_t *body_len);

#endif
