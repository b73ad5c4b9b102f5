#include "dgaudit/register.h"

#include <stdlib.h>
#include <string.h>

#include "dgaudit/keyset.h"
#include "dgaudit/xmalloc.h"

#define MAX_VALUES 32 /* classes, categories or countries kept per recipient */
#define OTHERS     "(other recipients)"

struct values {
	char *v[MAX_VALUES];
	size_t n;
	bool more; /* some were left out */
};

struct recipient {
	struct dg_keyed k;
	int64_t records, personal;
	uint64_t events;
	struct values classes, categories, countries;
};

struct dg_register {
	char **approved;
	struct dg_keyset recipients;
	int64_t records, personal;
};

struct dg_register *dg_register_new(char *const *approved)
{
	struct dg_register *r = dg_xcalloc(1, sizeof *r);
	size_t n = 0;

	while (approved != NULL && approved[n] != NULL)
		n++;
	r->approved = dg_xcalloc(n + 1, sizeof *r->approved);
	for (size_t i = 0; i < n; i++)
		r->approved[i] = dg_xstrdup(approved[i]);
	dg_keyset_init(&r->recipients);
	return r;
}

static void values_clear(struct values *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	memset(v, 0, sizeof *v);
}

static void release(struct dg_keyed *k)
{
	struct recipient *x = (struct recipient *)k;

	values_clear(&x->classes);
	values_clear(&x->categories);
	values_clear(&x->countries);
	free(x);
}

void dg_register_free(struct dg_register *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; r->approved[i] != NULL; i++)
		free(r->approved[i]);
	free(r->approved);
	dg_keyset_clear(&r->recipients, release);
	free(r);
}

void dg_register_reset(struct dg_register *r)
{
	dg_keyset_clear(&r->recipients, release);
	dg_keyset_init(&r->recipients);
	r->records = r->personal = 0;
}

static void values_add(struct values *v, const char *p, size_t len)
{
	for (size_t i = 0; i < v->n; i++)
		if (strlen(v->v[i]) == len && memcmp(v->v[i], p, len) == 0)
			return;
	if (v->n == MAX_VALUES) {
		v->more = true;
		return;
	}
	v->v[v->n++] = dg_xstrndup(p, len);
}

static void values_field(struct values *v, const struct dg_evt *evt, int field)
{
	const struct dg_val *x = &evt->v[field];

	if (!dg_evt_has(evt, field))
		return;
	if (x->kind != DG_K_ARRAY) {
		values_add(v, x->text.p, x->text.len);
		return;
	}
	for (unsigned i = 0; i < x->nitems; i++)
		values_add(v, evt->items[x->first + i].p, evt->items[x->first + i].len);
}

static struct recipient *recipient(struct dg_register *r, const char *name, size_t len)
{
	struct recipient *x = (struct recipient *)dg_keyset_find(&r->recipients, name, len);

	if (x != NULL)
		return x;
	if (r->recipients.n >= DG_REGISTER_MAX) {
		x = (struct recipient *)dg_keyset_find(&r->recipients, OTHERS, strlen(OTHERS));
		if (x != NULL)
			return x;
		name = OTHERS;
		len = strlen(OTHERS);
	}
	x = dg_xcalloc(1, sizeof *x);
	dg_keyset_insert(&r->recipients, &x->k, name, len);
	return x;
}

void dg_register_add(struct dg_register *r, const struct dg_evt *evt)
{
	const struct dg_str *a = dg_evt_str(evt, DG_F_EVENT_ACTION),
	                    *to = dg_evt_str(evt, DG_F_RECIPIENT),
	                    *out = dg_evt_str(evt, DG_F_EVENT_OUTCOME);
	struct recipient *x;
	int64_t n = 0;
	bool personal;

	if (a == NULL || to == NULL ||
	    !((a->len == 5 && memcmp(a->p, "share", 5) == 0) ||
	      (a->len == 6 && memcmp(a->p, "export", 6) == 0)))
		return;
	if (out != NULL && out->len == 7 && memcmp(out->p, "failure", 7) == 0)
		return;
	if (!dg_evt_int(evt, DG_F_RECORDS, &n) || n < 0)
		n = 0;
	personal = dg_evt_has(evt, DG_F_CLASSIFICATION) || dg_evt_has(evt, DG_F_CATEGORIES);
	x = recipient(r, to->p, to->len);
	x->events++;
	x->records += n;
	r->records += n;
	if (personal) {
		x->personal += n;
		r->personal += n;
	}
	values_field(&x->classes, evt, DG_F_CLASSIFICATION);
	values_field(&x->categories, evt, DG_F_CATEGORIES);
	values_field(&x->countries, evt, DG_F_RECIPIENT_COUNTRY);
}

static int by_name(const void *a, const void *b)
{
	const struct recipient *x = *(struct recipient *const *)a,
	                       *y = *(struct recipient *const *)b;
	size_t n = x->k.keylen < y->k.keylen ? x->k.keylen : y->k.keylen;
	int c = memcmp(x->k.key, y->k.key, n);

	return c ? c : (x->k.keylen > y->k.keylen) - (x->k.keylen < y->k.keylen);
}

static struct dg_cjson *values_json(const struct values *v)
{
	struct dg_cjson *a = dg_cjson_array();
	char **sorted = dg_xcalloc(v->n + 1, sizeof *sorted);

	memcpy(sorted, v->v, v->n * sizeof *sorted);
	for (size_t i = 1; i < v->n; i++) /* a handful: insertion sort */
		for (size_t j = i; j > 0 && strcmp(sorted[j - 1], sorted[j]) > 0; j--) {
			char *t = sorted[j];

			sorted[j] = sorted[j - 1];
			sorted[j - 1] = t;
		}
	for (size_t i = 0; i < v->n; i++)
		dg_cjson_push(a, dg_cjson_str(sorted[i]));
	free(sorted);
	return a;
}

static bool approved(const struct dg_register *r, const struct recipient *x)
{
	for (size_t i = 0; r->approved[i] != NULL; i++)
		if (strlen(r->approved[i]) == x->k.keylen &&
		    memcmp(r->approved[i], x->k.key, x->k.keylen) == 0)
			return true;
	return false;
}

struct dg_cjson *dg_register_report(const struct dg_register *r)
{
	struct dg_cjson *o = dg_cjson_object(),
	                *list = dg_cjson_set(o, "recipients", dg_cjson_array());
	struct recipient **all = dg_xcalloc(r->recipients.n + 1, sizeof *all);
	size_t n = 0;

	for (struct dg_keyed *k = r->recipients.oldest; k != NULL; k = k->lru_next)
		all[n++] = (struct recipient *)k;
	qsort(all, n, sizeof *all, by_name);
	for (size_t i = 0; i < n; i++) {
		const struct recipient *x = all[i];
		struct dg_cjson *e = dg_cjson_push(list, dg_cjson_object());

		dg_cjson_set(e, "recipient", dg_cjson_strn(x->k.key, x->k.keylen));
		dg_cjson_set(e, "approved", dg_cjson_bool(approved(r, x)));
		dg_cjson_set(e, "events", dg_cjson_int((int64_t)x->events));
		dg_cjson_set(e, "records", dg_cjson_int(x->records));
		dg_cjson_set(e, "personal_records", dg_cjson_int(x->personal));
		/* per mille of the period's personal records shared: integers only (RFC 8785) */
		dg_cjson_set(e, "share_per_mille",
		             dg_cjson_int(r->personal > 0 ? x->personal * 1000 / r->personal : 0));
		dg_cjson_set(e, "classifications", values_json(&x->classes));
		dg_cjson_set(e, "categories", values_json(&x->categories));
		dg_cjson_set(e, "countries", values_json(&x->countries));
		if (x->classes.more || x->categories.more || x->countries.more)
			dg_cjson_set(e, "values_truncated", dg_cjson_bool(true));
	}
	dg_cjson_set(o, "records", dg_cjson_int(r->records));
	dg_cjson_set(o, "personal_records", dg_cjson_int(r->personal));
	free(all);
	return o;
}

struct dg_cjson *dg_register_save(const struct dg_register *r)
{
	return dg_register_report(r);
}

static int load_values(struct values *v, const struct dg_cjson *a)
{
	if (dg_cjson_type(a) != DG_CJSON_ARRAY)
		return -1;
	for (size_t i = 0; i < dg_cjson_len(a); i++) {
		const char *s = dg_cjson_string(dg_cjson_at(a, i));

		if (s == NULL)
			return -1;
		values_add(v, s, strlen(s));
	}
	return 0;
}

int dg_register_load(struct dg_register *r, const struct dg_cjson *state)
{
	const struct dg_cjson *list = dg_cjson_get(state, "recipients");

	if (dg_cjson_type(list) != DG_CJSON_ARRAY ||
	    !dg_cjson_intval(dg_cjson_get(state, "records"), &r->records) ||
	    !dg_cjson_intval(dg_cjson_get(state, "personal_records"), &r->personal))
		return -1;
	for (size_t i = 0; i < dg_cjson_len(list); i++) {
		const struct dg_cjson *e = dg_cjson_at(list, i);
		const char *name = dg_cjson_string(dg_cjson_get(e, "recipient"));
		struct recipient *x;
		int64_t events;

		if (name == NULL)
			return -1;
		x = recipient(r, name, strlen(name));
		if (!dg_cjson_intval(dg_cjson_get(e, "events"), &events) || events < 0 ||
		    !dg_cjson_intval(dg_cjson_get(e, "records"), &x->records) ||
		    !dg_cjson_intval(dg_cjson_get(e, "personal_records"), &x->personal) ||
		    load_values(&x->classes, dg_cjson_get(e, "classifications")) != 0 ||
		    load_values(&x->categories, dg_cjson_get(e, "categories")) != 0 ||
		    load_values(&x->countries, dg_cjson_get(e, "countries")) != 0)
			return -1;
		x->events = (uint64_t)events;
	}
	return 0;
}
