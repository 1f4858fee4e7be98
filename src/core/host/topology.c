// SPDX-License-Identifier: MIT
/*
 * Parsing a host topology (topology.h).  Every object is walked key by
 * key: a key the schema does not name is an error, so a misspelt option
 * never silently means its default.  Errors read "SOURCE: FIELD: problem"
 * with FIELD a JSON path ("pci[1].iommu_group").
 *
 * Known limits of json-c that this parser inherits: a repeated key keeps
 * its last value, and an integer literal beyond 2^64-1 reads as 2^64-1.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "topology.h"
#include "../base/compiler.h"
#include "../sysfs/sysfs.h"
#include "../mdev/msample.h"

#define TOPO_FIELD_MAX 128
#define TOPO_FILE_MAX (16u << 20)

#define GROUP_ID_MAX 0x7fffffffu	/* iommu group ids are ida-allocated ints */
#define DEFAULT_PGSIZES ((1ULL << 12) | (1ULL << 21) | (1ULL << 30))
#define DEFAULT_APERTURE_END ((1ULL << 48) - 1)
#define DEFAULT_MSI_START 0xfee00000ULL
#define DEFAULT_MSI_LAST 0xfeefffffULL

struct topo_ctx {
	const char *source;
	char *err;
	size_t errlen;
};

static int topo_error(struct topo_ctx *cx, const char *field, const char *fmt, ...)
	UVF_PRINTF(3, 4);

static int topo_error(struct topo_ctx *cx, const char *field, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (cx->err && cx->errlen)
		snprintf(cx->err, cx->errlen, "%s: %s: %s", cx->source, field, what);
	return -EINVAL;
}

/* A field path too long to print ends in "..." rather than misleading. */
static void field_trim(char *out, int len)
{
	if (len >= TOPO_FIELD_MAX)
		memcpy(out + TOPO_FIELD_MAX - 4, "...", 4);
}

/* "base.key", or "key" at the top level. */
static void field_key(char *out, const char *base, const char *key)
{
	field_trim(out, snprintf(out, TOPO_FIELD_MAX, "%s%s%s", base, *base ? "." : "", key));
}

static void field_index(char *out, const char *base, size_t i)
{
	field_trim(out, snprintf(out, TOPO_FIELD_MAX, "%s[%zu]", base, i));
}

static const char *type_name(struct json_object *v)
{
	return json_type_to_name(json_object_get_type(v));
}

/* ---- scalar fields ---- */

static int get_object(struct topo_ctx *cx, const char *field, struct json_object *v)
{
	if (!json_object_is_type(v, json_type_object))
		return topo_error(cx, field, "expected an object, got %s", type_name(v));
	return 0;
}

static int get_array(struct topo_ctx *cx, const char *field, struct json_object *v)
{
	if (!json_object_is_type(v, json_type_array))
		return topo_error(cx, field, "expected an array, got %s", type_name(v));
	return 0;
}

static int get_bool(struct topo_ctx *cx, const char *field, struct json_object *v, bool *out)
{
	if (!json_object_is_type(v, json_type_boolean))
		return topo_error(cx, field, "expected true or false, got %s", type_name(v));
	*out = json_object_get_boolean(v);
	return 0;
}

static int get_string(struct topo_ctx *cx, const char *field, struct json_object *v,
		      char *out, size_t size)
{
	const char *s;

	if (!json_object_is_type(v, json_type_string))
		return topo_error(cx, field, "expected a string, got %s", type_name(v));
	s = json_object_get_string(v);
	if (!*s)
		return topo_error(cx, field, "must not be empty");
	if (strlen(s) >= size)
		return topo_error(cx, field, "'%s' is too long (at most %zu characters)", s,
				  size - 1);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

/* A string that must be one of names[0..n): its index in *idx. */
static int get_enum(struct topo_ctx *cx, const char *field, struct json_object *v,
		    const char *const *names, size_t n, unsigned int *idx)
{
	char s[32], list[128] = "";
	int ret = get_string(cx, field, v, s, sizeof(s));

	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(s, names[i])) {
			*idx = (unsigned int)i;
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s\"%s\"",
			 i ? ", " : "", names[i]);
	}
	return topo_error(cx, field, "'%s' is not one of %s", s, list);
}

static int get_uint(struct topo_ctx *cx, const char *field, struct json_object *v,
		    uint64_t max, uint64_t *out)
{
	if (!json_object_is_type(v, json_type_int))
		return topo_error(cx, field, "expected an unsigned integer, got %s", type_name(v));
	if (json_object_get_int64(v) < 0 || json_object_get_uint64(v) > max)
		return topo_error(cx, field, "%s is out of range (0..%llu)",
				  json_object_to_json_string(v), (unsigned long long)max);
	*out = json_object_get_uint64(v);
	return 0;
}

static int get_u32(struct topo_ctx *cx, const char *field, struct json_object *v,
		   uint32_t max, unsigned int *out)
{
	uint64_t val;
	int ret = get_uint(cx, field, v, max, &val);

	if (!ret)
		*out = (unsigned int)val;
	return ret;
}

/* A 64-bit value: a JSON integer, or a "0x..." string for readability. */
static int get_u64(struct topo_ctx *cx, const char *field, struct json_object *v,
		   uint64_t *out)
{
	unsigned long long val;
	const char *s;

	if (json_object_is_type(v, json_type_int))
		return get_uint(cx, field, v, UINT64_MAX, out);
	if (!json_object_is_type(v, json_type_string))
		return topo_error(cx, field,
				  "expected an unsigned integer or a \"0x...\" string, got %s",
				  type_name(v));
	s = json_object_get_string(v);
	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || !s[2] ||
	    strspn(s + 2, "0123456789abcdefABCDEF") != strlen(s + 2))
		return topo_error(cx, field, "'%s' is not a hex number (\"0x...\")", s);
	if (kstrtoull(s + 2, 16, &val))
		return topo_error(cx, field, "'%s' does not fit in 64 bits", s);
	*out = val;
	return 0;
}

/* ---- limits ---- */

/* "kvm": whether programs get the host's /dev/kvm. */
static int get_kvm_mode(struct topo_ctx *cx, const char *field, struct json_object *v,
			enum uvf_kvm_mode *out)
{
	static const char *const names[] = {
		[UVF_KVM_AUTO] = "auto", [UVF_KVM_ALWAYS] = "always", [UVF_KVM_NEVER] = "never",
	};
	unsigned int i;
	int ret = get_enum(cx, field, v, names, ARRAY_SIZE(names), &i);

	if (!ret)
		*out = (enum uvf_kvm_mode)i;
	return ret;
}

static int parse_limits(struct topo_ctx *cx, struct json_object *obj,
			struct uvf_host_params *p)
{
	const char *base = "limits";
	char field[TOPO_FIELD_MAX];
	int ret = get_object(cx, base, obj);

	if (ret)
		return ret;
	json_object_object_foreach(obj, key, val) {
		field_key(field, base, key);
		if (!strcmp(key, "dma_entry_limit"))
			ret = get_u32(cx, field, val, UINT32_MAX, &p->dma_entry_limit);
		else if (!strcmp(key, "allow_unsafe_interrupts"))
			ret = get_bool(cx, field, val, &p->allow_unsafe_interrupts);
		else if (!strcmp(key, "disable_hugepages"))
			ret = get_bool(cx, field, val, &p->disable_hugepages);
		else if (!strcmp(key, "enable_unsafe_noiommu_mode"))
			ret = get_bool(cx, field, val, &p->enable_unsafe_noiommu_mode);
		else if (!strcmp(key, "iommufd_test"))
			ret = get_bool(cx, field, val, &p->iommufd_test);
		else if (!strcmp(key, "iommufd_vfio_container"))
			ret = get_bool(cx, field, val, &p->iommufd_vfio_container);
		else if (!strcmp(key, "kvm"))
			ret = get_kvm_mode(cx, field, val, &p->kvm);
		else
			ret = topo_error(cx, field, "unknown key");
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- mdev_sample: the sample mdev parent (src/core/mdev/msample.h) ---- */

static int parse_mdev_sample(struct topo_ctx *cx, struct json_object *obj,
			     unsigned int *channels)
{
	const char *base = "mdev_sample";
	char field[TOPO_FIELD_MAX];
	int ret = get_object(cx, base, obj);

	if (ret)
		return ret;
	*channels = 8;
	json_object_object_foreach(obj, key, val) {
		field_key(field, base, key);
		if (strcmp(key, "channels"))
			return topo_error(cx, field, "unknown key");
		ret = get_u32(cx, field, val, MSAMPLE_MAX_CHANNELS, channels);
		if (ret)
			return ret;
		if (!*channels)
			return topo_error(cx, field, "must be at least 1");
	}
	return 0;
}

/* ---- iommu_groups[] ---- */

static void group_defaults(struct uvf_topo_group *g, unsigned int id)
{
	g->id = id;
	g->cache_coherent = true;
	g->msi_isolated = true;
	g->pgsize_bitmap = DEFAULT_PGSIZES;
	g->aperture_start = 0;
	g->aperture_end = DEFAULT_APERTURE_END;
	g->resv_start = DEFAULT_MSI_START;
	g->resv_last = DEFAULT_MSI_LAST;
	g->has_resv = true;
}

/* {"start": u64, <end_key>: u64}, both optional; start must not pass the end. */
static int parse_range(struct topo_ctx *cx, const char *base, struct json_object *obj,
		       const char *end_key, uint64_t *start, uint64_t *end)
{
	char field[TOPO_FIELD_MAX];
	int ret = get_object(cx, base, obj);

	if (ret)
		return ret;
	json_object_object_foreach(obj, key, val) {
		field_key(field, base, key);
		if (!strcmp(key, "start"))
			ret = get_u64(cx, field, val, start);
		else if (!strcmp(key, end_key))
			ret = get_u64(cx, field, val, end);
		else
			ret = topo_error(cx, field, "unknown key");
		if (ret)
			return ret;
	}
	if (*start > *end)
		return topo_error(cx, base, "start 0x%llx is above %s 0x%llx",
				  (unsigned long long)*start, end_key, (unsigned long long)*end);
	return 0;
}

static int parse_group(struct topo_ctx *cx, const char *base, struct json_object *obj,
		       struct uvf_topo_group *g)
{
	char field[TOPO_FIELD_MAX];
	bool has_id = false;
	int ret = get_object(cx, base, obj);

	if (ret)
		return ret;
	group_defaults(g, 0);
	json_object_object_foreach(obj, key, val) {
		field_key(field, base, key);
		if (!strcmp(key, "id")) {
			ret = get_u32(cx, field, val, GROUP_ID_MAX, &g->id);
			has_id = true;
		} else if (!strcmp(key, "cache_coherent")) {
			ret = get_bool(cx, field, val, &g->cache_coherent);
		} else if (!strcmp(key, "msi_isolated")) {
			ret = get_bool(cx, field, val, &g->msi_isolated);
		} else if (!strcmp(key, "pgsize_bitmap")) {
			ret = get_u64(cx, field, val, &g->pgsize_bitmap);
			if (!ret && !g->pgsize_bitmap)
				ret = topo_error(cx, field, "must name at least one page size");
		} else if (!strcmp(key, "aperture")) {
			ret = parse_range(cx, field, val, "end", &g->aperture_start,
					  &g->aperture_end);
		} else if (!strcmp(key, "reserved")) {
			g->has_resv = !json_object_is_type(val, json_type_null);
			if (g->has_resv)
				ret = parse_range(cx, field, val, "last", &g->resv_start,
						  &g->resv_last);
		} else {
			ret = topo_error(cx, field, "unknown key");
		}
		if (ret)
			return ret;
	}
	if (!has_id)
		return topo_error(cx, base, "missing required key 'id'");
	return 0;
}

/* ---- pci[] ---- */

static bool is_hex(const char *s, size_t len)
{
	return strspn(s, "0123456789abcdefABCDEF") >= len;
}

/* "dddd:bb:ss.f", stored as the kernel names it (lower case). */
static int parse_bdf(struct topo_ctx *cx, const char *field, const char *s, char *out)
{
	unsigned int domain, bus, slot, func;

	if (strlen(s) != 12 || s[4] != ':' || s[7] != ':' || s[10] != '.' ||
	    !is_hex(s, 4) || !is_hex(s + 5, 2) || !is_hex(s + 8, 2) ||
	    s[11] < '0' || s[11] > '9')
		return topo_error(cx, field,
				  "'%s' is not a PCI address (dddd:bb:ss.f, hex)", s);
	sscanf(s, "%4x:%2x:%2x.%1u", &domain, &bus, &slot, &func);
	if (slot >= 32)
		return topo_error(cx, field, "'%s': slot 0x%02x out of range (00..1f)", s, slot);
	if (func >= 8)
		return topo_error(cx, field, "'%s': function %u out of range (0..7)", s, func);
	snprintf(out, 16, "%04x:%02x:%02x.%u", domain, bus, slot, func);
	return 0;
}

static int parse_pci_one(struct topo_ctx *cx, const char *base, struct json_object *obj,
			 struct uvf_topo_pci *p)
{
	char field[TOPO_FIELD_MAX], bdf[64];
	bool has_bdf = false, has_model = false, has_group = false;
	int ret = get_object(cx, base, obj);

	if (ret)
		return ret;
	snprintf(p->driver, sizeof(p->driver), "vfio-pci");
	p->coherent = true;
	json_object_object_foreach(obj, key, val) {
		field_key(field, base, key);
		if (!strcmp(key, "bdf")) {
			ret = get_string(cx, field, val, bdf, sizeof(bdf));
			if (!ret)
				ret = parse_bdf(cx, field, bdf, p->bdf);
			has_bdf = true;
		} else if (!strcmp(key, "model")) {
			ret = get_string(cx, field, val, p->model, sizeof(p->model));
			has_model = true;
		} else if (!strcmp(key, "iommu_group")) {
			ret = get_u32(cx, field, val, GROUP_ID_MAX, &p->iommu_group);
			has_group = true;
		} else if (!strcmp(key, "driver")) {
			ret = get_string(cx, field, val, p->driver, sizeof(p->driver));
			if (!ret && strchr(p->driver, '/'))
				ret = topo_error(cx, field, "'%s' is not a driver name", p->driver);
		} else if (!strcmp(key, "coherent")) {
			ret = get_bool(cx, field, val, &p->coherent);
		} else if (!strcmp(key, "params")) {
			ret = get_object(cx, field, val);
			if (!ret)
				p->params = json_object_get(val);
		} else {
			ret = topo_error(cx, field, "unknown key");
		}
		if (ret)
			return ret;
	}
	if (!has_bdf)
		return topo_error(cx, base, "missing required key 'bdf'");
	if (!has_model)
		return topo_error(cx, base, "missing required key 'model'");
	if (!has_group)
		return topo_error(cx, base, "missing required key 'iommu_group'");
	return 0;
}

/* ---- devnodes[] ---- */

static int parse_mode(struct topo_ctx *cx, const char *field, struct json_object *v,
		      mode_t *out)
{
	unsigned long long val;
	const char *s;

	if (json_object_is_type(v, json_type_int)) {
		uint64_t m;
		int ret = get_uint(cx, field, v, 0777, &m);

		if (!ret)
			*out = (mode_t)m;
		return ret;
	}
	if (!json_object_is_type(v, json_type_string))
		return topo_error(cx, field, "expected an octal string such as \"0660\", got %s",
				  type_name(v));
	s = json_object_get_string(v);
	if (!*s || strspn(s, "01234567") != strlen(s) || kstrtoull(s, 8, &val) || val > 0777)
		return topo_error(cx, field, "'%s' is not a permission mode (octal, 0..0777)", s);
	*out = (mode_t)val;
	return 0;
}

static int parse_devnode(struct topo_ctx *cx, const char *base, struct json_object *obj,
			 struct uvf_topo_devnode *d)
{
	char field[TOPO_FIELD_MAX];
	bool has_path = false;
	unsigned int id = 0;
	int ret = get_object(cx, base, obj);

	if (ret)
		return ret;
	d->mode = 0600;
	json_object_object_foreach(obj, key, val) {
		field_key(field, base, key);
		if (!strcmp(key, "path")) {
			ret = get_string(cx, field, val, d->path, sizeof(d->path));
			if (!ret && strncmp(d->path, "/dev/", 5))
				ret = topo_error(cx, field, "'%s' is not under /dev/", d->path);
			has_path = true;
		} else if (!strcmp(key, "mode")) {
			ret = parse_mode(cx, field, val, &d->mode);
			d->has_mode = true;
		} else if (!strcmp(key, "uid")) {
			ret = get_u32(cx, field, val, UINT32_MAX, &id);
			d->uid = id;
			d->has_uid = true;
		} else if (!strcmp(key, "gid")) {
			ret = get_u32(cx, field, val, UINT32_MAX, &id);
			d->gid = id;
			d->has_gid = true;
		} else {
			ret = topo_error(cx, field, "unknown key");
		}
		if (ret)
			return ret;
	}
	if (!has_path)
		return topo_error(cx, base, "missing required key 'path'");
	return 0;
}

/* ---- arrays of objects ---- */

/*
 * One kind of array: elements of elem_size parsed by parse_one, with one
 * key ('unique_key', read by 'key_of') that no two elements may share.
 */
struct topo_array {
	const char *base;			/* "pci" */
	size_t elem_size;
	int (*parse_one)(struct topo_ctx *cx, const char *field, struct json_object *obj,
			 void *elem);
	const char *unique_key;			/* "bdf" */
	const char *unique_what;		/* "address" */
	void (*key_of)(const void *elem, char *buf, size_t size);
};

/*
 * Parse an array into a calloc'd vector.  *count counts an element before
 * it is parsed, so that whatever a failed element already holds (pci
 * params) is released by topology_free.
 */
static int parse_array(struct topo_ctx *cx, const struct topo_array *ta,
		       struct json_object *arr, void **out, unsigned int *count)
{
	char field[TOPO_FIELD_MAX];
	uint8_t *v;
	size_t n;
	int ret = get_array(cx, ta->base, arr);

	if (ret)
		return ret;
	n = json_object_array_length(arr);
	v = calloc(n ? n : 1, ta->elem_size);
	if (!v)
		return -ENOMEM;
	*out = v;
	for (size_t i = 0; i < n; i++) {
		void *e = v + i * ta->elem_size;
		char key[128], other[128], key_field[TOPO_FIELD_MAX];

		field_index(field, ta->base, i);
		(*count)++;
		ret = ta->parse_one(cx, field, json_object_array_get_idx(arr, i), e);
		if (ret)
			return ret;
		ta->key_of(e, key, sizeof(key));
		for (size_t j = 0; j < i; j++) {
			ta->key_of(v + j * ta->elem_size, other, sizeof(other));
			if (strcmp(key, other))
				continue;
			field_key(key_field, field, ta->unique_key);
			return topo_error(cx, key_field, "duplicate %s %s (also %s[%zu])",
					  ta->unique_what, key, ta->base, j);
		}
	}
	return 0;
}

static int parse_group_elem(struct topo_ctx *cx, const char *field, struct json_object *obj,
			    void *elem)
{
	return parse_group(cx, field, obj, elem);
}

static void group_key(const void *elem, char *buf, size_t size)
{
	snprintf(buf, size, "%u", ((const struct uvf_topo_group *)elem)->id);
}

static int parse_pci_elem(struct topo_ctx *cx, const char *field, struct json_object *obj,
			  void *elem)
{
	return parse_pci_one(cx, field, obj, elem);
}

static void pci_key(const void *elem, char *buf, size_t size)
{
	snprintf(buf, size, "%s", ((const struct uvf_topo_pci *)elem)->bdf);
}

static int parse_devnode_elem(struct topo_ctx *cx, const char *field, struct json_object *obj,
			      void *elem)
{
	return parse_devnode(cx, field, obj, elem);
}

static void devnode_key(const void *elem, char *buf, size_t size)
{
	snprintf(buf, size, "%s", ((const struct uvf_topo_devnode *)elem)->path);
}

static const struct topo_array groups_array = {
	"iommu_groups", sizeof(struct uvf_topo_group), parse_group_elem, "id", "group id",
	group_key,
};
static const struct topo_array pci_array = {
	"pci", sizeof(struct uvf_topo_pci), parse_pci_elem, "bdf", "address", pci_key,
};
static const struct topo_array devnodes_array = {
	"devnodes", sizeof(struct uvf_topo_devnode), parse_devnode_elem, "path", "path",
	devnode_key,
};

/* ---- ap: the s390 AP crypto configuration (src/core/ap/ap.h) ---- */

static int parse_ap_type(struct topo_ctx *cx, const char *field, struct json_object *v,
			 unsigned int *type)
{
	static const char *const names[] = { "CEX4", "CEX5", "CEX6", "CEX7", "CEX8" };
	unsigned int i;
	int ret = get_enum(cx, field, v, names, ARRAY_SIZE(names), &i);

	if (!ret)
		*type = AP_DEVICE_TYPE_CEX4 + i;
	return ret;
}

static int parse_ap_mode(struct topo_ctx *cx, const char *field, struct json_object *v,
			 enum ap_mode *mode)
{
	static const char *const names[] = {
		[AP_MODE_ACCEL] = "accel", [AP_MODE_CCA] = "cca", [AP_MODE_EP11] = "ep11",
	};
	unsigned int i;
	int ret = get_enum(cx, field, v, names, ARRAY_SIZE(names), &i);

	if (!ret)
		*mode = (enum ap_mode)i;
	return ret;
}

static int parse_ap_adapter_elem(struct topo_ctx *cx, const char *base, struct json_object *obj,
				 void *elem)
{
	struct ap_adapter_desc *a = elem;
	char field[TOPO_FIELD_MAX];
	bool has_id = false, has_type = false, has_mode = false;
	int ret = get_object(cx, base, obj);

	if (ret)
		return ret;
	*a = (struct ap_adapter_desc){ .depth = 8, .configured = true, .in_config = true };
	json_object_object_foreach(obj, key, val) {
		field_key(field, base, key);
		if (!strcmp(key, "id")) {
			ret = get_u32(cx, field, val, AP_DEVICES - 1, &a->id);
			has_id = true;
		} else if (!strcmp(key, "type")) {
			ret = parse_ap_type(cx, field, val, &a->type);
			has_type = true;
		} else if (!strcmp(key, "mode")) {
			ret = parse_ap_mode(cx, field, val, &a->mode);
			has_mode = true;
		} else if (!strcmp(key, "depth")) {
			ret = get_u32(cx, field, val, 16, &a->depth);
			if (!ret && !a->depth)
				ret = topo_error(cx, field, "must be 1..16");
		} else if (!strcmp(key, "configured")) {
			ret = get_bool(cx, field, val, &a->configured);
		} else if (!strcmp(key, "in_config")) {
			ret = get_bool(cx, field, val, &a->in_config);
		} else {
			ret = topo_error(cx, field, "unknown key");
		}
		if (ret)
			return ret;
	}
	if (!has_id || !has_type || !has_mode)
		return topo_error(cx, base, "missing required key '%s'",
				  !has_id ? "id" : !has_type ? "type" : "mode");
	return 0;
}

static void ap_adapter_key(const void *elem, char *buf, size_t size)
{
	snprintf(buf, size, "%u", ((const struct ap_adapter_desc *)elem)->id);
}

static const struct topo_array ap_adapters_array = {
	"ap.adapters", sizeof(struct ap_adapter_desc), parse_ap_adapter_elem, "id", "adapter id",
	ap_adapter_key,
};

/* [ids...] into an AP mask (bit order of ap.h). */
static int parse_ap_domains(struct topo_ctx *cx, const char *field, struct json_object *arr,
			    unsigned long *mask)
{
	char elem[TOPO_FIELD_MAX];
	int ret = get_array(cx, field, arr);

	for (size_t i = 0; !ret && i < json_object_array_length(arr); i++) {
		unsigned int id;

		field_index(elem, field, i);
		ret = get_u32(cx, elem, json_object_array_get_idx(arr, i), AP_DOMAINS - 1, &id);
		if (!ret)
			set_bit_inv(id, mask);
	}
	return ret;
}

/* apmask/aqmask: the ap.apmask= parameter, applied to an all-zero mask. */
static int parse_ap_mask(struct topo_ctx *cx, const char *field, struct json_object *v,
			 char *out, size_t size)
{
	unsigned long mask[AP_MASK_LONGS] = { 0 };
	int ret = get_string(cx, field, v, out, size);

	if (!ret && ap_parse_mask_str(out, mask, AP_DEVICES))
		ret = topo_error(cx, field, "'%s' is not an AP mask (hex, or +N,-A-B terms)", out);
	return ret;
}

static int parse_ap_key(struct topo_ctx *cx, struct uvf_topo_ap *ap, const char *key,
			struct json_object *val, bool *has_max)
{
	struct ap_machine_desc *d = &ap->machine;
	char field[TOPO_FIELD_MAX];
	uint64_t dom;
	int ret;

	field_key(field, "ap", key);
	if (!strcmp(key, "apxa"))
		return get_bool(cx, field, val, &d->apxa);
	if (!strcmp(key, "interrupts"))
		return get_bool(cx, field, val, &d->interrupts);
	if (!strcmp(key, "useirq")) {
		bool on;

		ret = get_bool(cx, field, val, &on);
		ap->params.noirq = !on;
		return ret;
	}
	if (!strcmp(key, "max_adapter_id")) {
		has_max[0] = true;
		return get_u32(cx, field, val, AP_DEVICES - 1, &d->max_adapter_id);
	}
	if (!strcmp(key, "max_domain_id")) {
		has_max[1] = true;
		return get_u32(cx, field, val, AP_DOMAINS - 1, &d->max_domain_id);
	}
	if (!strcmp(key, "usage_domains"))
		return parse_ap_domains(cx, field, val, d->usage_domains);
	if (!strcmp(key, "control_domains"))
		return parse_ap_domains(cx, field, val, d->control_domains);
	if (!strcmp(key, "apmask")) {
		ap->params.apmask = ap->apmask;
		return parse_ap_mask(cx, field, val, ap->apmask, sizeof(ap->apmask));
	}
	if (!strcmp(key, "aqmask")) {
		ap->params.aqmask = ap->aqmask;
		return parse_ap_mask(cx, field, val, ap->aqmask, sizeof(ap->aqmask));
	}
	if (!strcmp(key, "domain")) {
		ret = get_uint(cx, field, val, AP_DOMAINS - 1, &dom);
		ap->params.domain = (int)dom;
		return ret;
	}
	if (!strcmp(key, "adapters"))
		return parse_array(cx, &ap_adapters_array, val, (void **)&d->adapters,
				   &d->nadapters);
	return topo_error(cx, field, "unknown key");
}

static int parse_ap(struct topo_ctx *cx, struct json_object *obj, struct uvf_topo_ap *ap)
{
	struct ap_machine_desc *d = &ap->machine;
	bool has_max[2] = { false, false };
	char why[160];
	int ret = get_object(cx, "ap", obj);

	if (ret)
		return ret;
	ap->present = true;
	d->apxa = true;
	d->interrupts = true;
	ap->params.domain = -1;
	json_object_object_foreach(obj, key, val) {
		ret = parse_ap_key(cx, ap, key, val, has_max);
		if (ret)
			return ret;
	}
	if (!has_max[0])
		d->max_adapter_id = d->apxa ? 255 : 63;
	if (!has_max[1])
		d->max_domain_id = d->apxa ? 255 : 15;
	if (ap_machine_desc_check(d, why, sizeof(why)))
		return topo_error(cx, "ap", "%s", why);
	return 0;
}

/* ---- the document ---- */

/* Groups named by pci[] and not described get the defaults. */
static int add_implied_groups(struct uvf_topology *t)
{
	struct uvf_topo_group *groups;

	groups = realloc(t->groups, (t->ngroups + t->npci + 1) * sizeof(*groups));
	if (!groups)
		return -ENOMEM;
	t->groups = groups;
	for (unsigned int i = 0; i < t->npci; i++) {
		unsigned int id = t->pci[i].iommu_group, j;

		for (j = 0; j < t->ngroups; j++)
			if (groups[j].id == id)
				break;
		if (j == t->ngroups)
			group_defaults(&groups[t->ngroups++], id);
	}
	return 0;
}

static int parse_root(struct topo_ctx *cx, struct uvf_topology *t)
{
	struct json_object *root = t->root;
	int ret;

	if (!json_object_is_type(root, json_type_object))
		return topo_error(cx, "(document)", "expected an object, got %s", type_name(root));
	json_object_object_foreach(root, key, val) {
		if (!strcmp(key, "name"))
			ret = get_string(cx, key, val, t->name, sizeof(t->name));
		else if (!strcmp(key, "limits"))
			ret = parse_limits(cx, val, &t->params);
		else if (!strcmp(key, "iommu_groups"))
			ret = parse_array(cx, &groups_array, val, (void **)&t->groups, &t->ngroups);
		else if (!strcmp(key, "pci"))
			ret = parse_array(cx, &pci_array, val, (void **)&t->pci, &t->npci);
		else if (!strcmp(key, "devnodes"))
			ret = parse_array(cx, &devnodes_array, val, (void **)&t->devnodes, &t->ndevnodes);
		else if (!strcmp(key, "mdev_sample"))
			ret = parse_mdev_sample(cx, val, &t->mdev_sample_channels);
		else if (!strcmp(key, "ap"))
			ret = parse_ap(cx, val, &t->ap);
		else
			ret = topo_error(cx, key, "unknown key");
		if (ret)
			return ret;
	}
	return add_implied_groups(t);
}

/* Where a syntax error is, as an editor shows it. */
static void text_position(const char *text, size_t off, unsigned int *line, unsigned int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && text[i]; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static int parse_text(struct topo_ctx *cx, const char *json, struct json_object **out)
{
	struct json_tokener *tok = json_tokener_new_ex(64);
	enum json_tokener_error jerr;
	unsigned int line, col;
	char where[64];

	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	/* The terminating NUL is passed too, so a truncated document fails. */
	*out = json_tokener_parse_ex(tok, json, (int)strlen(json) + 1);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_success && *out) {
		json_tokener_free(tok);
		return 0;
	}
	text_position(json, json_tokener_get_parse_end(tok), &line, &col);
	json_tokener_free(tok);
	json_object_put(*out);
	*out = NULL;
	snprintf(where, sizeof(where), "line %u, column %u", line, col);
	return topo_error(cx, where, "invalid JSON (%s)", json_tokener_error_desc(jerr));
}

int topology_load_string(const char *json, const char *source, struct uvf_topology **out,
			 char *err, size_t errlen)
{
	struct uvf_topology *t;
	struct topo_ctx cx;
	int ret;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	snprintf(t->source, sizeof(t->source), "%s", source ? source : "<string>");
	t->params.dma_entry_limit = 65535;
	cx = (struct topo_ctx){ .source = t->source, .err = err, .errlen = errlen };
	ret = parse_text(&cx, json, &t->root);
	if (!ret)
		ret = parse_root(&cx, t);
	if (ret) {
		if (ret == -ENOMEM)
			topo_error(&cx, "(document)", "out of memory");
		topology_free(t);
		return ret;
	}
	*out = t;
	return 0;
}

static void file_error(char *err, size_t errlen, const char *fmt, ...) UVF_PRINTF(3, 4);

static void file_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* The whole file as a string; -errno with err set. */
static int read_file(const char *path, char **text, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	size_t len = 0, cap = 4096, n;
	char *buf = NULL;
	int ret = 0;

	if (!f)
		goto fail_errno;
	for (;;) {
		char *bigger = realloc(buf, cap + 1);

		if (!bigger) {
			ret = -ENOMEM;
			goto fail;
		}
		buf = bigger;
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (len < cap)
			break;
		if (cap >= TOPO_FILE_MAX) {
			file_error(err, errlen, "%s: larger than %u bytes", path, TOPO_FILE_MAX);
			ret = -EFBIG;
			goto fail;
		}
		cap *= 2;
	}
	if (ferror(f))
		goto fail_errno;
	buf[len] = '\0';
	if (strlen(buf) != len) {
		file_error(err, errlen, "%s: contains a NUL byte: not a JSON text", path);
		ret = -EINVAL;
		goto fail;
	}
	fclose(f);
	*text = buf;
	return 0;

fail_errno:
	ret = -errno;
	file_error(err, errlen, "%s: cannot read: %s", path, strerror(-ret));
fail:
	if (f)
		fclose(f);
	free(buf);
	return ret;
}

int topology_load_file(const char *path, struct uvf_topology **out, char *err, size_t errlen)
{
	char *text = NULL;
	int ret;

	*out = NULL;
	ret = read_file(path, &text, err, errlen);
	if (ret)
		return ret;
	ret = topology_load_string(text, path, out, err, errlen);
	free(text);
	return ret;
}

/*
 * The built-in host: devices of the test model in the group shapes every
 * rule needs - singletons, a two-function group, and a group made
 * non-viable by a kernel driver bound to one of its functions - an
 * Intel I/OAT DMA engine with four channels for real drivers (DPDK), a
 * test function behind an IOMMU that cannot enforce cache coherency (its
 * DMA may snoop or not: KVM must honour the guest's WBINVD), the
 * sample mdev parent with eight channels (mdevctl), and an s390 AP
 * configuration: adapters of every mode and several types, usage domains
 * 4-8, control domains 4-8 and 11, and masks that reserve adapters 0-3 x
 * domains 4-6 for the host's zcrypt and leave the rest (adapters 4-5, and
 * domains 7-8 of every adapter) to vfio_ap.
 */
static const char default_json[] =
	"{\n"
	"  \"name\": \"default\",\n"
	"  \"pci\": [\n"
	"    { \"bdf\": \"0000:00:03.0\", \"model\": \"uvfio-test\", \"iommu_group\": 3 },\n"
	"    { \"bdf\": \"0000:00:04.0\", \"model\": \"uvfio-test\", \"iommu_group\": 4 },\n"
	"    { \"bdf\": \"0000:00:05.0\", \"model\": \"uvfio-test\", \"iommu_group\": 5 },\n"
	"    { \"bdf\": \"0000:00:05.1\", \"model\": \"uvfio-test\", \"iommu_group\": 5 },\n"
	"    { \"bdf\": \"0000:00:06.0\", \"model\": \"uvfio-test\", \"iommu_group\": 6,\n"
	"      \"driver\": \"vfio-pci\" },\n"
	"    { \"bdf\": \"0000:00:06.1\", \"model\": \"uvfio-test\", \"iommu_group\": 6,\n"
	"      \"driver\": \"snd_hda_intel\" },\n"
	"    { \"bdf\": \"0000:00:07.0\", \"model\": \"ioat\", \"iommu_group\": 7,\n"
	"      \"params\": { \"channels\": 4 } },\n"
	"    { \"bdf\": \"0000:00:08.0\", \"model\": \"uvfio-test\", \"iommu_group\": 8,\n"
	"      \"coherent\": false }\n"
	"  ],\n"
	"  \"mdev_sample\": { \"channels\": 8 },\n"
	"  \"ap\": {\n"
	"    \"apxa\": true,\n"
	"    \"usage_domains\": [4, 5, 6, 7, 8],\n"
	"    \"control_domains\": [4, 5, 6, 7, 8, 11],\n"
	"    \"apmask\": \"0xf0\",\n"
	"    \"aqmask\": \"+0-6,+9-255\",\n"
	"    \"adapters\": [\n"
	"      { \"id\": 0, \"type\": \"CEX8\", \"mode\": \"accel\" },\n"
	"      { \"id\": 1, \"type\": \"CEX7\", \"mode\": \"cca\" },\n"
	"      { \"id\": 2, \"type\": \"CEX6\", \"mode\": \"ep11\" },\n"
	"      { \"id\": 3, \"type\": \"CEX4\", \"mode\": \"accel\" },\n"
	"      { \"id\": 4, \"type\": \"CEX8\", \"mode\": \"accel\" },\n"
	"      { \"id\": 5, \"type\": \"CEX8\", \"mode\": \"cca\" }\n"
	"    ]\n"
	"  }\n"
	"}\n";

const char *topology_default_json(void)
{
	return default_json;
}

int topology_load_default(struct uvf_topology **out, char *err, size_t errlen)
{
	return topology_load_string(default_json, "<built-in>", out, err, errlen);
}

void topology_free(struct uvf_topology *t)
{
	if (!t)
		return;
	for (unsigned int i = 0; i < t->npci; i++)
		json_object_put(t->pci[i].params);
	free(t->pci);
	free(t->groups);
	free(t->devnodes);
	free(t->ap.machine.adapters);
	json_object_put(t->root);
	free(t);
}
