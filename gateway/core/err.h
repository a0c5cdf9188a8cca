/* Error codes shared by every module: few and named (see CONVENTIONS §2.9).
 * PC_AGAIN is not an error: it means "would block, call again when ready". */
#ifndef PC_CORE_ERR_H
#define PC_CORE_ERR_H

enum pc_err {
	PC_OK = 0,
	PC_AGAIN = -1,      /* would block; retry on the next readiness event */
	PC_ERR_NOMEM = -2,
	PC_ERR_PARSE = -3,  /* malformed network input */
	PC_ERR_LIMIT = -4,  /* a configured ceiling was hit */
	PC_ERR_IO = -5,     /* socket or file error; errno tells more */
	PC_ERR_TLS = -6,    /* handshake, verification or record error */
	PC_ERR_CONFIG = -7,
	PC_ERR_NOTFOUND = -8,
	PC_ERR_CLOSED = -9, /* peer closed the connection */
	PC_ERR_STATE = -10, /* operation not valid in the object's state */
	PC_ERR_DOWN = -11,  /* the next hop is backed off after failures; retry later */
};

const char *pc_strerror(int err);

#endif
