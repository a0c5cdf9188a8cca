/* libFuzzer target: what cluster mode reads back from Redis, which may be
 * shared with other programs (cluster/codec.c). The input is taken as a
 * user's bindings value, as a change notice, as a ban or call-count notice
 * (cluster/limits_codec.c), as one node's call count and as a shared
 * certificate's value, and as a value tagged with the cluster key's MAC
 * (cluster/mac.c). A value that is accepted
 * must hold only bounded, printable fields, and must survive being written
 * again and read back unchanged (the node writes what it read). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/codec.h"
#include "cluster/limits_codec.h"
#include "cluster/mac.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_binding(const struct reg_binding *b)
{
	if (!b->node[0] || strlen(b->contact) >= sizeof(b->contact) || b->flow.conn_id != 0 ||
	    (strncmp(b->contact, "sip:", 4) && strncmp(b->contact, "sips:", 5)))
		abort();
	for (const char *p = b->path; *p; p++)
		if ((unsigned char)*p < 0x20)
			abort();
}

/* An accepted guard notice is in bounds and reads back the same when
 * written again. */
static void check_guard_notice(const char *in, size_t size)
{
	struct cl_guard_notice n, again;
	char text[CL_NOTICE_MAX + 1];
	uint32_t count;
	if (cl_count_decode(in, size, &count) == 0 && count > CL_CALLS_MAX)
		abort();
	if (cl_guard_notice_decode(in, size, &n) < 0)
		return;
	int len = n.kind != CL_GUARD_CALLS
			  ? cl_ban_encode(n.node, n.kind == CL_GUARD_LOCK, &n.key, n.ms, text, sizeof(text))
			  : cl_calls_encode(n.node, n.trunk, &n.key, text, sizeof(text));
	if (len < 0 || cl_guard_notice_decode(text, (size_t)len, &again) < 0 ||
	    memcmp(&n, &again, sizeof(n)) != 0)
		abort();
	if (n.kind == CL_GUARD_BAN && (n.ms == 0 || n.ms > CL_BAN_MAX_MS || (n.key.len != 4 && n.key.len != 8)))
		abort();
	if (n.kind == CL_GUARD_LOCK && (n.ms == 0 || n.ms > CL_BAN_MAX_MS ||
					(n.key.family == 0 ? !n.key.name[0] : n.key.len != 4 && n.key.len != 8)))
		abort();
	if (n.kind == CL_GUARD_CALLS && (n.key.family != 0 || !n.key.name[0]))
		abort();
	char node[64];
	uint64_t life;
	if (cl_calls_field_decode(in, size, node, &life) == 0 && (!node[0] || strlen(node) >= 64))
		abort();
}

/* A tagged value: the tag is read in bounds, and whatever verifies
 * (nothing random should) lies inside the input. */
static void check_mac(const char *in, size_t size)
{
	static struct cl_mac m;
	if (!m.on) {
		static const uint8_t key[32] = { 1 };
		cl_mac_init(&m, key);
	}
	const char *body;
	size_t blen;
	if (cl_mac_unwrap(&m, "portcullis:reg:carol", 1, 10000, in, size, &body, &blen) == 0 &&
	    (body < in || body + blen != in + size))
		abort();
}

/* A kept ban's field and until (guard_state.c): what decodes encodes
 * back to the same text. */
static void check_guard_field(const char *in, size_t size)
{
	struct rl_key k;
	char again[CL_GUARD_FIELD_MAX];
	uint64_t until, at;
	for (int lock = 0; lock < 2; lock++) {
		if (cl_guard_field_decode(in, size, lock, &k) < 0)
			continue;
		int n = cl_guard_field_encode(lock, &k, again, sizeof(again));
		if (n < 0 || (size_t)n != size || memcmp(again, in, size) != 0)
			abort();
	}
	if (cl_until_decode(in, size, &until) == 0 && (size == 0 || size > 20))
		abort();
	if (cl_mac_stamp(in, size, &at) == 0 && size < CL_MAC_OVERHEAD)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_guard_notice((const char *)data, size);
	check_guard_field((const char *)data, size);
	check_mac((const char *)data, size);
	const char *cert;
	size_t cert_len;
	long ttl;
	if (cl_cert_value_decode((const char *)data, size, 1000, &cert, &cert_len, &ttl) == 0 &&
	    (ttl <= 0 || cert_len == 0 || cert_len > size || cert < (const char *)data ||
	     cert + cert_len != (const char *)data + size))
		abort();
	static struct reg_binding got[REG_MAX_PER_USER], again[REG_MAX_PER_USER];
	static char text[CL_VALUE_MAX + 1];
	char node[REG_NODE_MAX], user[REG_USER_MAX];
	if (cl_notice_decode((const char *)data, size, node, sizeof(node), user, sizeof(user)) == 0 &&
	    (!node[0] || !user[0] || strchr(user, '\t')))
		abort();
	int n = cl_bindings_decode((const char *)data, size, got, REG_MAX_PER_USER);
	if (n < 0)
		return 0;
	for (int i = 0; i < n; i++)
		check_binding(&got[i]);
	int len = cl_bindings_encode(got, (unsigned)n, "self", text, sizeof(text));
	if (len < 0)
		abort();
	if (cl_bindings_decode(text, (size_t)len, again, REG_MAX_PER_USER) != n)
		abort();
	for (int i = 0; i < n; i++) {
		if (strcmp(got[i].contact, again[i].contact) || strcmp(got[i].node, again[i].node) ||
		    strcmp(got[i].path, again[i].path) || got[i].cseq != again[i].cseq ||
		    got[i].expires_at != again[i].expires_at || got[i].flow.transport != again[i].flow.transport)
			abort();
	}
	return 0;
}
