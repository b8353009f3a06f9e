/* gl_gpus: the driver's information files, a /proc tree, PCI addresses,
 * NVML (the fake libnvidia-ml.so.1 of tests/fixtures, found through the
 * unit program's RUNPATH) and CUDA_VISIBLE_DEVICES. */
#include "gl_gpus.h"
#include "procs.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define UUID_A "GPU-8932f937-d72c-4106-c12f-20bd9faed9f6"
#define UUID_B "GPU-8932f938-0000-4106-c12f-20bd9faed9f6"
#define UUID_C "GPU-11111111-2222-3333-4444-555555555555"
/* A board that failed to start; split so that no "??-" trigraph is seen */
#define UUID_UNKNOWN "GPU-????????" "-????" "-????" "-????" "-????????????"

static const char new_driver[] = "Model: \t\t NVIDIA H100 80GB HBM3\n"
                                 "IRQ:   \t\t 263\n"
                                 "GPU UUID: \t " UUID_A "\n"
                                 "Video BIOS: \t 96.00.74.00.0d\n"
                                 "Bus Type: \t PCIe\n"
                                 "DMA Size: \t 52 bits\n"
                                 "DMA Mask: \t 0xfffffffffffff\n"
                                 "Bus Location: \t 0000:18:00.0\n"
                                 "Device Minor: \t 3\n"
                                 "GPU Excluded:\t No\n";

static const char old_driver[] = "Model: \t\t Tesla V100-SXM2-16GB\n"
                                 "IRQ:   \t\t 48\n"
                                 "GPU UUID: \t " UUID_C "\n"
                                 "Video BIOS: \t 88.00.4f.00.09\n"
                                 "Bus Type: \t PCIe\n"
                                 "DMA Size: \t 47 bits\n"
                                 "DMA Mask: \t 0x7fffffffffff\n"
                                 "Bus Location: \t 0000:3B:00.0\n";

START_TEST(information_of_a_new_driver)
{
	struct gl_gpu g;
	bool excluded = true;

	ck_assert(gl_gpu_parse_information(new_driver, &g, &excluded));
	ck_assert_str_eq(g.uuid, UUID_A);
	ck_assert_str_eq(g.bus, "0000:18:00.0");
	ck_assert_str_eq(g.model, "NVIDIA H100 80GB HBM3");
	ck_assert_int_eq(g.minor, 3);
	ck_assert(!excluded);
}
END_TEST

START_TEST(information_of_an_old_driver)
{
	struct gl_gpu g;
	bool excluded = true;

	ck_assert(gl_gpu_parse_information(old_driver, &g, &excluded));
	ck_assert_str_eq(g.uuid, UUID_C);
	ck_assert_str_eq(g.bus, "0000:3b:00.0");
	ck_assert_str_eq(g.model, "Tesla V100-SXM2-16GB");
	ck_assert_int_eq(g.minor, -1);
	ck_assert(!excluded);
}
END_TEST

START_TEST(information_of_a_failed_or_excluded_board)
{
	struct gl_gpu g;
	bool excluded = true;

	ck_assert(gl_gpu_parse_information("Model: \t\t NVIDIA A100-SXM4-40GB\r\n"
	                                   "GPU UUID: \t " UUID_UNKNOWN "\n"
	                                   "Bus Location: \t 0000:07:00.0\n"
	                                   "Device Minor: \t 1\n"
	                                   "GPU Excluded:\t No",
	                                   &g, &excluded));
	ck_assert_str_eq(g.uuid, "");
	ck_assert_str_eq(g.model, "NVIDIA A100-SXM4-40GB");
	ck_assert_str_eq(g.bus, "0000:07:00.0");
	ck_assert_int_eq(g.minor, 1);
	ck_assert(!excluded);

	ck_assert(gl_gpu_parse_information("GPU UUID: \t " UUID_B "\nGPU Excluded:\t Yes\n", &g,
	                                   &excluded));
	ck_assert(excluded);
	ck_assert_str_eq(g.uuid, UUID_B);
	ck_assert_str_eq(g.bus, "");
	ck_assert_str_eq(g.model, "");

	ck_assert(!gl_gpu_parse_information("", &g, &excluded));
	ck_assert(!excluded);
	ck_assert(!gl_gpu_parse_information("IRQ: 5\nnothing here\nDevice Minor: 2\n", &g, &excluded));
	ck_assert_int_eq(g.minor, 2);
	ck_assert(!gl_gpu_parse_information("Bus Location: 18:00.0\n", &g, &excluded));
	ck_assert(gl_gpu_parse_information("Bus Location: 0000:18:00.0\nBus Location: 300900000:18:00.0\n",
	                                   &g, &excluded));
	ck_assert_str_eq(g.bus, "0000:18:00.0");
}
END_TEST

START_TEST(bus_addresses_are_normalised)
{
	static const struct {
		const char *in, *out; /* out NULL: not an address */
	} cases[] = {
		{"00000000:3B:00.0", "0000:3b:00.0"},
		{"0000:18:00.0", "0000:18:00.0"},
		{"0001:AF:1f.7", "0001:af:1f.7"},
		{"1:02:03.4", "0001:02:03.4"},
		{"00010000:3b:00.0", "10000:3b:00.0"},
		{"FFFFFFFF:FF:1F.7", "ffffffff:ff:1f.7"},
		{"", NULL},
		{"garbage", NULL},
		{"3b:00.0", NULL},
		{"0000:3b:00", NULL},
		{"0000:3b:00.0 ", NULL},
		{"0000:3b:00.8", NULL},
		{"0000:3b:20.0", NULL},
		{"0000:3b:0.0", NULL},
		{"0000:xg:00.0", NULL},
		{"000000000:3b:00.0", NULL},
		{"0000:3b:00.00", NULL},
	};
	char out[sizeof(((struct gl_gpu *)0)->bus)];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		bool ok = gl_gpu_bus_normalise(cases[i].in, out, sizeof out);

		ck_assert_msg(ok == (cases[i].out != NULL), "\"%s\": %d", cases[i].in, ok);
		if (ok)
			ck_assert_str_eq(out, cases[i].out);
	}
	/* too small a buffer is a failure, and out stays as it was */
	ck_assert(!gl_gpu_bus_normalise("0000:18:00.0", out, 12));
	ck_assert_str_eq(out, "ffffffff:ff:1f.7");
	ck_assert(gl_gpu_bus_normalise("0000:18:00.0", out, 13));
	ck_assert_str_eq(out, "0000:18:00.0");
}
END_TEST

static void gpu_dir(const char *root, const char *name, const char *information)
{
	char path[512];

	snprintf(path, sizeof path, "%s/%s", root, name);
	ck_assert_msg(mkdir(path, 0755) == 0, "%s", path);
	if (information) {
		snprintf(path, sizeof path, "%s/%s/information", root, name);
		tp_write_file(path, information);
	}
}

START_TEST(proc_tree_in_bus_order)
{
	char root[256], path[300];
	struct gl_gpu_list list;

	tp_make_dir(root, sizeof root);
	/* Bus Location in upper case; the directory name is the one form */
	gpu_dir(root, "0000:3b:00.0", old_driver);
	gpu_dir(root, "0000:18:00.0", new_driver);
	gpu_dir(root, "0000:af:00.0",
	        "Model: \t\t NVIDIA H100 80GB HBM3\nGPU UUID: \t " UUID_B "\n"
	        "Bus Location: \t 0000:af:00.0\nDevice Minor: \t 2\nGPU Excluded:\t Yes\n");
	gpu_dir(root, "0000:86:00.0", NULL);
	gpu_dir(root, "0000:5e:00.0",
	        "Model: \t\t NVIDIA H100 80GB HBM3\n"
	        "GPU UUID: \t " UUID_UNKNOWN "\n"
	        "Bus Location: \t 0000:5e:00.0\nDevice Minor: \t 1\nGPU Excluded:\t No\n");
	/* no Bus Location: the directory's name, ordered by number, not text */
	gpu_dir(root, "10000:01:00.0", "Model: \t\t M1\nGPU UUID: \t GPU-10000000-0000-0000-0000-000000000000\n");
	gpu_dir(root, "2000:01:00.0", "Model: \t\t M2\nGPU UUID: \t GPU-20000000-0000-0000-0000-000000000000\n");
	/* neither: not a GPU */
	gpu_dir(root, "notabus", "Model: \t\t M3\nGPU UUID: \t GPU-30000000-0000-0000-0000-000000000000\n");
	snprintf(path, sizeof path, "%s/README", root);
	tp_write_file(path, "Model: x\n");

	memset(&list, 0xff, sizeof list);
	ck_assert_int_eq(gl_gpus_from_proc(root, &list), 0);
	ck_assert_int_eq(list.source, GL_GPUS_PROC);
	ck_assert_uint_eq(list.n, 5);
	ck_assert_str_eq(list.gpu[0].bus, "0000:18:00.0");
	ck_assert_str_eq(list.gpu[0].uuid, UUID_A);
	ck_assert_int_eq(list.gpu[0].minor, 3);
	ck_assert_str_eq(list.gpu[1].bus, "0000:3b:00.0");
	ck_assert_str_eq(list.gpu[1].model, "Tesla V100-SXM2-16GB");
	ck_assert_int_eq(list.gpu[1].minor, -1);
	ck_assert_str_eq(list.gpu[2].bus, "0000:5e:00.0");
	ck_assert_str_eq(list.gpu[2].uuid, "");
	ck_assert_int_eq(list.gpu[2].minor, 1);
	ck_assert_str_eq(list.gpu[3].bus, "2000:01:00.0");
	ck_assert_str_eq(list.gpu[3].model, "M2");
	ck_assert_str_eq(list.gpu[4].bus, "10000:01:00.0");
	ck_assert_str_eq(list.gpu[4].model, "M1");
	ck_assert_int_eq(gl_gpus_index(&list, UUID_C), 1);
	ck_assert_int_eq(gl_gpus_index(&list, "gpu-8932F937-D72C-4106-C12F-20BD9FAED9F6"), 0);
	ck_assert_int_eq(gl_gpus_index(&list, UUID_B), -1); /* excluded */
	ck_assert_int_eq(gl_gpus_index(&list, ""), -1);

	snprintf(path, sizeof path, "%s/missing", root);
	list.n = 7;
	ck_assert_int_eq(gl_gpus_from_proc(path, &list), -ENOENT);
	ck_assert_uint_eq(list.n, 0);
}
END_TEST

START_TEST(proc_tree_beyond_the_limit_keeps_the_lowest_addresses)
{
	char root[256], name[32], info[128];
	struct gl_gpu_list list;

	tp_make_dir(root, sizeof root);
	/* from the highest down, so that each new one goes first */
	for (int i = GL_GPUS_MAX + 5; i >= 0; i--) {
		snprintf(name, sizeof name, "0000:%02x:00.0", i);
		snprintf(info, sizeof info, "Model: \t\t M\nGPU UUID: \t GPU-%08x-0000-0000-0000-000000000000\n", i);
		gpu_dir(root, name, info);
	}
	ck_assert_int_eq(gl_gpus_from_proc(root, &list), 0);
	ck_assert_uint_eq(list.n, GL_GPUS_MAX);
	for (unsigned i = 0; i < list.n; i++) {
		snprintf(name, sizeof name, "0000:%02x:00.0", i);
		ck_assert_str_eq(list.gpu[i].bus, name);
	}
}
END_TEST

#define NVML_GPUS UUID_B ",00000000:3B:00.0,NVIDIA A100-SXM4-40GB,1024,40960;" \
		  UUID_A ",00000000:18:00.0,NVIDIA H100 80GB HBM3"

START_TEST(nvml_lists_gpus_in_bus_order)
{
	struct gl_gpu_list list;
	unsigned long long used[GL_GPUS_MAX], total[GL_GPUS_MAX];

	setenv("GL_FAKE_NVML_GPUS", NVML_GPUS, 1);
	memset(&list, 0xff, sizeof list);
	ck_assert_int_eq(gl_gpus_from_nvml(&list), 0);
	ck_assert_int_eq(list.source, GL_GPUS_NVML);
	ck_assert_uint_eq(list.n, 2);
	ck_assert_str_eq(list.gpu[0].uuid, UUID_A);
	ck_assert_str_eq(list.gpu[0].bus, "0000:18:00.0");
	ck_assert_str_eq(list.gpu[0].model, "NVIDIA H100 80GB HBM3");
	ck_assert_int_eq(list.gpu[0].minor, -1);
	ck_assert_str_eq(list.gpu[1].uuid, UUID_B);
	ck_assert_str_eq(list.gpu[1].bus, "0000:3b:00.0");
	ck_assert_str_eq(list.gpu[1].model, "NVIDIA A100-SXM4-40GB");

	/* the second has memory figures, the first none (NOT_SUPPORTED) */
	memset(used, 0xff, sizeof used);
	memset(total, 0xff, sizeof total);
	ck_assert_int_eq(gl_gpus_memory(&list, used, total), 0);
	ck_assert_uint_eq(used[0], 0);
	ck_assert_uint_eq(total[0], 0);
	ck_assert_uint_eq(used[1], 1024ULL << 20);
	ck_assert_uint_eq(total[1], 40960ULL << 20);

	/* a GPU NVML does not know, or without a UUID: 0 */
	strcpy(list.gpu[1].uuid, UUID_C);
	list.gpu[0].uuid[0] = '\0';
	used[0] = used[1] = total[0] = total[1] = 7;
	ck_assert_int_eq(gl_gpus_memory(&list, used, total), 0);
	ck_assert_uint_eq(used[0] + used[1] + total[0] + total[1], 0);

	/* twice in one process: NVML loaded and started again */
	ck_assert_int_eq(gl_gpus_from_nvml(&list), 0);
	ck_assert_uint_eq(list.n, 2);
}
END_TEST

START_TEST(nvml_without_a_driver)
{
	struct gl_gpu_list list;
	unsigned long long used[2] = {5, 5}, total[2] = {5, 5};

	unsetenv("GL_FAKE_NVML_GPUS");
	list.n = 3;
	ck_assert_int_eq(gl_gpus_from_nvml(&list), -EIO);
	ck_assert_uint_eq(list.n, 0);
	list.n = 2;
	ck_assert_int_eq(gl_gpus_memory(&list, used, total), -EIO);
	ck_assert_uint_eq(used[0] + used[1] + total[0] + total[1], 0);
	setenv("GL_FAKE_NVML_GPUS", "", 1);
	ck_assert_int_eq(gl_gpus_from_nvml(&list), 0);
	ck_assert_uint_eq(list.n, 0);
}
END_TEST

/* gl_gpus_find reads the machine's /proc: where it has the driver's tree the
 * answer is that tree's, and NVML (here the fake) otherwise. */
START_TEST(find_takes_proc_then_nvml)
{
	struct gl_gpu_list list, expect;

	setenv("GL_FAKE_NVML_GPUS", NVML_GPUS, 1);
	gl_gpus_find(&list);
	if (gl_gpus_from_proc(GL_GPUS_PROC_DIR, &expect) != 0 || expect.n == 0)
		ck_assert_int_eq(gl_gpus_from_nvml(&expect), 0);
	ck_assert_int_eq(list.source, expect.source);
	ck_assert_uint_eq(list.n, expect.n);
	for (unsigned i = 0; i < list.n; i++)
		ck_assert_str_eq(list.gpu[i].uuid, expect.gpu[i].uuid);
	if (list.source == GL_GPUS_NVML)
		ck_assert_uint_eq(list.n, 2);
}
END_TEST

static void make_list(struct gl_gpu_list *list, const char *m0, const char *m1, const char *m2)
{
	const char *uuids[] = {UUID_A, UUID_B, UUID_C}, *models[] = {m0, m1, m2};

	memset(list, 0, sizeof *list);
	list->source = GL_GPUS_PROC;
	list->n = 3;
	for (unsigned i = 0; i < 3; i++) {
		strcpy(list->gpu[i].uuid, uuids[i]);
		snprintf(list->gpu[i].bus, sizeof list->gpu[i].bus, "0000:%02x:00.0", 0x18 + i);
		strcpy(list->gpu[i].model, models[i]);
		list->gpu[i].minor = (int)i;
	}
}

struct cvd_case {
	const char *cvd;
	bool pci_order;
	enum gl_visible want;
	gl_gpu_set set;
};

static void check_cases(const struct gl_gpu_list *list, const struct cvd_case *c, size_t n)
{
	static const char *names[] = {"ALL", "NONE", "SOME", "MACHINE"};

	for (size_t i = 0; i < n; i++) {
		static const char unset[] = "unset";
		const char *why = unset;
		gl_gpu_set set = 0xdead;
		enum gl_visible v = gl_gpus_visible(list, c[i].cvd, c[i].pci_order, &set, &why);

		ck_assert_msg(v == c[i].want && set == c[i].set,
		              "CUDA_VISIBLE_DEVICES=%s%s: %s, set 0x%llx; want %s, set 0x%llx",
		              c[i].cvd ? c[i].cvd : "(unset)", c[i].pci_order ? " (PCI order)" : "",
		              names[v], (unsigned long long)set, names[c[i].want],
		              (unsigned long long)c[i].set);
		if (v == GL_VISIBLE_MACHINE)
			ck_assert_msg(why != unset && why && why[0], "%s: no reason", c[i].cvd);
		else
			ck_assert_msg(why == unset, "%s: a reason without MACHINE", c[i].cvd);
	}
}

START_TEST(visible_devices_on_one_model)
{
	static const struct cvd_case cases[] = {
		{NULL, false, GL_VISIBLE_ALL, 7},
		{"", false, GL_VISIBLE_NONE, 0},
		{"0", false, GL_VISIBLE_SOME, 1},
		{"2", false, GL_VISIBLE_SOME, 4},
		{"1,0", false, GL_VISIBLE_SOME, 3},
		{"0,0", false, GL_VISIBLE_NONE, 0},
		{"0,5,1", false, GL_VISIBLE_SOME, 1},
		{"0,-1,1", false, GL_VISIBLE_SOME, 1},
		{"0,", false, GL_VISIBLE_SOME, 1},
		{",0", false, GL_VISIBLE_NONE, 0},
		{" 0", false, GL_VISIBLE_NONE, 0},
		{"3", false, GL_VISIBLE_NONE, 0},
		{"-1", false, GL_VISIBLE_NONE, 0},
		{"2,1,0", false, GL_VISIBLE_ALL, 7},
		{"2,1,0", true, GL_VISIBLE_ALL, 7},
		{UUID_A, false, GL_VISIBLE_SOME, 1},
		{"GPU-8932F937-D72C-4106-C12F-20BD9FAED9F6", false, GL_VISIBLE_SOME, 1},
		{UUID_A "0", false, GL_VISIBLE_NONE, 0}, /* longer than any */
		{"GPU-8932f938", false, GL_VISIBLE_SOME, 2},
		{"GPU-1", false, GL_VISIBLE_SOME, 4},
		{"2,GPU-8932f93,0", false, GL_VISIBLE_SOME, 4}, /* ambiguous: the list ends */
		{"GPU-8932f937,0", false, GL_VISIBLE_NONE, 0},    /* GPU 0 twice */
		{"GPU-1,GPU-11", false, GL_VISIBLE_NONE, 0},
		{"GPU-", false, GL_VISIBLE_NONE, 0},
		{"GPU-zzz", false, GL_VISIBLE_NONE, 0},
		{"MIG-GPU-8932f937-d72c-4106-c12f-20bd9faed9f6/1/0", false, GL_VISIBLE_MACHINE, 7},
		{"MIG-8932f937-d72c-4106-c12f-20bd9faed9f6", false, GL_VISIBLE_MACHINE, 7},
		{"0,MIG-abc", false, GL_VISIBLE_MACHINE, 7},
		{"5,MIG-abc", false, GL_VISIBLE_NONE, 0}, /* the list ended before it */
	};
	struct gl_gpu_list list;

	make_list(&list, "NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3");
	check_cases(&list, cases, sizeof cases / sizeof cases[0]);
}
END_TEST

START_TEST(visible_devices_on_different_models)
{
	static const struct cvd_case cases[] = {
		{NULL, false, GL_VISIBLE_ALL, 7},
		{"0", false, GL_VISIBLE_MACHINE, 7},
		{"0", true, GL_VISIBLE_SOME, 1},
		{"1,2", true, GL_VISIBLE_SOME, 6},
		{"GPU-1", false, GL_VISIBLE_SOME, 4},
		{UUID_A "," UUID_B, false, GL_VISIBLE_SOME, 3},
		{"GPU-1,0", false, GL_VISIBLE_MACHINE, 7},
		{"GPU-1,0", true, GL_VISIBLE_SOME, 5},
		{"GPU-1,2", true, GL_VISIBLE_NONE, 0},
		{"0,0", false, GL_VISIBLE_NONE, 0}, /* one index twice: whatever the order */
		{"5", false, GL_VISIBLE_NONE, 0},   /* no index 5 in any order */
		{"", false, GL_VISIBLE_NONE, 0},
	};
	struct gl_gpu_list list;

	make_list(&list, "NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-40GB", "NVIDIA H100 80GB HBM3");
	check_cases(&list, cases, sizeof cases / sizeof cases[0]);
	/* unknown models are not the same model */
	make_list(&list, "", "", "");
	check_cases(&list, cases, 3);
}
END_TEST

START_TEST(visible_devices_edge_lists)
{
	static const struct cvd_case none[] = {
		{NULL, false, GL_VISIBLE_ALL, 0},  {"", false, GL_VISIBLE_ALL, 0},
		{"0", false, GL_VISIBLE_ALL, 0},   {"-1", false, GL_VISIBLE_ALL, 0},
		{"MIG-x", false, GL_VISIBLE_ALL, 0},
	};
	static const struct cvd_case no_uuid[] = {
		{"2", false, GL_VISIBLE_SOME, 4},
		{"GPU-1", false, GL_VISIBLE_NONE, 0},
		{"GPU-8932f93", false, GL_VISIBLE_NONE, 0}, /* still two others */
		{"GPU-8932f938,2", false, GL_VISIBLE_SOME, 6},
	};
	struct gl_gpu_list list;
	gl_gpu_set set;
	const char *why = NULL;
	char cvd[8];

	make_list(&list, "M", "M", "M");
	list.n = 0;
	check_cases(&list, none, sizeof none / sizeof none[0]);

	make_list(&list, "M", "M", "M");
	list.gpu[2].uuid[0] = '\0';
	check_cases(&list, no_uuid, sizeof no_uuid / sizeof no_uuid[0]);

	/* 64 GPUs: the set is the whole word */
	list.n = GL_GPUS_MAX;
	for (unsigned i = 0; i < GL_GPUS_MAX; i++) {
		list.gpu[i] = list.gpu[0];
		snprintf(list.gpu[i].uuid, sizeof list.gpu[i].uuid, "GPU-%08x", i);
	}
	ck_assert_int_eq(gl_gpus_visible(&list, NULL, false, &set, &why), GL_VISIBLE_ALL);
	ck_assert(set == ~(gl_gpu_set)0);
	ck_assert_int_eq(gl_gpus_visible(&list, "63", false, &set, &why), GL_VISIBLE_SOME);
	ck_assert(set == (gl_gpu_set)1 << 63);
	ck_assert_int_eq(gl_gpus_visible(&list, "64", false, &set, &why), GL_VISIBLE_NONE);
	snprintf(cvd, sizeof cvd, "GPU-%x", 0x3f); /* GPU-3f: a prefix of no UUID */
	ck_assert_int_eq(gl_gpus_visible(&list, cvd, false, &set, &why), GL_VISIBLE_NONE);
	ck_assert_int_eq(gl_gpus_visible(&list, "GPU-0000003f", false, &set, &why), GL_VISIBLE_SOME);
	ck_assert(set == (gl_gpu_set)1 << 63);
	ck_assert_ptr_null(why);
}
END_TEST

Suite *gpus_suite(void)
{
	Suite *s = suite_create("gpus");
	TCase *tc = tcase_create("gpus");

	tcase_add_test(tc, information_of_a_new_driver);
	tcase_add_test(tc, information_of_an_old_driver);
	tcase_add_test(tc, information_of_a_failed_or_excluded_board);
	tcase_add_test(tc, bus_addresses_are_normalised);
	tcase_add_test(tc, proc_tree_in_bus_order);
	tcase_add_test(tc, proc_tree_beyond_the_limit_keeps_the_lowest_addresses);
	tcase_add_test(tc, nvml_lists_gpus_in_bus_order);
	tcase_add_test(tc, nvml_without_a_driver);
	tcase_add_test(tc, find_takes_proc_then_nvml);
	tcase_add_test(tc, visible_devices_on_one_model);
	tcase_add_test(tc, visible_devices_on_different_models);
	tcase_add_test(tc, visible_devices_edge_lists);
	suite_add_tcase(s, tc);
	return s;
}
