/* The messages that share bans, lockouts and call counts between nodes, and their
 * strict reading: what arrives on the channel "portcullis:guard" and the
 * counts read from the hashes "portcullis:calls:<u|t>:<name>" come from
 * Redis, which other programs may write, so they are untrusted input
 * (fuzzed by tests/fuzz/fuzz_cluster_bindings.c). Pure: no I/O. */
#ifndef PC_CLUSTER_LIMITS_CODEC_H
#define PC_CLUSTER_LIMITS_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/ratelimit.h"

/* The longest ban another node may impose: a day. */
#define CL_BAN_MAX_MS 86400000u
/* The most live calls one node may claim for one user or trunk. */
#define CL_CALLS_MAX 100000u
#define CL_NOTICE_MAX 256

enum cl_guard_kind { CL_GUARD_BAN, CL_GUARD_LOCK, CL_GUARD_CALLS };

struct cl_guard_notice {
	enum cl_guard_kind kind;
	char node[64];
	struct rl_key key; /* a source address (ban, lock), a user (lock) or a name (calls) */
	bool trunk;        /* calls: a trunk's rather than a user's */
	uint64_t ms;       /* ban, lock: its length from now */
};

/* "<node>\tban\t<4|6>\t<hex of the key's bytes>\t<ms>": an IPv4 address or
 * an IPv6 /64, as policy/ratelimit.c keys sources. A digest-failure lockout
 * (`lock`) is "<node>\tlock\t<4|6>\t<hex>\t<ms>" for a source or
 * "<node>\tlock\tu\t<user>\t<ms>" for a user everywhere. Length, or -1. */
int cl_ban_encode(const char *node, bool lock, const struct rl_key *k, uint64_t ms, char *out,
		  size_t outlen);
/* "<node>\tcalls\t<u|t>\t<name>": the hash of that name changed. */
int cl_calls_encode(const char *node, bool trunk, const struct rl_key *k, char *out,
		    size_t outlen);
/* Either notice: 0, or -1 when anything is malformed or out of bounds. */
int cl_guard_notice_decode(const char *in, size_t len, struct cl_guard_notice *out);
/* A calls hash's field: "<node>/<16 hex digits>", the node and the life
 * (a random number drawn each time the node's link to Redis comes up) its
 * count belongs to. 0, or -1. */
int cl_calls_field_decode(const char *in, size_t len, char node[64], uint64_t *life);
/* A node's heartbeat value: its current life, 16 hex digits. 0, or -1. */
int cl_life_decode(const char *in, size_t len, uint64_t *life);
/* One node's count in a calls hash: decimal, at most CL_CALLS_MAX. */
int cl_count_decode(const char *in, size_t len, uint32_t *out);

/* Bans and lockouts kept as state (guard_state.c): a hash field names what
 * is banned or locked out, "<4|6>:<hex of the key's bytes>" for a source
 * or, for a lockout only, "u:<user>"; its value is the wall-clock ms it
 * runs until, in decimal. Length, or -1. */
#define CL_GUARD_FIELD_MAX (2 + RL_NAME_MAX)
int cl_guard_field_encode(bool lock, const struct rl_key *k, char *out, size_t outlen);
/* 0 with the key, or -1 when malformed (a user in the bans hash too). */
int cl_guard_field_decode(const char *in, size_t len, bool lock, struct rl_key *k);
/* An until: decimal ms, 1 to 20 digits. 0, or -1. */
int cl_until_decode(const char *in, size_t len, uint64_t *until_ms);

#endif
