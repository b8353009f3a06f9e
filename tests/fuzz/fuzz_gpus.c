/* gl_gpus' parsers on any bytes: the whole input as an information file
 * and as a PCI address; then, split at the first newline, a list of GPUs
 * (before it) and CUDA_VISIBLE_DEVICES (after it) for gl_gpus_visible.
 *
 * The list part: a flags byte (bit 0 CUDA_DEVICE_ORDER=PCI_BUS_ID, bit 1
 * CUDA_VISIBLE_DEVICES unset), then GPUs separated by ';', each
 * "uuid,model"; their bus addresses are made up, in order. */
#include "fuzz.h"
#include "gl_gpus.h"

#include <ctype.h>

static void check_bus(const char *s)
{
	char out[20], again[20];

	if (!gl_gpu_bus_normalise(s, out, sizeof out))
		return;
	FUZZ_ASSERT(strlen(out) >= 12);
	for (const char *p = out; *p; p++)
		FUZZ_ASSERT(!isupper((unsigned char)*p));
	FUZZ_ASSERT(gl_gpu_bus_normalise(out, again, sizeof again));
	FUZZ_ASSERT(strcmp(out, again) == 0);
}

static void check_information(const char *s)
{
	struct gl_gpu g;
	bool excluded;
	char bus[20];

	gl_gpu_parse_information(s, &g, &excluded);
	FUZZ_ASSERT(strnlen(g.uuid, sizeof g.uuid) < sizeof g.uuid);
	FUZZ_ASSERT(strnlen(g.bus, sizeof g.bus) < sizeof g.bus);
	FUZZ_ASSERT(strnlen(g.model, sizeof g.model) < sizeof g.model);
	FUZZ_ASSERT(g.minor >= -1);
	if (g.uuid[0]) {
		FUZZ_ASSERT(strncmp(g.uuid, "GPU-", 4) == 0 && g.uuid[4]);
		FUZZ_ASSERT(strspn(g.uuid + 4, "0123456789abcdefABCDEF-") == strlen(g.uuid + 4));
	}
	if (g.bus[0]) {
		FUZZ_ASSERT(gl_gpu_bus_normalise(g.bus, bus, sizeof bus));
		FUZZ_ASSERT(strcmp(g.bus, bus) == 0);
	}
}

/* "uuid,model;..." into list. */
static bool same_models(const struct gl_gpu_list *list)
{
	for (unsigned i = 0; i < list->n; i++)
		if (!list->gpu[i].model[0] || strcmp(list->gpu[i].model, list->gpu[0].model) != 0)
			return false;
	return true;
}

static void make_list(const char *s, struct gl_gpu_list *list)
{
	memset(list, 0, sizeof *list);
	while (*s && list->n < GL_GPUS_MAX) {
		struct gl_gpu *g = &list->gpu[list->n];
		size_t u = strcspn(s, ",;"), m;

		snprintf(g->bus, sizeof g->bus, "0000:%02x:00.0", list->n);
		snprintf(g->uuid, sizeof g->uuid, "%.*s", (int)(u < 63 ? u : 63), s);
		s += u;
		if (*s == ',') {
			m = strcspn(++s, ";");
			snprintf(g->model, sizeof g->model, "%.*s", (int)(m < 95 ? m : 95), s);
			s += m;
		}
		g->minor = (int)list->n++;
		if (*s == ';')
			s++;
	}
}

static void check_visible(const char *head, const char *cvd)
{
	struct gl_gpu_list list;
	bool pci_order = head[0] & 1, unset = head[0] & 2;
	gl_gpu_set set = 0x5a5a, all;
	const char *why = NULL;
	enum gl_visible v;
	size_t digits;

	make_list(head[0] ? head + 1 : head, &list);
	all = list.n >= 64 ? ~(gl_gpu_set)0 : ((gl_gpu_set)1 << list.n) - 1;
	v = gl_gpus_visible(&list, unset ? NULL : cvd, pci_order, &set, &why);
	FUZZ_ASSERT((set & ~all) == 0);
	FUZZ_ASSERT((v == GL_VISIBLE_MACHINE) == (why != NULL));
	FUZZ_ASSERT(!why || why[0]);
	switch (v) {
	case GL_VISIBLE_NONE:
		FUZZ_ASSERT(set == 0 && list.n > 0 && !unset);
		break;
	case GL_VISIBLE_SOME:
		FUZZ_ASSERT(set != 0 && set != all);
		break;
	case GL_VISIBLE_ALL:
	case GL_VISIBLE_MACHINE:
		FUZZ_ASSERT(set == all);
		break;
	}
	if (unset || list.n == 0)
		FUZZ_ASSERT(v == GL_VISIBLE_ALL);
	/* One index alone, as a reference: CUDA's rules spelt out. */
	digits = strspn(cvd, "0123456789");
	if (!unset && list.n > 0 && digits > 0 && digits < 4 && !cvd[digits]) {
		unsigned long i = strtoul(cvd, NULL, 10);

		if (i >= list.n)
			FUZZ_ASSERT(v == GL_VISIBLE_NONE);
		else if (!pci_order && !same_models(&list))
			FUZZ_ASSERT(v == GL_VISIBLE_MACHINE);
		else
			FUZZ_ASSERT(set == (gl_gpu_set)1 << i &&
			            v == (list.n == 1 ? GL_VISIBLE_ALL : GL_VISIBLE_SOME));
	}
	/* An empty entry first: the list is empty. */
	if (!unset && list.n > 0 && (cvd[0] == ',' || !cvd[0]))
		FUZZ_ASSERT(v == GL_VISIBLE_NONE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstring(data, size), *nl;

	check_information(s);
	check_bus(s);
	nl = strchr(s, '\n');
	if (nl) {
		*nl = '\0';
		check_visible(s, nl + 1);
	} else {
		check_visible("", s);
	}
	free(s);
	return 0;
}
