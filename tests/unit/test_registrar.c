/* Unit tests of the registrar (RFC 3261 §10.3) from real REGISTER texts:
 * adding, refreshing and removing bindings, the Call-ID/CSeq ordering
 * rule, expiry clamps and 423, the wildcard, the per-user and total
 * ceilings with all-or-nothing updates, NAT flows, Path, and the SQLite
 * store surviving a "restart" (close and reopen of the file). Times are
 * explicit seconds: no clock, no sleeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registrar/registrar.h"
#include "registrar/store.h"

#define T0 1000000u

static const struct reg_limits limits = {
	.max_users = 2, .max_per_user = 3, .min_expires = 60, .max_expires = 7200,
	.default_expires = 3600,
};

/* A REGISTER for alice with the given extra header lines (Contact etc.). */
static msg_t *reg(const char *call_id, unsigned cseq, const char *headers)
{
	char text[2048];
	int n = snprintf(text, sizeof(text),
			 "REGISTER sip:gw.example.com SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK-%u\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:alice@gw.example.com>;tag=a1\r\n"
			 "To: <sip:alice@gw.example.com>\r\n"
			 "Call-ID: %s\r\n"
			 "CSeq: %u REGISTER\r\n"
			 "%s"
			 "Content-Length: 0\r\n\r\n",
			 cseq, call_id, cseq, headers);
	msg_t *m = sipmsg_parse(text, (size_t)n);
	assert_non_null(m);
	return m;
}

static struct pc_peer flow(const char *ip, unsigned port)
{
	struct pc_peer p;
	memset(&p, 0, sizeof(p));
	struct sockaddr_in *sin = (struct sockaddr_in *)&p.addr;
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, ip, &sin->sin_addr);
	p.addrlen = sizeof(*sin);
	p.transport = PC_TP_UDP;
	p.listener = 0;
	return p;
}

/* The binding is reached where its REGISTER came from. */
static void assert_flow(const struct reg_binding *b, const char *ip, unsigned port)
{
	char host[64];
	unsigned got;
	assert_int_equal(pc_sockaddr_str((const struct sockaddr *)&b->flow.addr, host, sizeof(host),
					 &got), 0);
	assert_string_equal(host, ip);
	assert_int_equal(got, port);
}

static int apply(struct registrar *r, const char *user, const char *call_id, unsigned cseq,
		 const char *headers, uint64_t now)
{
	msg_t *m = reg(call_id, cseq, headers);
	struct pc_peer from = flow("203.0.113.5", 40000);
	struct reg_result res = registrar_register(r, user, sip_object(m), &from, now);
	msg_destroy(m);
	return res.status;
}

static int setup(void **state)
{
	*state = registrar_new(&limits);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	registrar_free(*state);
	return 0;
}

static void test_add_and_lookup(void **state)
{
	struct registrar *r = *state;
	assert_int_equal(apply(r, "alice", "c1", 1, "Contact: <sip:alice@192.168.1.20:5060>\r\n", T0),
			 200);
	const struct reg_binding *b[4];
	assert_int_equal(registrar_lookup(r, "alice", T0, b, 4), 1);
	assert_string_equal(b[0]->contact, "sip:alice@192.168.1.20:5060");
	assert_int_equal(b[0]->expires_at, T0 + 3600);
	/* The flow is where the REGISTER came from (NAT), not the Contact. */
	assert_flow(b[0], "203.0.113.5", 40000);
	char lines[512];
	assert_int_equal(registrar_contact_lines(r, "alice", T0 + 100, lines, sizeof(lines)), 0);
	assert_string_equal(lines, "Contact: <sip:alice@192.168.1.20:5060>;expires=3500\r\n");
	assert_int_equal(registrar_lookup(r, "bob", T0, b, 4), 0);
	assert_int_equal(registrar_binding_count(r), 1);
}

static void test_expiry_sources_and_clamps(void **state)
{
	struct registrar *r = *state;
	const struct reg_binding *b[4];
	/* The Contact's own expires= wins over the Expires header. */
	assert_int_equal(apply(r, "alice", "c1", 1,
			       "Contact: <sip:alice@10.0.0.1>;expires=120\r\nExpires: 900\r\n", T0),
			 200);
	assert_int_equal(registrar_lookup(r, "alice", T0, b, 4), 1);
	assert_int_equal(b[0]->expires_at, T0 + 120);
	assert_int_equal(apply(r, "alice", "c1", 2, "Contact: <sip:alice@10.0.0.1>\r\nExpires: 900\r\n",
			       T0),
			 200);
	assert_int_equal(registrar_lookup(r, "alice", T0, b, 4), 1);
	assert_int_equal(b[0]->expires_at, T0 + 900);
	/* Longer than the maximum: shortened. */
	assert_int_equal(apply(r, "alice", "c1", 3, "Contact: <sip:alice@10.0.0.1>;expires=99999\r\n",
			       T0),
			 200);
	assert_int_equal(registrar_lookup(r, "alice", T0, b, 4), 1);
	assert_int_equal(b[0]->expires_at, T0 + 7200);
	/* Shorter than the minimum (and not 0): 423 with Min-Expires. */
	msg_t *m = reg("c1", 4, "Contact: <sip:alice@10.0.0.1>;expires=30\r\n");
	struct pc_peer from = flow("203.0.113.5", 40000);
	struct reg_result res = registrar_register(r, "alice", sip_object(m), &from, T0);
	msg_destroy(m);
	assert_int_equal(res.status, 423);
	assert_int_equal(res.min_expires, 60);
	assert_int_equal(registrar_lookup(r, "alice", T0, b, 4), 1);
	assert_int_equal(b[0]->expires_at, T0 + 7200);
}

static void test_cseq_ordering(void **state)
{
	struct registrar *r = *state;
	const struct reg_binding *b[4];
	assert_int_equal(apply(r, "alice", "c1", 5, "Contact: <sip:alice@10.0.0.1>\r\n", T0), 200);
	/* Same Call-ID, CSeq not higher: an old or replayed REGISTER fails
	 * and changes nothing, here not even a removal. */
	assert_int_equal(apply(r, "alice", "c1", 5, "Contact: <sip:alice@10.0.0.1>;expires=0\r\n", T0),
			 500);
	assert_int_equal(apply(r, "alice", "c1", 4, "Contact: <sip:alice@10.0.0.1>;expires=0\r\n", T0),
			 500);
	assert_int_equal(registrar_lookup(r, "alice", T0, b, 4), 1);
	/* Another Call-ID (the phone rebooted) may replace it whatever its CSeq. */
	assert_int_equal(apply(r, "alice", "c2", 1, "Contact: <sip:alice@10.0.0.1>;expires=300\r\n",
			       T0),
			 200);
	assert_int_equal(registrar_lookup(r, "alice", T0, b, 4), 1);
	assert_string_equal(b[0]->call_id, "c2");
	assert_int_equal(b[0]->expires_at, T0 + 300);
}

static void test_several_contacts_and_removal(void **state)
{
	struct registrar *r = *state;
	const struct reg_binding *b[4];
	assert_int_equal(apply(r, "alice", "c1", 1,
			       "Contact: <sip:alice@Desk.Example.com>;expires=600\r\n", T0),
			 200);
	assert_int_equal(apply(r, "alice", "c9", 1, "Contact: <sip:alice@10.0.0.2>;expires=900\r\n",
			       T0),
			 200);
	assert_int_equal(registrar_lookup(r, "alice", T0, b, 4), 2);
	assert_string_equal(b[0]->contact, "sip:alice@10.0.0.2"); /* the later expiry first */
	/* Removal by URI comparison (RFC 3261 19.1.4): the host's case does
	 * not matter. */
	assert_int_equal(apply(r, "alice", "c1", 2,
			       "Contact: <sip:alice@desk.EXAMPLE.COM>;expires=0\r\n", T0),
			 200);
	assert_int_equal(registrar_lookup(r, "alice", T0, b, 4), 1);
	assert_string_equal(b[0]->contact, "sip:alice@10.0.0.2");
	/* Contact: * needs Expires: 0 and nothing else. */
	assert_int_equal(apply(r, "alice", "c9", 2, "Contact: *\r\n", T0), 400);
	assert_int_equal(apply(r, "alice", "c9", 2, "Contact: *, <sip:alice@10.0.0.3>\r\nExpires: 0\r\n",
			       T0),
			 400);
	assert_int_equal(apply(r, "alice", "c9", 2, "Contact: *\r\nExpires: 0\r\n", T0), 200);
	assert_int_equal(registrar_lookup(r, "alice", T0, b, 4), 0);
	assert_int_equal(registrar_binding_count(r), 0);
}

static void test_ceilings_all_or_nothing(void **state)
{
	struct registrar *r = *state;
	const struct reg_binding *b[4];
	assert_int_equal(apply(r, "alice", "c1", 1,
			       "Contact: <sip:alice@10.0.0.1>, <sip:alice@10.0.0.2>\r\n", T0),
			 200);
	/* Two more would make four, over the ceiling of three: neither is
	 * added, and the removal in the same request does not happen either. */
	assert_int_equal(apply(r, "alice", "c1", 2,
			       "Contact: <sip:alice@10.0.0.3>, <sip:alice@10.0.0.4>, "
			       "<sip:alice@10.0.0.1>;expires=0\r\n",
			       T0),
			 403);
	assert_int_equal(registrar_lookup(r, "alice", T0, b, 4), 2);
	/* Users: two fit, a third is refused. */
	assert_int_equal(apply(r, "bob", "c2", 1, "Contact: <sip:bob@10.0.0.5>\r\n", T0), 200);
	assert_int_equal(apply(r, "carol", "c3", 1, "Contact: <sip:carol@10.0.0.6>\r\n", T0), 503);
	/* A query (no Contact) changes nothing. */
	assert_int_equal(apply(r, "carol", "c3", 2, "", T0), 200);
	assert_int_equal(registrar_binding_count(r), 3);
}

struct calls {
	int puts, dels;
	char last_del[REG_CONTACT_MAX];
};

static void fake_put(void *ctx, const char *user, const struct reg_binding *bd)
{
	((struct calls *)ctx)->puts++;
}

static void fake_del(void *ctx, const char *user, const char *contact)
{
	struct calls *c = ctx;
	c->dels++;
	snprintf(c->last_del, sizeof(c->last_del), "%s", contact);
}

static void test_expire_and_store_reports(void **state)
{
	struct registrar *r = *state;
	static const struct reg_store_ops ops = { fake_put, fake_del };
	struct calls c = { 0 };
	registrar_set_store(r, &ops, &c);
	assert_int_equal(apply(r, "alice", "c1", 1,
			       "Contact: <sip:alice@10.0.0.1>;expires=100, <sip:alice@10.0.0.2>\r\n",
			       T0),
			 200);
	assert_int_equal(c.puts, 2);
	const struct reg_binding *b[4];
	/* At T0 + 100 the first has expired: not returned, then dropped. */
	assert_int_equal(registrar_lookup(r, "alice", T0 + 100, b, 4), 1);
	registrar_expire(r, T0 + 100);
	assert_int_equal(c.dels, 1);
	assert_string_equal(c.last_del, "sip:alice@10.0.0.1");
	assert_int_equal(registrar_binding_count(r), 1);
	registrar_expire(r, T0 + 3600);
	assert_int_equal(registrar_binding_count(r), 0);
	assert_int_equal(c.dels, 2);
}

static void test_path_kept(void **state)
{
	struct registrar *r = *state;
	const struct reg_binding *b[4];
	assert_int_equal(apply(r, "alice", "c1", 1,
			       "Supported: path\r\nPath: <sip:edge.example.com;lr>\r\n"
			       "Contact: <sip:alice@10.0.0.1>\r\n",
			       T0),
			 200);
	assert_int_equal(registrar_lookup(r, "alice", T0, b, 4), 1);
	assert_string_equal(b[0]->path, "<sip:edge.example.com;lr>");
}

/* registrar_walk (the cluster's paced catch-up): taken in steps of one
 * binding, it passes each live binding exactly once and says when the
 * table's end is reached. */
struct walk_seen {
	unsigned calls, alice, bob;
};

static void walk_one(void *ctx, const char *user, const struct reg_binding *b)
{
	(void)b;
	struct walk_seen *w = ctx;
	w->calls++;
	if (!strcmp(user, "alice"))
		w->alice++;
	else if (!strcmp(user, "bob"))
		w->bob++;
}

static void test_walk_in_steps(void **state)
{
	struct registrar *r = *state;
	assert_int_equal(apply(r, "alice", "c1", 1,
			       "Contact: <sip:alice@10.0.0.1>, <sip:alice@10.0.0.2>, "
			       "<sip:alice@10.0.0.3>;expires=60\r\n", T0), 200);
	assert_int_equal(apply(r, "bob", "c2", 1, "Contact: <sip:bob@10.0.0.5>\r\n", T0), 200);
	struct walk_seen w = { 0 };
	size_t pos = 0;
	unsigned steps = 0;
	while (!registrar_walk(r, T0 + 100, &pos, 1, walk_one, &w))
		assert_true(++steps < 1000000);
	assert_int_equal(w.alice, 2); /* the live two (the third expired) */
	assert_int_equal(w.bob, 1);
	assert_int_equal(w.calls, 3);
	/* at the end it stays at the end */
	assert_true(registrar_walk(r, T0 + 100, &pos, 1, walk_one, &w));
	assert_int_equal(w.calls, 3);
}

static void test_store_survives_restart(void **state)
{
	struct registrar *r = *state;
	char path[] = "/tmp/portcullis-reg-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	char err[256];
	struct reg_store *s = reg_store_open(path, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(reg_store_attach(s, r, T0, err, sizeof(err)), 0);
	assert_int_equal(apply(r, "alice", "c1", 1,
			       "Contact: <sip:alice@10.0.0.1>;expires=100, <sip:alice@10.0.0.2>\r\n",
			       T0),
			 200);
	assert_int_equal(apply(r, "bob", "c2", 1, "Contact: <sip:bob@10.0.0.5>\r\n", T0), 200);
	assert_int_equal(apply(r, "bob", "c2", 2, "Contact: <sip:bob@10.0.0.5>;expires=0\r\n", T0),
			 200);
	reg_store_close(s);

	/* A new process: the bindings come back, except the one that expired
	 * in the meantime and the one removed. */
	struct registrar *r2 = registrar_new(&limits);
	s = reg_store_open(path, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(reg_store_attach(s, r2, T0 + 200, err, sizeof(err)), 1);
	const struct reg_binding *b[4];
	assert_int_equal(registrar_lookup(r2, "alice", T0 + 200, b, 4), 1);
	assert_string_equal(b[0]->contact, "sip:alice@10.0.0.2");
	assert_int_equal(b[0]->expires_at, T0 + 3600);
	assert_flow(b[0], "203.0.113.5", 40000);
	assert_int_equal(b[0]->flow.conn_id, 0);
	assert_int_equal(registrar_lookup(r2, "bob", T0 + 200, b, 4), 0);
	reg_store_close(s);
	registrar_free(r2);

	/* A file that is not a database is a clear error naming it. */
	char side[300];
	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("not a database, just text that is long enough to be read as a header......\n", f);
	fclose(f);
	assert_null(reg_store_open(path, err, sizeof(err)));
	assert_non_null(strstr(err, path));
	unlink(path);
}

int main(void)
{
	if (sipmsg_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_and_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_sources_and_clamps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cseq_ordering, setup, teardown),
		cmocka_unit_test_setup_teardown(test_several_contacts_and_removal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ceilings_all_or_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expire_and_store_reports, setup, teardown),
		cmocka_unit_test_setup_teardown(test_path_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_survives_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_in_steps, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
