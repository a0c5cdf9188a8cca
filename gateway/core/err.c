/* Human-readable names for enum pc_err, used once where an error is logged. */
#include "err.h"

const char *pc_strerror(int err)
{
	switch (err) {
	case PC_OK: return "success";
	case PC_AGAIN: return "would block";
	case PC_ERR_NOMEM: return "out of memory";
	case PC_ERR_PARSE: return "malformed input";
	case PC_ERR_LIMIT: return "limit exceeded";
	case PC_ERR_IO: return "I/O error";
	case PC_ERR_TLS: return "TLS error";
	case PC_ERR_CONFIG: return "configuration error";
	case PC_ERR_NOTFOUND: return "not found";
	case PC_ERR_CLOSED: return "connection closed";
	case PC_ERR_STATE: return "invalid state";
	case PC_ERR_DOWN: return "next hop down, backing off";
	}
	return "unknown error";
}
