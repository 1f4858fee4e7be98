// SPDX-License-Identifier: MIT
/*
 * Host topology parsing: the built-in default, every class of error
 * (message names file, field and problem), files on disk; and the module
 * parameter files of /sys/module backed by host->params.
 */
#include "harness.h"
#include <stdio.h>
#include <unistd.h>
#include <json-c/json.h>
#include "core/host/modules.h"
#include "core/sysfs/sysfs.h"

static struct uvf_topology *parse_ok(const char *json)
{
	struct uvf_topology *t = NULL;
	char err[512] = "";

	if (topology_load_string(json, "test.json", &t, err, sizeof(err)))
		fail_msg("unexpected error: %s", err);
	assert_non_null(t);
	return t;
}

/* The document fails with -EINVAL and a message holding every fragment. */
static void parse_fails(const char *json, const char *field, const char *what)
{
	struct uvf_topology *t = (void *)1;
	char err[512] = "";
	char prefix[256];
	int ret = topology_load_string(json, "hosts/bad.json", &t, err, sizeof(err));

	if (ret != -EINVAL)
		fail_msg("ret %d for %s (err '%s')", ret, json, err);
	assert_null(t);
	snprintf(prefix, sizeof(prefix), "hosts/bad.json: %s: ", field);
	if (strncmp(err, prefix, strlen(prefix)) || !strstr(err, what))
		fail_msg("error '%s' does not read '%s...%s'", err, prefix, what);
}

static const struct uvf_topo_group *find_group(const struct uvf_topology *t, unsigned int id)
{
	for (unsigned int i = 0; i < t->ngroups; i++)
		if (t->groups[i].id == id)
			return &t->groups[i];
	return NULL;
}

static void assert_default_group(const struct uvf_topo_group *g)
{
	assert_non_null(g);
	assert_true(g->cache_coherent);
	assert_true(g->msi_isolated);
	assert_true(g->pgsize_bitmap == (0x1000ULL | 0x200000ULL | 0x40000000ULL));
	assert_true(g->aperture_start == 0);
	assert_true(g->aperture_end == (1ULL << 48) - 1);
	assert_true(g->has_resv);
	assert_true(g->resv_start == 0xfee00000ULL);
	assert_true(g->resv_last == 0xfeefffffULL);
}

static void default_topology(void **state)
{
	static const struct {
		const char *bdf, *model;
		unsigned int group;
		const char *driver, *params;
		bool coherent;
	} want[] = {
		{ "0000:00:03.0", "uvfio-test", 3, "vfio-pci", NULL, true },
		{ "0000:00:04.0", "uvfio-test", 4, "vfio-pci", NULL, true },
		{ "0000:00:05.0", "uvfio-test", 5, "vfio-pci", NULL, true },
		{ "0000:00:05.1", "uvfio-test", 5, "vfio-pci", NULL, true },
		{ "0000:00:06.0", "uvfio-test", 6, "vfio-pci", NULL, true },
		{ "0000:00:06.1", "uvfio-test", 6, "snd_hda_intel", NULL, true },
		{ "0000:00:07.0", "ioat", 7, "vfio-pci", "{ \"channels\": 4 }", true },
		/* Behind an IOMMU that cannot block No-Snoop (KVM-VFIO tests). */
		{ "0000:00:08.0", "uvfio-test", 8, "vfio-pci", NULL, false },
	};
	struct uvf_topology *t = NULL;
	char err[256] = "";

	(void)state;
	assert_int_equal(topology_load_default(&t, err, sizeof(err)), 0);
	assert_string_equal(t->source, "<built-in>");
	assert_string_equal(t->name, "default");
	assert_int_equal(t->npci, ARRAY_SIZE(want));
	for (unsigned int i = 0; i < t->npci; i++) {
		assert_string_equal(t->pci[i].bdf, want[i].bdf);
		assert_string_equal(t->pci[i].model, want[i].model);
		assert_int_equal(t->pci[i].iommu_group, want[i].group);
		assert_string_equal(t->pci[i].driver, want[i].driver);
		assert_int_equal(t->pci[i].coherent, want[i].coherent);
		if (want[i].params)
			assert_string_equal(json_object_to_json_string(t->pci[i].params),
					    want[i].params);
		else
			assert_null(t->pci[i].params);
	}
	assert_int_equal(t->ngroups, 6);
	for (unsigned int id = 3; id <= 8; id++)
		assert_default_group(find_group(t, id));
	assert_int_equal(t->params.dma_entry_limit, 65535);
	assert_false(t->params.allow_unsafe_interrupts);
	assert_false(t->params.disable_hugepages);
	assert_false(t->params.enable_unsafe_noiommu_mode);
	assert_int_equal(t->params.kvm, UVF_KVM_AUTO);
	assert_int_equal(t->ndevnodes, 0);
	assert_non_null(t->root);
	topology_free(t);
}

static void full_schema(void **state)
{
	struct uvf_topology *t = parse_ok(
		"{ \"name\": \"big\",\n"
		"  \"limits\": { \"dma_entry_limit\": 10, \"allow_unsafe_interrupts\": true,\n"
		"              \"disable_hugepages\": true, \"enable_unsafe_noiommu_mode\": true,\n"
		"              \"kvm\": \"always\" },\n"
		"  \"iommu_groups\": [\n"
		"    { \"id\": 7, \"cache_coherent\": false, \"msi_isolated\": false,\n"
		"      \"pgsize_bitmap\": \"0x1000\",\n"
		"      \"aperture\": { \"start\": 4096, \"end\": \"0xFFFFFFFFFFFFFFFF\" },\n"
		"      \"reserved\": null },\n"
		"    { \"id\": 8, \"reserved\": { \"start\": \"0xfee00000\", \"last\": 4277141503 },\n"
		"      \"aperture\": { \"end\": 18446744073709551615 } } ],\n"
		"  \"pci\": [ { \"bdf\": \"0001:0A:1f.7\", \"model\": \"ioat\", \"iommu_group\": 7,\n"
		"             \"driver\": \"none\", \"params\": { \"channels\": 4 } },\n"
		"           { \"bdf\": \"0000:00:03.0\", \"model\": \"m\", \"iommu_group\": 9,\n"
		"             \"coherent\": false } ],\n"
		"  \"devnodes\": [ { \"path\": \"/dev/vfio/vfio\", \"mode\": \"0660\", \"uid\": 0,\n"
		"                  \"gid\": 36 },\n"
		"                { \"path\": \"/dev/vfio/7\", \"mode\": 384 } ] }");
	const struct uvf_topo_group *g;

	(void)state;
	assert_string_equal(t->name, "big");
	assert_string_equal(t->source, "test.json");
	assert_int_equal(t->params.dma_entry_limit, 10);
	assert_true(t->params.allow_unsafe_interrupts);
	assert_true(t->params.disable_hugepages);
	assert_true(t->params.enable_unsafe_noiommu_mode);
	assert_int_equal(t->params.kvm, UVF_KVM_ALWAYS);

	/* Hex strings and integers are the same 64-bit values. */
	g = find_group(t, 7);
	assert_non_null(g);
	assert_false(g->cache_coherent);
	assert_false(g->msi_isolated);
	assert_true(g->pgsize_bitmap == 0x1000);
	assert_true(g->aperture_start == 4096);
	assert_true(g->aperture_end == UINT64_MAX);
	assert_false(g->has_resv);
	g = find_group(t, 8);
	assert_non_null(g);
	assert_true(g->has_resv);
	assert_true(g->resv_start == 0xfee00000ULL && g->resv_last == 0xfeefffffULL);
	assert_true(g->aperture_start == 0 && g->aperture_end == UINT64_MAX);
	assert_true(g->cache_coherent);
	/* Group 9 is only named by pci[1]: defaults. */
	assert_int_equal(t->ngroups, 3);
	assert_default_group(find_group(t, 9));

	/* BDFs are stored as the kernel names devices, lower case. */
	assert_string_equal(t->pci[0].bdf, "0001:0a:1f.7");
	assert_string_equal(t->pci[0].driver, "none");
	assert_string_equal(t->pci[1].driver, "vfio-pci");
	assert_true(t->pci[0].coherent);
	assert_false(t->pci[1].coherent);
	assert_non_null(t->pci[0].params);
	assert_int_equal(json_object_get_int(json_object_object_get(t->pci[0].params,
								    "channels")), 4);
	assert_null(t->pci[1].params);

	assert_int_equal(t->ndevnodes, 2);
	assert_string_equal(t->devnodes[0].path, "/dev/vfio/vfio");
	assert_int_equal(t->devnodes[0].mode, 0660);
	assert_int_equal(t->devnodes[0].gid, 36);
	assert_true(t->devnodes[0].has_mode && t->devnodes[0].has_uid && t->devnodes[0].has_gid);
	assert_int_equal(t->devnodes[1].mode, 0600);
	assert_true(t->devnodes[1].has_mode);
	assert_false(t->devnodes[1].has_uid || t->devnodes[1].has_gid);
	topology_free(t);
}

/* Params outlive the document text: the topology holds its references. */
static void params_are_kept_until_free(void **state)
{
	struct uvf_topology *t = parse_ok(
		"{ \"pci\": [ { \"bdf\": \"0000:00:03.0\", \"model\": \"m\", \"iommu_group\": 1,"
		"              \"params\": { \"name\": \"x\" } } ] }");
	struct json_object *p = t->pci[0].params;

	(void)state;
	assert_string_equal(json_object_get_string(json_object_object_get(p, "name")), "x");
	assert_ptr_equal(json_object_object_get(json_object_array_get_idx(
		json_object_object_get(t->root, "pci"), 0), "params"), p);
	topology_free(t);	/* ASan: nothing leaks, nothing is freed twice */
}

static void unknown_keys(void **state)
{
	(void)state;
	parse_fails("{ \"nmae\": \"x\" }", "nmae", "unknown key");
	parse_fails("{ \"limits\": { \"dma_entry_limt\": 1 } }", "limits.dma_entry_limt",
		    "unknown key");
	parse_fails("{ \"iommu_groups\": [ { \"id\": 1, \"aperture\": { \"stop\": 1 } } ] }",
		    "iommu_groups[0].aperture.stop", "unknown key");
	parse_fails("{ \"iommu_groups\": [ { \"id\": 1, \"reserved\": { \"end\": 1 } } ] }",
		    "iommu_groups[0].reserved.end", "unknown key");
	parse_fails("{ \"pci\": [ { \"bdf\": \"0000:00:03.0\", \"model\": \"m\","
		    "  \"iommu_group\": 1 }, { \"bdf\": \"0000:00:04.0\", \"model\": \"m\","
		    "  \"iommu_group\": 1, \"drvier\": \"x\" } ] }", "pci[1].drvier", "unknown key");
	parse_fails("{ \"devnodes\": [ { \"path\": \"/dev/vfio/vfio\", \"owner\": 0 } ] }",
		    "devnodes[0].owner", "unknown key");
}

static void wrong_types(void **state)
{
	(void)state;
	parse_fails("[]", "(document)", "expected an object, got array");
	parse_fails("{ \"name\": 5 }", "name", "expected a string, got int");
	parse_fails("{ \"limits\": [] }", "limits", "expected an object, got array");
	parse_fails("{ \"limits\": { \"disable_hugepages\": 1 } }",
		    "limits.disable_hugepages", "expected true or false, got int");
	parse_fails("{ \"limits\": { \"dma_entry_limit\": \"10\" } }",
		    "limits.dma_entry_limit", "expected an unsigned integer, got string");
	parse_fails("{ \"limits\": { \"dma_entry_limit\": 1.5 } }",
		    "limits.dma_entry_limit", "got double");
	parse_fails("{ \"pci\": {} }", "pci", "expected an array, got object");
	parse_fails("{ \"pci\": [ 3 ] }", "pci[0]", "expected an object, got int");
	parse_fails("{ \"pci\": [ { \"bdf\": \"0000:00:03.0\", \"model\": \"m\","
		    "  \"iommu_group\": \"3\" } ] }", "pci[0].iommu_group",
		    "expected an unsigned integer, got string");
	parse_fails("{ \"pci\": [ { \"bdf\": \"0000:00:03.0\", \"model\": \"m\","
		    "  \"iommu_group\": 3, \"params\": [1] } ] }", "pci[0].params",
		    "expected an object, got array");
	parse_fails("{ \"iommu_groups\": [ { \"id\": 1, \"pgsize_bitmap\": true } ] }",
		    "iommu_groups[0].pgsize_bitmap", "got boolean");
	parse_fails("{ \"iommu_groups\": [ { \"id\": 1, \"reserved\": 5 } ] }",
		    "iommu_groups[0].reserved", "expected an object, got int");
	parse_fails("{ \"devnodes\": [ { \"path\": \"/dev/x\", \"mode\": true } ] }",
		    "devnodes[0].mode", "expected an octal string");
	parse_fails("{ \"limits\": { \"kvm\": true } }", "limits.kvm",
		    "expected a string, got boolean");
	parse_fails("{ \"limits\": { \"kvm\": \"sometimes\" } }", "limits.kvm",
		    "'sometimes' is not one of");
	parse_fails("{ \"pci\": [ { \"bdf\": \"0000:00:03.0\", \"model\": \"m\","
		    "  \"iommu_group\": 3, \"coherent\": 0 } ] }", "pci[0].coherent",
		    "expected true or false, got int");
}

static void out_of_range_values(void **state)
{
	(void)state;
	parse_fails("{ \"pci\": [ { \"bdf\": \"0000:00:03.0\", \"model\": \"m\","
		    "  \"iommu_group\": -1 } ] }", "pci[0].iommu_group", "-1 is out of range");
	parse_fails("{ \"pci\": [ { \"bdf\": \"0000:00:03.0\", \"model\": \"m\","
		    "  \"iommu_group\": 2147483648 } ] }", "pci[0].iommu_group",
		    "out of range (0..2147483647)");
	parse_fails("{ \"iommu_groups\": [ { \"id\": 4294967296 } ] }", "iommu_groups[0].id",
		    "out of range");
	parse_fails("{ \"limits\": { \"dma_entry_limit\": 4294967296 } }",
		    "limits.dma_entry_limit", "out of range (0..4294967295)");
	parse_fails("{ \"iommu_groups\": [ { \"id\": 1, \"pgsize_bitmap\": -4096 } ] }",
		    "iommu_groups[0].pgsize_bitmap", "out of range");
	parse_fails("{ \"iommu_groups\": [ { \"id\": 1, \"pgsize_bitmap\": 0 } ] }",
		    "iommu_groups[0].pgsize_bitmap", "at least one page size");
	parse_fails("{ \"iommu_groups\": [ { \"id\": 1, \"pgsize_bitmap\": \"0x\" } ] }",
		    "iommu_groups[0].pgsize_bitmap", "not a hex number");
	parse_fails("{ \"iommu_groups\": [ { \"id\": 1, \"pgsize_bitmap\": \"4096\" } ] }",
		    "iommu_groups[0].pgsize_bitmap", "not a hex number");
	parse_fails("{ \"iommu_groups\": [ { \"id\": 1, \"pgsize_bitmap\": \"0x1g\" } ] }",
		    "iommu_groups[0].pgsize_bitmap", "not a hex number");
	parse_fails("{ \"iommu_groups\": [ { \"id\": 1,"
		    "  \"pgsize_bitmap\": \"0x10000000000000000\" } ] }",
		    "iommu_groups[0].pgsize_bitmap", "does not fit in 64 bits");
	parse_fails("{ \"iommu_groups\": [ { \"id\": 1,"
		    "  \"aperture\": { \"start\": \"0x2000\", \"end\": \"0x1fff\" } } ] }",
		    "iommu_groups[0].aperture", "start 0x2000 is above end 0x1fff");
	parse_fails("{ \"iommu_groups\": [ { \"id\": 1,"
		    "  \"reserved\": { \"start\": 10, \"last\": 9 } } ] }",
		    "iommu_groups[0].reserved", "start 0xa is above last 0x9");
	parse_fails("{ \"devnodes\": [ { \"path\": \"/dev/x\", \"mode\": \"0999\" } ] }",
		    "devnodes[0].mode", "'0999' is not a permission mode");
	parse_fails("{ \"devnodes\": [ { \"path\": \"/dev/x\", \"mode\": \"01777\" } ] }",
		    "devnodes[0].mode", "not a permission mode");
	parse_fails("{ \"devnodes\": [ { \"path\": \"/dev/x\", \"mode\": 512 } ] }",
		    "devnodes[0].mode", "512 is out of range (0..511)");
	parse_fails("{ \"devnodes\": [ { \"path\": \"/dev/x\", \"uid\": -5 } ] }",
		    "devnodes[0].uid", "out of range");
	parse_fails("{ \"devnodes\": [ { \"path\": \"/tmp/x\" } ] }", "devnodes[0].path",
		    "not under /dev/");
	parse_fails("{ \"name\": \"0123456789012345678901234567890123456789012345678901234567"
		    "89012345\" }", "name", "too long (at most 63 characters)");
	parse_fails("{ \"pci\": [ { \"bdf\": \"0000:00:03.0\", \"model\": \"\","
		    "  \"iommu_group\": 3 } ] }", "pci[0].model", "must not be empty");
}

static void malformed_bdfs(void **state)
{
	static const char *const bad[] = {
		"0000:00:03", "0:00:03.0", "0000:00:3.0", "0000-00-03.0", "0000:00:03.0 ",
		"000g:00:03.0", "0000:00:03.a", "0000:000:03.0", "0000:00:03.00",
	};
	char json[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(json, sizeof(json), "{ \"pci\": [ { \"bdf\": \"%s\", \"model\": \"m\","
			 " \"iommu_group\": 3 } ] }", bad[i]);
		parse_fails(json, "pci[0].bdf", "is not a PCI address (dddd:bb:ss.f, hex)");
	}
	parse_fails("{ \"pci\": [ { \"bdf\": \"0000:00:20.0\", \"model\": \"m\","
		    " \"iommu_group\": 3 } ] }", "pci[0].bdf", "slot 0x20 out of range");
	parse_fails("{ \"pci\": [ { \"bdf\": \"0000:00:1f.8\", \"model\": \"m\","
		    " \"iommu_group\": 3 } ] }", "pci[0].bdf", "function 8 out of range");
}

static void duplicates_and_missing_keys(void **state)
{
	(void)state;
	/* The same device named twice, in different case. */
	parse_fails("{ \"pci\": [ { \"bdf\": \"0000:00:0a.0\", \"model\": \"m\", \"iommu_group\": 1 },"
		    "            { \"bdf\": \"0000:00:04.0\", \"model\": \"m\", \"iommu_group\": 2 },"
		    "            { \"bdf\": \"0000:00:0A.0\", \"model\": \"m\", \"iommu_group\": 3 } ] }",
		    "pci[2].bdf", "duplicate address 0000:00:0a.0 (also pci[0])");
	parse_fails("{ \"iommu_groups\": [ { \"id\": 5 }, { \"id\": 6 }, { \"id\": 5 } ] }",
		    "iommu_groups[2].id", "duplicate group id 5 (also iommu_groups[0])");
	parse_fails("{ \"devnodes\": [ { \"path\": \"/dev/vfio/vfio\" },"
		    "                { \"path\": \"/dev/vfio/vfio\" } ] }",
		    "devnodes[1].path", "duplicate path /dev/vfio/vfio (also devnodes[0])");
	parse_fails("{ \"pci\": [ { \"model\": \"m\", \"iommu_group\": 1 } ] }", "pci[0]",
		    "missing required key 'bdf'");
	parse_fails("{ \"pci\": [ { \"bdf\": \"0000:00:03.0\", \"iommu_group\": 1 } ] }",
		    "pci[0]", "missing required key 'model'");
	parse_fails("{ \"pci\": [ { \"bdf\": \"0000:00:03.0\", \"model\": \"m\" } ] }", "pci[0]",
		    "missing required key 'iommu_group'");
	parse_fails("{ \"iommu_groups\": [ { \"cache_coherent\": true } ] }", "iommu_groups[0]",
		    "missing required key 'id'");
	parse_fails("{ \"devnodes\": [ { \"mode\": \"0666\" } ] }", "devnodes[0]",
		    "missing required key 'path'");
}

static void syntax_errors_name_the_position(void **state)
{
	(void)state;
	parse_fails("{\n  \"name\": \"x\",\n  }\n", "line 3, column 3", "invalid JSON");
	parse_fails("{ \"name\": \"x\" } trailing", "line 1, column 17", "invalid JSON");
	parse_fails("{ \"name\": ", "line 1, column 11", "unexpected end of data");
	parse_fails("", "line 1, column 1", "invalid JSON");
}

static void everything_optional_but_pci_identity(void **state)
{
	struct uvf_topology *t = parse_ok("{}");

	(void)state;
	assert_int_equal(t->npci, 0);
	assert_int_equal(t->ngroups, 0);
	assert_int_equal(t->params.dma_entry_limit, 65535);
	assert_string_equal(t->name, "");
	topology_free(t);
}

static void files_on_disk(void **state)
{
	char path[] = "/tmp/uvfio-topo-XXXXXX";
	struct uvf_topology *t = NULL;
	char err[512] = "";
	int fd = mkstemp(path);
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(topology_default_json(), f);
	fclose(f);
	assert_int_equal(topology_load_file(path, &t, err, sizeof(err)), 0);
	assert_string_equal(t->source, path);
	assert_int_equal(t->npci, 8);
	topology_free(t);

	/* Errors in a file name the file. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{ \"pci\": [ { \"bdf\": \"0000:00:03.0\", \"model\": \"m\", \"iommu_group\": 1,"
	      " \"colour\": 1 } ] }", f);
	fclose(f);
	assert_errno(topology_load_file(path, &t, err, sizeof(err)), -EINVAL);
	assert_null(t);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, ": pci[0].colour: unknown key"));

	/* A missing file: its name and the reason. */
	unlink(path);
	assert_errno(topology_load_file(path, &t, err, sizeof(err)), -ENOENT);
	assert_null(t);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "No such file or directory"));
}

/* ---- module parameters in sysfs ---- */

static const struct uvf_caller root_caller = { .uid = 0 };
static const struct uvf_caller user_caller = { .uid = 1000, .gid = 1000 };

static void read_param(struct uvf_host *h, const char *path, const char *want)
{
	char buf[64];
	ssize_t n = sysfs_read(h->sysfs, &user_caller, path, buf, sizeof(buf) - 1, 0);

	if (n < 0)
		fail_msg("read %s: %s", path, strerror((int)-n));
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static ssize_t write_param(struct uvf_host *h, const char *path, const char *s)
{
	return sysfs_write(h->sysfs, &root_caller, path, s, strlen(s), 0);
}

static void module_parameters(void **state)
{
	const char *limit = "/module/vfio_iommu_type1/parameters/dma_entry_limit";
	const char *unsafe = "/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts";
	const char *noiommu = "/module/vfio/parameters/enable_unsafe_noiommu_mode";
	struct uvf_host h;
	struct sysfs_stat st;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.sysfs = sysfs_tree_new();
	assert_non_null(h.sysfs);
	h.params.dma_entry_limit = 65535;
	assert_int_equal(host_modules_init(&h), 0);

	/* uint: "%u\n", kstrtouint base 0 on store. */
	read_param(&h, limit, "65535\n");
	assert_int_equal(write_param(&h, limit, "1000\n"), 5);
	assert_int_equal(h.params.dma_entry_limit, 1000);
	assert_int_equal(write_param(&h, limit, "0x10"), 4);
	read_param(&h, limit, "16\n");
	assert_errno(write_param(&h, limit, "ten"), -EINVAL);
	assert_errno(write_param(&h, limit, "4294967296"), -ERANGE);
	assert_int_equal(h.params.dma_entry_limit, 16);
	assert_errno(sysfs_write(h.sysfs, &user_caller, limit, "1", 1, 0), -EACCES);

	/* bool: "Y\n"/"N\n", kstrtobool on store. */
	read_param(&h, unsafe, "N\n");
	assert_int_equal(write_param(&h, unsafe, "y\n"), 2);
	assert_true(h.params.allow_unsafe_interrupts);
	read_param(&h, unsafe, "Y\n");
	assert_int_equal(write_param(&h, unsafe, "off"), 3);
	assert_false(h.params.allow_unsafe_interrupts);
	assert_errno(write_param(&h, unsafe, "maybe"), -EINVAL);
	assert_false(h.params.allow_unsafe_interrupts);
	assert_int_equal(write_param(&h, noiommu, "1"), 1);
	assert_true(h.params.enable_unsafe_noiommu_mode);
	assert_int_equal(write_param(&h, "/module/vfio_iommu_type1/parameters/disable_hugepages",
				     "Y"), 1);
	assert_true(h.params.disable_hugepages);
	assert_int_equal(write_param(&h, "/module/vfio_pci/parameters/disable_idle_d3", "1"), 1);
	assert_true(h.params.disable_idle_d3);

	/* Modes are the kernel's; 0444 parameters refuse even root. */
	assert_int_equal(sysfs_stat_path(h.sysfs, noiommu, false, &st), 0);
	assert_int_equal(st.mode, 0644);
	assert_int_equal(sysfs_stat_path(h.sysfs, "/module/vfio_pci/parameters/disable_vga",
					 false, &st), 0);
	assert_int_equal(st.mode, 0444);
	assert_errno(write_param(&h, "/module/vfio_pci/parameters/disable_vga", "1"), -EACCES);
	assert_errno(write_param(&h, "/module/vfio_pci/parameters/disable_denylist", "1"),
		     -EACCES);
	read_param(&h, "/module/vfio_pci/parameters/disable_denylist", "N\n");
	assert_errno(sysfs_stat_path(h.sysfs, "/module/vfio_pci/parameters/ids", false, &st),
		     -ENOENT);

	read_param(&h, "/module/vfio_pci_core/initstate", "live\n");
	read_param(&h, "/module/vfio_iommu_type1/initstate", "live\n");

	/* The skeleton other layers fill, and mkdir_p finding it again. */
	for (const char *const *d = (const char *const[]){ "/class/vfio-dev",
		"/kernel/iommu_groups", "/bus/pci/devices", "/bus/pci/drivers",
		"/devices/pci0000:00", NULL }; *d; d++) {
		struct sysfs_node *n = sysfs_lookup(h.sysfs, *d, false);

		assert_non_null(n);
		assert_ptr_equal(sysfs_mkdir_p(sysfs_root(h.sysfs), *d), n);
		sysfs_put(n);
	}
	sysfs_tree_free(h.sysfs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(default_topology),
		cmocka_unit_test(full_schema),
		cmocka_unit_test(params_are_kept_until_free),
		cmocka_unit_test(unknown_keys),
		cmocka_unit_test(wrong_types),
		cmocka_unit_test(out_of_range_values),
		cmocka_unit_test(malformed_bdfs),
		cmocka_unit_test(duplicates_and_missing_keys),
		cmocka_unit_test(syntax_errors_name_the_position),
		cmocka_unit_test(everything_optional_but_pci_identity),
		cmocka_unit_test(files_on_disk),
		cmocka_unit_test(module_parameters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
