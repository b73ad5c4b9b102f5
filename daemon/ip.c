#include "dgaudit/ip.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

bool dg_ip_parse(const char *text, size_t len, uint8_t out[16])
{
	char tmp[INET6_ADDRSTRLEN + 1];

	if (len == 0 || len >= sizeof tmp)
		return false;
	memcpy(tmp, text, len);
	tmp[len] = '\0';
	if (memchr(tmp, ':', len) != NULL)
		return inet_pton(AF_INET6, tmp, out) == 1;
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	return inet_pton(AF_INET, tmp, out + 12) == 1;
}

bool dg_ip_cidr_parse(const char *text, struct dg_ip_cidr *out)
{
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	bool v4 = memchr(text, ':', alen) == NULL;
	unsigned max = v4 ? 32 : 128;
	unsigned long bits = max;

	if (!dg_ip_parse(text, alen, out->addr))
		return false;
	if (slash != NULL) {
		char *end;

		if (slash[1] < '0' || slash[1] > '9')
			return false;
		bits = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || bits > max)
			return false;
	}
	out->bits = (unsigned)bits + (v4 ? 96 : 0);
	return true;
}

bool dg_ip_cidr_match(const struct dg_ip_cidr *cidr, const uint8_t addr[16])
{
	unsigned full = cidr->bits / 8, rest = cidr->bits % 8;

	if (memcmp(cidr->addr, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((cidr->addr[full] ^ addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}
