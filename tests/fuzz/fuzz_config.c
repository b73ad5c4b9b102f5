/* The configuration loader on arbitrary files: loads or says "file:line: reason". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dgaudit/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz.conf", 0);
	char path[64], *cause = NULL;
	struct dg_config *cfg;

	if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
		perror("memfd");
		abort();
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	cfg = dg_config_load(path, 0, &cause);
	/* Refused with every message naming this file (or a bundled pack) and a line. */
	for (const char *line = cause; cfg == NULL && line != NULL && *line != '\0';) {
		const char *nl = strchr(line, '\n');

		if (strncmp(line, path, strlen(path)) != 0 && strncmp(line, "builtin:", 8) != 0 &&
		    strncmp(line, "... and ", 8) != 0)
			abort();
		line = nl ? nl + 1 : NULL;
	}
	if (cfg == NULL && cause == NULL)
		abort();
	dg_config_free(cfg);
	free(cause);
	close(fd);
	return 0;
}
