#include "dgaudit/checkpoint.h"

#include <stdbool.h>
#include <string.h>

#include "dgaudit/hash.h"

#define SEAL_HEAD "\"~mac\":\""
#define SEAL_LEN  (1 + sizeof SEAL_HEAD - 1 + 2 * DG_HASH_LEN + 2) /* ,"~mac":"<hex>"} */

void dg_checkpoint_seal(const uint8_t key[DG_CHECKPOINT_KEY_LEN], struct dg_buf *text)
{
	uint8_t mac[DG_HASH_LEN];
	char hex[2 * DG_HASH_LEN + 1];
	bool empty = text->len == 2; /* "{}" */

	dg_hash_hmac(key, DG_CHECKPOINT_KEY_LEN, text->data, text->len, mac);
	dg_hash_hex(mac, DG_HASH_LEN, hex);
	text->len--; /* the closing brace */
	if (!empty)
		dg_buf_addc(text, ',');
	dg_buf_adds(text, SEAL_HEAD);
	dg_buf_adds(text, hex);
	dg_buf_adds(text, "\"}");
}

/* Compares without an early exit: how much of a guessed MAC is right must not show. */
static bool same(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t diff = 0;

	for (size_t i = 0; i < n; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

enum dg_checkpoint_seal dg_checkpoint_open(const uint8_t key[DG_CHECKPOINT_KEY_LEN], char *text,
                                           size_t len, size_t *body_len)
{
	uint8_t want[DG_HASH_LEN], got[DG_HASH_LEN];
	char hex[2 * DG_HASH_LEN + 1];
	size_t at, head = sizeof SEAL_HEAD - 1;

	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	*body_len = len;
	if (len < SEAL_LEN || memcmp(text + len - 2, "\"}", 2) != 0 ||
	    memcmp(text + len - 2 - 2 * DG_HASH_LEN - head, SEAL_HEAD, head) != 0)
		return memmem(text, len, SEAL_HEAD, head) != NULL ? DG_CHECKPOINT_BROKEN
		                                                  : DG_CHECKPOINT_UNSEALED;
	at = len - 2 - 2 * DG_HASH_LEN - head; /* the seal's first quote */
	memcpy(hex, text + at + head, 2 * DG_HASH_LEN);
	hex[2 * DG_HASH_LEN] = '\0';
	if (dg_hash_unhex(hex, want, DG_HASH_LEN) != 0 || at < 1 ||
	    (text[at - 1] != ',' && text[at - 1] != '{'))
		return DG_CHECKPOINT_BROKEN;
	/* what was sealed: the object as it was before the seal went in */
	if (text[at - 1] == ',')
		at--;
	text[at] = '}';
	dg_hash_hmac(key, DG_CHECKPOINT_KEY_LEN, text, at + 1, got);
	if (!same(want, got, DG_HASH_LEN))
		return DG_CHECKPOINT_BROKEN;
	*body_len = at + 1;
	return DG_CHECKPOINT_SEALED;
}
