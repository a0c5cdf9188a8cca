/* The network process's side of the key holder: starting it, and GnuTLS
 * "external" private keys (gnutls_privkey_import_ext4) whose sign and
 * decrypt callbacks are blocking round trips over the socketpair. Blocking
 * is deliberate: a round trip on a local socketpair costs tens of
 * microseconds next to the signature itself (docs/performance.md), and a
 * TLS handshake needs at most one private-key operation per side. A holder
 * that does not answer within KH_TIMEOUT_MS fails the handshake, not the
 * gateway. */
#include "keyholder.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/counters.h"
#include "core/log.h"
#include "proto.h"

#define KH_TIMEOUT_MS 2000
#define KH_START_TIMEOUT_MS 10000

static struct {
	int fd;
	pid_t pid;
	uint32_t seq;
	const char *paths[KH_MAX_KEYS];
	enum kh_key_use uses[KH_MAX_KEYS];
	unsigned n_paths;
	bool digest; /* the holder answers the digest operations */
	bool users;  /* ... and re-reads the user store (kh_users_wanted) */
} kh = { .fd = -1, .pid = -1 };

/* What GnuTLS may ask about an external key: held here, from the certificate. */
struct kh_ext {
	uint16_t key;
	gnutls_pk_algorithm_t pk;
	unsigned bits;
};

static int set_timeout(int fd, unsigned ms)
{
	/* Both ways: a stopped holder must not block the loop on a full
	 * socket buffer either. */
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -1;
	return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

bool keyholder_active(void) { return kh.fd >= 0; }
bool keyholder_digest_active(void) { return kh.fd >= 0 && kh.digest; }
bool keyholder_users_active(void) { return kh.fd >= 0 && kh.users; }

bool keyholder_alive(void)
{
	struct kh_reply stale;
	for (;;) {
		ssize_t got = recv(kh.fd, &stale, sizeof(stale), MSG_DONTWAIT);
		if (got > 0) {
			log_warnx("keyholder: late answer %u discarded", (unsigned)stale.seq);
			gnutls_memset(&stale, 0, sizeof(stale));
			continue;
		}
		return got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
	}
}
int keyholder_fd(void) { return kh.fd; }
pid_t keyholder_pid(void) { return kh.pid; }

int keyholder_start(const struct gateway_config *cfg, const struct sandbox_user *user)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_warn("keyholder: socketpair");
		return -1;
	}
	kh.n_paths = kh_key_paths(cfg, kh.paths, kh.uses);
	pid_t parent = getpid();
	fflush(NULL); /* nothing buffered twice */
	pid_t pid = fork();
	if (pid < 0) {
		log_warn("keyholder: fork");
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		/* The holder's filter has no send(): it logs to stderr. */
		log_close_syslog();
		keyholder_child_main(sv[1], parent, cfg, user);
	}
	close(sv[1]);
	kh.fd = sv[0];
	kh.pid = pid;
	struct kh_reply ready;
	ssize_t got = -1;
	if (set_timeout(kh.fd, KH_START_TIMEOUT_MS) == 0)
		got = recv(kh.fd, &ready, sizeof(ready), 0);
	if (got != (ssize_t)KH_REPLY_HEADER || ready.seq != 0 || ready.status != (int32_t)kh.n_paths ||
	    set_timeout(kh.fd, KH_TIMEOUT_MS) < 0) {
		log_err("key holder failed to start (see its messages above)");
		keyholder_stop();
		return -1;
	}
	kh.digest = kh_digest_wanted(cfg);
	kh.users = kh_users_wanted(cfg);
	log_info("key holder %d holds %u private key%s%s", (int)pid, kh.n_paths, kh.n_paths == 1 ? "" : "s",
		 kh.digest ? ", the digest user store and the nonce secret" : "");
	return 0;
}

void keyholder_stop(void)
{
	if (kh.fd >= 0)
		close(kh.fd);
	kh.fd = -1;
	if (kh.pid > 0) {
		/* The holder exits on end of file: a bounded wait, then force. */
		int status, waited = 0;
		while (waitpid(kh.pid, &status, WNOHANG) == 0 && waited++ < 100) {
			struct timespec ts = { 0, 10 * 1000000 };
			nanosleep(&ts, NULL);
		}
		if (waited > 100 && kill(kh.pid, SIGKILL) == 0)
			waitpid(kh.pid, &status, 0);
	}
	kh.pid = -1;
	kh.digest = false;
	kh.users = false;
	kh.n_paths = 0;
}

int kh_exchange(struct kh_request *req, struct kh_reply *rep)
{
	int rc = -1;
	uint64_t t0 = pc_clock_us();

	if (kh.fd < 0 || req->len > KH_MAX_INPUT)
		goto out;
	req->seq = ++kh.seq;
	if (send(kh.fd, req, KH_REQUEST_HEADER + req->len, 0) < 0) {
		log_warn("keyholder: request");
		goto out;
	}
	for (;;) { /* a reply to an earlier, timed-out request is skipped */
		ssize_t got = recv(kh.fd, rep, sizeof(*rep), 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			log_warnx("keyholder: no answer: %s", got == 0 ? "the key holder is gone" : strerror(errno));
			goto out;
		}
		if (got < (ssize_t)KH_REPLY_HEADER || rep->len != (size_t)got - KH_REPLY_HEADER) {
			log_warnx("keyholder: malformed reply");
			goto out;
		}
		if (rep->seq == req->seq)
			break;
	}
	rc = 0;
out:
	counter_inc(CNT_KEYHOLDER_REQUESTS);
	counter_add(CNT_KEYHOLDER_WAIT_US, pc_clock_us() - t0);
	if (rc < 0 || rep->status < 0)
		counter_inc(CNT_KEYHOLDER_FAILURES);
	return rc;
}

int kh_key_index(enum kh_key_use use)
{
	for (unsigned i = 0; kh.fd >= 0 && i < kh.n_paths; i++)
		if (kh.uses[i] == use)
			return (int)i;
	return -1;
}

int kh_roundtrip(enum kh_op op, uint16_t key, uint32_t algo, uint32_t flags,
		     const gnutls_datum_t *in, gnutls_datum_t *out)
{
	static struct kh_request req;
	static struct kh_reply rep;
	int rc = GNUTLS_E_PK_SIGN_FAILED;

	if (in->size > KH_MAX_INPUT)
		return GNUTLS_E_INVALID_REQUEST;
	req = (struct kh_request){ .op = (uint16_t)op, .key = key, .algo = algo, .flags = flags,
				   .len = in->size };
	memcpy(req.data, in->data, in->size);
	rep.status = 0;
	if (kh_exchange(&req, &rep) < 0)
		goto out;
	if (rep.status < 0) {
		rc = rep.status;
		goto out;
	}
	out->data = gnutls_malloc(rep.len ? rep.len : 1);
	if (!out->data) {
		rc = GNUTLS_E_MEMORY_ERROR;
		goto out;
	}
	memcpy(out->data, rep.data, rep.len);
	out->size = rep.len;
	rc = 0;
out:
	gnutls_memset(&req, 0, sizeof(req));
	gnutls_memset(&rep, 0, sizeof(rep));
	return rc;
}

static int ext_sign_data(gnutls_privkey_t k, gnutls_sign_algorithm_t algo, void *ud, unsigned flags,
			 const gnutls_datum_t *data, gnutls_datum_t *sig)
{
	const struct kh_ext *e = ud;
	return kh_roundtrip(KH_OP_SIGN_DATA, e->key, (uint32_t)algo, flags, data, sig);
}

static int ext_sign_hash(gnutls_privkey_t k, gnutls_sign_algorithm_t algo, void *ud, unsigned flags,
			 const gnutls_datum_t *hash, gnutls_datum_t *sig)
{
	const struct kh_ext *e = ud;
	return kh_roundtrip(KH_OP_SIGN_HASH, e->key, (uint32_t)algo, flags, hash, sig);
}

static int ext_decrypt(gnutls_privkey_t k, void *ud, const gnutls_datum_t *ct, gnutls_datum_t *pt)
{
	const struct kh_ext *e = ud;
	return kh_roundtrip(KH_OP_DECRYPT, e->key, 0, 0, ct, pt);
}

static void ext_deinit(gnutls_privkey_t k, void *ud)
{
	free(ud);
}

static int ext_info(gnutls_privkey_t k, unsigned flags, void *ud)
{
	const struct kh_ext *e = ud;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO)
		return (int)e->pk;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS)
		return (int)e->bits;
	if (flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO)
		return gnutls_sign_supports_pk_algorithm(
			(gnutls_sign_algorithm_t)GNUTLS_FLAGS_TO_SIGN_ALGO(flags), e->pk);
	return GNUTLS_E_UNKNOWN_ALGORITHM;
}

int keyholder_privkey(const char *key_path, gnutls_pubkey_t pubkey, gnutls_privkey_t *out)
{
	unsigned idx = 0;
	while (idx < kh.n_paths && strcmp(kh.paths[idx], key_path))
		idx++;
	if (idx == kh.n_paths) {
		log_err("keyholder: key %s is not held", key_path);
		return GNUTLS_E_INVALID_REQUEST;
	}
	struct kh_ext *e = calloc(1, sizeof(*e));
	if (!e)
		return GNUTLS_E_MEMORY_ERROR;
	e->key = (uint16_t)idx;
	int pk = gnutls_pubkey_get_pk_algorithm(pubkey, &e->bits);
	if (pk < 0) {
		free(e);
		return pk;
	}
	e->pk = (gnutls_pk_algorithm_t)pk;
	gnutls_privkey_t key;
	int rc = gnutls_privkey_init(&key);
	if (rc < 0) {
		free(e);
		return rc;
	}
	rc = gnutls_privkey_import_ext4(key, e, ext_sign_data, ext_sign_hash,
					e->pk == GNUTLS_PK_RSA ? ext_decrypt : NULL, ext_deinit, ext_info,
					GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE);
	if (rc < 0) {
		free(e);
		gnutls_privkey_deinit(key);
		return rc;
	}
	*out = key;
	return 0;
}
