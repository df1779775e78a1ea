/*
 * sock: creating and removing the unix sockets of the postlb daemons
 * without ever following a link or trusting a path that a less
 * privileged account can swap.
 *
 * The directory is the access control (as in Postfix): it must be owned by
 * root or by the daemon's user and writable by nobody else.  An existing
 * entry is removed only when lstat() says it is a socket.  The mode comes
 * from umask() around the bind (fchmod on a socket does not change the
 * file on Linux).  The owner: in a directory owned by the daemon's user
 * the socket is bound with that user's effective ids, so it is born with
 * the right owner and nothing is changed by path afterwards; in a
 * directory only root may write, root binds it and fchownat(...,
 * AT_SYMLINK_NOFOLLOW) sets the owner (nobody can swap the entry there).
 *
 * Startup only, before the daemon drops root.  Does not bind TCP sockets.
 */
#ifndef POSTLB_SOCK_H
#define POSTLB_SOCK_H

#include <stddef.h>

/* Binds the socket at path; returns 0 or -1 with errno set. */
typedef int (*sock_bind_fn)(void *arg);

/*
 * Creates the unix socket at path by calling bind_fn(arg), which binds it
 * (and may listen).  mode is the socket's file mode; uid and gid its
 * owner, -1 for "keep" (the daemon does not run as root or keeps root's).
 * Returns 0, or -1 with err (errsz bytes) saying what is wrong.  On
 * failure nothing outside the directory has been touched.
 */
int sock_unix_create(const char *path, unsigned mode, int uid, int gid,
		     sock_bind_fn bind_fn, void *arg, char *err, size_t errsz);

/*
 * The usual bind_fn: a unix stream socket (SOCK_CLOEXEC and type_flags,
 * e.g. SOCK_NONBLOCK) bound to path and listening with backlog; its
 * descriptor goes into fd (-1 on failure).
 */
struct sock_listen {
	const char *path;
	int type_flags;
	int backlog;
	int fd;
};
int sock_listen_unix(void *arg);

/*
 * Removes path if, and only if, it is a socket (never follows a link).
 * Returns 0 (removed or absent) or -1 with errno set (EEXIST: not a
 * socket).
 */
int sock_unix_remove(const char *path);

/*
 * Checks that dir is a directory owned by root or by uid (-1: root only,
 * or the caller's own uid when not root) and writable by no one else.
 * Returns 0 or -1 with err saying why.
 */
int sock_dir_check(const char *dir, int uid, char *err, size_t errsz);

#endif
