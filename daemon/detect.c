#include "dgaudit/detect.h"

#include <string.h>

#include "dgaudit/ts.h"

static const struct {
	enum dg_detect_kind kind;
	const char *name;
} kind_names[] = {
    {DG_DETECT_CN_ID, "cn_resident_id"},
    {DG_DETECT_BANK_CARD, "bank_card"},
    {DG_DETECT_CN_MOBILE, "cn_mobile"},
    {DG_DETECT_EMAIL, "email"},
};

enum dg_detect_kind dg_detect_kind_parse(const char *name)
{
	for (size_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++)
		if (strcmp(kind_names[i].name, name) == 0)
			return kind_names[i].kind;
	return 0;
}

const char *dg_detect_kind_name(enum dg_detect_kind kind)
{
	for (size_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++)
		if (kind_names[i].kind == kind)
			return kind_names[i].name;
	return "unknown";
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* GB 11643-1999: weights 2^(17-i) mod 11, check = (12 - sum mod 11) mod 11, 10 written X. */
bool dg_detect_cn_id_valid(const char *id)
{
	static const int weight[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
	static const char check[11] = "10X98765432";
	int sum = 0;

	for (int i = 0; i < 17; i++) {
		if (!is_digit(id[i]))
			return false;
		sum += (id[i] - '0') * weight[i];
	}
	return (id[17] == 'x' ? 'X' : id[17]) == check[sum % 11];
}

/* Province codes of GB/T 2260 (first two digits) and a birth date that exists, 1900-2099. */
static bool cn_id_plausible(const char *id)
{
	static const char provinces[] = "11121314152122233132333435363741424344454650515253546162"
	                                "636465717181828391";
	unsigned y = 0, m = 0, d = 0;
	int64_t days;
	int64_t yy;
	unsigned mm, dd;
	bool known = false;

	for (size_t i = 0; i + 1 < sizeof provinces; i += 2)
		if (id[0] == provinces[i] && id[1] == provinces[i + 1])
			known = true;
	if (!known)
		return false;
	for (int i = 6; i < 10; i++)
		y = y * 10 + (unsigned)(id[i] - '0');
	m = (unsigned)(id[10] - '0') * 10 + (unsigned)(id[11] - '0');
	d = (unsigned)(id[12] - '0') * 10 + (unsigned)(id[13] - '0');
	if (y < 1900 || y > 2099 || m < 1 || m > 12 || d < 1 || d > 31)
		return false;
	days = dg_ts_days_from_civil(y, m, d);
	dg_ts_civil_from_days(days, &yy, &mm, &dd);
	return mm == m && dd == d; /* rejects 31 February and friends */
}

bool dg_detect_luhn_valid(const char *digits, size_t len)
{
	unsigned sum = 0;
	bool dbl = false;

	for (size_t i = len; i-- > 0;) {
		unsigned d = (unsigned)(digits[i] - '0');

		if (d > 9)
			return false;
		if (dbl) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
		dbl = !dbl;
	}
	return len > 0 && sum % 10 == 0;
}

/* A run of digit groups separated by single spaces or dashes (cards and phones are often
 * written "6222 0212 3456 7890"), up to MAX_GROUPS groups and MAX_DIGITS digits. */
#define MAX_GROUPS 8
#define MAX_DIGITS 64

struct run {
	char d[MAX_DIGITS]; /* the digits */
	size_t nd;
	size_t ngroups;
	size_t gchar[MAX_GROUPS + 1]; /* char offset where group g starts; [ngroups] = run end */
	size_t gdig[MAX_GROUPS + 1];  /* digit index where group g starts; [ngroups] = nd */
	size_t end;                   /* char offset just past the run */
	bool overflow;                /* more groups or digits than we hold */
};

static void digit_run(const char *s, size_t len, size_t i, struct run *r)
{
	r->nd = r->ngroups = 0;
	r->overflow = false;
	r->gchar[0] = i;
	r->gdig[0] = 0;
	r->ngroups = 1;
	while (i < len) {
		if (is_digit(s[i])) {
			if (r->nd < MAX_DIGITS)
				r->d[r->nd] = s[i];
			else
				r->overflow = true;
			r->nd++;
			i++;
		} else if ((s[i] == ' ' || s[i] == '-') && i + 1 < len && is_digit(s[i + 1])) {
			if (r->ngroups == MAX_GROUPS) {
				r->overflow = true;
				break;
			}
			r->gchar[r->ngroups] = i + 1;
			r->gdig[r->ngroups] = r->nd;
			r->ngroups++;
			i++;
		} else {
			break;
		}
	}
	r->end = i;
	r->gchar[r->ngroups] = i;
	r->gdig[r->ngroups] = r->nd;
}

/* Issuer prefixes (IIN ranges) and the lengths their schemes issue, from the schemes' published
 * ranges: a number is only a card if both fit. Lengths are a bit mask (bit n: n digits). */
#define L(n)   (1u << (n))
#define L16_19 (L(16) | L(17) | L(18) | L(19))
static const struct {
	unsigned digits; /* of the prefix */
	unsigned lo, hi; /* prefix range, inclusive */
	unsigned lengths;
} iins[] = {
    {1, 4, 4, L(13) | L(16) | L(19)}, /* Visa */
    {2, 51, 55, L(16)},               /* Mastercard */
    {4, 2221, 2720, L(16)},           /* Mastercard 2-series */
    {2, 34, 34, L(15)},               /* American Express */
    {2, 37, 37, L(15)},               /* American Express */
    {2, 62, 62, L16_19},              /* UnionPay (and Discover's 622126-622925) */
    {2, 81, 81, L16_19},              /* UnionPay */
    {2, 36, 36, L(14) | L16_19},      /* Diners Club International */
    {3, 300, 305, L16_19},            /* Diners Club */
    {2, 38, 39, L16_19},              /* Diners Club */
    {4, 6011, 6011, L16_19},          /* Discover */
    {3, 644, 649, L16_19},            /* Discover */
    {2, 65, 65, L16_19},              /* Discover, RuPay */
    {4, 3528, 3589, L16_19},          /* JCB */
    {4, 2200, 2204, L16_19},          /* Mir */
    {2, 31, 31, L(19)},               /* China T-Union */
    {2, 60, 60, L(16)},               /* RuPay */
    {2, 82, 82, L(16)},               /* RuPay */
    {4, 5018, 5018, L(12) | L16_19 | L(13) | L(14) | L(15)}, /* Maestro */
    {4, 5020, 5020, L(12) | L16_19 | L(13) | L(14) | L(15)},
    {4, 5038, 5038, L(12) | L16_19 | L(13) | L(14) | L(15)},
    {4, 5893, 5893, L(12) | L16_19 | L(13) | L(14) | L(15)},
    {4, 6304, 6304, L(12) | L16_19 | L(13) | L(14) | L(15)},
    {4, 6759, 6763, L(12) | L16_19 | L(13) | L(14) | L(15)},
    {6, 506099, 506198, L(16) | L(18) | L(19)}, /* Verve */
    {6, 650002, 650027, L(16) | L(18) | L(19)},
};

static bool is_card(const char *d, size_t nd)
{
	bool scheme = false;

	if (nd < 12 || nd > 19)
		return false;
	for (size_t i = 0; i < sizeof iins / sizeof iins[0] && !scheme; i++) {
		unsigned p = 0;

		for (unsigned k = 0; k < iins[i].digits; k++)
			p = p * 10 + (unsigned)(d[k] - '0');
		scheme = p >= iins[i].lo && p <= iins[i].hi && ((iins[i].lengths >> nd) & 1);
	}
	/* Eighteen digits with a resident id's region and birth date are an id with a wrong
	 * check digit (a typo, a test value), not one of the rare 18-digit cards. */
	return scheme && dg_detect_luhn_valid(d, nd) && !(nd == 18 && cn_id_plausible(d));
}

static bool is_mobile(const char *d, size_t nd)
{
	return (nd == 11 && d[0] == '1' && d[1] >= '3') ||
	       (nd == 13 && d[0] == '8' && d[1] == '6' && d[2] == '1' && d[3] >= '3');
}

/* The e-mail address around the '@' at s[at], not reaching back before floor (the end of the
 * previous hit: hits never overlap). */
static size_t email_at(const char *s, size_t len, size_t at, size_t floor, size_t *start)
{
	size_t b = at, e = at + 1, dots = 0;

	while (b > floor && (is_alnum(s[b - 1]) || strchr(".+-", s[b - 1]) != NULL))
		b--;
	if (b == at || s[b] == '.')
		return 0;
	while (e < len && (is_alnum(s[e]) || s[e] == '.' || s[e] == '-')) {
		if (s[e] == '.')
			dots++;
		e++;
	}
	while (e > at + 1 && s[e - 1] == '.') {
		e--;
		dots--;
	}
	if (dots == 0 || e == at + 1 || s[at + 1] == '.')
		return 0;
	*start = b;
	return e - b;
}

/* Records a hit (counting it even beyond max) and moves floor to its end. */
static void add_hit(struct dg_detect_hit *hits, size_t max, size_t *n, size_t *floor,
                    enum dg_detect_kind kind, size_t start, size_t len)
{
	if (*n < max) {
		hits[*n].kind = kind;
		hits[*n].start = start;
		hits[*n].len = len;
	}
	(*n)++;
	*floor = start + len;
}

/* Whether the identity number (17 digits and a check character) at id is real. */
static bool is_cn_id(const char *id)
{
	return dg_detect_cn_id_valid(id) && cn_id_plausible(id);
}

size_t dg_detect_scan(const char *s, size_t len, unsigned kinds, struct dg_detect_hit *hits,
                      size_t max)
{
	size_t n = 0, i = 0, floor = 0; /* hits end at or before floor */
	struct run r;

	while (i < len) {
		if ((kinds & DG_DETECT_EMAIL) && s[i] == '@') {
			size_t start, elen = email_at(s, len, i, floor, &start);

			if (elen > 0) {
				add_hit(hits, max, &n, &floor, DG_DETECT_EMAIL, start, elen);
				i = floor;
				continue;
			}
		}
		if (!is_digit(s[i])) {
			i++;
			continue;
		}
		digit_run(s, len, i, &r);
		/* Numbers must stand alone: no letter or digit glued to either end. */
		if ((i > 0 && is_alnum(s[i - 1])) || r.overflow) {
			i = r.end;
			continue;
		}
		/* Identity numbers: 17 digits and a digit or X, never grouped. */
		if ((kinds & DG_DETECT_CN_ID) && r.ngroups == 1 &&
		    ((r.nd == 18 && (r.end >= len || !is_alnum(s[r.end]))) ||
		     (r.nd == 17 && r.end < len && (s[r.end] == 'X' || s[r.end] == 'x') &&
		      (r.end + 1 >= len || !is_alnum(s[r.end + 1]))))) {
			char id[18];

			memcpy(id, r.d, 17);
			id[17] = r.nd == 18 ? r.d[17] : 'X';
			if (is_cn_id(id)) {
				add_hit(hits, max, &n, &floor, DG_DETECT_CN_ID, i,
				        r.end - i + (r.nd == 17));
				i = floor;
				continue;
			}
		}
		if (r.end < len && is_alnum(s[r.end])) {
			i = r.end;
			continue;
		}
		/* Cards and mobiles: any span of whole groups, leftmost and longest first, so a
		 * number written next to another ("4111 1111 1111 1111 123456") is still found. */
		for (size_t g = 0; g < r.ngroups; g++) {
			for (size_t h = r.ngroups; h > g; h--) {
				const char *d = r.d + r.gdig[g];
				size_t nd = r.gdig[h] - r.gdig[g];
				size_t from = r.gchar[g];
				size_t to = h == r.ngroups ? r.end : r.gchar[h] - 1;

				if ((kinds & DG_DETECT_BANK_CARD) && is_card(d, nd)) {
					add_hit(hits, max, &n, &floor, DG_DETECT_BANK_CARD, from,
					        to - from);
					g = h - 1;
					break;
				}
				if ((kinds & DG_DETECT_CN_MOBILE) && is_mobile(d, nd)) {
					add_hit(hits, max, &n, &floor, DG_DETECT_CN_MOBILE, from,
					        to - from);
					g = h - 1;
					break;
				}
			}
		}
		i = r.end;
	}
	return n;
}

/* Masks s[start..start+len) keeping the first keep_head and last keep_tail characters that
 * are digits or letters; separators stay so the shape remains readable. */
static void mask_span(const char *s, size_t len, size_t head, size_t tail, struct dg_buf *out)
{
	size_t total = 0, seen = 0;

	for (size_t i = 0; i < len; i++)
		total += is_alnum(s[i]);
	for (size_t i = 0; i < len; i++) {
		if (!is_alnum(s[i])) {
			dg_buf_addc(out, s[i]);
			continue;
		}
		dg_buf_addc(out, seen < head || seen >= total - tail ? s[i] : '*');
		seen++;
	}
}

void dg_detect_mask(const char *text, size_t len, struct dg_buf *out)
{
	struct dg_detect_hit hits[64];
	size_t n, done = 0;

	n = dg_detect_scan(text, len, DG_DETECT_ALL, hits, 64);
	if (n > 64)
		n = 64; /* beyond that many hits the rest of the text is masked wholesale below */
	for (size_t i = 0; i < n; i++) {
		const struct dg_detect_hit *h = &hits[i];
		const char *p = text + h->start;

		if (h->start < done)
			continue; /* overlaps the previous hit (scan never reports such) */
		dg_buf_add(out, text + done, h->start - done);
		switch (h->kind) {
		case DG_DETECT_CN_ID:
			mask_span(p, h->len, 3, 4, out);
			break;
		case DG_DETECT_BANK_CARD:
			mask_span(p, h->len, 6, 4, out);
			break;
		case DG_DETECT_CN_MOBILE:
			mask_span(p, h->len, h->len > 12 ? 5 : 3, 4, out);
			break;
		default: {
			const char *at = memchr(p, '@', h->len);

			dg_buf_addc(out, p[0]);
			dg_buf_adds(out, "***");
			dg_buf_add(out, at, h->len - (size_t)(at - p));
		}
		}
		done = h->start + h->len;
	}
	if (n == 64 && done < len) {
		dg_buf_adds(out, "[masked]");
		return;
	}
	dg_buf_add(out, text + done, len - done);
}
