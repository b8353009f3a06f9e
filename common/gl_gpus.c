#include "gl_gpus.h"
#include "gl_proc.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly `digits` hex digits at *p (at least 1 and at most `digits` when
 * exact is false), advancing *p. */
static bool hex_field(const char **p, int digits, bool exact, unsigned long *v)
{
	int i = 0, d;

	*v = 0;
	while (i < digits && (d = hex_digit((*p)[i])) >= 0) {
		*v = *v * 16 + (unsigned long)d;
		i++;
	}
	*p += i;
	return exact ? i == digits : i > 0 && hex_digit(**p) < 0;
}

/* "domain:bus:device.function", the domain 1 to 8 hex digits, the rest 2, 2
 * and 1, as lspci -D, the driver and NVML print them. */
static bool bus_parse(const char *s, unsigned long *dom, unsigned long *bus, unsigned long *dev,
                      unsigned long *fn)
{
	const char *p = s;

	if (!hex_field(&p, 8, false, dom) || *p++ != ':' || !hex_field(&p, 2, true, bus) ||
	    *p++ != ':' || !hex_field(&p, 2, true, dev) || *p++ != '.' ||
	    !hex_field(&p, 1, true, fn))
		return false;
	return *p == '\0' && *dev < 32 && *fn < 8;
}

bool gl_gpu_bus_normalise(const char *in, char *out, size_t len)
{
	unsigned long dom, bus, dev, fn;
	char tmp[24];
	int n;

	if (!bus_parse(in, &dom, &bus, &dev, &fn))
		return false;
	/* out is left as it was where the address does not fit */
	n = snprintf(tmp, sizeof tmp, "%04lx:%02lx:%02lx.%lx", dom, bus, dev, fn);
	if (n <= 0 || (size_t)n >= len)
		return false;
	memmove(out, tmp, (size_t)n + 1);
	return true;
}

/* The order of a normalised address: domain, bus, device, function. */
static uint64_t bus_key(const char *bus)
{
	unsigned long dom = 0, b = 0, dev = 0, fn = 0;

	bus_parse(bus, &dom, &b, &dev, &fn);
	return (uint64_t)dom << 32 | b << 16 | dev << 8 | fn;
}

/* Copies at most len - 1 bytes of [s, e), ending it with NUL. */
static void copy_span(char *dst, size_t len, const char *s, const char *e)
{
	size_t n = (size_t)(e - s);

	if (n >= len)
		n = len - 1;
	/* snprintf, not memcpy or memmove (which the compiler turns into
	 * memcpy here): see gl_env.c on memcpy's symbol version */
	snprintf(dst, len, "%.*s", (int)n, s);
}

/* "GPU-" and hex digits and dashes; the driver's "GPU-????..." for a board
 * that failed to initialise is not one. */
static bool uuid_valid(const char *s, const char *e)
{
	if (e - s <= 4 || e - s >= GL_GPU_UUID_LEN || strncmp(s, "GPU-", 4) != 0)
		return false;
	for (s += 4; s < e; s++)
		if (*s != '-' && hex_digit(*s) < 0)
			return false;
	return true;
}

/* One "Key:<tabs and spaces>value" line, [s, e) its value, trimmed. */
static void parse_field(const char *key, size_t klen, const char *s, const char *e,
                        struct gl_gpu *g, bool *excluded, bool *named)
{
	char tmp[32];

#define KEY(k) (klen == sizeof(k) - 1 && memcmp(key, k, klen) == 0)
	if (KEY("Model")) {
		copy_span(g->model, sizeof g->model, s, e);
		*named = true;
	} else if (KEY("GPU UUID")) {
		if (uuid_valid(s, e))
			copy_span(g->uuid, sizeof g->uuid, s, e);
		*named = true;
	} else if (KEY("Bus Location")) {
		copy_span(tmp, sizeof tmp, s, e);
		if ((size_t)(e - s) < sizeof tmp && gl_gpu_bus_normalise(tmp, g->bus, sizeof g->bus))
			*named = true;
	} else if (KEY("Device Minor")) {
		long v = 0;

		if (s == e || e - s > 9)
			return;
		for (; s < e; s++) {
			if (*s < '0' || *s > '9')
				return;
			v = v * 10 + (*s - '0');
		}
		g->minor = (int)v;
	} else if (KEY("GPU Excluded")) {
		*excluded = e - s == 3 && memcmp(s, "Yes", 3) == 0;
	}
#undef KEY
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

bool gl_gpu_parse_information(const char *text, struct gl_gpu *g, bool *excluded)
{
	const char *line = text;
	bool named = false;

	memset(g, 0, sizeof *g);
	g->minor = -1;
	*excluded = false;
	while (*line) {
		const char *end = strchr(line, '\n'), *colon, *v, *ve;

		if (!end)
			end = line + strlen(line);
		colon = memchr(line, ':', (size_t)(end - line));
		if (colon) {
			for (v = colon + 1; v < end && blank(*v); v++)
				;
			for (ve = end; ve > v && blank(ve[-1]); ve--)
				;
			parse_field(line, (size_t)(colon - line), v, ve, g, excluded, &named);
		}
		line = *end ? end + 1 : end;
	}
	return named;
}

/* Puts g into list, kept in bus order; past GL_GPUS_MAX the highest
 * addresses are left out, whatever order the GPUs come in. */
static void insert_sorted(struct gl_gpu_list *list, const struct gl_gpu *g)
{
	uint64_t key = bus_key(g->bus);
	unsigned i = list->n;

	while (i > 0 && bus_key(list->gpu[i - 1].bus) > key)
		i--;
	if (i >= GL_GPUS_MAX)
		return;
	if (list->n == GL_GPUS_MAX)
		list->n--;
	memmove(&list->gpu[i + 1], &list->gpu[i], (list->n - i) * sizeof *g);
	memmove(&list->gpu[i], g, sizeof *g); /* not an assignment: see gl_env.c on memcpy */
	list->n++;
}

static void list_init(struct gl_gpu_list *out, enum gl_gpus_source source)
{
	out->source = source;
	out->n = 0;
}

/* One <dir>/<name>/information into the list. A directory without one, or
 * whose file cannot be read, is not a GPU here. */
static void read_one(const char *dir, size_t dlen, const char *name, struct gl_gpu_list *out)
{
	static const char file[] = "/information";
	char path[512], text[2048];
	size_t nlen = strlen(name);
	struct gl_gpu g;
	bool excluded;

	if (dlen + 1 + nlen + sizeof file > sizeof path)
		return;
	snprintf(path, sizeof path, "%.*s/%s%s", (int)dlen, dir, name, file); /* see copy_span */
	if (gl_read_small(path, text, sizeof text) <= 0)
		return;
	if (!gl_gpu_parse_information(text, &g, &excluded) || excluded)
		return;
	if (!g.bus[0] && !gl_gpu_bus_normalise(name, g.bus, sizeof g.bus))
		return; /* no address to order it by, or to lock it by */
	insert_sorted(out, &g);
}

/* getdents64 on a buffer of the stack rather than opendir, which allocates
 * 32 KiB: this runs at the first GPU call of any program. Its records are
 * struct dirent's with 64-bit offsets (the kernel's linux_dirent64). */
_Static_assert(sizeof(((struct dirent *)0)->d_ino) == 8 &&
                       offsetof(struct dirent, d_reclen) == 16 &&
                       offsetof(struct dirent, d_name) == 19,
               "struct dirent is not linux_dirent64");

int gl_gpus_from_proc(const char *dir, struct gl_gpu_list *out)
{
	char buf[4096] __attribute__((aligned(8)));
	size_t dlen = strlen(dir);
	int fd, e = 0;
	long n;

	list_init(out, GL_GPUS_PROC);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			e = -errno;
			break;
		}
		for (long off = 0; off < n;) {
			const struct dirent *d = (const void *)(buf + off);

			if (d->d_name[0] != '.')
				read_one(dir, dlen, d->d_name, out);
			off += d->d_reclen;
		}
	}
	close(fd);
	if (e < 0)
		out->n = 0;
	return e;
}

/* NVML, declared here: the few types and functions used, as in nvml.h. */
typedef int nvml_ret;
typedef struct nvmlDevice_st *nvml_dev;
/* Only busId is read: the other members are there for its offset. */
struct nvml_pci { /* nvmlPciInfo_t */
	/* cppcheck-suppress unusedStructMember */
	char busIdLegacy[16];
	/* cppcheck-suppress unusedStructMember */
	unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
	char busId[32];
};
struct nvml_memory { /* nvmlMemory_t */
	/* cppcheck-suppress unusedStructMember */
	unsigned long long total, free, used;
};

struct nvml {
	void *lib;
	nvml_ret (*init)(void);
	nvml_ret (*shutdown)(void);
	nvml_ret (*count)(unsigned *);
	nvml_ret (*by_index)(unsigned, nvml_dev *);
	nvml_ret (*by_uuid)(const char *, nvml_dev *);
	nvml_ret (*uuid)(nvml_dev, char *, unsigned);
	nvml_ret (*pci)(nvml_dev, struct nvml_pci *);
	nvml_ret (*name)(nvml_dev, char *, unsigned);
	nvml_ret (*memory)(nvml_dev, struct nvml_memory *);
};

#define NVML_SYM(m, field, name) ((*(void **)&(m)->field = dlsym((m)->lib, name)) != NULL)

/* Loads NVML and starts it: 0, -ENOENT (not there, or too old), -EIO. */
static int nvml_open(struct nvml *m)
{
	memset(m, 0, sizeof *m);
	m->lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!m->lib)
		return -ENOENT;
	if (!NVML_SYM(m, init, "nvmlInit_v2") || !NVML_SYM(m, shutdown, "nvmlShutdown") ||
	    !NVML_SYM(m, count, "nvmlDeviceGetCount_v2") ||
	    !NVML_SYM(m, by_index, "nvmlDeviceGetHandleByIndex_v2") ||
	    !NVML_SYM(m, by_uuid, "nvmlDeviceGetHandleByUUID") ||
	    !NVML_SYM(m, uuid, "nvmlDeviceGetUUID") || !NVML_SYM(m, name, "nvmlDeviceGetName") ||
	    !NVML_SYM(m, memory, "nvmlDeviceGetMemoryInfo") ||
	    /* _v3 since driver 510 or so; _v2 fills the same fields used here */
	    (!NVML_SYM(m, pci, "nvmlDeviceGetPciInfo_v3") &&
	     !NVML_SYM(m, pci, "nvmlDeviceGetPciInfo_v2"))) {
		dlclose(m->lib);
		return -ENOENT;
	}
	if (m->init() != 0) {
		dlclose(m->lib);
		return -EIO;
	}
	return 0;
}

static void nvml_close(struct nvml *m)
{
	m->shutdown();
	dlclose(m->lib);
}

int gl_gpus_from_nvml(struct gl_gpu_list *out)
{
	struct nvml m;
	unsigned count = 0;
	int r = nvml_open(&m);

	list_init(out, GL_GPUS_NVML);
	if (r < 0)
		return r;
	if (m.count(&count) != 0) {
		nvml_close(&m);
		return -EIO;
	}
	for (unsigned i = 0; i < count; i++) {
		struct nvml_pci pci;
		struct gl_gpu g;
		char uuid[96];
		nvml_dev dev;

		memset(&g, 0, sizeof g);
		memset(&pci, 0, sizeof pci);
		g.minor = -1;
		if (m.by_index(i, &dev) != 0 || m.pci(dev, &pci) != 0)
			continue;
		pci.busId[sizeof pci.busId - 1] = '\0';
		if (!gl_gpu_bus_normalise(pci.busId, g.bus, sizeof g.bus))
			continue;
		uuid[sizeof uuid - 1] = '\0';
		if (m.uuid(dev, uuid, sizeof uuid - 1) == 0 && uuid_valid(uuid, uuid + strlen(uuid)))
			copy_span(g.uuid, sizeof g.uuid, uuid, uuid + strlen(uuid));
		if (m.name(dev, g.model, sizeof g.model) != 0)
			g.model[0] = '\0';
		g.model[sizeof g.model - 1] = '\0';
		insert_sorted(out, &g);
	}
	nvml_close(&m);
	return 0;
}

int gl_gpus_memory(const struct gl_gpu_list *list, unsigned long long *used,
                   unsigned long long *total)
{
	struct nvml m;
	int r = nvml_open(&m);

	for (unsigned i = 0; i < list->n; i++)
		used[i] = total[i] = 0;
	if (r < 0)
		return r;
	for (unsigned i = 0; i < list->n; i++) {
		struct nvml_memory mem;
		nvml_dev dev;

		if (list->gpu[i].uuid[0] && m.by_uuid(list->gpu[i].uuid, &dev) == 0 &&
		    m.memory(dev, &mem) == 0) {
			used[i] = mem.used;
			total[i] = mem.total;
		}
	}
	nvml_close(&m);
	return 0;
}

void gl_gpus_find(struct gl_gpu_list *out)
{
	if (gl_gpus_from_proc(GL_GPUS_PROC_DIR, out) == 0 && out->n > 0)
		return;
	if (gl_gpus_from_nvml(out) == 0 && out->n > 0)
		return;
	list_init(out, GL_GPUS_NONE);
}

int gl_gpus_index(const struct gl_gpu_list *list, const char *uuid)
{
	if (!uuid[0])
		return -1;
	for (unsigned i = 0; i < list->n; i++)
		if (strcasecmp(list->gpu[i].uuid, uuid) == 0)
			return (int)i;
	return -1;
}

static gl_gpu_set all_of(const struct gl_gpu_list *list)
{
	return list->n >= 64 ? ~(gl_gpu_set)0 : ((gl_gpu_set)1 << list->n) - 1;
}

/* CUDA numbers GPUs fastest first unless CUDA_DEVICE_ORDER=PCI_BUS_ID; on
 * GPUs all of one model that is PCI order too. */
static bool same_models(const struct gl_gpu_list *list)
{
	for (unsigned i = 0; i < list->n; i++)
		if (!list->gpu[i].model[0] || strcmp(list->gpu[i].model, list->gpu[0].model) != 0)
			return false;
	return true;
}

/* The GPU that one entry [s, e) of CUDA_VISIBLE_DEVICES names: its index,
 * or -1 when the entry is not valid, and the list ends there. */
/* The first n bytes of a and b, letters compared without regard to case
 * (ASCII: UUIDs are hex). Not strncasecmp: one symbol less for every
 * process that loads the preload to bind. */
static bool same_ascii_nocase(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		x = x >= 'A' && x <= 'Z' ? (unsigned char)(x | 0x20) : x;
		y = y >= 'A' && y <= 'Z' ? (unsigned char)(y | 0x20) : y;
		if (x != y)
			return false;
	}
	return true;
}

static int entry_index(const struct gl_gpu_list *list, const char *s, const char *e)
{
	size_t len = (size_t)(e - s);
	int found = -1;

	if (len > 0 && len <= 9 && strspn(s, "0123456789") >= len) {
		long v = 0;

		for (; s < e; s++)
			v = v * 10 + (*s - '0');
		return v < (long)list->n ? (int)v : -1;
	}
	if (len <= 4 || strncmp(s, "GPU-", 4) != 0)
		return -1;
	for (unsigned i = 0; i < list->n; i++) {
		const char *u = list->gpu[i].uuid;

		if (!u[0] || strlen(u) < len || !same_ascii_nocase(u, s, len))
			continue;
		if (found >= 0)
			return -1; /* a prefix of two GPUs' UUIDs */
		found = (int)i;
	}
	return found;
}

enum gl_visible gl_gpus_visible(const struct gl_gpu_list *list, const char *cvd, bool pci_order,
                                gl_gpu_set *set, const char **why)
{
	bool ordered = pci_order || same_models(list), mig = false, twice = false, by_index = false;
	gl_gpu_set seen = 0, indices = 0;
	const char *s = cvd;

	*set = all_of(list);
	if (!cvd || list->n == 0)
		return GL_VISIBLE_ALL;
	for (;;) {
		const char *e = strchr(s, ',');
		gl_gpu_set bit;
		int i;

		if (!e)
			e = s + strlen(s);
		if (strncmp(s, "MIG-", 4) == 0 && e - s > 4) {
			mig = true;
		} else {
			i = entry_index(list, s, e);
			if (i < 0)
				break;
			bit = (gl_gpu_set)1 << i;
			/* Without the order, an index says only which index it is:
			 * the same index twice is still the same GPU. */
			if (s[0] != 'G' && !ordered) {
				by_index = true;
				twice |= (indices & bit) != 0;
				indices |= bit;
			} else {
				twice |= (seen & bit) != 0;
				seen |= bit;
			}
		}
		if (!*e)
			break;
		s = e + 1;
	}
	/* MIG and unknown order first: the whole machine is the safe answer,
	 * while NONE (no lock) must be certain. */
	if (mig) {
		*why = "MIG instances are locked as the whole machine";
		return GL_VISIBLE_MACHINE;
	}
	if (twice) {
		*set = 0;
		return GL_VISIBLE_NONE;
	}
	if (by_index) {
		*why = "CUDA_VISIBLE_DEVICES names GPUs by index, on GPUs of different models "
		       "without CUDA_DEVICE_ORDER=PCI_BUS_ID: CUDA's order (fastest first) is not "
		       "known here";
		return GL_VISIBLE_MACHINE;
	}
	if (seen == 0 || seen == all_of(list)) {
		*set = seen == 0 ? 0 : *set;
		return seen == 0 ? GL_VISIBLE_NONE : GL_VISIBLE_ALL;
	}
	*set = seen;
	return GL_VISIBLE_SOME;
}
