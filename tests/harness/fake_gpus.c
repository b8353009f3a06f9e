#include "fake_gpus.h"
#include "procs.h"

#include <check.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_MODEL "NVIDIA H100 80GB HBM3"

static const char *source = "none";

const char *fake_gpu_uuid(unsigned i)
{
	static char buf[8][48];
	char *b = buf[i % 8];

	snprintf(b, sizeof buf[0], "GPU-%x%x000000-d72c-4106-c12f-20bd9faed9f6", 15 - i % 16, i % 16);
	return b;
}

const char *fake_gpu_lock(const char *lock, unsigned i)
{
	static char buf[4][512];
	char *b = buf[i % 4];

	snprintf(b, sizeof buf[0], "%s.d/%s", lock, fake_gpu_uuid(i));
	return b;
}

const char *fake_gpus_source(void)
{
	return source;
}

static bool through_proc(unsigned n, const char *const *models)
{
	if (geteuid() != 0 || unshare(CLONE_NEWNS) != 0)
		return false;
	/* "none", not NULL: ignored by the kernel here, but memcheck checks them */
	ck_assert_int_eq(mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL), 0);
	ck_assert_msg(mount("gl-test", "/proc/driver", "tmpfs", 0, "mode=0755") == 0,
	              "mount tmpfs on /proc/driver: %s", strerror(errno));
	ck_assert_int_eq(mkdir("/proc/driver/nvidia", 0755), 0);
	ck_assert_int_eq(mkdir("/proc/driver/nvidia/gpus", 0755), 0);
	for (unsigned i = 0; i < n; i++) {
		char dir[96], file[128], text[512];

		snprintf(dir, sizeof dir, "/proc/driver/nvidia/gpus/0000:%02x:00.0", 0x18 + i);
		ck_assert_int_eq(mkdir(dir, 0755), 0);
		snprintf(file, sizeof file, "%s/information", dir);
		snprintf(text, sizeof text,
		         "Model: \t\t %s\nIRQ:   \t\t 263\nGPU UUID: \t %s\nVideo BIOS: \t 96.00.74.00.0d\n"
		         "Bus Type: \t PCIe\nDMA Size: \t 52 bits\nDMA Mask: \t 0xfffffffffffff\n"
		         "Bus Location: \t 0000:%02x:00.0\nDevice Minor: \t %u\nGPU Excluded:\t No\n",
		         models && models[i] ? models[i] : DEFAULT_MODEL, fake_gpu_uuid(i), 0x18 + i, i);
		tp_write_file(file, text);
	}
	source = "proc";
	return true;
}

static bool through_nvml(unsigned n, const char *const *models)
{
	char list[4096] = "";
	size_t at = 0;

	if (access("/proc/driver/nvidia/gpus", F_OK) == 0)
		return false; /* real GPUs: NVML would list them, not ours */
	for (unsigned i = 0; i < n; i++)
		at += (size_t)snprintf(list + at, sizeof list - at, "%s%s,00000000:%02X:00.0,%s",
		                       i ? ";" : "", fake_gpu_uuid(i), 0x18 + i,
		                       models && models[i] ? models[i] : DEFAULT_MODEL);
	ck_assert_int_eq(setenv("GL_FAKE_NVML_GPUS", list, 1), 0);
	source = "nvml";
	return true;
}

bool fake_gpus(const char *test, unsigned n, const char *const *models)
{
	if (through_proc(n, models) || through_nvml(n, models))
		return true;
	tp_skip(test, "needs root (a mount namespace with GPUs of its own in /proc/driver), or a "
	              "machine without /proc/driver/nvidia/gpus (the fake NVML)");
	return false;
}

void fake_gpus_memory(unsigned n, const char *const *models, const unsigned *used_mib,
                      const unsigned *total_mib)
{
	char list[4096] = "";
	size_t at = 0;

	for (unsigned i = 0; i < n; i++)
		at += (size_t)snprintf(list + at, sizeof list - at, "%s%s,00000000:%02X:00.0,%s,%u,%u",
		                       i ? ";" : "", fake_gpu_uuid(i), 0x18 + i,
		                       models && models[i] ? models[i] : DEFAULT_MODEL, used_mib[i],
		                       total_mib[i]);
	ck_assert_int_eq(setenv("GL_FAKE_NVML_GPUS", list, 1), 0);
}
