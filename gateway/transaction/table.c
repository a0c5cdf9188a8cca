/* Matching of messages to transactions. RFC 3261 requests are keyed on the
 * top Via branch, RFC 2543 ones (no magic cookie, so the branch cannot be
 * trusted to be unique) on the Call-ID; both land in one keyed hash table
 * (core/hash.h) sized once from the transaction ceiling, and every candidate
 * with the same hash is compared field by field, so a hash collision never
 * causes a false match. RFC 3261 matching reads only the entry's key
 * (branch, sent-by, method), which outlives the request once a finished
 * transaction lets go of it. */
#include "table.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sofia-sip/url.h>

bool txn_branch_is_3261(sip_t const *sip)
{
	return sip && sip->sip_via && sip->sip_via->v_branch &&
	       strncmp(sip->sip_via->v_branch, TXN_MAGIC_COOKIE,
		       sizeof(TXN_MAGIC_COOKIE) - 1) == 0;
}

/* The branch is hashed folded to lower case because it is compared without
 * regard to case, the Call-ID is not because it is compared byte by byte. */
static uint64_t key_hash(const struct txn_table *tb, sip_t const *sip)
{
	if (txn_branch_is_3261(sip))
		return pc_htab_hash_str_nocase(&tb->index, sip->sip_via->v_branch);
	const char *call_id = sip->sip_call_id ? sip->sip_call_id->i_id : NULL;
	return pc_htab_hash_str(&tb->index, call_id ? call_id : "");
}

int txn_table_init(struct txn_table *tb, unsigned max_entries)
{
	/* About two entries per bucket at the ceiling is short enough chains. */
	unsigned n = 16;
	while (n < max_entries / 2 && n < (1u << 20))
		n <<= 1;
	return pc_htab_init(&tb->index, n, NULL);
}

void txn_table_fini(struct txn_table *tb)
{
	pc_htab_fini(&tb->index);
}

size_t txn_table_max_chain(const struct txn_table *tb)
{
	return pc_htab_max_chain(&tb->index);
}

static unsigned via_port(sip_via_t const *v);

static void key_from(struct txn_entry *e)
{
	sip_t const *r = e->req;
	sip_via_t const *v = r->sip_via;
	e->key = (struct txn_key){ .rfc3261 = txn_branch_is_3261(r), .branch = v->v_branch,
				   .host = v->v_host, .port = via_port(v) };
	if (e->server) {
		e->key.method = r->sip_request->rq_method;
		e->key.method_name = r->sip_request->rq_method_name;
	} else {
		e->key.method = r->sip_cseq->cs_method;
		e->key.method_name = r->sip_cseq->cs_method_name;
	}
}

void txn_table_insert(struct txn_table *tb, struct txn_entry *e)
{
	key_from(e);
	pc_htab_insert(&tb->index, &e->link, key_hash(tb, e->req));
}

/* One block for the three strings: a lingering transaction is a handful of
 * small allocations, not the request's buffer and parsed headers. */
int txn_entry_own_key(struct txn_entry *e)
{
	if (e->key_mem)
		return 0;
	const char *s[3] = { e->key.branch, e->key.host, e->key.method_name };
	size_t n[3], total = 0;
	for (int i = 0; i < 3; i++)
		total += n[i] = s[i] ? strlen(s[i]) + 1 : 0;
	char *mem = malloc(total ? total : 1);
	if (!mem)
		return -1;
	const char **d[3] = { &e->key.branch, &e->key.host, &e->key.method_name };
	char *p = mem;
	for (int i = 0; i < 3; i++) {
		if (!s[i])
			continue;
		memcpy(p, s[i], n[i]);
		*d[i] = p;
		p += n[i];
	}
	e->key_mem = mem;
	return 0;
}

void txn_entry_fini(struct txn_entry *e)
{
	free(e->key_mem);
	e->key_mem = NULL;
}

void txn_table_remove(struct txn_table *tb, struct txn_entry *e)
{
	pc_htab_remove(&e->link);
}

static bool str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool str_caseeq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcasecmp(a, b) == 0;
}

static bool method_eq(sip_method_t a, const char *an, sip_method_t b, const char *bn)
{
	if (a != b)
		return false;
	return a != sip_method_unknown || str_eq(an, bn);
}

static unsigned via_port(sip_via_t const *v)
{
	if (v->v_port)
		return (unsigned)strtoul(v->v_port, NULL, 10);
	/* §18.2.1: an absent port means the transport's default. */
	return v->v_protocol && strcasecmp(v->v_protocol, "SIP/2.0/TLS") == 0 ? 5061 : 5060;
}

static bool sent_by_eq(sip_via_t const *a, sip_via_t const *b)
{
	return str_caseeq(a->v_host, b->v_host) && via_port(a) == via_port(b);
}

static bool via_eq(sip_via_t const *a, sip_via_t const *b)
{
	return str_caseeq(a->v_protocol, b->v_protocol) && sent_by_eq(a, b) &&
	       str_caseeq(a->v_branch, b->v_branch);
}

/* The method a request must have created to be matched by q in this mode. */
static bool method_matches(sip_t const *created, sip_t const *q, enum txn_match mode)
{
	sip_request_t const *c = created->sip_request;
	if (mode != TXN_MATCH_SAME)
		return c->rq_method == sip_method_invite;
	return method_eq(c->rq_method, c->rq_method_name, q->sip_request->rq_method,
			 q->sip_request->rq_method_name);
}

static bool match_3261(struct txn_entry const *e, sip_t const *q, enum txn_match mode)
{
	struct txn_key const *k = &e->key;
	if (!k->rfc3261 || !str_caseeq(k->branch, q->sip_via->v_branch) ||
	    !str_caseeq(k->host, q->sip_via->v_host) || k->port != via_port(q->sip_via))
		return false;
	if (mode != TXN_MATCH_SAME)
		return k->method == sip_method_invite;
	return method_eq(k->method, k->method_name, q->sip_request->rq_method,
			 q->sip_request->rq_method_name);
}

/* §17.2.3, last paragraphs, and §9.2 for CANCEL. */
static bool match_2543(struct txn_entry const *e, sip_t const *q, enum txn_match mode)
{
	sip_t const *r = e->req;
	if (e->key.rfc3261 || !r || !method_matches(r, q, mode))
		return false;
	if (url_cmp(r->sip_request->rq_url, q->sip_request->rq_url) != 0)
		return false;
	if (!str_eq(r->sip_call_id->i_id, q->sip_call_id->i_id) ||
	    r->sip_cseq->cs_seq != q->sip_cseq->cs_seq ||
	    !str_eq(r->sip_from->a_tag, q->sip_from->a_tag) || !via_eq(r->sip_via, q->sip_via))
		return false;
	/* The ACK for a non-2xx carries the tag the server chose, not the one
	 * (usually none) of the INVITE. */
	const char *want_to_tag = mode == TXN_MATCH_ACK ? e->resp_to_tag : r->sip_to->a_tag;
	return str_eq(want_to_tag, q->sip_to->a_tag);
}

struct txn_entry *txn_table_find_server(const struct txn_table *tb, sip_t const *req,
					enum txn_match mode)
{
	bool rfc3261 = txn_branch_is_3261(req);
	for (struct pc_hlink *l = pc_htab_first(&tb->index, key_hash(tb, req)); l;
	     l = pc_htab_next(l)) {
		struct txn_entry *e = pc_container_of(l, struct txn_entry, link);
		if (!e->server)
			continue;
		if (rfc3261 ? match_3261(e, req, mode) : match_2543(e, req, mode))
			return e;
	}
	return NULL;
}

/* §17.1.3: branch of the top Via and the CSeq method; the method keeps a
 * CANCEL's response from matching the INVITE that shares its branch. */
struct txn_entry *txn_table_find_client(const struct txn_table *tb, sip_t const *resp)
{
	if (!txn_branch_is_3261(resp) || !resp->sip_cseq)
		return NULL;
	for (struct pc_hlink *l = pc_htab_first(&tb->index, key_hash(tb, resp)); l;
	     l = pc_htab_next(l)) {
		struct txn_entry *e = pc_container_of(l, struct txn_entry, link);
		if (e->server)
			continue;
		struct txn_key const *k = &e->key;
		if (str_caseeq(k->branch, resp->sip_via->v_branch) &&
		    method_eq(k->method, k->method_name, resp->sip_cseq->cs_method,
			      resp->sip_cseq->cs_method_name))
			return e;
	}
	return NULL;
}
