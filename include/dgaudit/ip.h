/* IPv4 and IPv6 addresses and CIDR blocks; IPv4 is held as IPv4-mapped IPv6 so one comparison
 * serves both. Pure. */
#ifndef DGAUDIT_IP_H
#define DGAUDIT_IP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dg_ip_cidr {
	uint8_t addr[16];
	unsigned bits; /* prefix length over the 128-bit form */
};

/* Parses an address (text of len bytes, not NUL-terminated). */
bool dg_ip_parse(const char *text, size_t len, uint8_t out[16]);
/* Parses "addr/len" or a bare address (a /32 or /128). */
bool dg_ip_cidr_parse(const char *text, struct dg_ip_cidr *out);
bool dg_ip_cidr_match(const struct dg_ip_cidr *cidr, const uint8_t addr[16]);

#endif
