/* The systemd notification protocol, spoken directly: datagrams to $NOTIFY_SOCKET (a path, or
 * an abstract socket when it starts with '@'). Without the variable, nothing is sent. */
#ifndef DGAUDIT_NOTIFY_H
#define DGAUDIT_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/* Sends state lines such as "READY=1" or "STATUS=..."; false if it could not be sent. */
bool dg_notify(const char *state);
/* The watchdog interval systemd asks for ($WATCHDOG_USEC for this process), or 0. */
int64_t dg_notify_watchdog_ms(void);

#endif
