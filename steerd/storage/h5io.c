/* SPDX-License-Identifier: MIT */
/* h5io.c — HDF5 helpers for checkpoints (see h5io.h). */
#include "h5io.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "checkpoint checksums hash element arrays in memory order: little-endian hosts only"
#endif

/* The calling thread's error printing as it was before steerd quietened it. */
static __thread struct {
	bool quiet;
	H5E_auto2_t func;
	void *data;
} saved_auto;

void h5io_quiet(void)
{
	if (!saved_auto.quiet) {
		H5Eget_auto2(H5E_DEFAULT, &saved_auto.func, &saved_auto.data);
		saved_auto.quiet = true;
	}
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void h5io_unquiet(void)
{
	if (!saved_auto.quiet)
		return;
	H5Eset_auto2(H5E_DEFAULT, saved_auto.func, saved_auto.data);
	saved_auto.quiet = false;
}

/* ---- XXH64 ------------------------------------------------------------- */

#define XP1 0x9E3779B185EBCA87ULL
#define XP2 0xC2B2AE3D27D4EB4FULL
#define XP3 0x165667B19E3779F9ULL
#define XP4 0x85EBCA77C2B2AE63ULL
#define XP5 0x27D4EB2F165667C5ULL

static inline uint64_t xrotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t xround(uint64_t acc, uint64_t in)
{
	acc += in * XP2;
	acc = xrotl(acc, 31);
	return acc * XP1;
}

static inline uint64_t xmerge(uint64_t acc, uint64_t v)
{
	acc ^= xround(0, v);
	return acc * XP1 + XP4;
}

static inline uint64_t xread64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof v);
	return v;
}

static inline uint32_t xread32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof v);
	return v;
}

uint64_t h5io_xxh64(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *p = data, *end = p + len;
	uint64_t h;
	if (len >= 32) {
		const unsigned char *limit = end - 32;
		uint64_t v1 = seed + XP1 + XP2, v2 = seed + XP2, v3 = seed, v4 = seed - XP1;
		do {
			v1 = xround(v1, xread64(p));
			v2 = xround(v2, xread64(p + 8));
			v3 = xround(v3, xread64(p + 16));
			v4 = xround(v4, xread64(p + 24));
			p += 32;
		} while (p <= limit);
		h = xrotl(v1, 1) + xrotl(v2, 7) + xrotl(v3, 12) + xrotl(v4, 18);
		h = xmerge(h, v1);
		h = xmerge(h, v2);
		h = xmerge(h, v3);
		h = xmerge(h, v4);
	} else {
		h = seed + XP5;
	}
	h += (uint64_t)len;
	while (end - p >= 8) {
		h ^= xround(0, xread64(p));
		h = xrotl(h, 27) * XP1 + XP4;
		p += 8;
	}
	if (end - p >= 4) {
		h ^= (uint64_t)xread32(p) * XP1;
		h = xrotl(h, 23) * XP2 + XP3;
		p += 4;
	}
	while (p < end) {
		h ^= (uint64_t)*p * XP5;
		h = xrotl(h, 11) * XP1;
		p++;
	}
	h ^= h >> 33;
	h *= XP2;
	h ^= h >> 29;
	h *= XP3;
	h ^= h >> 32;
	return h;
}

/* ---- names and groups ------------------------------------------------- */

int h5io_valid_path(const char *name)
{
	size_t len = name ? strlen(name) : 0;
	if (len == 0 || len > H5IO_MAX_NAME || name[0] == '/' || name[len - 1] == '/')
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (c == '/') {
			if (name[i + 1] == '/')
				return 0;
		} else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		             (c >= '0' && c <= '9') || c == '_')) {
			return 0;
		}
	}
	return 1;
}

hid_t h5io_gcpl(void)
{
	hid_t p = H5Pcreate(H5P_GROUP_CREATE);
	if (p >= 0 && H5Pset_obj_track_times(p, 0) < 0) {
		H5Pclose(p);
		return H5I_INVALID_HID;
	}
	return p;
}

/*
 * Walk path one segment at a time: every link on the way must exist and be a
 * hard link (a file must not send us to other files through external links).
 * 1: exists, 0: missing, -1: not a plain path.
 */
int h5io_exists(hid_t loc, const char *path)
{
	char buf[H5IO_MAX_NAME + 1];
	size_t len = strlen(path);
	if (len == 0)
		return 1;
	if (len > H5IO_MAX_NAME)
		return -1;
	memcpy(buf, path, len + 1);
	for (size_t i = 0; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char save = buf[i];
		buf[i] = '\0';
		htri_t e = H5Lexists(loc, buf, H5P_DEFAULT);
		if (e <= 0) {
			buf[i] = save;
			return e < 0 ? -1 : 0;
		}
		H5L_info_t li;
		if (H5Lget_info(loc, buf, &li, H5P_DEFAULT) < 0 || li.type != H5L_TYPE_HARD)
			return -1;
		buf[i] = save;
	}
	return 1;
}

hid_t h5io_open_group(hid_t loc, const char *path)
{
	if (path[0] == '\0')
		return H5Gopen2(loc, ".", H5P_DEFAULT);
	if (h5io_exists(loc, path) != 1)
		return H5I_INVALID_HID;
	H5O_info_t oi;
	if (H5Oget_info_by_name2(loc, path, &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0 ||
	    oi.type != H5O_TYPE_GROUP)
		return H5I_INVALID_HID;
	return H5Gopen2(loc, path, H5P_DEFAULT);
}

hid_t h5io_mkgroups(hid_t loc, const char *path)
{
	char buf[H5IO_MAX_NAME + 1];
	size_t len = strlen(path);
	if (len > H5IO_MAX_NAME)
		return H5I_INVALID_HID;
	if (len == 0)
		return H5Gopen2(loc, ".", H5P_DEFAULT);
	memcpy(buf, path, len + 1);
	hid_t gcpl = h5io_gcpl();
	if (gcpl < 0)
		return H5I_INVALID_HID;
	hid_t g = H5I_INVALID_HID;
	for (size_t i = 0; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char save = buf[i];
		buf[i] = '\0';
		htri_t e = H5Lexists(loc, buf, H5P_DEFAULT);
		if (e < 0)
			break;
		if (e == 0) {
			hid_t n = H5Gcreate2(loc, buf, H5P_DEFAULT, gcpl, H5P_DEFAULT);
			if (n < 0)
				break;
			if (save == '\0')
				g = n;
			else
				H5Gclose(n);
		} else if (save == '\0') {
			g = h5io_open_group(loc, buf);
		}
		buf[i] = save;
	}
	H5Pclose(gcpl);
	return g;
}

/* ---- types ------------------------------------------------------------ */

hid_t h5io_file_type(sa_dtype t)
{
	switch (t) {
	case SA_F64: return H5T_IEEE_F64LE;
	case SA_I64: return H5T_STD_I64LE;
	case SA_U64: return H5T_STD_U64LE;
	}
	return H5I_INVALID_HID;
}

hid_t h5io_mem_type(sa_dtype t)
{
	switch (t) {
	case SA_F64: return H5T_NATIVE_DOUBLE;
	case SA_I64: return H5T_NATIVE_INT64;
	case SA_U64: return H5T_NATIVE_UINT64;
	}
	return H5I_INVALID_HID;
}

/* The stored type is exactly an 8-byte float, signed or unsigned integer. */
static bool type_matches(hid_t ft, sa_dtype t)
{
	H5T_class_t c = H5Tget_class(ft);
	if (H5Tget_size(ft) != 8)
		return false;
	switch (t) {
	case SA_F64: return c == H5T_FLOAT;
	case SA_I64: return c == H5T_INTEGER && H5Tget_sign(ft) == H5T_SGN_2;
	case SA_U64: return c == H5T_INTEGER && H5Tget_sign(ft) == H5T_SGN_NONE;
	}
	return false;
}

/* ---- attributes -------------------------------------------------------- */

static int attr_write(hid_t obj, const char *name, hid_t ftype, hid_t mtype, hid_t space,
                      const void *v)
{
	int rc = -1;
	hid_t a = H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
	if (a >= 0) {
		rc = H5Awrite(a, mtype, v) < 0 ? -1 : 0;
		H5Aclose(a);
	}
	return rc;
}

static int attr_simple(hid_t obj, const char *name, hid_t ftype, hid_t mtype, size_t n,
                       const void *v, bool scalar)
{
	hsize_t dims[1] = { n };
	hid_t s = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, dims, NULL);
	if (s < 0)
		return -1;
	int rc = attr_write(obj, name, ftype, mtype, s, v);
	H5Sclose(s);
	return rc;
}

static hid_t str_type(size_t size)
{
	hid_t t = H5Tcopy(H5T_C_S1);
	if (t < 0)
		return t;
	if (H5Tset_size(t, size) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0) {
		H5Tclose(t);
		return H5I_INVALID_HID;
	}
	return t;
}

int h5io_attr_str(hid_t obj, const char *name, const char *value)
{
	hid_t t = str_type(strlen(value) + 1);
	if (t < 0)
		return -1;
	int rc = attr_simple(obj, name, t, t, 1, value, true);
	H5Tclose(t);
	return rc;
}

int h5io_attr_strs(hid_t obj, const char *name, const char *const *values, size_t n)
{
	size_t w = 1;
	for (size_t i = 0; i < n; i++)
		if (strlen(values[i]) + 1 > w)
			w = strlen(values[i]) + 1;
	char *buf = calloc(n ? n : 1, w);
	if (!buf)
		return -1;
	for (size_t i = 0; i < n; i++)
		memcpy(buf + i * w, values[i], strlen(values[i]));
	int rc = -1;
	hid_t t = str_type(w);
	if (t >= 0) {
		rc = attr_simple(obj, name, t, t, n, buf, false);
		H5Tclose(t);
	}
	free(buf);
	return rc;
}

int h5io_attr_f64(hid_t obj, const char *name, double v)
{
	return attr_simple(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, &v, true);
}

int h5io_attr_f64s(hid_t obj, const char *name, const double *v, size_t n)
{
	return attr_simple(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, n, v, false);
}

int h5io_attr_u32(hid_t obj, const char *name, uint32_t v)
{
	return attr_simple(obj, name, H5T_STD_U32LE, H5T_NATIVE_UINT32, 1, &v, true);
}

int h5io_attr_u64(hid_t obj, const char *name, uint64_t v)
{
	return attr_simple(obj, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, 1, &v, true);
}

int h5io_attr_u64s(hid_t obj, const char *name, const uint64_t *v, size_t n)
{
	return attr_simple(obj, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, n, v, false);
}

int h5io_attr_put(hid_t obj, const char *name, sa_dtype t, const void *v)
{
	hid_t ft = h5io_file_type(t);
	if (ft < 0 || !v)
		return -1;
	return attr_simple(obj, name, ft, h5io_mem_type(t), 1, v, true);
}

/* Open attribute `name` of obj when its dataspace holds exactly one element. */
static hid_t attr_open_scalar(hid_t obj, const char *name)
{
	if (H5Aexists(obj, name) <= 0)
		return H5I_INVALID_HID;
	hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
	if (a < 0)
		return a;
	hid_t s = H5Aget_space(a);
	bool ok = s >= 0 && H5Sget_simple_extent_type(s) == H5S_SCALAR;
	if (s >= 0)
		H5Sclose(s);
	if (!ok) {
		H5Aclose(a);
		return H5I_INVALID_HID;
	}
	return a;
}

int h5io_attr_get(hid_t obj, const char *name, sa_dtype t, void *out)
{
	hid_t mt = h5io_mem_type(t);
	if (mt < 0)
		return -1;
	hid_t a = attr_open_scalar(obj, name);
	if (a < 0)
		return -1;
	int rc = -1;
	hid_t ft = H5Aget_type(a);
	if (ft >= 0) {
		if (type_matches(ft, t) && H5Aread(a, mt, out) >= 0)
			rc = 0;
		H5Tclose(ft);
	}
	H5Aclose(a);
	return rc;
}

static const char *dtype_name(sa_dtype t)
{
	switch (t) {
	case SA_F64: return "a 64-bit float";
	case SA_I64: return "a signed 64-bit integer";
	case SA_U64: return "an unsigned 64-bit integer";
	}
	return "?";
}

/* What a stored type is, in words: "a signed 32-bit integer", "a string". */
static void type_words(hid_t ft, char *buf, size_t cap)
{
	size_t bits = H5Tget_size(ft) * 8;
	switch (H5Tget_class(ft)) {
	case H5T_INTEGER:
		snprintf(buf, cap, "a%s %zu-bit integer",
		         H5Tget_sign(ft) == H5T_SGN_NONE ? "n unsigned" : " signed", bits);
		break;
	case H5T_FLOAT: snprintf(buf, cap, "a %zu-bit float", bits); break;
	case H5T_STRING: snprintf(buf, cap, "a string"); break;
	default: snprintf(buf, cap, "of a non-numeric HDF5 type"); break;
	}
}

void h5io_attr_why(hid_t obj, const char *name, sa_dtype t, char *why, size_t cap)
{
	if (H5Aexists(obj, name) <= 0) {
		snprintf(why, cap, "is missing");
		return;
	}
	hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
	if (a < 0) {
		snprintf(why, cap, "cannot be opened");
		return;
	}
	hid_t s = H5Aget_space(a), ft = H5Aget_type(a);
	char words[64];
	if (s < 0 || ft < 0) {
		snprintf(why, cap, "cannot be read");
	} else if (H5Sget_simple_extent_type(s) != H5S_SCALAR) {
		snprintf(why, cap, "is present but not a single value (%lld elements), expected %s",
		         (long long)H5Sget_simple_extent_npoints(s), dtype_name(t));
	} else if (type_matches(ft, t)) {
		snprintf(why, cap, "is present but cannot be read");
	} else {
		type_words(ft, words, sizeof words);
		long long sv;
		/* A negative count says more than its type: name the value. */
		if (t == SA_U64 && H5Tget_class(ft) == H5T_INTEGER && H5Tget_sign(ft) == H5T_SGN_2 &&
		    H5Aread(a, H5T_NATIVE_LLONG, &sv) >= 0 && sv < 0)
			snprintf(why, cap, "is present but malformed: %lld (%s), expected %s", sv, words,
			         dtype_name(t));
		else
			snprintf(why, cap, "is present but malformed: %s, expected %s", words,
			         dtype_name(t));
	}
	if (ft >= 0)
		H5Tclose(ft);
	if (s >= 0)
		H5Sclose(s);
	H5Aclose(a);
}

int h5io_attr_get_u32(hid_t obj, const char *name, uint32_t *v)
{
	hid_t a = attr_open_scalar(obj, name);
	if (a < 0)
		return -1;
	int rc = -1;
	hid_t ft = H5Aget_type(a);
	if (ft >= 0) {
		if (H5Tget_class(ft) == H5T_INTEGER && H5Tget_size(ft) <= 8 &&
		    H5Aread(a, H5T_NATIVE_UINT32, v) >= 0)
			rc = 0;
		H5Tclose(ft);
	}
	H5Aclose(a);
	return rc;
}

/* Memory type for reading a fixed-length string of the file type ft. */
static hid_t str_mem_type(hid_t ft, size_t size)
{
	hid_t mt = H5Tcopy(H5T_C_S1);
	if (mt < 0)
		return mt;
	if (H5Tset_size(mt, size) < 0 || H5Tset_strpad(mt, H5T_STR_NULLPAD) < 0 ||
	    H5Tset_cset(mt, H5Tget_cset(ft)) < 0) {
		H5Tclose(mt);
		return H5I_INVALID_HID;
	}
	return mt;
}

/* A fixed-length string type of at most max bytes: its size, or 0. */
static size_t fixed_str_size(hid_t ft, size_t max)
{
	if (H5Tget_class(ft) != H5T_STRING || H5Tis_variable_str(ft) != 0)
		return 0;
	size_t s = H5Tget_size(ft);
	return s >= 1 && s <= max ? s : 0;
}

int h5io_attr_get_str(hid_t obj, const char *name, char *buf, size_t cap)
{
	if (cap < 2)
		return -1;
	hid_t a = attr_open_scalar(obj, name);
	if (a < 0)
		return -1;
	int rc = -1;
	hid_t ft = H5Aget_type(a);
	size_t s = ft >= 0 ? fixed_str_size(ft, cap - 1) : 0;
	if (s) {
		hid_t mt = str_mem_type(ft, s);
		if (mt >= 0) {
			memset(buf, 0, cap);
			if (H5Aread(a, mt, buf) >= 0)
				rc = 0;
			buf[s] = '\0';
			H5Tclose(mt);
		}
	}
	if (ft >= 0)
		H5Tclose(ft);
	H5Aclose(a);
	return rc;
}

/* ---- datasets ---------------------------------------------------------- */

hid_t h5io_contiguous_dcpl(void)
{
	hid_t p = H5Pcreate(H5P_DATASET_CREATE);
	if (p < 0)
		return p;
	if (H5Pset_layout(p, H5D_CONTIGUOUS) < 0 || H5Pset_fill_time(p, H5D_FILL_TIME_NEVER) < 0 ||
	    H5Pset_alloc_time(p, H5D_ALLOC_TIME_LATE) < 0 || H5Pset_obj_track_times(p, 0) < 0) {
		H5Pclose(p);
		return H5I_INVALID_HID;
	}
	return p;
}

/*
 * Fletcher32 arrays (h5io_array_put_fletcher32): chunked (64 KiB chunks) with
 * HDF5's Fletcher32 filter, so that every HDF5 reader (h5py, openPMD-api, yt,
 * not only steerd) gets a read error, not silently changed numbers, from a
 * corrupt chunk. An empty array cannot be chunked, and has nothing to protect.
 */
#define H5IO_CHUNK_ELEMS ((hsize_t)1 << 13)

static hid_t checked_dcpl(size_t n, bool fletcher32)
{
	hid_t p = h5io_contiguous_dcpl();
	if (p < 0 || n == 0 || !fletcher32)
		return p;
	hsize_t chunk[1] = { n < H5IO_CHUNK_ELEMS ? (hsize_t)n : H5IO_CHUNK_ELEMS };
	if (H5Pset_chunk(p, 1, chunk) < 0 || H5Pset_fletcher32(p) < 0) {
		H5Pclose(p);
		return H5I_INVALID_HID;
	}
	return p;
}

/*
 * Dataset transfer for reads. Fuzzing builds do not check Fletcher32, as they
 * take any xxh64 (h5io_sum_matches): changed data must reach the code that
 * checks and uses it.
 */
static hid_t read_dxpl(void)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	hid_t p = H5Pcreate(H5P_DATASET_XFER);
	if (p >= 0 && H5Pset_edc_check(p, H5Z_DISABLE_EDC) < 0) {
		H5Pclose(p);
		return H5I_INVALID_HID;
	}
	return p;
#else
	return H5P_DEFAULT;
#endif
}

static void read_dxpl_close(hid_t p)
{
	if (p >= 0 && p != H5P_DEFAULT)
		H5Pclose(p);
}

static const unsigned char empty_data[8];

static hid_t array_put(hid_t loc, const char *name, sa_dtype t, size_t n, const void *data,
                       bool fletcher32)
{
	hid_t ft = h5io_file_type(t);
	if (ft < 0 || (n && !data) || n > SIZE_MAX / 8)
		return H5I_INVALID_HID;
	if (!n)
		data = empty_data;
	hsize_t dims[1] = { n };
	hid_t space = H5Screate_simple(1, dims, NULL);
	hid_t dcpl = checked_dcpl(n, fletcher32);
	hid_t ds = H5I_INVALID_HID;
	if (space >= 0 && dcpl >= 0)
		ds = H5Dcreate2(loc, name, ft, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
	if (space >= 0)
		H5Sclose(space);
	if (dcpl >= 0)
		H5Pclose(dcpl);
	if (ds < 0)
		return H5I_INVALID_HID;
	if ((n && H5Dwrite(ds, h5io_mem_type(t), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) ||
	    h5io_attr_u64(ds, H5IO_CHECKSUM_ATTR, h5io_xxh64(data, n * 8, 0)) < 0) {
		H5Dclose(ds);
		return H5I_INVALID_HID;
	}
	return ds;
}

hid_t h5io_array_put(hid_t loc, const char *name, sa_dtype t, size_t n, const void *data)
{
	return array_put(loc, name, t, n, data, false);
}

hid_t h5io_array_put_fletcher32(hid_t loc, const char *name, sa_dtype t, size_t n,
                                const void *data)
{
	return array_put(loc, name, t, n, data, true);
}

/* Open dataset `name` when it is a rank-1 array of type t; its length in *n. */
hid_t h5io_array_open(hid_t loc, const char *name, sa_dtype t, size_t *n)
{
	if (h5io_exists(loc, name) != 1)
		return H5I_INVALID_HID;
	H5O_info_t oi;
	if (H5Oget_info_by_name2(loc, name, &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0 ||
	    oi.type != H5O_TYPE_DATASET)
		return H5I_INVALID_HID;
	hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
	if (ds < 0)
		return ds;
	bool ok = false;
	hid_t ft = H5Dget_type(ds), sp = H5Dget_space(ds);
	if (ft >= 0 && sp >= 0 && type_matches(ft, t) &&
	    H5Sget_simple_extent_type(sp) == H5S_SIMPLE && H5Sget_simple_extent_ndims(sp) == 1) {
		hsize_t dims[1];
		if (H5Sget_simple_extent_dims(sp, dims, NULL) == 1 && dims[0] <= SIZE_MAX / 8) {
			*n = (size_t)dims[0];
			ok = true;
		}
	}
	if (ft >= 0)
		H5Tclose(ft);
	if (sp >= 0)
		H5Sclose(sp);
	if (!ok) {
		H5Dclose(ds);
		return H5I_INVALID_HID;
	}
	return ds;
}

int h5io_array_size(hid_t loc, const char *name, sa_dtype t, size_t *n)
{
	size_t have;
	hid_t ds = h5io_array_open(loc, name, t, &have);
	if (ds < 0)
		return -1;
	H5Dclose(ds);
	*n = have;
	return 0;
}

/* The stored checksum of a dataset, or -1. */
static int stored_checksum(hid_t ds, uint64_t *sum)
{
	return h5io_attr_get(ds, H5IO_CHECKSUM_ATTR, SA_U64, sum);
}

/* ---- arrays written in parts (MPI runs) ------------------------------- */

/* A rank-1 attribute of at most max unsigned 64-bit integers: malloc'd, count in *n. */
static uint64_t *attr_u64s_get(hid_t obj, const char *name, size_t max, size_t *n)
{
	if (H5Aexists(obj, name) <= 0)
		return NULL;
	hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
	if (a < 0)
		return NULL;
	uint64_t *v = NULL;
	hid_t ft = H5Aget_type(a), sp = H5Aget_space(a);
	hsize_t dims[1];
	if (ft >= 0 && sp >= 0 && type_matches(ft, SA_U64) &&
	    H5Sget_simple_extent_type(sp) == H5S_SIMPLE && H5Sget_simple_extent_ndims(sp) == 1 &&
	    H5Sget_simple_extent_dims(sp, dims, NULL) == 1 && dims[0] >= 1 && dims[0] <= max &&
	    (v = malloc(dims[0] * sizeof *v)) != NULL) {
		if (H5Aread(a, H5T_NATIVE_UINT64, v) < 0) {
			free(v);
			v = NULL;
		} else {
			*n = (size_t)dims[0];
		}
	}
	if (ft >= 0)
		H5Tclose(ft);
	if (sp >= 0)
		H5Sclose(sp);
	H5Aclose(a);
	return v;
}

int h5io_parts_get(hid_t ds, size_t n, h5io_parts *p)
{
	memset(p, 0, sizeof *p);
	size_t nc = 0, ns = 0;
	p->count = attr_u64s_get(ds, H5IO_PARTS_ATTR, H5IO_MAX_PARTS, &nc);
	p->sum = attr_u64s_get(ds, H5IO_PARTS_CHECKSUM_ATTR, H5IO_MAX_PARTS, &ns);
	if (!p->count && !p->sum)
		return 0;
	uint64_t total = 0;
	bool ok = p->count && p->sum && nc == ns;
	for (size_t i = 0; ok && i < nc; i++) {
		ok = p->count[i] <= (uint64_t)n - total;
		total += ok ? p->count[i] : 0;
	}
	if (!ok || total != n) {
		h5io_parts_free(p);
		return -1;
	}
	p->n = nc;
	return 1;
}

void h5io_parts_free(h5io_parts *p)
{
	free(p->count);
	free(p->sum);
	memset(p, 0, sizeof *p);
}

/* The data of an array in parts against each part's checksum: 0 or -2. */
static int parts_match(const h5io_parts *p, const unsigned char *data)
{
	size_t at = 0;
	for (size_t i = 0; i < p->n; i++) {
		if (!h5io_sum_matches(h5io_xxh64(data + at * 8, (size_t)p->count[i] * 8, 0), p->sum[i]))
			return -2;
		at += (size_t)p->count[i];
	}
	return 0;
}

int h5io_array_get(hid_t loc, const char *name, sa_dtype t, size_t n, void *out)
{
	size_t have;
	hid_t ds = h5io_array_open(loc, name, t, &have);
	if (ds < 0)
		return -1;
	int rc = -1;
	uint64_t sum = 0;
	h5io_parts parts;
	/* one checksum of the whole, or (written by an MPI run) one per part */
	int parted = have == n ? h5io_parts_get(ds, n, &parts) : -1;
	if (have == n && (n == 0 || out) && parted >= 0 &&
	    (parted == 1 || stored_checksum(ds, &sum) == 0)) {
		hid_t dxpl = read_dxpl();
		if (n == 0)
			rc = parted || h5io_sum_matches(h5io_xxh64(empty_data, 0, 0), sum) ? 0 : -2;
		else if (dxpl >= 0 && H5Dread(ds, h5io_mem_type(t), H5S_ALL, H5S_ALL, dxpl, out) >= 0)
			rc = parted ? parts_match(&parts, out)
			            : h5io_sum_matches(h5io_xxh64(out, n * 8, 0), sum) ? 0 : -2;
		else
			rc = -2; /* a chunk failing Fletcher32, or raw data HDF5 cannot read */
		read_dxpl_close(dxpl);
	}
	if (parted == 1)
		h5io_parts_free(&parts);
	H5Dclose(ds);
	return rc;
}

int h5io_slice_get(hid_t ds, sa_dtype t, size_t offset, size_t n, hid_t dxpl, void *out)
{
	if (n == 0)
		return 0;
	hsize_t start[1] = { offset }, count[1] = { n };
	hid_t fs = H5Dget_space(ds), ms = H5Screate_simple(1, count, NULL);
	int rc = -1;
	if (fs >= 0 && ms >= 0 &&
	    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
	    H5Dread(ds, h5io_mem_type(t), ms, fs, dxpl, out) >= 0)
		rc = 0;
	if (fs >= 0)
		H5Sclose(fs);
	if (ms >= 0)
		H5Sclose(ms);
	return rc;
}

/* Verify part i of an array in parts (read alone): 0, -1 or -2. */
static int part_verify(hid_t ds, sa_dtype t, const h5io_parts *p, size_t i)
{
	size_t at = 0;
	for (size_t j = 0; j < i; j++)
		at += (size_t)p->count[j];
	size_t n = (size_t)p->count[i];
	void *buf = malloc(n ? n * 8 : 8);
	if (!buf)
		return -1;
	int rc = h5io_slice_get(ds, t, at, n, H5P_DEFAULT, buf) < 0 ? -2
	         : h5io_sum_matches(h5io_xxh64(buf, n * 8, 0), p->sum[i]) ? 0 : -2;
	free(buf);
	return rc;
}

typedef struct verify_ctx {
	char *why;
	size_t whylen;
	size_t rank, nranks; /* this reader's share of the work */
	bool failed;         /* shared: a failure is kept (the first) and the walk goes on */
} verify_ctx;

/*
 * An array in parts is verified part by part, part i by reader i % nranks;
 * any other array whole, by reader 0.
 */
static int verify_shared(hid_t loc, const char *name, sa_dtype t, size_t n, verify_ctx *v)
{
	hid_t ds = h5io_array_open(loc, name, t, &n);
	if (ds < 0)
		return -1;
	h5io_parts p;
	int parted = h5io_parts_get(ds, n, &p), rc = parted < 0 ? -1 : 0;
	for (size_t i = v->rank; parted == 1 && rc == 0 && i < p.n; i += v->nranks)
		rc = part_verify(ds, t, &p, i);
	if (parted == 1)
		h5io_parts_free(&p);
	H5Dclose(ds);
	return parted == 0 ? 1 : rc; /* 1: not in parts */
}

static herr_t verify_array(hid_t loc, const char *name, const H5O_info_t *info, verify_ctx *v)
{
	if (info->type != H5O_TYPE_DATASET)
		return 0;
	static const sa_dtype types[] = { SA_F64, SA_U64, SA_I64 };
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		size_t n;
		if (h5io_array_size(loc, name, types[i], &n) < 0)
			continue;
		if (v->nranks > 1) {
			int rc = verify_shared(loc, name, types[i], n, v);
			if (rc == 0 || (rc == 1 && v->rank != 0))
				return 0;
			if (rc < 0) {
				snprintf(v->why, v->whylen, "%s %s", name,
				         rc == -2 ? "does not match its checksum (the file is corrupt)"
				                  : "has no readable checksum (none, or corrupt metadata)");
				return -1;
			}
		}
		void *buf = malloc(n ? n * 8 : 8);
		if (!buf) {
			snprintf(v->why, v->whylen, "out of memory reading %s", name);
			return -1;
		}
		int rc = h5io_array_get(loc, name, types[i], n, buf);
		free(buf);
		if (rc == 0)
			return 0;
		snprintf(v->why, v->whylen, "%s %s", name,
		         rc == -2 ? "does not match its checksum (the file is corrupt)"
		                  : "has no readable checksum (none, or corrupt metadata)");
		return -1;
	}
	return 0; /* not an array: text and tables are verified by their readers */
}

/*
 * Shared among MPI readers, every rank walks the whole file even past a
 * failure: parallel HDF5 reads some metadata with a broadcast that every
 * rank must join, so one rank stopping early would leave the others waiting.
 */
static herr_t verify_one(hid_t loc, const char *name, const H5O_info_t *info, void *data)
{
	verify_ctx *v = data;
	if (v->nranks == 1)
		return verify_array(loc, name, info, v);
	char scratch[256];
	verify_ctx later = *v;
	if (v->failed) { /* the first failure's message stays */
		later.why = scratch;
		later.whylen = sizeof scratch;
	}
	if (verify_array(loc, name, info, &later) < 0)
		v->failed = true;
	return 0;
}

int h5io_verify_arrays(hid_t loc, char *why, size_t whylen)
{
	return h5io_verify_arrays_shared(loc, 0, 1, why, whylen);
}

int h5io_verify_arrays_shared(hid_t loc, size_t rank, size_t nranks, char *why, size_t whylen)
{
	verify_ctx v = { why, whylen, rank, nranks ? nranks : 1, false };
	why[0] = '\0';
	herr_t rc = H5Ovisit2(loc, H5_INDEX_NAME, H5_ITER_NATIVE, verify_one, &v, H5O_INFO_BASIC);
	if (rc < 0 && !why[0])
		snprintf(why, whylen, "cannot be walked (corrupt metadata)");
	return rc < 0 || v.failed ? -1 : 0;
}

int h5io_text_put(hid_t loc, const char *name, const char *text, size_t len)
{
	int rc = -1;
	hid_t t = str_type(len + 1);
	hid_t s = H5Screate(H5S_SCALAR);
	hid_t dcpl = h5io_contiguous_dcpl();
	if (t >= 0 && s >= 0 && dcpl >= 0) {
		hid_t ds = H5Dcreate2(loc, name, t, s, H5P_DEFAULT, dcpl, H5P_DEFAULT);
		if (ds >= 0) {
			if (H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, text) >= 0 &&
			    h5io_attr_u64(ds, H5IO_CHECKSUM_ATTR, h5io_xxh64(text, len, 0)) >= 0)
				rc = 0;
			H5Dclose(ds);
		}
	}
	if (t >= 0)
		H5Tclose(t);
	if (s >= 0)
		H5Sclose(s);
	if (dcpl >= 0)
		H5Pclose(dcpl);
	return rc;
}

static int why_fail(char *why, size_t whylen, const char *msg)
{
	snprintf(why, whylen, "%s", msg);
	return -1;
}

int h5io_text_get(hid_t loc, const char *name, size_t max, char **out, size_t *len, char *why,
                  size_t whylen)
{
	*out = NULL;
	if (h5io_exists(loc, name) != 1)
		return why_fail(why, whylen, "is missing");
	H5O_info_t oi;
	if (H5Oget_info_by_name2(loc, name, &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0 ||
	    oi.type != H5O_TYPE_DATASET)
		return why_fail(why, whylen, "is not a dataset");
	hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
	if (ds < 0)
		return why_fail(why, whylen, "cannot be opened");
	int rc = -1;
	char *buf = NULL;
	hid_t ft = H5Dget_type(ds), sp = H5Dget_space(ds), mt = H5I_INVALID_HID;
	size_t s = 0;
	uint64_t sum;
	if (ft < 0 || sp < 0 || H5Sget_simple_extent_type(sp) != H5S_SCALAR) {
		why_fail(why, whylen, "is not a scalar");
	} else if (H5Tget_class(ft) != H5T_STRING || H5Tis_variable_str(ft) != 0) {
		why_fail(why, whylen, "is not a fixed-length string");
	} else if ((s = H5Tget_size(ft)) < 1 || s - 1 > max) {
		snprintf(why, whylen, "is too long (%zu bytes, at most %zu)", s, max);
	} else if (stored_checksum(ds, &sum) < 0) {
		why_fail(why, whylen, "has no checksum");
	} else if (!(buf = malloc(s + 1)) || (mt = str_mem_type(ft, s)) < 0) {
		why_fail(why, whylen, "cannot be read (out of memory)");
	} else if (H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
		why_fail(why, whylen, "cannot be read");
	} else {
		buf[s] = '\0';
		*len = strlen(buf);
		if (!h5io_sum_matches(h5io_xxh64(buf, *len, 0), sum)) {
			why_fail(why, whylen, "does not match its checksum (the file is corrupt)");
		} else {
			*out = buf;
			buf = NULL;
			rc = 0;
		}
	}
	if (mt >= 0)
		H5Tclose(mt);
	if (ft >= 0)
		H5Tclose(ft);
	if (sp >= 0)
		H5Sclose(sp);
	H5Dclose(ds);
	free(buf);
	return rc;
}

/* ---- sa_writer / sa_reader -------------------------------------------- */

/* Split "a/b/c" into parent "a/b" (in buf) and leaf "c". */
const char *h5io_split_path(const char *name, char *parent, size_t cap)
{
	const char *slash = strrchr(name, '/');
	size_t plen = slash ? (size_t)(slash - name) : 0;
	if (plen >= cap)
		return NULL;
	memcpy(parent, name, plen);
	parent[plen] = '\0';
	return slash ? slash + 1 : name;
}

int h5io_note(h5io_state *c, const char *fmt, const char *name, const char *what)
{
	if (!c->detail[0])
		snprintf(c->detail, sizeof c->detail, fmt, name, what);
	return -1;
}

void h5io_finite_range(const double *x, size_t n, double *lo_out, double *hi_out)
{
	double lo = INFINITY, hi = -INFINITY;
	for (size_t i = 0; i < n; i++) {
		double v = x[i];
		if (v < lo && v >= -DBL_MAX) /* finite: NaN and -Inf fail, +Inf is never < lo */
			lo = v;
		if (v > hi && v <= DBL_MAX)
			hi = v;
	}
	*lo_out = lo;
	*hi_out = hi;
}

int h5io_state_add_range(h5io_state *c, const char *name, double lo, double hi)
{
	h5io_range *r = realloc(c->ranges, (c->n_ranges + 1) * sizeof *r);
	if (!r)
		return -1;
	c->ranges = r;
	r = &c->ranges[c->n_ranges++];
	snprintf(r->name, sizeof r->name, "%s", name);
	r->lo = lo;
	r->hi = hi;
	return 0;
}

/* Note the range of an F64 array as it goes by (cheaper than reading it back). */
static int note_range(h5io_state *c, const char *name, size_t n, const double *x)
{
	double lo, hi;
	h5io_finite_range(x, n, &lo, &hi);
	return h5io_state_add_range(c, name, lo, hi);
}

const h5io_range *h5io_state_range(const h5io_state *ctx, const char *name)
{
	for (size_t i = 0; i < ctx->n_ranges; i++)
		if (strcmp(ctx->ranges[i].name, name) == 0)
			return &ctx->ranges[i];
	return NULL;
}

void h5io_state_free(h5io_state *ctx)
{
	free(ctx->ranges);
	ctx->ranges = NULL;
	ctx->n_ranges = 0;
}

static int w_array(void *ctx, const char *name, sa_dtype dtype, size_t n, const void *data)
{
	h5io_state *c = ctx;
	char parent[H5IO_MAX_NAME + 1];
	if (!h5io_valid_path(name))
		return h5io_note(c, "invalid state name '%s'%s", name ? name : "(null)", "");
	const char *leaf = h5io_split_path(name, parent, sizeof parent);
	hid_t g = leaf ? h5io_mkgroups(c->group, parent) : H5I_INVALID_HID;
	if (g < 0)
		return h5io_note(c, "cannot make the group for state %s%s", name, "");
	hid_t ds = h5io_array_put(g, leaf, dtype, n, data);
	H5Gclose(g);
	if (ds < 0)
		return h5io_note(c, "cannot write the state array %s%s", name,
		            " (written twice, bad type, or the disk is full)");
	H5Dclose(ds);
	if (dtype == SA_F64 && note_range(c, name, n, data) < 0)
		return h5io_note(c, "out of memory writing %s%s", name, "");
	return 0;
}

static int w_attr(void *ctx, const char *name, sa_dtype dtype, const void *value)
{
	h5io_state *c = ctx;
	char parent[H5IO_MAX_NAME + 1];
	if (!h5io_valid_path(name))
		return h5io_note(c, "invalid state name '%s'%s", name ? name : "(null)", "");
	const char *leaf = h5io_split_path(name, parent, sizeof parent);
	hid_t g = leaf ? h5io_mkgroups(c->group, parent) : H5I_INVALID_HID;
	if (g < 0)
		return h5io_note(c, "cannot make the group for state %s%s", name, "");
	int rc = h5io_attr_put(g, leaf, dtype, value);
	H5Gclose(g);
	if (rc < 0)
		return h5io_note(c, "cannot write the state attribute %s%s", name,
		            " (written twice or bad type)");
	return 0;
}

static int r_array_size(void *ctx, const char *name, sa_dtype dtype, size_t *n)
{
	h5io_state *c = ctx;
	if (!h5io_valid_path(name) || !n)
		return -1;
	return h5io_array_size(c->group, name, dtype, n);
}

static int r_array(void *ctx, const char *name, sa_dtype dtype, size_t n, void *out)
{
	h5io_state *c = ctx;
	if (!h5io_valid_path(name))
		return -1;
	int rc = h5io_array_get(c->group, name, dtype, n, out);
	if (rc == -2)
		h5io_note(c, "state array %s does not match its checksum%s", name,
		     " (the file is corrupt)");
	return rc < 0 ? -1 : 0;
}

static int r_attr(void *ctx, const char *name, sa_dtype dtype, void *out)
{
	h5io_state *c = ctx;
	char parent[H5IO_MAX_NAME + 1];
	if (!h5io_valid_path(name) || !out)
		return -1;
	const char *leaf = h5io_split_path(name, parent, sizeof parent);
	hid_t g = leaf ? h5io_open_group(c->group, parent) : H5I_INVALID_HID;
	if (g < 0)
		return h5io_note(c, "state attribute %s is missing (no group %s)", name, parent);
	int rc = h5io_attr_get(g, leaf, dtype, out);
	if (rc < 0) {
		/* Say what is wrong: missing is not the same as present and malformed. */
		char why[128];
		h5io_attr_why(g, leaf, dtype, why, sizeof why);
		h5io_note(c, "state attribute %s %s", name, why);
	}
	H5Gclose(g);
	return rc;
}

void h5io_writer(sa_writer *w, h5io_state *ctx)
{
	ctx->detail[0] = '\0';
	ctx->ranges = NULL;
	ctx->n_ranges = 0;
	w->ctx = ctx;
	w->array = w_array;
	w->attr = w_attr;
	w->array_part = w_array; /* one rank: its part is the whole */
}

void h5io_reader(sa_reader *r, h5io_state *ctx)
{
	ctx->detail[0] = '\0';
	ctx->ranges = NULL;
	ctx->n_ranges = 0;
	r->ctx = ctx;
	r->array_size = r_array_size;
	r->array = r_array;
	r->attr = r_attr;
	r->part_size = r_array_size; /* one rank: the whole is its part */
	r->part = r_array;
}
