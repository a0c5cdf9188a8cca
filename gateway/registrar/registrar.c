/* See registrar.h. Users hang off a keyed hash table (core/hash.h: a user
 * name arrives in a REGISTER) sized once from the user ceiling; each holds an array of at most max_per_user bindings, allocated
 * when the user first registers and freed with its last binding. A
 * REGISTER is applied to a copy of the user's bindings and committed only
 * when every Contact in it was acceptable (RFC 3261 §10.3: the request
 * succeeds or fails as a whole). Contacts are compared with Sofia's URI
 * comparison, as §10.3 step 7 asks. */
#include "registrar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/url.h>

#include "core/hash.h"

struct reg_user {
	struct pc_hlink link;
	char name[REG_USER_MAX];
	unsigned n;
	struct reg_binding *b; /* max_per_user entries */
};

struct registrar {
	struct reg_limits lim;
	struct pc_htab users;
	unsigned nusers;
	unsigned nbindings;
	const struct reg_store_ops *store;
	void *store_ctx;
	reg_changed_fn *replica;
	void *replica_ctx;
	struct reg_binding *scratch; /* max_per_user entries: the staged update */
};

struct registrar *registrar_new(const struct reg_limits *lim)
{
	if (lim->max_users == 0 || lim->max_per_user == 0 || lim->max_per_user > REG_MAX_PER_USER ||
	    lim->default_expires == 0)
		return NULL;
	struct registrar *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->lim = *lim;
	r->scratch = calloc(lim->max_per_user, sizeof(*r->scratch));
	if (pc_htab_init(&r->users, 2 * (size_t)lim->max_users, NULL) < 0 || r->scratch == NULL) {
		registrar_free(r);
		return NULL;
	}
	return r;
}

void registrar_free(struct registrar *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < pc_htab_buckets(&r->users); i++) {
		struct pc_hlink *l;
		while ((l = pc_htab_chain(&r->users, i)) != NULL) {
			struct reg_user *u = pc_container_of(l, struct reg_user, link);
			pc_htab_remove(l);
			free(u->b);
			free(u);
		}
	}
	pc_htab_fini(&r->users);
	free(r->scratch);
	free(r);
}

void registrar_set_store(struct registrar *r, const struct reg_store_ops *ops, void *ctx)
{
	r->store = ops;
	r->store_ctx = ctx;
}

void registrar_set_replica(struct registrar *r, reg_changed_fn *fn, void *ctx)
{
	r->replica = fn;
	r->replica_ctx = ctx;
}

static struct reg_user *find_user(const struct registrar *r, const char *name)
{
	uint64_t h = pc_htab_hash_str(&r->users, name);
	for (struct pc_hlink *l = pc_htab_first(&r->users, h); l; l = pc_htab_next(l)) {
		struct reg_user *u = pc_container_of(l, struct reg_user, link);
		if (strcmp(u->name, name) == 0)
			return u;
	}
	return NULL;
}

size_t registrar_max_chain(const struct registrar *r)
{
	return pc_htab_max_chain(&r->users);
}

static struct reg_user *add_user(struct registrar *r, const char *name)
{
	if (r->nusers >= r->lim.max_users || strlen(name) >= REG_USER_MAX)
		return NULL;
	struct reg_user *u = calloc(1, sizeof(*u));
	if (u == NULL)
		return NULL;
	u->b = calloc(r->lim.max_per_user, sizeof(*u->b));
	if (u->b == NULL) {
		free(u);
		return NULL;
	}
	snprintf(u->name, sizeof(u->name), "%s", name);
	pc_htab_insert(&r->users, &u->link, pc_htab_hash_str(&r->users, u->name));
	r->nusers++;
	return u;
}

static void drop_user_if_empty(struct registrar *r, struct reg_user *u)
{
	if (u->n > 0 || !pc_hlink_linked(&u->link))
		return;
	pc_htab_remove(&u->link);
	free(u->b);
	free(u);
	r->nusers--;
}

/* RFC 3261 §19.1.4 comparison of a stored contact with a request's. */
static bool same_contact(const char *stored, const url_t *url)
{
	char tmp[REG_CONTACT_MAX];
	url_t u;
	snprintf(tmp, sizeof(tmp), "%s", stored);
	if (url_d(&u, tmp) < 0)
		return false;
	return url_cmp(&u, url) == 0;
}

static int find_binding(const struct reg_binding *b, unsigned n, const url_t *url)
{
	for (unsigned i = 0; i < n; i++) {
		if (same_contact(b[i].contact, url))
			return (int)i;
	}
	return -1;
}

static struct reg_result result(int status, const char *phrase, const char *why)
{
	return (struct reg_result){ .status = status, .phrase = phrase, .why = why };
}

/* The contact's expiry: its expires= parameter, else the Expires header,
 * else the default; shortened to max_expires. -1 when unreadable. */
static long contact_expires(const struct registrar *r, const sip_contact_t *m, const sip_t *req)
{
	unsigned long e = r->lim.default_expires;
	if (m->m_expires) {
		char *end;
		e = strtoul(m->m_expires, &end, 10);
		if (end == m->m_expires || *end != '\0' || e > 0xffffffffUL)
			return -1;
	} else if (req->sip_expires) {
		e = req->sip_expires->ex_delta;
	}
	if (e > r->lim.max_expires)
		e = r->lim.max_expires;
	return (long)e;
}

/* Path header values as one comma-separated string (RFC 3327 §5.3: the
 * registrar stores them with the binding and echoes them). */
static bool path_text(const sip_t *req, char *out, size_t outlen)
{
	size_t used = 0;
	out[0] = '\0';
	for (const sip_path_t *p = req->sip_path; p; p = p->r_next) {
		char uri[REG_PATH_MAX];
		if (url_e(uri, sizeof(uri), p->r_url) < 0 || strlen(uri) >= sizeof(uri) - 1)
			return false;
		int n = snprintf(out + used, outlen - used, "%s<%s>", used ? "," : "", uri);
		if (n < 0 || (size_t)n >= outlen - used)
			return false;
		used += (size_t)n;
	}
	return true;
}

/* One Contact of a REGISTER applied to the staged bindings `stage` (n of
 * them): added, refreshed or (expires 0) removed. .status 0 to go on. */
static struct reg_result stage_contact(struct registrar *r, const sip_t *req,
				       const sip_contact_t *m, struct reg_binding *stage, unsigned *n,
				       const char *path, const struct pc_peer *from, uint64_t now)
{
	const char *call_id = req->sip_call_id->i_id;
	uint32_t cseq = req->sip_cseq->cs_seq;
	long e = contact_expires(r, m, req);
	if (e < 0)
		return result(400, "Bad Request", "unreadable expires");
	if (e > 0 && (unsigned long)e < r->lim.min_expires) {
		struct reg_result res = result(423, "Interval Too Brief", "expiry below the minimum");
		res.min_expires = r->lim.min_expires;
		return res;
	}
	char contact[REG_CONTACT_MAX];
	if (url_e(contact, sizeof(contact), m->m_url) < 0 || strlen(contact) >= sizeof(contact) - 1)
		return result(400, "Bad Request", "Contact URI too long");
	int i = find_binding(stage, *n, m->m_url);
	if (i >= 0 && !strcmp(stage[i].call_id, call_id) && cseq <= stage[i].cseq)
		return result(500, "Server Internal Error",
			      "CSeq not above the binding's: an old or repeated REGISTER");
	if (e == 0) {
		if (i >= 0) /* removal: the last entry takes its place */
			stage[i] = stage[--*n];
		return result(0, NULL, NULL);
	}
	if (i < 0) {
		if (*n >= r->lim.max_per_user)
			return result(403, "Forbidden", "too many contacts for this user");
		i = (int)(*n)++;
	}
	struct reg_binding *b = &stage[i];
	memset(b, 0, sizeof(*b));
	snprintf(b->contact, sizeof(b->contact), "%s", contact);
	snprintf(b->call_id, sizeof(b->call_id), "%s", call_id);
	snprintf(b->path, sizeof(b->path), "%s", path);
	b->cseq = cseq;
	b->expires_at = now + (uint64_t)e;
	b->flow = *from;
	return result(0, NULL, NULL);
}

/* The staged bindings become the user's, the store told what went and
 * what came. */
static void commit_bindings(struct registrar *r, struct reg_user *u, const struct reg_binding *stage,
			    unsigned n, const char *call_id, uint32_t cseq)
{
	if (r->store) {
		for (unsigned i = 0; i < u->n; i++) {
			bool kept = false;
			for (unsigned k = 0; k < n && !kept; k++)
				kept = !strcmp(u->b[i].contact, stage[k].contact);
			if (!kept)
				r->store->del(r->store_ctx, u->name, u->b[i].contact);
		}
		for (unsigned k = 0; k < n; k++) {
			if (!strcmp(stage[k].call_id, call_id) && stage[k].cseq == cseq)
				r->store->put(r->store_ctx, u->name, &stage[k]);
		}
	}
	r->nbindings = r->nbindings - u->n + n;
	memcpy(u->b, stage, n * sizeof(*stage));
	u->n = n;
	if (r->replica)
		r->replica(r->replica_ctx, u->name);
	drop_user_if_empty(r, u);
}

struct reg_result registrar_register(struct registrar *r, const char *user, const sip_t *req,
				     const struct pc_peer *from, uint64_t now)
{
	if (req->sip_contact == NULL)
		return result(200, "OK", "query");
	if (!req->sip_call_id || !req->sip_cseq ||
	    strlen(req->sip_call_id->i_id) >= REG_CALLID_MAX)
		return result(400, "Bad Request", "Call-ID missing or too long");
	if (strlen(user) >= REG_USER_MAX)
		return result(400, "Bad Request", "user name too long");

	const char *call_id = req->sip_call_id->i_id;
	uint32_t cseq = req->sip_cseq->cs_seq;
	bool wildcard = false;
	for (const sip_contact_t *m = req->sip_contact; m; m = m->m_next) {
		if (m->m_url->url_type == url_any)
			wildcard = true;
	}
	/* §10.3 step 6: "*" only alone and only with Expires: 0. */
	if (wildcard && (req->sip_contact->m_next || !req->sip_expires ||
			 req->sip_expires->ex_delta != 0))
		return result(400, "Bad Request", "Contact: * needs Expires: 0 and no other contact");

	char path[REG_PATH_MAX];
	if (!path_text(req, path, sizeof(path)))
		return result(400, "Bad Request", "Path too long");

	struct reg_user *u = find_user(r, user);
	unsigned n = u ? u->n : 0;
	struct reg_binding *stage = r->scratch;
	if (n)
		memcpy(stage, u->b, n * sizeof(*stage));

	if (wildcard) {
		for (unsigned i = 0; i < n; i++) {
			if (!strcmp(stage[i].call_id, call_id) && cseq <= stage[i].cseq)
				return result(500, "Server Internal Error",
					      "CSeq not above the binding's: an old or repeated REGISTER");
		}
		n = 0;
	} else {
		for (const sip_contact_t *m = req->sip_contact; m; m = m->m_next) {
			struct reg_result res = stage_contact(r, req, m, stage, &n, path, from, now);
			if (res.status)
				return res;
		}
	}

	if (u == NULL && n > 0 && (u = add_user(r, user)) == NULL)
		return result(503, "Service Unavailable", "registrar full");
	if (u == NULL)
		return result(200, "OK", "nothing registered");
	commit_bindings(r, u, stage, n, call_id, cseq);
	return result(200, "OK", wildcard ? "all bindings removed" : "bindings updated");
}

unsigned registrar_lookup(const struct registrar *r, const char *user, uint64_t now,
			  const struct reg_binding **out, unsigned max)
{
	const struct reg_user *u = find_user(r, user);
	unsigned k = 0;
	if (u == NULL)
		return 0;
	/* Newest first: the latest registration is the likeliest to reach. */
	const struct reg_binding *live[REG_MAX_PER_USER];
	unsigned nlive = 0;
	for (unsigned i = 0; i < u->n; i++) {
		if (u->b[i].expires_at > now)
			live[nlive++] = &u->b[i];
	}
	for (unsigned i = 0; i < nlive; i++) {
		for (unsigned j = i + 1; j < nlive; j++) {
			if (live[j]->expires_at > live[i]->expires_at) {
				const struct reg_binding *t = live[i];
				live[i] = live[j];
				live[j] = t;
			}
		}
	}
	for (; k < nlive && k < max; k++)
		out[k] = live[k];
	return k;
}

int registrar_contact_lines(const struct registrar *r, const char *user, uint64_t now, char *out,
			    size_t outlen)
{
	const struct reg_user *u = find_user(r, user);
	size_t used = 0;
	if (outlen == 0)
		return -1;
	out[0] = '\0';
	for (unsigned i = 0; u && i < u->n; i++) {
		const struct reg_binding *b = &u->b[i];
		if (b->expires_at <= now)
			continue;
		int n = snprintf(out + used, outlen - used, "Contact: <%s>;expires=%llu\r\n", b->contact,
				 (unsigned long long)(b->expires_at - now));
		if (n < 0 || (size_t)n >= outlen - used)
			return -1;
		used += (size_t)n;
	}
	return 0;
}

void registrar_expire(struct registrar *r, uint64_t now)
{
	for (size_t h = 0; h < pc_htab_buckets(&r->users); h++) {
		struct pc_hlink *l = pc_htab_chain(&r->users, h);
		while (l) {
			struct pc_hlink *next = l->next;
			struct reg_user *u = pc_container_of(l, struct reg_user, link);
			for (unsigned i = 0; i < u->n;) {
				if (u->b[i].expires_at > now) {
					i++;
					continue;
				}
				if (r->store)
					r->store->del(r->store_ctx, u->name, u->b[i].contact);
				u->b[i] = u->b[--u->n];
				r->nbindings--;
			}
			drop_user_if_empty(r, u);
			l = next;
		}
	}
}

int registrar_restore(struct registrar *r, const char *user, const struct reg_binding *b,
		      uint64_t now)
{
	if (b->expires_at <= now)
		return -1;
	struct reg_user *u = find_user(r, user);
	if (u == NULL && (u = add_user(r, user)) == NULL)
		return -1;
	if (u->n >= r->lim.max_per_user) {
		drop_user_if_empty(r, u);
		return -1;
	}
	u->b[u->n++] = *b;
	r->nbindings++;
	return 0;
}

unsigned registrar_replace_remote(struct registrar *r, const char *user, const char *self,
				  const struct reg_binding *shared, unsigned n, uint64_t now)
{
	struct reg_user *u = find_user(r, user);
	if (u) {
		for (unsigned i = 0; i < u->n;) {
			if (u->b[i].node[0]) {
				u->b[i] = u->b[--u->n];
				r->nbindings--;
			} else {
				i++;
			}
		}
	}
	unsigned taken = 0;
	for (unsigned k = 0; k < n; k++) {
		const struct reg_binding *b = &shared[k];
		if (!b->node[0] || !strcmp(b->node, self) || b->expires_at <= now)
			continue;
		if (u == NULL && (u = add_user(r, user)) == NULL)
			break;
		if (u->n >= r->lim.max_per_user)
			break;
		u->b[u->n++] = *b;
		r->nbindings++;
		taken++;
	}
	if (u)
		drop_user_if_empty(r, u);
	return taken;
}

unsigned registrar_binding_count(const struct registrar *r) { return r->nbindings; }

unsigned registrar_each(const struct registrar *r, uint64_t now, unsigned max, reg_each_fn *fn,
			void *ctx)
{
	unsigned n = 0;
	for (size_t i = 0; i < pc_htab_buckets(&r->users) && n < max; i++) {
		for (struct pc_hlink *l = pc_htab_chain(&r->users, i); l && n < max; l = l->next) {
			const struct reg_user *u = pc_container_of(l, struct reg_user, link);
			for (unsigned k = 0; k < u->n && n < max; k++) {
				if (u->b[k].expires_at > now) {
					fn(ctx, u->name, &u->b[k]);
					n++;
				}
			}
		}
	}
	return n;
}

bool registrar_walk(const struct registrar *r, uint64_t now, size_t *pos, unsigned max,
		    reg_each_fn *fn, void *ctx)
{
	unsigned n = 0;
	size_t i = *pos;
	for (; i < pc_htab_buckets(&r->users) && n < max; i++) {
		for (struct pc_hlink *l = pc_htab_chain(&r->users, i); l; l = l->next) {
			const struct reg_user *u = pc_container_of(l, struct reg_user, link);
			for (unsigned k = 0; k < u->n; k++) {
				if (u->b[k].expires_at > now) {
					fn(ctx, u->name, &u->b[k]);
					n++;
				}
			}
		}
	}
	*pos = i;
	return i >= pc_htab_buckets(&r->users);
}
