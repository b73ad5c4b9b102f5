#include "dgaudit/linuxaudit.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/ip.h"
#include "dgaudit/ts.h"
#include "dgaudit/xmalloc.h"

#define ARENA     8192 /* text an event's records keep */
#define MAX_PATHS 4

enum kind { K_NONE, K_SYSCALL, K_CONFIG, K_DAEMON, K_LOGIN, K_ACCOUNT };

/* The fields of one event's records that the event model needs, copied out of them. */
struct held {
	bool open;
	uint64_t serial;
	int64_t ts_ms;
	struct dg_ref ref;
	enum kind kind;
	struct dg_str type, ts, node;
	struct dg_str syscall, syscall_name, success, a1, a2, arch, auid, uid, auid_name, uid_name,
	    comm, exe, key, cwd;
	struct dg_str op, res, acct, addr, audit_enabled, audit_pid, id;
	struct {
		struct dg_str name, nametype;
	} paths[MAX_PATHS];
	unsigned npaths;
	char arena[ARENA];
	size_t used;
	char path[1024];
	char message[256];
};

struct dg_linuxaudit {
	struct held h[2];
	unsigned cur;  /* the event being assembled */
	bool released; /* h[cur ^ 1] is complete and not yet taken */
	struct dg_ref where;
	char why[128];
};

struct dg_linuxaudit *dg_linuxaudit_new(void)
{
	return dg_xcalloc(1, sizeof(struct dg_linuxaudit));
}

void dg_linuxaudit_free(struct dg_linuxaudit *p)
{
	free(p);
}

void dg_linuxaudit_where(struct dg_linuxaudit *p, const struct dg_ref *ref)
{
	p->where = *ref;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	                              : -1;
}

/* Copies a value into the event's arena; auditd writes a string holding a space, a quote or
 * a control byte as unquoted hex, which is decoded. */
static struct dg_str keep(struct held *h, const char *v, size_t len, bool hex)
{
	struct dg_str out = {h->arena + h->used, 0};

	if (hex && len % 2 == 0 && len > 0) {
		for (size_t i = 0; i < len; i++)
			if (hexval(v[i]) < 0)
				hex = false;
	} else {
		hex = false;
	}
	if (h->used + len > ARENA)
		return (struct dg_str){"", 0};
	if (hex) {
		for (size_t i = 0; i < len; i += 2)
			h->arena[h->used + out.len++] =
			    (char)(hexval(v[i]) * 16 + hexval(v[i + 1]));
	} else {
		memcpy(h->arena + h->used, v, len);
		out.len = len;
	}
	h->used += out.len;
	return out;
}

static bool record_is(const struct dg_str *type, const char *const *names)
{
	for (size_t i = 0; names[i] != NULL; i++)
		if (dg_str_is(type, names[i]))
			return true;
	return false;
}

static const char *const login_types[] = {"USER_AUTH", "USER_LOGIN", NULL};
static const char *const account_types[] = {
    "ADD_USER",    "DEL_USER",    "ADD_GROUP",      "DEL_GROUP", "USER_MGMT", "GRP_MGMT",
    "ROLE_ASSIGN", "ROLE_REMOVE", "USER_CHAUTHTOK", "CHUSER_ID", "CHGRP_ID",  NULL};

/* Where a key's value goes in struct held. */
struct slot {
	const char *key;
	size_t off;
	bool text; /* may be hex-encoded */
};

static const struct slot *lookup(const struct slot *t, size_t n, const struct dg_str *k)
{
	for (size_t i = 0; i < n; i++)
		if (dg_str_is(k, t[i].key))
			return &t[i];
	return NULL;
}

/* One key=value of a record of type type. */
static void field(struct held *h, const struct dg_str *type, const struct dg_str *k, const char *v,
                  size_t vlen, bool quoted)
{
	static const struct slot common[] = {
	    {"auid", offsetof(struct held, auid), false},
	    {"uid", offsetof(struct held, uid), false},
	    {"AUID", offsetof(struct held, auid_name), false},
	    {"UID", offsetof(struct held, uid_name), false},
	    {"res", offsetof(struct held, res), false},
	    {"op", offsetof(struct held, op), false},
	    {"key", offsetof(struct held, key), true},
	    {"acct", offsetof(struct held, acct), true},
	    {"addr", offsetof(struct held, addr), false},
	    {"id", offsetof(struct held, id), false},
	    {"audit_enabled", offsetof(struct held, audit_enabled), false},
	    {"audit_pid", offsetof(struct held, audit_pid), false},
	};
	static const struct slot syscall[] = {
	    {"syscall", offsetof(struct held, syscall), false},
	    {"SYSCALL", offsetof(struct held, syscall_name), false},
	    {"success", offsetof(struct held, success), false},
	    {"a1", offsetof(struct held, a1), false},
	    {"a2", offsetof(struct held, a2), false},
	    {"arch", offsetof(struct held, arch), false},
	    {"comm", offsetof(struct held, comm), true},
	    {"exe", offsetof(struct held, exe), true},
	};
	const bool hex = !quoted;
	const struct slot *f;

	if (dg_str_is(type, "PATH")) {
		if (dg_str_is(k, "item") && h->npaths < MAX_PATHS) {
			h->paths[h->npaths].name = h->paths[h->npaths].nametype =
			    (struct dg_str){"", 0};
			h->npaths++;
		} else if (h->npaths > 0 && dg_str_is(k, "name"))
			h->paths[h->npaths - 1].name = keep(h, v, vlen, hex);
		else if (h->npaths > 0 && dg_str_is(k, "nametype"))
			h->paths[h->npaths - 1].nametype = keep(h, v, vlen, false);
		return;
	}
	if (dg_str_is(type, "CWD")) {
		if (dg_str_is(k, "cwd"))
			h->cwd = keep(h, v, vlen, hex);
		return;
	}
	if (dg_str_is(type, "SYSCALL") &&
	    (f = lookup(syscall, sizeof syscall / sizeof syscall[0], k)) != NULL) {
		*(struct dg_str *)((char *)h + f->off) = keep(h, v, vlen, f->text && hex);
		return;
	}
	/* the first record that names them (the SYSCALL of a CONFIG_CHANGE repeats them) */
	if ((f = lookup(common, sizeof common / sizeof common[0], k)) != NULL) {
		struct dg_str *dst = (struct dg_str *)((char *)h + f->off);

		if (dst->len == 0)
			*dst = keep(h, v, vlen, f->text && hex);
	}
}

/* The key=value pairs of s; msg='...' of user-space records holds more of them, and the
 * ENRICHED part after a 0x1d byte the names of ids. */
static void fields(struct held *h, const struct dg_str *type, const char *s, const char *end)
{
	while (s < end) {
		const char *k = s, *eq, *v;
		struct dg_str key;
		bool quoted = false;

		while (s < end && (*s == ' ' || *s == '\x1d'))
			s++;
		k = s;
		while (s < end && *s != '=' && *s != ' ' && *s != '\x1d')
			s++;
		if (s >= end || *s != '=')
			continue;
		eq = s;
		key = (struct dg_str){k, (size_t)(eq - k)};
		v = ++s;
		if (s < end && *s == '\'') { /* msg='op=... acct="x" res=success' */
			const char *q = memchr(s + 1, '\'', (size_t)(end - s - 1));

			fields(h, type, s + 1, q ? q : end);
			s = q ? q + 1 : end;
			continue;
		}
		if (s < end && *s == '"') {
			const char *q = memchr(s + 1, '"', (size_t)(end - s - 1));

			v = s + 1;
			s = q ? q : end;
			quoted = true;
		} else {
			while (s < end && *s != ' ' && *s != '\x1d')
				s++;
		}
		field(h, type, &key, v, (size_t)(s - v), quoted);
		if (quoted && s < end)
			s++;
	}
}

bool dg_linuxaudit_looks(const char *line, size_t len)
{
	const struct dg_str s = {line, len};

	return (dg_str_starts(&s, "type=") || dg_str_starts(&s, "node=")) &&
	       memmem(line, len, " msg=audit(", 11) != NULL;
}

static void open_event(struct dg_linuxaudit *p, struct held *h, uint64_t serial, int64_t ms,
                       const char *ts, size_t ts_len, struct dg_str node)
{
	memset(h, 0, offsetof(struct held, arena));
	h->used = 0;
	h->open = true;
	h->serial = serial;
	h->ts_ms = ms;
	h->ref = p->where;
	h->ts = keep(h, ts, ts_len, false);
	h->node = keep(h, node.p, node.len, false);
}

int dg_linuxaudit_parse(struct dg_linuxaudit *p, const char *rec, size_t len, const char **why)
{
	const char *s = rec, *end = rec + len, *t, *colon, *close;
	struct dg_str type, node = {"", 0};
	uint64_t sec, ms = 0, serial;
	struct held *h;

	p->released = false;
	if (len >= 5 && memcmp(s, "node=", 5) == 0) {
		const char *sp = memchr(s, ' ', len);

		if (sp == NULL)
			goto bad;
		node = (struct dg_str){s + 5, (size_t)(sp - s - 5)};
		s = sp + 1;
	}
	if (end - s < 5 || memcmp(s, "type=", 5) != 0)
		goto bad;
	t = memchr(s, ' ', (size_t)(end - s));
	if (t == NULL || end - t < 11 || memcmp(t, " msg=audit(", 11) != 0)
		goto bad;
	type = (struct dg_str){s + 5, (size_t)(t - s - 5)};
	s = t + 11;
	colon = memchr(s, ':', (size_t)(end - s));
	close = colon ? memchr(colon, ')', (size_t)(end - colon)) : NULL;
	if (close == NULL || close + 1 >= end || close[1] != ':')
		goto bad;
	{
		const char *dot = memchr(s, '.', (size_t)(colon - s));

		if (!dg_ts_uint(s, (size_t)((dot ? dot : colon) - s), &sec) ||
		    sec > 100000000000ULL ||
		    (dot && !dg_ts_uint(dot + 1, (size_t)(colon - dot - 1), &ms)) ||
		    !dg_ts_uint(colon + 1, (size_t)(close - colon - 1), &serial))
			goto bad;
		if (dot && colon - dot - 1 > 3) /* more digits than milliseconds */
			for (ptrdiff_t i = colon - dot - 1; i > 3; i--)
				ms /= 10;
	}
	h = &p->h[p->cur];
	if (!h->open || h->serial != serial) {
		if (h->open) {
			p->cur ^= 1;
			p->released = true;
			h = &p->h[p->cur];
		}
		open_event(p, h, serial, (int64_t)(sec * 1000 + ms), t + 11,
		           (size_t)(colon - (t + 11)), node);
	}
	if (dg_str_is(&type, "CONFIG_CHANGE"))
		h->kind = K_CONFIG;
	else if (dg_str_is(&type, "SYSCALL") && h->kind == K_NONE)
		h->kind = K_SYSCALL;
	else if (dg_str_starts(&type, "DAEMON_") && h->kind == K_NONE)
		h->kind = K_DAEMON;
	else if (record_is(&type, login_types) && h->kind == K_NONE)
		h->kind = K_LOGIN;
	else if (record_is(&type, account_types) && h->kind == K_NONE)
		h->kind = K_ACCOUNT;
	if (h->type.len == 0 || dg_str_is(&type, "CONFIG_CHANGE"))
		h->type = keep(h, type.p, type.len, false);
	fields(h, &type, close + 2, end);
	return 0;
bad:
	*why = "linux-audit: not a record of the form type=T msg=audit(SECONDS.MS:SERIAL): ...";
	return -1;
}

void dg_linuxaudit_settle(struct dg_linuxaudit *p)
{
	if (p->h[p->cur].open) {
		p->cur ^= 1;
		p->released = true;
		p->h[p->cur].open = false;
	}
}

static const struct {
	unsigned nr;
	const char *name;
} x86_64[] = {
    {2, "open"},        {257, "openat"},    {437, "openat2"},  {85, "creat"},     {76, "truncate"},
    {77, "ftruncate"},  {87, "unlink"},     {263, "unlinkat"}, {82, "rename"},    {264, "renameat"},
    {316, "renameat2"}, {84, "rmdir"},      {90, "chmod"},     {91, "fchmod"},    {268, "fchmodat"},
    {92, "chown"},      {93, "fchown"},     {94, "lchown"},    {260, "fchownat"}, {188, "setxattr"},
    {189, "lsetxattr"}, {190, "fsetxattr"}, {59, "execve"},    {86, "link"},      {265, "linkat"},
    {88, "symlink"},    {266, "symlinkat"}, {83, "mkdir"},     {258, "mkdirat"},
};

static uint64_t hexnum(const struct dg_str *s)
{
	uint64_t v = 0;

	for (size_t i = 0; i < s->len && i < 16; i++) {
		int d = hexval(s->p[i]);

		if (d < 0)
			return 0;
		v = v * 16 + (uint64_t)d;
	}
	return v;
}

/* The syscall's name: ENRICHED says it, else the x86_64 number does. */
static const char *syscall_name(const struct held *h)
{
	static char name[32];
	uint64_t nr;

	if (h->syscall_name.len > 0 && h->syscall_name.len < sizeof name) {
		memcpy(name, h->syscall_name.p, h->syscall_name.len);
		name[h->syscall_name.len] = '\0';
		return name;
	}
	if (dg_str_is(&h->arch, "c000003e") && dg_ts_uint(h->syscall.p, h->syscall.len, &nr))
		for (size_t i = 0; i < sizeof x86_64 / sizeof x86_64[0]; i++)
			if (x86_64[i].nr == nr)
				return x86_64[i].name;
	return NULL;
}

/* What a syscall did to the file: open flags (O_ACCMODE, O_CREAT, O_TRUNC) tell a read from
 * a write; an unknown syscall goes by what the kernel says of the path. */
static const char *file_action(const struct held *h, const char *sc, const struct dg_str *nametype)
{
	static const char *const writes[] = {
	    "creat",  "truncate", "ftruncate", "rename", "renameat", "renameat2", "link",
	    "linkat", "symlink",  "symlinkat", "mkdir",  "mkdirat",  NULL};
	static const char *const deletes[] = {"unlink", "unlinkat", "rmdir", NULL};
	static const char *const attrs[] = {"chmod",     "fchmod",    "fchmodat", "chown",
	                                    "fchown",    "lchown",    "fchownat", "setxattr",
	                                    "lsetxattr", "fsetxattr", NULL};

	if (sc != NULL && (strcmp(sc, "open") == 0 || strcmp(sc, "openat") == 0)) {
		uint64_t flags = hexnum(strcmp(sc, "open") == 0 ? &h->a1 : &h->a2);

		return (flags & 3) != 0 || (flags & 0x240) != 0 ? "write" : "read";
	}
	for (size_t i = 0; sc != NULL && writes[i] != NULL; i++)
		if (strcmp(sc, writes[i]) == 0)
			return "write";
	for (size_t i = 0; sc != NULL && deletes[i] != NULL; i++)
		if (strcmp(sc, deletes[i]) == 0)
			return "delete";
	for (size_t i = 0; sc != NULL && attrs[i] != NULL; i++)
		if (strcmp(sc, attrs[i]) == 0)
			return "admin";
	if (dg_str_is(nametype, "DELETE"))
		return "delete";
	if (dg_str_is(nametype, "CREATE"))
		return "write";
	return "read";
}

static bool unset_id(const struct dg_str *s)
{
	return s->len == 0 || dg_str_is(s, "4294967295") || dg_str_is(s, "-1") ||
	       dg_str_is(s, "unset");
}

/* Who: the login user (auid) where there is one, else the uid; ENRICHED names them. */
static void who(const struct held *h, struct dg_evt *evt)
{
	const struct dg_str *login = !unset_id(&h->auid_name) ? &h->auid_name
	                             : !unset_id(&h->auid)    ? &h->auid
	                                                      : NULL;
	const struct dg_str *as = h->uid_name.len > 0 ? &h->uid_name : &h->uid;

	if (login != NULL) {
		dg_evt_set(evt, DG_F_USER_NAME, login->p, login->len);
		if (as->len > 0 &&
		    !(as->len == login->len && memcmp(as->p, login->p, as->len) == 0))
			dg_evt_set(evt, DG_F_USER_EFFECTIVE, as->p, as->len);
	} else {
		dg_evt_set(evt, DG_F_USER_NAME, as->p, as->len);
	}
}

static bool succeeded(const struct dg_str *s)
{
	return dg_str_is(s, "yes") || dg_str_is(s, "success") || dg_str_is(s, "1");
}

static bool syscall_event(struct held *h, struct dg_evt *evt)
{
	const char *sc = syscall_name(h);
	const struct dg_str *name = NULL, *nametype = NULL;
	size_t n = 0;

	for (unsigned i = 0; i < h->npaths && name == NULL; i++)
		if (h->paths[i].name.len > 0 && !dg_str_is(&h->paths[i].nametype, "PARENT")) {
			name = &h->paths[i].name;
			nametype = &h->paths[i].nametype;
		}
	if (name == NULL)
		return false; /* a watched syscall on no path (a socket): nothing of data */
	if (name->p[0] != '/' && h->cwd.len > 0) {
		n = (size_t)snprintf(h->path, sizeof h->path, "%.*s/%.*s", (int)h->cwd.len,
		                     h->cwd.p, (int)name->len, name->p);
		if (n >= sizeof h->path)
			n = 0;
	}
	if (n == 0) {
		n = name->len < sizeof h->path ? name->len : sizeof h->path - 1;
		memcpy(h->path, name->p, n);
	}
	dg_evt_set(evt, DG_F_FILE_PATH, h->path, n);
	dg_evt_set(evt, DG_F_OBJECT, h->path, n);
	dg_evt_add_object(evt, h->path, n, file_action(h, sc, nametype), 0);
	dg_evt_set(evt, DG_F_EVENT_ACTION, evt->objects[0].action, strlen(evt->objects[0].action));
	dg_evt_set(evt, DG_F_EVENT_OUTCOME, succeeded(&h->success) ? "success" : "failure", 7);
	n = (size_t)snprintf(h->message, sizeof h->message, "%s by %.*s", sc ? sc : "syscall",
	                     (int)(h->exe.len ? h->exe.len : h->comm.len),
	                     h->exe.len ? h->exe.p : h->comm.p);
	dg_evt_set(evt, DG_F_MESSAGE, h->message,
	           n < sizeof h->message ? n : sizeof h->message - 1);
	return true;
}

static void config_event(struct held *h, struct dg_evt *evt)
{
	const char *change = "change";
	size_t n;

	dg_evt_set(evt, DG_F_EVENT_ACTION, "admin", 5);
	if (h->kind == K_DAEMON) {
		dg_evt_set(evt, DG_F_OBJECT, "auditd", 6);
		if (dg_str_is(&h->type, "DAEMON_START") || dg_str_is(&h->type, "DAEMON_RESUME"))
			change = "increase";
		else if (dg_str_is(&h->type, "DAEMON_END") || dg_str_is(&h->type, "DAEMON_ABORT"))
			change = "reduce"; /* auditing stops */
	} else {
		dg_evt_set(evt, DG_F_OBJECT, "auditd.rules", 12);
		if (dg_str_starts(&h->op, "remove_rule") || dg_str_starts(&h->op, "del_rule"))
			change = "reduce";
		else if (dg_str_starts(&h->op, "add_rule"))
			change = "increase";
		else if (h->audit_enabled.len > 0)
			change = dg_str_is(&h->audit_enabled, "0") ? "reduce" : "increase";
	}
	dg_evt_set(evt, DG_F_AUDIT_CHANGE, change, strlen(change));
	dg_evt_set(evt, DG_F_EVENT_OUTCOME,
	           h->res.len == 0 || succeeded(&h->res) ? "success" : "failure", 7);
	n = (size_t)snprintf(h->message, sizeof h->message, "%.*s %.*s%s%.*s", (int)h->type.len,
	                     h->type.p, (int)h->op.len, h->op.p, h->key.len ? " key=" : "",
	                     (int)h->key.len, h->key.p);
	dg_evt_set(evt, DG_F_MESSAGE, h->message,
	           n < sizeof h->message ? n : sizeof h->message - 1);
}

bool dg_linuxaudit_released(struct dg_linuxaudit *p, struct dg_evt *evt, struct dg_ref *ref)
{
	struct held *h = &p->h[p->cur ^ 1];
	uint8_t ip[16];

	if (!p->released)
		return false;
	p->released = false;
	dg_evt_clear(evt);
	evt->ts_ms = h->ts_ms;
	dg_evt_set(evt, DG_F_TIMESTAMP, h->ts.p, h->ts.len);
	dg_evt_set(evt, DG_F_SERVICE_NAME, "auditd", 6);
	dg_evt_set(evt, DG_F_HOST_NAME, h->node.p, h->node.len);
	if (!dg_str_is(&h->key, "(null)"))
		dg_evt_set(evt, DG_F_AUDIT_KEY, h->key.p, h->key.len);
	*ref = h->ref;
	switch (h->kind) {
	case K_SYSCALL:
		who(h, evt);
		return syscall_event(h, evt);
	case K_CONFIG:
		if (h->audit_pid.len > 0)
			return false; /* the daemon registering: its DAEMON_START says so */
		                      /* fall through */
	case K_DAEMON:
		who(h, evt);
		config_event(h, evt);
		return true;
	case K_LOGIN:
		/* the account tried; who tried it is the process's user */
		dg_evt_set(evt, DG_F_USER_NAME, h->acct.p, h->acct.len);
		dg_evt_set(evt, DG_F_EVENT_ACTION, "login", 5);
		dg_evt_set(evt, DG_F_EVENT_OUTCOME, succeeded(&h->res) ? "success" : "failure", 7);
		if (dg_ip_parse(h->addr.p, h->addr.len, ip))
			dg_evt_set(evt, DG_F_SOURCE_IP, h->addr.p, h->addr.len);
		return h->acct.len > 0;
	case K_ACCOUNT:
		who(h, evt);
		dg_evt_set(evt, DG_F_EVENT_ACTION, "grant", 5);
		dg_evt_set(evt, DG_F_OBJECT, h->acct.len ? h->acct.p : h->id.p,
		           h->acct.len ? h->acct.len : h->id.len);
		dg_evt_set(evt, DG_F_EVENT_OUTCOME, succeeded(&h->res) ? "success" : "failure", 7);
		dg_evt_set(evt, DG_F_MESSAGE, h->op.p, h->op.len);
		return true;
	default:
		return false;
	}
}
