/* Generates realistic data-access events as JSON lines (ECS / dgaudit event model) for the
 * benchmark and the bundled samples. Deterministic for a seed. Normal traffic is compliant with
 * the sample site's configuration (conf/dgaudit.conf); violations are injected as scenarios, and
 * --manifest writes how many findings each rule must report, so a test can hold dgaudit to it.
 *
 *   dg_gen COUNT [--seed N] [--violations PER_MILLE] [--malformed N] [--dotted]
 *          [--start RFC3339] [--step-ms N] [--round-robin] [--manifest FILE]
 *
 * --round-robin cycles through the violation kinds instead of drawing them, so that a small
 * sample holds examples of every rule.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static unsigned pick(unsigned n)
{
	return (unsigned)(rnd() % n);
}

enum rule {
	R_NO_BASIS,
	R_UNAPPROVED,
	R_CROSS_BORDER,
	R_BULK_EXPORT,
	R_HARVEST,
	R_LOGIN,
	R_TAMPER,
	R_PAN,
	R_PRIV_BULK,
	R_ID,
	R_COUNT
};

static const char *const rule_ids[R_COUNT] = {
    "PIPL-SENSITIVE-NO-BASIS",
    "PIPL-UNAPPROVED-RECIPIENT",
    "PIPL-CROSS-BORDER",
    "PIPL-BULK-EXPORT",
    "PIPL-HARVEST",
    "PCI-LOGIN-AFTER-FAILURES",
    "PCI-AUDIT-TRAIL-TAMPERING",
    "PCI-PAN-IN-LOG",
    "JRT-PRIVILEGED-BULK-READ",
    "JRT-ID-NUMBER-IN-LOG",
};

static unsigned long long expected[R_COUNT];
/* When each user last had each threshold scenario: a second one within the rule's window
 * joins the first's burst (see window.h), so it is not another finding. */
static int64_t last_scenario[R_COUNT][256];
/* A bulk export is of C2 data: JR/T 0171's C2 rule counts it too, over a day. */
static unsigned long long expected_c2;
static int64_t last_c2[256];

struct object {
	const char *name, *cls;
};

static const struct object objects[] = {
    {"core.customers", "C3"},    {"core.cards", "C3"},        {"biometrics.face_templates", "C3"},
    {"core.transactions", "C2"}, {"loan.applications", "C2"}, {"marketing.segments", "C1"},
};
#define NOBJ (sizeof objects / sizeof objects[0])

static const struct object audit_log = {"audit.access_log", "C1"};

static const char *const services[] = {"core-banking", "crm", "loan-origination", "card-portal",
                                       "mobile-api"};
static const char *const purposes[] = {"servicing", "loan-review", "fraud-check", "complaint",
                                       "kyc"};
static const char *const approved[] = {"UnionPay", "PBOC-Credit-Reference-Center",
                                       "Ping-An-Insurance"};

#define NUSERS 200
#define NPRIV  6 /* the first users are DBAs and administrators */

static int64_t now_ms;
static int64_t step_ms = 100;
static bool dotted, round_robin;
static unsigned next_kind;
static FILE *out;
static long emitted;

static void ts(char *buf, int64_t ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	snprintf(buf + strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm), 16, ".%03dZ", (int)(ms % 1000));
}

static void user(char *buf, unsigned u)
{
	snprintf(buf, 32, u < NPRIV ? "dba%02u" : "emp%04u", u);
}

struct evt {
	unsigned user;
	const char *action, *outcome, *service;
	const struct object *obj;
	long records;
	bool consent, purpose;
	const char *recipient, *country;
	char subject[16];
	char query[160];
	char message[160];
};

/* Writes one event in the nested ECS form, or dotted keys with --dotted. */
static void emit(const struct evt *e)
{
	char t[40], u[32], ip[24];
	const char *roles = e->user < 3       ? "[\"dba\"]"
	                    : e->user < NPRIV ? "[\"admin\"]"
	                                      : "[\"teller\",\"staff\"]";

	now_ms += 1 + (int64_t)pick((unsigned)(2 * step_ms));
	/* The bank works 08:00-22:00 Beijing time (UTC+8): its staff do not work nights, so the
	 * clock skips from 22:00 to 08:00 the next day, and office-hours rules stay quiet. */
	if ((now_ms / 3600000 + 8) % 24 >= 22)
		now_ms += 10 * 3600000;
	ts(t, now_ms);
	user(u, e->user);
	snprintf(ip, sizeof ip, "10.%u.%u.%u", 20 + e->user % 8, e->user % 250, 10 + e->user % 200);
	if (dotted) {
		fprintf(out,
		        "{\"@timestamp\":\"%s\",\"host.name\":\"app%02u\","
		        "\"service.name\":\"%s\",\"user.name\":\"%s\",\"user.roles\":%s,"
		        "\"source.ip\":\"%s\",\"event.action\":\"%s\",\"event.outcome\":\"%s\"",
		        t, e->user % 12, e->service, u, roles, ip, e->action, e->outcome);
	} else {
		fprintf(
		    out,
		    "{\"@timestamp\":\"%s\",\"host\":{\"name\":\"app%02u\"},"
		    "\"service\":{\"name\":\"%s\"},\"user\":{\"name\":\"%s\",\"roles\":%s},"
		    "\"source\":{\"ip\":\"%s\"},\"event\":{\"action\":\"%s\",\"outcome\":\"%s\"}",
		    t, e->user % 12, e->service, u, roles, ip, e->action, e->outcome);
	}
	/* Categories come from the asset catalogue, as they would for most applications. */
	if (e->obj != NULL)
		fprintf(out,
		        dotted ? ",\"dg.object\":\"%s\",\"dg.classification\":\"%s\","
		                 "\"dg.records\":%ld"
		               : ",\"dg\":{\"object\":\"%s\",\"classification\":\"%s\","
		                 "\"records\":%ld",
		        e->obj->name, e->obj->cls, e->records);
	else if (!dotted)
		fprintf(out, ",\"dg\":{\"records\":0");
	if (e->subject[0])
		fprintf(out, dotted ? ",\"dg.subject_id\":\"%s\"" : ",\"subject_id\":\"%s\"",
		        e->subject);
	if (e->purpose)
		fprintf(out, dotted ? ",\"dg.purpose\":\"%s\"" : ",\"purpose\":\"%s\"",
		        purposes[pick(5)]);
	if (e->consent)
		fprintf(out,
		        dotted ? ",\"dg.consent_id\":\"CNS-%06u\"" : ",\"consent_id\":\"CNS-%06u\"",
		        pick(1000000));
	if (e->recipient)
		fprintf(out, dotted ? ",\"dg.recipient\":\"%s\"" : ",\"recipient\":\"%s\"",
		        e->recipient);
	if (e->country)
		fprintf(out,
		        dotted ? ",\"dg.recipient_country\":\"%s\""
		               : ",\"recipient_country\":\"%s\"",
		        e->country);
	if (!dotted)
		fputc('}', out);
	if (e->query[0])
		fprintf(out,
		        dotted ? ",\"db.query.text\":\"%s\""
		               : ",\"db\":{\"query\":{\"text\":\"%s\"}}",
		        e->query);
	if (e->message[0])
		fprintf(out, ",\"message\":\"%s\"", e->message);
	fputs("}\n", out);
	emitted++;
}

static void subject(struct evt *e)
{
	snprintf(e->subject, sizeof e->subject, "C%07u", pick(5000000));
}

/* Ordinary, compliant work. */
static void normal(void)
{
	struct evt e = {.user = NPRIV + pick(NUSERS - NPRIV), .outcome = "success"};
	unsigned r = pick(100);

	e.service = services[pick(5)];
	if (r < 5) {
		e.action = "login";
		e.outcome = pick(100) < 3 ? "failure" : "success";
	} else if (r < 8) {
		e.user = pick(NPRIV); /* administrators do administration */
		e.action = pick(2) ? "ddl" : "admin";
		e.obj = &objects[5];
		e.records = 0;
		snprintf(e.query, sizeof e.query,
		         "ALTER TABLE marketing.segments ADD COLUMN c%u text", pick(100));
	} else if (r < 10) {
		e.action = "share";
		e.obj = &objects[3 + pick(2)];
		e.records = 1 + pick(20);
		e.consent = e.purpose = true;
		e.recipient = approved[pick(3)];
		e.country = "CN";
	} else if (r < 13) {
		e.action = "export";
		e.obj = &objects[3 + pick(3)];
		e.records = 1 + pick(50);
		e.consent = e.purpose = true;
	} else if (r < 25) {
		e.action = "write";
		e.obj = &objects[pick(NOBJ)];
		e.records = 1;
		subject(&e);
		e.consent = e.purpose = true;
	} else {
		e.action = "read";
		e.obj = &objects[pick(NOBJ)];
		e.records = 1 + (pick(10) == 0 ? pick(20) : 0);
		subject(&e);
		e.consent = e.purpose = true;
		if (pick(10) == 0)
			snprintf(e.query, sizeof e.query,
			         "SELECT name, phone FROM %s WHERE customer_id = $1", e.obj->name);
	}
	emit(&e);
}

/* A resident id with a valid GB 11643 check digit. */
static void make_id(char *buf)
{
	static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
	int sum = 0;

	snprintf(buf, 19, "110105%04u%02u%02u%03u", 1950 + pick(50), 1 + pick(12), 1 + pick(28),
	         pick(1000));
	for (int i = 0; i < 17; i++)
		sum += (buf[i] - '0') * w[i];
	buf[17] = "10X98765432"[sum % 11];
	buf[18] = '\0';
}

/* A card number with a valid Luhn digit (UnionPay 62 prefix). */
static void make_card(char *buf)
{
	int sum = 0;

	snprintf(buf, 17, "6222%011u", pick(2000000000));
	for (int i = 14, dbl = 1; i >= 0; i--, dbl = !dbl) {
		int d = (buf[i] - '0') * (dbl ? 2 : 1);

		sum += d > 9 ? d - 9 : d;
	}
	buf[15] = (char)('0' + (10 - sum % 10) % 10);
	buf[16] = '\0';
}

static void violation(void)
{
	struct evt e = {.user = NPRIV + pick(NUSERS - NPRIV),
	                .outcome = "success",
	                .service = services[pick(5)]};
	char num[20];
	unsigned kind = round_robin ? next_kind++ % R_COUNT : pick(R_COUNT);

	switch (kind) {
	case R_NO_BASIS:
		e.action = "read";
		e.obj = &objects[pick(3)];
		e.records = 1;
		subject(&e);
		e.purpose = pick(2);
		e.consent = !e.purpose;
		emit(&e);
		break;
	case R_UNAPPROVED:
		e.action = "share";
		e.obj = &objects[3];
		e.records = 5 + pick(50);
		e.consent = e.purpose = true;
		e.recipient = "Data-Broker-Ltd";
		e.country = "CN";
		emit(&e);
		break;
	case R_CROSS_BORDER:
		e.action = "share";
		e.obj = &objects[4];
		e.records = 5 + pick(50);
		e.consent = e.purpose = true;
		e.recipient = approved[pick(3)];
		e.country = pick(2) ? "US" : "SG";
		emit(&e);
		break;
	case R_BULK_EXPORT: /* split into many small exports */
		for (int i = 0; i < 12; i++) {
			e.action = "export";
			e.obj = &objects[3];
			e.records = 900;
			e.consent = e.purpose = true;
			emit(&e);
		}
		break;
	case R_HARVEST:
		for (int i = 0; i < 200; i++) {
			e.action = "read";
			e.obj = &objects[0];
			e.records = 1;
			e.consent = e.purpose = true;
			snprintf(e.subject, sizeof e.subject, "H%07u", pick(10000000));
			emit(&e);
		}
		break;
	case R_LOGIN:
		for (int i = 0; i < 6; i++) {
			e.action = "login";
			e.outcome = "failure";
			emit(&e);
		}
		e.outcome = "success";
		emit(&e);
		break;
	case R_TAMPER:
		e.user = pick(NPRIV);
		if (pick(2)) {
			e.action = "delete";
			e.obj = &audit_log;
			e.records = 100 + pick(1000);
			snprintf(
			    e.query, sizeof e.query,
			    "DELETE FROM audit.access_log WHERE ts < now() - interval '1 day'");
		} else {
			e.action = "admin";
			snprintf(e.message, sizeof e.message,
			         "audit logging disabled by operator on %s", e.service);
		}
		emit(&e);
		break;
	case R_PAN:
		e.action = "write";
		e.obj = &objects[1];
		e.records = 1;
		e.consent = e.purpose = true;
		make_card(num);
		snprintf(e.message, sizeof e.message, "payment declined for card %s", num);
		emit(&e);
		break;
	case R_PRIV_BULK:
		e.user = pick(3);
		for (int i = 0; i < 3; i++) {
			e.action = "read";
			e.obj = &objects[0];
			e.records = 400;
			e.consent = e.purpose = true;
			emit(&e);
		}
		break;
	case R_ID:
		e.action = "read";
		e.obj = &objects[0];
		e.records = 1;
		e.consent = e.purpose = true;
		make_id(num);
		snprintf(e.query, sizeof e.query,
		         "SELECT * FROM core.customers WHERE id_number = '%s'", num);
		emit(&e);
		break;
	}
	if (kind == R_BULK_EXPORT) {
		int64_t *last = &last_c2[e.user & 255];

		if (*last == 0 || now_ms - *last >= 86400 * 1000)
			expected_c2++;
		*last = now_ms;
	}
	if (kind == R_BULK_EXPORT || kind == R_HARVEST || kind == R_PRIV_BULK) {
		int64_t *last = &last_scenario[kind][e.user & 255];

		if (*last == 0 || now_ms - *last >= 3600 * 1000) /* the packs' default windows */
			expected[kind]++;
		*last = now_ms;
		return;
	}
	expected[kind]++;
}

/* A few records any real log has: truncated, missing time, not UTF-8. */
static void malformed(unsigned i)
{
	switch (i % 3) {
	case 0:
		fprintf(
		    out,
		    "{\"@timestamp\":\"2026-11-02T01:00:00Z\",\"user\":{\"name\":\"emp0100\"\n");
		break;
	case 1:
		fprintf(out, "{\"user.name\":\"emp0101\",\"event.action\":\"read\"}\n");
		break;
	case 2:
		fprintf(out, "{\"@timestamp\":\"2026-11-02T01:00:00Z\",\"message\":\"caf\xe9\"}\n");
		break;
	}
}

int main(int argc, char **argv)
{
	long count, per_mille = 10, nmalformed = 0, total_malformed;
	unsigned long next_malformed;
	const char *manifest = NULL;
	struct tm tm = {0};

	if (argc < 2 || (count = atol(argv[1])) <= 0) {
		fprintf(stderr, "usage: dg_gen COUNT [--seed N] [--violations PER_MILLE] "
		                "[--malformed N] [--dotted] [--start YYYY-MM-DDTHH:MM:SSZ] "
		                "[--step-ms N] [--manifest FILE]\n");
		return 2;
	}
	rng_state = 0x9e3779b97f4a7c15ULL;
	strptime("2026-11-02T00:00:00Z", "%Y-%m-%dT%H:%M:%SZ", &tm);
	for (int i = 2; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : "";

		if (strcmp(argv[i], "--seed") == 0)
			rng_state ^= strtoull(v, NULL, 10) * 0x2545F4914F6CDD1DULL, i++;
		else if (strcmp(argv[i], "--violations") == 0)
			per_mille = atol(v), i++;
		else if (strcmp(argv[i], "--malformed") == 0)
			nmalformed = atol(v), i++;
		else if (strcmp(argv[i], "--dotted") == 0)
			dotted = true;
		else if (strcmp(argv[i], "--round-robin") == 0)
			round_robin = true;
		else if (strcmp(argv[i], "--start") == 0)
			strptime(v, "%Y-%m-%dT%H:%M:%SZ", &tm), i++;
		else if (strcmp(argv[i], "--step-ms") == 0)
			step_ms = atol(v), i++;
		else if (strcmp(argv[i], "--manifest") == 0)
			manifest = v, i++;
	}
	now_ms = (int64_t)timegm(&tm) * 1000;
	total_malformed = nmalformed;
	next_malformed = (unsigned long)(count / (nmalformed + 1));
	out = stdout;
	setvbuf(out, NULL, _IOFBF, 1 << 20);
	/* Scenarios are kept apart by a little ordinary traffic. */
	for (long quiet = 0; emitted < count;) {
		if (quiet == 0 && (long)pick(1000) < per_mille) {
			violation();
			quiet = 20;
		} else {
			normal();
			if (quiet > 0)
				quiet--;
		}
		/* Malformed records at even intervals, each counted once. */
		if (nmalformed > 0 && emitted >= (long)next_malformed) {
			malformed((unsigned)nmalformed);
			nmalformed--;
			next_malformed += (unsigned long)(count / (total_malformed + 1));
		}
	}
	if (fflush(out) != 0)
		return 1;
	if (manifest != NULL) {
		FILE *m = fopen(manifest, "w");

		if (m == NULL)
			return 1;
		for (int r = 0; r < R_COUNT; r++)
			fprintf(m, "%s %llu\n", rule_ids[r], expected[r]);
		fprintf(m, "JRT-C2-BULK-EXPORT %llu\n", expected_c2);
		/* the identity number scenario selects every column of a C3 table */
		fprintf(m, "DB-SELECT-STAR-SENSITIVE %llu\n", expected[R_ID]);
		fclose(m);
	}
	return 0;
}
