/* Named counters for every drop, refusal and limit hit, so an operator can see
 * why traffic was lost. A fixed enum keeps increments allocation-free. Each
 * thread that bumps counters (the main loop, and every media worker after
 * counters_thread_attach) writes its own row, never another's, so the packet
 * path takes no lock and shares no cache line; a read sums the rows. */
#ifndef PC_CORE_COUNTERS_H
#define PC_CORE_COUNTERS_H

#include <stdint.h>

#define PC_COUNTERS(X) \
	X(MSG_RECEIVED, "messages_received") \
	X(MSG_SENT, "messages_sent") \
	X(MSG_MALFORMED_REQUEST, "malformed_requests") \
	X(MSG_MALFORMED_RESPONSE, "malformed_responses_dropped") \
	X(MSG_TOO_LARGE, "messages_too_large") \
	X(STREAM_FRAMING_ERROR, "stream_framing_errors") \
	X(MSG_TOO_MANY_HEADERS, "messages_refused_too_many_headers") \
	X(MSG_TOO_MANY_VIAS, "messages_refused_too_many_vias") \
	X(MSG_BARE_CR, "messages_refused_bare_cr") \
	X(DGRAM_BAD_LENGTH, "datagrams_refused_content_length") \
	X(KEEPALIVE_PING, "keepalive_pings_answered") \
	X(CONN_ACCEPTED, "connections_accepted") \
	X(CONN_REFUSED_LIMIT, "connections_refused_limit") \
	X(CONN_OUTGOING, "connections_outgoing") \
	X(CONN_REUSED, "connections_reused") \
	X(CONN_IDLE_CLOSED, "connections_idle_closed") \
	X(CONN_TIMEOUT_CLOSED, "connections_timeout_closed") \
	X(CONN_FIRST_MESSAGE_TIMEOUT, "connections_first_message_timeout") \
	X(CONN_EVICTED, "connections_evicted") \
	X(ACCEPT_NO_FD, "accept_paused_no_descriptors") \
	X(PEER_CONNECT_FAILED, "peer_connect_failures") \
	X(PEER_BACKOFF_REFUSED, "peer_backoff_refused") \
	X(TLS_HANDSHAKE_OK, "tls_handshakes_ok") \
	X(TLS_HANDSHAKE_FAILED, "tls_handshakes_failed") \
	X(TLS_VERIFY_FAILED, "tls_peer_verification_failed") \
	X(TLS_RESUMED, "tls_sessions_resumed") \
	X(TXN_CREATED, "transactions_created") \
	X(TXN_RETRANSMIT_ABSORBED, "retransmissions_absorbed") \
	X(TXN_TIMEOUT, "transaction_timeouts") \
	X(TXN_STRAY_RESPONSE, "stray_responses_dropped") \
	X(TXN_LIMIT, "transactions_refused_limit") \
	X(SEND_FAILED, "send_failures") \
	X(MEDIA_PORTS_EXHAUSTED, "media_ports_exhausted") \
	X(MEDIA_AUTH_FAILED, "media_auth_failures") \
	X(MEDIA_UNKEYED, "media_unkeyed_dropped") \
	X(MEDIA_REPLAY, "media_replays_dropped") \
	X(MEDIA_WRONG_SOURCE, "media_wrong_source_dropped") \
	X(MEDIA_SOURCE_REFUSED, "media_source_refused_dropped") \
	X(MEDIA_TOWARD_UNKEYED, "media_toward_unkeyed_dropped") \
	X(MEDIA_NO_DESTINATION, "media_no_destination_dropped") \
	X(MEDIA_MALFORMED, "media_malformed_dropped") \
	X(MEDIA_SSRC_LIMIT, "media_ssrc_limit_dropped") \
	X(MEDIA_PROTECT_FAILED, "media_protect_failures") \
	X(MEDIA_SEND_FAILED, "media_send_failures") \
	X(AUTH_CHALLENGES, "auth_challenges_sent") \
	X(AUTH_FAILURES, "auth_failures") \
	X(AUTH_LOCKED_OUT, "auth_refused_locked_out") \
	X(REGISTRATIONS, "registrations_accepted") \
	X(DENIED_ACL, "requests_denied_acl") \
	X(REFUSED_SCANNER, "requests_refused_scanner_ua") \
	X(REFUSED_RATE, "requests_refused_rate") \
	X(SOURCES_BANNED, "sources_banned") \
	X(REFUSED_BANNED, "requests_refused_banned") \
	X(RATE_TABLE_FULL, "ratelimit_table_full") \
	X(REFUSED_SETUP_CAP, "calls_refused_setup_cap") \
	X(REFUSED_CALL_LIMIT, "calls_refused_concurrency_limit") \
	X(DIALOG_REFUSED_IDENTITY, "dialog_requests_refused_identity") \
	X(FROM_REPLACED, "from_replaced_not_owned") \
	X(REFUSED_CPS, "calls_refused_cps_limit") \
	X(SIPS_INSECURE_IN, "sips_refused_insecure_inbound") \
	X(SIPS_INSECURE_OUT, "sips_refused_non_tls_next_hop") \
	X(REFUSED_TLS_REQUIRED, "requests_refused_tls_required") \
	X(REFUSED_CERT_REQUIRED, "requests_refused_client_cert_required") \
	X(PRIVACY_REFUSED, "calls_refused_privacy") \
	X(PAI_REMOVED, "pai_removed_untrusted") \
	X(PAI_ASSERTED, "pai_asserted") \
	X(FROM_ANONYMISED, "from_anonymised") \
	X(CERT_AUTH_OK, "auth_client_certificate_accepted") \
	X(KEYHOLDER_REQUESTS, "keyholder_requests") \
	X(KEYHOLDER_WAIT_US, "keyholder_wait_us") \
	X(KEYHOLDER_FAILURES, "keyholder_failures") \
	X(IDENTITY_SIGNED, "identity_signed") \
	X(IDENTITY_SIGN_FAILED, "identity_sign_failed") \
	X(IDENTITY_NOT_SIGNED, "identity_not_signed_unauthenticated") \
	X(IDENTITY_VERSTAT_REMOVED, "identity_verstat_removed") \
	X(IDENTITY_REJECTED, "identity_calls_rejected") \
	X(IDENTITY_PASSED, "identity_verify_passed") \
	X(IDENTITY_NO_IDENTITY, "identity_verify_no_identity") \
	X(IDENTITY_MALFORMED, "identity_verify_malformed") \
	X(IDENTITY_UNSUPPORTED, "identity_verify_unsupported") \
	X(IDENTITY_INFO_UNREACHABLE, "identity_verify_info_unreachable") \
	X(IDENTITY_INFO_REFUSED, "identity_verify_info_refused") \
	X(IDENTITY_INFO_NOT_CERT, "identity_verify_info_not_cert") \
	X(IDENTITY_CERT_UNTRUSTED, "identity_verify_cert_untrusted") \
	X(IDENTITY_CERT_EXPIRED, "identity_verify_cert_expired") \
	X(IDENTITY_CERT_NO_TNAUTH, "identity_verify_cert_no_tnauth") \
	X(IDENTITY_CERT_KEY, "identity_verify_cert_key") \
	X(IDENTITY_SIGNATURE, "identity_verify_signature") \
	X(IDENTITY_ORIG_MISMATCH, "identity_verify_orig_mismatch") \
	X(IDENTITY_DEST_MISMATCH, "identity_verify_dest_mismatch") \
	X(IDENTITY_STALE, "identity_verify_stale") \
	X(IDENTITY_DATE_MISMATCH, "identity_verify_date_mismatch") \
	X(IDENTITY_WEAK_ALG, "identity_verify_weak_alg") \
	X(IDENTITY_LEGACY_SIGNED, "identity_legacy_signed") \
	X(IDENTITY_LEGACY_NOT_SIGNED, "identity_legacy_not_signed") \
	X(IDENTITY_LEGACY_VERIFIED, "identity_legacy_verified") \
	X(RECORD_WRITE_FAILED, "call_record_write_failures") \
	X(HTTP_TLS_FAILED, "http_tls_failures") \
	X(CLUSTER_REDIS_DOWN, "cluster_redis_down") \
	X(CLUSTER_CONNECT_FAILED, "cluster_redis_connect_failures") \
	X(CLUSTER_COMMANDS_FAILED, "cluster_commands_failed") \
	X(CLUSTER_COMMAND_TIMEOUTS, "cluster_command_timeouts") \
	X(CLUSTER_CATCHUP_WRITES, "cluster_catchup_writes") \
	X(CLUSTER_CATCHUP_LOST, "cluster_catchup_lost") \
	X(CLUSTER_BINDINGS_WRITTEN, "cluster_bindings_written") \
	X(CLUSTER_BINDINGS_READ, "cluster_bindings_read") \
	X(CLUSTER_CALL_STATES_WRITTEN, "cluster_call_states_written") \
	X(CLUSTER_CALL_STATES_HELD, "cluster_call_states_replicated") \
	X(CLUSTER_CALL_STATES_LOST, "cluster_call_states_lost") \
	X(CLUSTER_CALLS_TAKEN_OVER, "cluster_calls_taken_over") \
	X(CLUSTER_VALUES_REFUSED, "cluster_values_refused") \
	X(CLUSTER_BANS_SENT, "cluster_bans_sent") \
	X(CLUSTER_BANS_APPLIED, "cluster_bans_applied") \
	X(CLUSTER_CALLS_READ, "cluster_calls_read") \
	X(CLUSTER_CALLS_DEAD, "cluster_calls_dead_fields") \
	X(CLUSTER_LOCKOUTS_SENT, "cluster_lockouts_sent") \
	X(CLUSTER_LOCKOUTS_APPLIED, "cluster_lockouts_applied") \
	X(CLUSTER_BANS_REPLAYED, "cluster_bans_replayed") \
	X(CLUSTER_FLOWS_FORWARDED, "cluster_flows_forwarded") \
	X(CLUSTER_CERTS_READ, "cluster_certs_read") \
	X(CLUSTER_CERTS_WRITTEN, "cluster_certs_written") \
	X(REFUSED_CLUSTER_ROUTE, "requests_refused_cluster_route")

enum pc_counter {
#define PC_COUNTER_ENUM(id, name) CNT_##id,
	PC_COUNTERS(PC_COUNTER_ENUM)
#undef PC_COUNTER_ENUM
	CNT__COUNT
};

/* At most this many threads own a row: the main thread and the media
 * workers (media.workers is capped below it). */
#define PC_COUNTER_THREADS 65

void counter_inc(enum pc_counter c);
void counter_add(enum pc_counter c, uint64_t n);
/* The sum over every thread's row: any thread may read at any time. */
uint64_t counter_get(enum pc_counter c);
const char *counter_name(enum pc_counter c);
/* Zeroes every row; for tests, while no other thread bumps counters. */
void counters_reset(void);
/* The calling thread gets a row of its own (a thread that never calls this
 * writes the main thread's row, so it must be the main thread). A row is
 * kept after its thread ends, since counters only grow. 0, or -1 when every
 * row is taken. */
int counters_thread_attach(void);

#endif
