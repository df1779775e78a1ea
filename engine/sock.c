/*
 * sock: unix sockets of the postlb daemons, created without following a
 * link or changing anything by a path another account can swap (see
 * sock.h).  Startup only; not thread-aware beyond what seteuid() gives.
 */
#include "sock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Splits path into its directory and last component (bounded copies). */
static int sock_split(const char *path, char *dir, size_t dirsz, char *base,
		      size_t basesz)
{
	const char *slash = strrchr(path, '/');
	size_t dlen;

	if (slash == NULL) {
		snprintf(dir, dirsz, ".");
		slash = path - 1;
	} else {
		dlen = slash == path ? 1 : (size_t)(slash - path);
		if (dlen >= dirsz)
			return -1;
		memcpy(dir, path, dlen);
		dir[dlen] = '\0';
	}
	if (slash[1] == '\0' || strlen(slash + 1) >= basesz)
		return -1;
	snprintf(base, basesz, "%s", slash + 1);
	return 0;
}

/* The directory rules of sock.h on an open directory. */
static int sock_dir_ok(int dfd, const char *dir, int uid, char *err,
		       size_t errsz)
{
	struct stat st;
	uid_t me = geteuid();

	if (fstat(dfd, &st) < 0) {
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errsz, "%s: not a directory", dir);
		return -1;
	}
	if (st.st_uid != 0 && (uid == -1 || st.st_uid != (uid_t)uid) &&
	    st.st_uid != me) {
		snprintf(err, errsz,
			 "socket directory %s is owned by uid %u: it must "
			 "belong to root or to the daemon's user",
			 dir, (unsigned)st.st_uid);
		return -1;
	}
	if ((st.st_mode & S_IWOTH) ||
	    ((st.st_mode & S_IWGRP) && st.st_gid != 0)) {
		snprintf(err, errsz,
			 "socket directory %s is writable by others (mode "
			 "%04o): only root and the daemon's user may write "
			 "there",
			 dir, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

int sock_dir_check(const char *dir, int uid, char *err, size_t errsz)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (dfd == -1) {
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		return -1;
	}
	rc = sock_dir_ok(dfd, dir, uid, err, errsz);
	close(dfd);
	return rc;
}

/* Removes base in dfd if it is a socket; 0 also when absent. */
static int sock_remove_at(int dfd, const char *base)
{
	struct stat st;

	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		errno = EEXIST;
		return -1;
	}
	if (unlinkat(dfd, base, 0) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

int sock_unix_remove(const char *path)
{
	char dir[4096], base[256];
	int dfd, rc, e;

	if (sock_split(path, dir, sizeof(dir), base, sizeof(base)) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1)
		return errno == ENOENT ? 0 : -1;
	rc = sock_remove_at(dfd, base);
	e = errno;
	close(dfd);
	errno = e;
	return rc;
}

/*
 * Calls bind_fn with the effective ids of uid/gid when as_user, with the
 * umask that gives mode.  Returns what bind_fn returned, errno kept.
 */
static int sock_bind_as(int as_user, int uid, int gid, unsigned mode,
			sock_bind_fn bind_fn, void *arg)
{
	mode_t old = umask((mode_t)(~mode & 0777));
	int rc, e;

	if (as_user && setegid((gid_t)gid) < 0)
		goto fail;
	if (as_user && seteuid((uid_t)uid) < 0) {
		e = errno;
		rc = setegid(0); /* back to root's group before failing */
		errno = e;
		goto fail;
	}
	rc = bind_fn(arg);
	e = errno;
	if (as_user && (seteuid(0) < 0 || setegid(0) < 0))
		rc = -1, e = EPERM; /* cannot get root back: refuse */
	umask(old);
	errno = e;
	return rc;
fail:
	e = errno;
	umask(old);
	errno = e;
	return -1;
}

/* Sets the owner of the new socket when it was bound as root. */
static int sock_own(int dfd, const char *base, int uid, int gid, char *err,
		    size_t errsz, const char *path)
{
	struct stat st;

	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISSOCK(st.st_mode)) {
		snprintf(err, errsz, "%s: not a socket after bind", path);
		return -1;
	}
	if ((uid == -1 || st.st_uid == (uid_t)uid) &&
	    (gid == -1 || st.st_gid == (gid_t)gid))
		return 0;
	if (fchownat(dfd, base, (uid_t)uid, (gid_t)gid,
		     AT_SYMLINK_NOFOLLOW) < 0) {
		snprintf(err, errsz, "%s: cannot set the owner: %s", path,
			 strerror(errno));
		return -1;
	}
	return 0;
}

int sock_listen_unix(void *arg)
{
	struct sock_listen *b = arg;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int e;

	b->fd = -1;
	if (strlen(b->path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, b->path, strlen(b->path) + 1);
	b->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | b->type_flags, 0);
	if (b->fd == -1)
		return -1;
	if (bind(b->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(b->fd, b->backlog) < 0) {
		e = errno;
		close(b->fd);
		b->fd = -1;
		errno = e;
		return -1;
	}
	return 0;
}

int sock_unix_create(const char *path, unsigned mode, int uid, int gid,
		     sock_bind_fn bind_fn, void *arg, char *err, size_t errsz)
{
	char dir[4096], base[256];
	struct stat st;
	int dfd, rc = -1, as_user;

	if (sock_split(path, dir, sizeof(dir), base, sizeof(base)) < 0) {
		snprintf(err, errsz, "%s: bad socket path", path);
		return -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1) {
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (sock_dir_ok(dfd, dir, uid, err, errsz) < 0)
		goto out;
	if (sock_remove_at(dfd, base) < 0) {
		snprintf(err, errsz, "%s: %s", path,
			 errno == EEXIST ? "exists and is not a socket; "
					   "not removed"
					 : strerror(errno));
		goto out;
	}
	/* A directory the daemon's user owns: bind as that user. */
	as_user = geteuid() == 0 && uid > 0 && fstat(dfd, &st) == 0 &&
		  st.st_uid == (uid_t)uid;
	if (sock_bind_as(as_user, uid, gid == -1 ? 0 : gid, mode, bind_fn,
			 arg) < 0) {
		snprintf(err, errsz, "cannot listen on %s: %s", path,
			 strerror(errno));
		goto out;
	}
	rc = sock_own(dfd, base, uid, gid, err, errsz, path);
out:
	close(dfd);
	return rc;
}
