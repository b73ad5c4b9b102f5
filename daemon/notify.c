#include "dgaudit/notify.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

bool dg_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t len;
	socklen_t alen;
	bool ok;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return false;
	len = strlen(path);
	if (len >= sizeof sun.sun_path)
		return false;
	memcpy(sun.sun_path, path, len);
	if (path[0] == '@')
		sun.sun_path[0] = '\0'; /* abstract namespace */
	alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	ok = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun, alen) >= 0;
	close(fd);
	return ok;
}

int64_t dg_notify_watchdog_ms(void)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	long long v;

	if (usec == NULL)
		return 0;
	if (pid != NULL && atoll(pid) != (long long)getpid())
		return 0;
	v = atoll(usec);
	return v > 0 ? v / 1000 : 0;
}
