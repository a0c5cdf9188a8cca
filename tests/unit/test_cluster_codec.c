/* Cluster mode's value format (cluster/codec.c) and the registrar's side
 * of the shared copy (registrar_replace_remote): what another node wrote
 * reads back as it was; what a hostile writer to a shared Redis puts there
 * (cut lines, extra fields, control characters, huge numbers, too many
 * bindings) is refused whole; a shared copy never replaces the bindings
 * this node holds. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/codec.h"
#include "cluster/limits_codec.h"
#include "cluster/mac.h"
#include "cluster/stamps.h"

static const char good[] = "pc1\n"
			   "A\tsip:carol@127.0.0.1:5090\tc1@x\t7\t2000\tudp\t127.0.0.1\t5090\t\n"
			   "B\tsips:carol@[::1]:5061\tc2\t1\t3000\ttls\t::1\t5061\t<sip:e.example;lr>\n";

static void round_trip(void **state)
{
	(void)state;
	struct reg_binding b[4];
	assert_int_equal(cl_bindings_decode(good, strlen(good), b, 4), 2);
	assert_string_equal(b[0].node, "A");
	assert_string_equal(b[1].path, "<sip:e.example;lr>");
	assert_int_equal(b[1].flow.transport, PC_TP_TLS);
	assert_int_equal(b[0].expires_at, 2000);
	assert_int_equal(b[0].flow.conn_id, 0);
	char out[CL_VALUE_MAX];
	b[0].node[0] = '\0'; /* held here: written with this node's name */
	int n = cl_bindings_encode(b, 2, "Z", out, sizeof(out));
	assert_true(n > 0);
	assert_non_null(strstr(out, "\nZ\tsip:carol@127.0.0.1:5090\t"));
	/* a field the format cannot carry is not written */
	snprintf(b[1].path, sizeof(b[1].path), "a\tb");
	assert_int_equal(cl_bindings_encode(b, 2, "Z", out, sizeof(out)), -1);
}

static void hostile_values(void **state)
{
	(void)state;
	static const char *bad[] = {
		"",
		"pc2\n",
		"pc1\nA\tsip:c@h\tc\t1\t2000\tudp\t127.0.0.1\t5090\t", /* cut: no newline */
		"pc1\nA\tsip:c@h\tc\t1\t2000\tudp\t127.0.0.1\t5090\n",   /* 8 fields */
		"pc1\nA\tsip:c@h\tc\t1\t2000\tudp\t127.0.0.1\t5090\t\tx\n", /* 10 */
		"pc1\n\tsip:c@h\tc\t1\t2000\tudp\t127.0.0.1\t5090\t\n",  /* no node */
		"pc1\nA\thttp://c@h\tc\t1\t2000\tudp\t127.0.0.1\t5090\t\n",
		"pc1\nA\tsip:c@h\tc\t4294967296\t2000\tudp\t127.0.0.1\t5090\t\n",
		"pc1\nA\tsip:c@h\tc\t1\t99999999999999999999999\tudp\t127.0.0.1\t5090\t\n",
		"pc1\nA\tsip:c@h\tc\t-1\t2000\tudp\t127.0.0.1\t5090\t\n",
		"pc1\nA\tsip:c@h\tc\t1\t2000\tsctp\t127.0.0.1\t5090\t\n",
		"pc1\nA\tsip:c@h\tc\t1\t2000\tudp\t127.0.0.300\t5090\t\n",
		"pc1\nA\tsip:c@h\tc\t1\t2000\tudp\t127.0.0.1\t0\t\n",
		"pc1\nA\tsip:c@h\tc\t1\t2000\tudp\t127.0.0.1\t65536\t\n",
		"pc1\nA\tsip:c@h\r\nX: y\tc\t1\t2000\tudp\t127.0.0.1\t5090\t\n", /* header injection */
		"pc1\nA\tsip:c@h\tc\t1\t2000\tudp\t127.0.0.1\t5090\t<sip:p>\r\n",
	};
	struct reg_binding b[4];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (cl_bindings_decode(bad[i], strlen(bad[i]), b, 4) != -1)
			fail_msg("case %zu accepted", i);
	}
	/* more bindings than a user may have */
	static const char line[] = "A\tsip:c@h\tc\t1\t2000\tudp\t127.0.0.1\t5090\t\n";
	char many[4096];
	int used = snprintf(many, sizeof(many), "pc1\n");
	for (int i = 0; i < 5; i++)
		used += snprintf(many + used, sizeof(many) - (size_t)used, "%s", line);
	assert_int_equal(cl_bindings_decode(many, strlen(many), b, 4), -1);
	/* a value longer than any the gateway writes */
	static char huge[CL_VALUE_MAX + 8];
	memset(huge, 'a', sizeof(huge));
	memcpy(huge, "pc1\n", 4);
	assert_int_equal(cl_bindings_decode(huge, sizeof(huge), b, 4), -1);
	/* a name over REG_NODE_MAX */
	char longnode[512] = "pc1\n";
	memset(longnode + 4, 'n', 100);
	snprintf(longnode + 104, sizeof(longnode) - 104, "\t%s", line + 2);
	assert_int_equal(cl_bindings_decode(longnode, strlen(longnode), b, 4), -1);
}

static void notices(void **state)
{
	(void)state;
	char node[REG_NODE_MAX], user[REG_USER_MAX];
	assert_int_equal(cl_notice_decode("A\tcarol", 7, node, sizeof(node), user, sizeof(user)), 0);
	assert_string_equal(node, "A");
	assert_string_equal(user, "carol");
	assert_int_equal(cl_notice_decode("Acarol", 6, node, sizeof(node), user, sizeof(user)), -1);
	assert_int_equal(cl_notice_decode("A\tc\tx", 5, node, sizeof(node), user, sizeof(user)), -1);
	assert_int_equal(cl_notice_decode("\tcarol", 6, node, sizeof(node), user, sizeof(user)), -1);
	assert_int_equal(cl_notice_decode("A\tca\nrol", 8, node, sizeof(node), user, sizeof(user)), -1);
	char longuser[200] = "A\t";
	memset(longuser + 2, 'u', 100);
	assert_int_equal(cl_notice_decode(longuser, 102, node, sizeof(node), user, sizeof(user)), -1);
}

/* The shared copy replaces other nodes' bindings, never this node's. */
static void replace_keeps_local(void **state)
{
	(void)state;
	struct reg_limits lim = { .max_users = 10, .max_per_user = 3, .min_expires = 1,
				  .max_expires = 3600, .default_expires = 60 };
	struct registrar *r = registrar_new(&lim);
	assert_non_null(r);
	struct reg_binding local = { .contact = "sip:carol@10.0.0.1", .expires_at = 500 };
	assert_int_equal(registrar_restore(r, "carol", &local, 100), 0);
	struct reg_binding shared[3];
	assert_int_equal(cl_bindings_decode(good, strlen(good), shared, 3), 2);
	/* "A" is this node: its entry in the shared copy is skipped */
	assert_int_equal(registrar_replace_remote(r, "carol", "A", shared, 2, 100), 1);
	assert_int_equal(registrar_binding_count(r), 2);
	/* the next copy without B's binding removes it, and keeps the local one */
	assert_int_equal(registrar_replace_remote(r, "carol", "A", NULL, 0, 100), 0);
	const struct reg_binding *out[3];
	assert_int_equal(registrar_lookup(r, "carol", 100, out, 3), 1);
	assert_string_equal(out[0]->contact, "sip:carol@10.0.0.1");
	/* expired entries are not taken */
	assert_int_equal(registrar_replace_remote(r, "dave", "A", shared, 2, 5000), 0);
	assert_int_equal(registrar_binding_count(r), 1);
	registrar_free(r);
}

/* A ban and a call-count notice survive the trip; what another program
 * could publish to widen, lengthen or forge a limit is refused. */
static void guard_notices(void **state)
{
	(void)state;
	struct cl_guard_notice n;
	struct rl_key k;
	char text[CL_NOTICE_MAX];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000002) };
	assert_int_equal(rl_key_addr(&k, (struct sockaddr *)&sa), 0);
	int len = cl_ban_encode("A", false, &k, 30000, text, sizeof(text));
	assert_true(len > 0);
	assert_string_equal(text, "A\tban\t4\t7f000002\t30000");
	assert_int_equal(cl_guard_notice_decode(text, (size_t)len, &n), 0);
	assert_int_equal(n.kind, CL_GUARD_BAN);
	assert_int_equal(n.ms, 30000);
	assert_memory_equal(n.key.addr, k.addr, 4);
	len = cl_ban_encode("A", true, &k, 300000, text, sizeof(text));
	assert_string_equal(text, "A\tlock\t4\t7f000002\t300000");
	assert_int_equal(cl_guard_notice_decode(text, (size_t)len, &n), 0);
	assert_true(n.kind == CL_GUARD_LOCK && n.key.family == AF_INET && n.ms == 300000);
	assert_int_equal(rl_key_name(&k, "alice"), 0);
	assert_int_equal(cl_ban_encode("A", false, &k, 1000, text, sizeof(text)), -1); /* no ban of a user */
	len = cl_ban_encode("A", true, &k, 1000, text, sizeof(text));
	assert_string_equal(text, "A\tlock\tu\talice\t1000");
	assert_int_equal(cl_guard_notice_decode(text, (size_t)len, &n), 0);
	assert_true(n.kind == CL_GUARD_LOCK && n.key.family == 0);
	assert_string_equal(n.key.name, "alice");
	assert_int_equal(rl_key_name(&k, "leg:outside"), 0);
	len = cl_calls_encode("B", true, &k, text, sizeof(text));
	assert_int_equal(cl_guard_notice_decode(text, (size_t)len, &n), 0);
	assert_true(n.kind == CL_GUARD_CALLS && n.trunk);
	assert_string_equal(n.key.name, "leg:outside");

	/* the fields of the bans and lockouts kept as state */
	char field[CL_GUARD_FIELD_MAX];
	struct rl_key got;
	assert_int_equal(rl_key_addr(&k, (struct sockaddr *)&sa), 0);
	assert_int_equal(cl_guard_field_encode(false, &k, field, sizeof(field)), 10);
	assert_string_equal(field, "4:7f000002");
	assert_int_equal(cl_guard_field_decode(field, strlen(field), false, &got), 0);
	assert_true(got.family == AF_INET && got.len == 4 && !memcmp(got.addr, k.addr, 4));
	assert_int_equal(rl_key_name(&k, "alice"), 0);
	assert_int_equal(cl_guard_field_encode(false, &k, field, sizeof(field)), -1); /* no ban of a user */
	assert_true(cl_guard_field_encode(true, &k, field, sizeof(field)) > 0);
	assert_string_equal(field, "u:alice");
	assert_int_equal(cl_guard_field_decode(field, strlen(field), true, &got), 0);
	assert_string_equal(got.name, "alice");
	assert_int_equal(cl_guard_field_decode("u:alice", 7, false, &got), -1);
	assert_int_equal(cl_guard_field_decode("4:7f00", 6, false, &got), -1);
	assert_int_equal(cl_guard_field_decode("4-7f000002", 10, false, &got), -1);
	assert_int_equal(cl_guard_field_decode("u:", 2, true, &got), -1);
	uint64_t until;
	assert_int_equal(cl_until_decode("1780000000000", 13, &until), 0);
	assert_true(until == 1780000000000ull);
	assert_int_equal(cl_until_decode("99999999999999999999", 20, &until), -1); /* overflow */
	assert_int_equal(cl_until_decode("12a", 3, &until), -1);
	assert_int_equal(cl_until_decode("", 0, &until), -1);

	static const char *const bad[] = {
		"A\tban\t4\t7f000002\t0",              /* no length */
		"A\tban\t4\t7f000002\t86400001",       /* longer than a day */
		"A\tban\t4\t7f000002\t030000",         /* leading zero */
		"A\tban\t4\t7f00\t30000",              /* a network, not an address */
		"A\tban\t6\t7f000002\t30000",          /* the wrong size for a /64 */
		"A\tban\t4\t7F000002\t30000",          /* upper-case hex */
		"A\tban\t4\t7f000002\t30000\textra",
		"\tban\t4\t7f000002\t30000",           /* no node */
		"A\tcalls\tx\tcarol",                  /* neither user nor trunk */
		"A\tcalls\tu\tbad name",               /* a space */
		"A\tcalls\tu\t",
		"A\tcalls\tu\taaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"A\tunban\t4\t7f000002",
		"A\tban\tu\talice\t1000",              /* a user is locked out, never banned */
		"A\tlock\tu\tbad name\t1000",
		"A\tlock\tu\talice\t86400001",
		"A\tlock\t4\t7f00\t1000",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cl_guard_notice_decode(bad[i], strlen(bad[i]), &n), -1);
	uint32_t c;
	assert_int_equal(cl_count_decode("3", 1, &c), 0);
	assert_int_equal(c, 3);
	assert_int_equal(cl_count_decode("-5", 2, &c), -1);
	assert_int_equal(cl_count_decode("100001", 6, &c), -1);
	assert_int_equal(cl_count_decode("", 0, &c), -1);

	/* Calls hash fields: "<node>/<life>", nothing else. */
	char node[64];
	uint64_t life;
	assert_int_equal(cl_calls_field_decode("A/00000000000000ff", 18, node, &life), 0);
	assert_string_equal(node, "A");
	assert_int_equal(life, 255);
	static const char *const bad_fields[] = { "A", "A/ff", "/00000000000000ff", "A/00000000000000FF",
						  "A/00000000000000ff0", "A b/00000000000000ff" };
	for (size_t i = 0; i < sizeof(bad_fields) / sizeof(bad_fields[0]); i++)
		assert_int_equal(cl_calls_field_decode(bad_fields[i], strlen(bad_fields[i]), node, &life), -1);
	assert_int_equal(cl_life_decode("00000000000000ff", 16, &life), 0);
	assert_int_equal(cl_life_decode("ff", 2, &life), -1);
}

/* The MAC on values and notices: a value verifies only under its own name,
 * key and, for notices, time; any byte changed, a value moved to another
 * user's key, another cluster's key, a stale or future notice, or no tag
 * at all is refused. */
static void mac_values(void **state)
{
	(void)state;
	uint8_t k1[32], k2[32];
	memset(k1, 7, sizeof(k1));
	memset(k2, 8, sizeof(k2));
	struct cl_mac m1, m2;
	cl_mac_init(&m1, k1);
	cl_mac_init(&m2, k2);
	assert_memory_not_equal(m1.key, k1, sizeof(k1)); /* derived, not the sealing key */
	char out[sizeof(good) + CL_MAC_OVERHEAD];
	const uint64_t t = 1780000000000ull;
	int n = cl_mac_wrap(&m1, "portcullis:reg:carol", t, good, strlen(good), out, sizeof(out));
	assert_int_equal(n, (int)(strlen(good) + CL_MAC_OVERHEAD));
	const char *body;
	size_t blen;
	assert_int_equal(cl_mac_unwrap(&m1, "portcullis:reg:carol", 0, 0, out, (size_t)n, &body, &blen), 0);
	assert_int_equal(blen, strlen(good));
	assert_memory_equal(body, good, blen);
	assert_int_equal(cl_mac_unwrap(&m1, "portcullis:reg:carol", t + 9000, 10000, out, (size_t)n, &body, &blen), 0);
	assert_int_equal(cl_mac_unwrap(&m1, "portcullis:reg:carol", t + 11000, 10000, out, (size_t)n, &body, &blen), -1);
	assert_int_equal(cl_mac_unwrap(&m1, "portcullis:reg:carol", t - 11000, 10000, out, (size_t)n, &body, &blen), -1);
	assert_int_equal(cl_mac_unwrap(&m1, "portcullis:reg:mallory", 0, 0, out, (size_t)n, &body, &blen), -1);
	assert_int_equal(cl_mac_unwrap(&m2, "portcullis:reg:carol", 0, 0, out, (size_t)n, &body, &blen), -1);
	assert_int_equal(cl_mac_unwrap(&m1, "portcullis:reg:carol", 0, 0, good, strlen(good), &body, &blen), -1);
	assert_int_equal(cl_mac_unwrap(&m1, "portcullis:reg:carol", 0, 0, out, (size_t)n - 1, &body, &blen), -1);
	for (int i = 0; i < n; i++) {
		char copy[sizeof(out)];
		memcpy(copy, out, (size_t)n);
		copy[i] ^= 0x01;
		if (cl_mac_unwrap(&m1, "portcullis:reg:carol", 0, 0, copy, (size_t)n, &body, &blen) == 0)
			fail_msg("byte %d flipped and still accepted", i);
	}
	uint64_t at = 0;
	assert_int_equal(cl_mac_stamp(out, (size_t)n, &at), 0);
	assert_true(at == t);
	assert_int_equal(cl_mac_stamp(good, strlen(good), &at), -1);
	assert_int_equal(cl_mac_wrap(&m1, "x", t, good, strlen(good), out, strlen(good) + CL_MAC_OVERHEAD), -1);
	cl_mac_wipe(&m1);
	cl_mac_wipe(&m2);
	assert_false(m1.on);
}

/* The replay check of binding values: an older stamp refused, the same
 * or a newer one taken; past the bound the least recently stamped user is
 * forgotten (and only it). Fails if take() accepted an older stamp. */
static void stamps(void **state)
{
	(void)state;
	uint8_t key[16] = { 1 };
	struct cl_stamps *s = cl_stamps_new(2, key);
	assert_non_null(s);
	assert_null(cl_stamps_new(0, key));
	assert_true(cl_stamps_take(s, "carol", 2000));
	assert_false(cl_stamps_take(s, "carol", 1999));
	assert_true(cl_stamps_take(s, "carol", 2000)); /* the same value read again */
	assert_true(cl_stamps_get(s, "carol") == 2000);
	assert_true(cl_stamps_take(s, "dave", 10));
	assert_true(cl_stamps_take(s, "carol", 3000)); /* carol now the most recent */
	assert_true(cl_stamps_take(s, "erin", 5));     /* room: dave forgotten */
	assert_int_equal(cl_stamps_count(s), 2);
	assert_true(cl_stamps_forgotten(s) == 1);
	assert_true(cl_stamps_get(s, "dave") == 0);
	assert_false(cl_stamps_take(s, "carol", 2999));
	assert_false(cl_stamps_take(s, "erin", 4));
	char longname[REG_USER_MAX + 1];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_false(cl_stamps_take(s, longname, 1));
	cl_stamps_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(hostile_values),
		cmocka_unit_test(notices),
		cmocka_unit_test(replace_keeps_local),
		cmocka_unit_test(guard_notices),
		cmocka_unit_test(mac_values),
		cmocka_unit_test(stamps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
