/*
 * test_vectors.c - runs the shared JSON test vectors (firmware-protocol/vectors/,
 * SPEC.md section 10) against rhil_proto, and device.json against rhil_device.
 *
 *   test_vectors [VECTORS_DIR]
 *
 * Contains a small JSON reader (test code may allocate).
 */
#include "../rhil_proto.h"
#include "../rhil_device.h"
#include "testutil.h"

#include <math.h>

#ifndef VECTORS_DIR
#define VECTORS_DIR "../vectors"
#endif

/* ================================================================ JSON */

enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

typedef struct json {
    int type;
    int boolean;
    char *text; /* J_NUM: the literal; J_STR: UTF-8 bytes (NUL-terminated) */
    size_t len; /* J_STR byte length */
    size_t n;   /* J_ARR / J_OBJ item count */
    struct json **items;
    char **keys;
} json;

typedef struct {
    const char *p, *end;
    int err;
} jparser;

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static void jskip(jparser *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
}

static json *jnew(int type)
{
    json *v = (json *)xmalloc(sizeof *v);
    memset(v, 0, sizeof *v);
    v->type = type;
    return v;
}

static void put_utf8(char *out, size_t *o, unsigned long cp)
{
    if (cp < 0x80) {
        out[(*o)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*o)++] = (char)(0xC0 | (cp >> 6));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out[(*o)++] = (char)(0xE0 | (cp >> 12));
        out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*o)++] = (char)(0xF0 | (cp >> 18));
        out[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    }
}

static int hex4(const char *p, unsigned long *v)
{
    int i;
    *v = 0;
    for (i = 0; i < 4; i++) {
        int h = hexval((unsigned char)p[i]);
        if (h < 0)
            return 0;
        *v = *v * 16 + (unsigned long)h;
    }
    return 1;
}

static char *jstring(jparser *j, size_t *len)
{
    const char *s = ++j->p; /* after the quote */
    size_t cap = 0, o = 0;
    char *out;
    while (j->p < j->end && *j->p != '"') {
        if (*j->p == '\\')
            j->p++;
        j->p++;
    }
    if (j->p >= j->end) {
        j->err = 1;
        return NULL;
    }
    cap = (size_t)(j->p - s) + 1;
    out = (char *)xmalloc(cap);
    j->p = s;
    while (*j->p != '"') {
        char c = *j->p++;
        if (c != '\\') {
            out[o++] = c;
            continue;
        }
        c = *j->p++;
        switch (c) {
        case 'n': out[o++] = '\n'; break;
        case 't': out[o++] = '\t'; break;
        case 'r': out[o++] = '\r'; break;
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'u': {
            unsigned long cp, lo;
            if (j->end - j->p < 4 || !hex4(j->p, &cp)) {
                j->err = 1;
                free(out);
                return NULL;
            }
            j->p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u' &&
                hex4(j->p + 2, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                j->p += 6;
            }
            put_utf8(out, &o, cp);
            break;
        }
        default: out[o++] = c; break; /* \" \\ \/ */
        }
    }
    j->p++;
    out[o] = 0;
    *len = o;
    return out;
}

static json *jvalue(jparser *j, int depth)
{
    json *v;
    jskip(j);
    if (j->p >= j->end || depth > 64) {
        j->err = 1;
        return NULL;
    }
    if (*j->p == '{' || *j->p == '[') {
        int obj = *j->p == '{';
        size_t cap = 8;
        v = jnew(obj ? J_OBJ : J_ARR);
        v->items = (json **)xmalloc(cap * sizeof *v->items);
        v->keys = obj ? (char **)xmalloc(cap * sizeof *v->keys) : NULL;
        j->p++;
        jskip(j);
        if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
            j->p++;
            return v;
        }
        for (;;) {
            char *key = NULL;
            size_t kl;
            json *item;
            jskip(j);
            if (obj) {
                if (j->p >= j->end || *j->p != '"') {
                    j->err = 1;
                    return v;
                }
                key = jstring(j, &kl);
                jskip(j);
                if (j->err || j->p >= j->end || *j->p != ':') {
                    j->err = 1;
                    return v;
                }
                j->p++;
            }
            item = jvalue(j, depth + 1);
            if (j->err)
                return v;
            if (v->n == cap) {
                cap *= 2;
                v->items = (json **)realloc(v->items, cap * sizeof *v->items);
                if (obj)
                    v->keys = (char **)realloc(v->keys, cap * sizeof *v->keys);
                if (!v->items || (obj && !v->keys)) {
                    fprintf(stderr, "out of memory\n");
                    exit(2);
                }
            }
            v->items[v->n] = item;
            if (obj)
                v->keys[v->n] = key;
            v->n++;
            jskip(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
                j->p++;
                return v;
            }
            j->err = 1;
            return v;
        }
    }
    if (*j->p == '"') {
        v = jnew(J_STR);
        v->text = jstring(j, &v->len);
        return v;
    }
    if (j->end - j->p >= 4 && strncmp(j->p, "true", 4) == 0) {
        j->p += 4;
        v = jnew(J_BOOL);
        v->boolean = 1;
        return v;
    }
    if (j->end - j->p >= 5 && strncmp(j->p, "false", 5) == 0) {
        j->p += 5;
        return jnew(J_BOOL);
    }
    if (j->end - j->p >= 4 && strncmp(j->p, "null", 4) == 0) {
        j->p += 4;
        return jnew(J_NULL);
    }
    {
        const char *s = j->p;
        size_t n;
        while (j->p < j->end && strchr("+-0123456789.eE", *j->p))
            j->p++;
        n = (size_t)(j->p - s);
        if (n == 0) {
            j->err = 1;
            return NULL;
        }
        v = jnew(J_NUM);
        v->text = (char *)xmalloc(n + 1);
        memcpy(v->text, s, n);
        v->text[n] = 0;
        return v;
    }
}

static void jfree(json *v)
{
    size_t i;
    if (!v)
        return;
    for (i = 0; i < v->n; i++) {
        jfree(v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->text);
    free(v);
}

static json *jget(const json *o, const char *key)
{
    size_t i;
    if (!o || o->type != J_OBJ)
        return NULL;
    for (i = 0; i < o->n; i++)
        if (strcmp(o->keys[i], key) == 0)
            return o->items[i];
    return NULL;
}

static json *load_json(const char *dir, const char *name)
{
    char path[1024];
    FILE *f;
    long size;
    char *buf;
    jparser j;
    json *v;
    sprintf(path, "%.900s/%s", dir, name);
    f = fopen(path, "rb");
    if (!f) {
        CHECK(0, "cannot open %s", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = (char *)xmalloc((size_t)size + 1);
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        CHECK(0, "cannot read %s", path);
        return NULL;
    }
    fclose(f);
    buf[size] = 0;
    j.p = buf;
    j.end = buf + size;
    j.err = 0;
    v = jvalue(&j, 0);
    free(buf);
    CHECK(!j.err && v, "parse %s", path);
    if (j.err) {
        jfree(v);
        return NULL;
    }
    return v;
}

/* ---------------------------------------------------------------- typed getters */

static int num_u64(const json *v, unsigned long long *out)
{
    char *end;
    if (!v || v->type != J_NUM || v->text[0] == '-')
        return 0;
    *out = strtoull(v->text, &end, 10);
    return *end == 0;
}

static int num_i64(const json *v, long long *out)
{
    char *end;
    if (!v || v->type != J_NUM)
        return 0;
    *out = strtoll(v->text, &end, 10);
    return *end == 0;
}

static int num_f64(const json *v, double *out)
{
    char *end;
    if (!v || v->type != J_NUM)
        return 0;
    *out = strtod(v->text, &end);
    return *end == 0;
}

/* hex string field -> malloc'd bytes */
static unsigned char *hex_field(const json *o, const char *key, long *n)
{
    const json *v = jget(o, key);
    unsigned char *b;
    if (!v || v->type != J_STR) {
        *n = -1;
        return NULL;
    }
    b = (unsigned char *)xmalloc(v->len / 2 + 1);
    *n = from_hex(v->text, b, v->len / 2 + 1);
    return b;
}

static const char *vname(const json *o)
{
    const json *v = jget(o, "name");
    return v && v->type == J_STR ? v->text : "?";
}

/* ================================================================ message comparison */

static const char *cur; /* vector name for messages */
static int mismatches;

static void field_fail(const char *field, const char *why)
{
    mismatches++;
    printf("FAIL vector \"%s\": field %s %s\n", cur, field, why);
}

static void cmp_uint(const json *msg, const char *field, unsigned long long actual)
{
    unsigned long long want;
    if (!num_u64(jget(msg, field), &want)) {
        field_fail(field, "missing or not an unsigned integer");
        return;
    }
    if (want != actual) {
        char why[128];
        sprintf(why, "expected %llu, decoded %llu", want, actual);
        field_fail(field, why);
    }
}

static void cmp_float(const json *msg, const char *field, double actual, int is_f32, int null_is_nan)
{
    const json *v = jget(msg, field);
    double want;
    if (null_is_nan && v && v->type == J_NULL) {
        if (actual == actual)
            field_fail(field, "expected null (NaN)");
        return;
    }
    if (!num_f64(v, &want)) {
        field_fail(field, "missing or not a number");
        return;
    }
    if (is_f32)
        want = (double)(float)want;
    if (want != actual) {
        char why[160];
        sprintf(why, "expected %.17g, decoded %.17g", want, actual);
        field_fail(field, why);
    }
}

static void cmp_bytes(const json *msg, const char *field, const rhil_bytes_t *b, int hex)
{
    const json *v = jget(msg, field);
    if (!v || v->type != J_STR) {
        field_fail(field, "missing or not a string");
        return;
    }
    if (hex) {
        long n;
        unsigned char *want = hex_field(msg, field, &n);
        if (n < 0 || (uint32_t)n != b->len || (n > 0 && memcmp(want, b->ptr, (size_t)n) != 0))
            field_fail(field, "bytes differ");
        free(want);
    } else if (v->len != b->len || (v->len > 0 && memcmp(v->text, b->ptr, v->len) != 0)) {
        field_fail(field, "string differs");
    }
}

static const char *fmt_name(uint8_t f)
{
    return f == RHIL_FMT_U16 ? "u16" : f == RHIL_FMT_I16 ? "i16" : f == RHIL_FMT_F32 ? "f32" : "?";
}

static void cmp_format(const json *msg, const char *field, uint8_t f)
{
    const json *v = jget(msg, field);
    if (!v || v->type != J_STR || strcmp(v->text, fmt_name(f)) != 0)
        field_fail(field, "format differs");
}

static void cmp_samples(const json *msg, const uint8_t *samples, uint32_t n, uint8_t format)
{
    const json *arr = jget(msg, "samples");
    uint32_t i;
    if (!arr || arr->type != J_ARR) {
        field_fail("samples", "missing");
        return;
    }
    if (arr->n != n) {
        char why[80];
        sprintf(why, "expected %lu values, decoded %lu", (unsigned long)arr->n, (unsigned long)n);
        field_fail("samples", why);
        return;
    }
    for (i = 0; i < n; i++) {
        double want, got = rhil_sample_get(samples, format, i);
        if (!num_f64(arr->items[i], &want)) {
            field_fail("samples", "non-numeric value");
            return;
        }
        if (format == RHIL_FMT_F32)
            want = (double)(float)want;
        if (want != got) {
            char why[160];
            sprintf(why, "[%lu] expected %.17g, decoded %.17g", (unsigned long)i, want, got);
            field_fail("samples", why);
            return;
        }
    }
}

static const char *kind_of(uint8_t type)
{
    switch (type) {
    case RHIL_T_HELLO: return "hello";
    case RHIL_T_CONFIGURE: return "configure";
    case RHIL_T_PROCESS: return "process";
    case RHIL_T_RESET_STATE: return "resetState";
    case RHIL_T_GET_STATUS: return "getStatus";
    case RHIL_T_PING: return "ping";
    case RHIL_T_BOOT: return "boot";
    case RHIL_T_INFO: return "info";
    case RHIL_T_ACK: return "ack";
    case RHIL_T_RESULT: return "result";
    case RHIL_T_STATUS: return "status";
    case RHIL_T_PONG: return "pong";
    case RHIL_T_ERROR: return "error";
    default: return "?";
    }
}

/* Number of JSON fields each kind must carry (besides "kind"): catches a field the
 * vector has but this comparison does not know about. */
static size_t field_count(uint8_t type)
{
    switch (type) {
    case RHIL_T_HELLO: return 2;
    case RHIL_T_CONFIGURE: return 1;
    case RHIL_T_PROCESS: return 5;
    case RHIL_T_RESET_STATE:
    case RHIL_T_GET_STATUS: return 0;
    case RHIL_T_PING:
    case RHIL_T_PONG: return 1;
    case RHIL_T_BOOT: return 3;
    case RHIL_T_INFO: return 18;
    case RHIL_T_ACK: return 2;
    case RHIL_T_RESULT: return 8;
    case RHIL_T_STATUS: return 9;
    case RHIL_T_ERROR: return 5;
    default: return 0;
    }
}

static void compare_message(const json *jm, const rhil_msg_t *m)
{
    const json *kind = jget(jm, "kind");
    uint32_t i;
    if (!kind || kind->type != J_STR || strcmp(kind->text, kind_of(m->type)) != 0) {
        field_fail("kind", "differs from the decoded type");
        return;
    }
    if (jm->n != field_count(m->type) + 1)
        field_fail("(object)", "has a different number of fields than SPEC's layout");
    switch (m->type) {
    case RHIL_T_HELLO:
        cmp_uint(jm, "minVersion", m->u.hello.minVersion);
        cmp_uint(jm, "maxVersion", m->u.hello.maxVersion);
        break;
    case RHIL_T_CONFIGURE: {
        const json *ps = jget(jm, "params");
        if (!ps || ps->type != J_ARR || ps->n != m->u.configure.count) {
            field_fail("params", "missing or count differs");
            break;
        }
        for (i = 0; i < m->u.configure.count; i++) {
            const rhil_param_t *p = &m->u.configure.params[i];
            const json *jp = ps->items[i], *ty = jget(jp, "type"), *val = jget(jp, "value");
            static const char *const tn[] = {"", "bool", "i32", "f64", "string"};
            cmp_bytes(jp, "name", &p->name, 0);
            if (!ty || ty->type != J_STR || p->type < 1 || p->type > 4 || strcmp(ty->text, tn[p->type]) != 0) {
                field_fail("params[].type", "differs");
                continue;
            }
            switch (p->type) {
            case RHIL_PARAM_BOOL:
                if (!val || val->type != J_BOOL || val->boolean != p->v.b)
                    field_fail("params[].value", "bool differs");
                break;
            case RHIL_PARAM_I32: {
                long long want;
                if (!num_i64(val, &want) || want != p->v.i)
                    field_fail("params[].value", "i32 differs");
                break;
            }
            case RHIL_PARAM_F64:
                cmp_float(jp, "value", p->v.f, 0, 0);
                break;
            default:
                cmp_bytes(jp, "value", &p->v.s, 0);
                break;
            }
        }
        break;
    }
    case RHIL_T_PROCESS: {
        const rhil_process_t *p = &m->u.process;
        cmp_uint(jm, "batchId", p->batchId);
        cmp_uint(jm, "count", p->count);
        cmp_uint(jm, "channels", p->channels);
        cmp_format(jm, "format", p->format);
        cmp_samples(jm, p->samples, (uint32_t)p->count * p->channels, p->format);
        break;
    }
    case RHIL_T_RESET_STATE:
    case RHIL_T_GET_STATUS:
        break;
    case RHIL_T_PING:
    case RHIL_T_PONG:
        cmp_bytes(jm, "data", &m->u.ping, 1);
        break;
    case RHIL_T_BOOT:
        cmp_uint(jm, "bootCount", m->u.boot.bootCount);
        cmp_uint(jm, "epoch", m->u.boot.epoch);
        cmp_uint(jm, "reason", m->u.boot.reason);
        break;
    case RHIL_T_INFO: {
        const rhil_info_t *p = &m->u.info;
        cmp_uint(jm, "protocolVersion", p->protocolVersion);
        cmp_format(jm, "inFormat", p->inFormat);
        cmp_format(jm, "outFormat", p->outFormat);
        cmp_uint(jm, "credits", p->credits);
        cmp_uint(jm, "inChannels", p->inChannels);
        cmp_uint(jm, "outChannels", p->outChannels);
        cmp_uint(jm, "maxBatch", p->maxBatch);
        cmp_uint(jm, "maxFrame", p->maxFrame);
        cmp_uint(jm, "samplePeriodNs", p->samplePeriodNs);
        cmp_uint(jm, "capabilities", p->capabilities);
        cmp_float(jm, "inMin", p->inMin, 1, 0);
        cmp_float(jm, "inMax", p->inMax, 1, 0);
        cmp_float(jm, "outMin", p->outMin, 1, 0);
        cmp_float(jm, "outMax", p->outMax, 1, 0);
        cmp_bytes(jm, "vendor", &p->vendor, 0);
        cmp_bytes(jm, "model", &p->model, 0);
        cmp_bytes(jm, "serial", &p->serial, 0);
        cmp_bytes(jm, "firmware", &p->firmware, 0);
        break;
    }
    case RHIL_T_ACK:
        cmp_uint(jm, "ackedType", m->u.ack.ackedType);
        cmp_uint(jm, "epoch", m->u.ack.epoch);
        break;
    case RHIL_T_RESULT: {
        const rhil_result_t *p = &m->u.result;
        cmp_uint(jm, "batchId", p->batchId);
        cmp_uint(jm, "epoch", p->epoch);
        cmp_uint(jm, "timestampUs", p->timestampUs);
        cmp_uint(jm, "status", p->status);
        cmp_uint(jm, "count", p->count);
        cmp_uint(jm, "channels", p->channels);
        cmp_format(jm, "format", p->format);
        cmp_samples(jm, p->samples, (uint32_t)p->count * p->channels, p->format);
        break;
    }
    case RHIL_T_STATUS: {
        const rhil_status_t *p = &m->u.status;
        cmp_uint(jm, "framesOk", p->framesOk);
        cmp_uint(jm, "crcErrors", p->crcErrors);
        cmp_uint(jm, "framingErrors", p->framingErrors);
        cmp_uint(jm, "rejected", p->rejected);
        cmp_uint(jm, "droppedBatches", p->droppedBatches);
        cmp_uint(jm, "epoch", p->epoch);
        cmp_uint(jm, "bootCount", p->bootCount);
        cmp_uint(jm, "uptimeUs", p->uptimeUs);
        cmp_float(jm, "temperatureC", p->temperatureC, 1, 1);
        break;
    }
    case RHIL_T_ERROR:
        cmp_uint(jm, "code", m->u.error.code);
        cmp_uint(jm, "refSeq", m->u.error.refSeq);
        cmp_uint(jm, "refType", m->u.error.refType);
        cmp_uint(jm, "detail", m->u.error.detail);
        cmp_bytes(jm, "text", &m->u.error.text, 0);
        break;
    default:
        break;
    }
}

/* ================================================================ building a message from JSON */

/* Everything allocated for one built message; freed by the caller. */
typedef struct {
    void *blocks[40];
    int n;
} arena_t;

static void *arena_alloc(arena_t *a, size_t n)
{
    void *p = xmalloc(n);
    if (a->n < 40)
        a->blocks[a->n++] = p;
    return p;
}

static void arena_free(arena_t *a)
{
    int i;
    for (i = 0; i < a->n; i++)
        free(a->blocks[i]);
    a->n = 0;
}

static uint64_t ju(const json *o, const char *k)
{
    unsigned long long v = 0;
    num_u64(jget(o, k), &v);
    return (uint64_t)v;
}

static double jf(const json *o, const char *k)
{
    double v = 0;
    const json *x = jget(o, k);
    if (x && x->type == J_NULL)
        return (double)NAN;
    num_f64(x, &v);
    return v;
}

static uint8_t jfmt(const json *o, const char *k)
{
    const json *v = jget(o, k);
    if (!v || v->type != J_STR)
        return 0xFF;
    if (strcmp(v->text, "u16") == 0)
        return RHIL_FMT_U16;
    if (strcmp(v->text, "i16") == 0)
        return RHIL_FMT_I16;
    if (strcmp(v->text, "f32") == 0)
        return RHIL_FMT_F32;
    return 0xFF;
}

static rhil_bytes_t jstr(const json *o, const char *k)
{
    rhil_bytes_t b;
    const json *v = jget(o, k);
    b.ptr = v && v->type == J_STR ? (const uint8_t *)v->text : NULL;
    b.len = v && v->type == J_STR ? (uint32_t)v->len : 0;
    return b;
}

static rhil_bytes_t jhex(arena_t *a, const json *o, const char *k)
{
    rhil_bytes_t b;
    long n;
    unsigned char *p = hex_field(o, k, &n);
    if (p && a->n < 40)
        a->blocks[a->n++] = p;
    b.ptr = p;
    b.len = n < 0 ? 0 : (uint32_t)n;
    return b;
}

static const uint8_t *jsamples(arena_t *a, const json *o, uint8_t format)
{
    const json *arr = jget(o, "samples");
    uint8_t *buf;
    size_t i;
    if (!arr || arr->type != J_ARR || rhil_format_size(format) == 0)
        return NULL;
    buf = (uint8_t *)arena_alloc(a, arr->n * 4 + 1);
    for (i = 0; i < arr->n; i++) {
        double d = 0;
        num_f64(arr->items[i], &d);
        rhil_sample_put(buf, format, (uint32_t)i, (float)d);
    }
    return buf;
}

static int build_from_json(const json *jm, rhil_msg_t *m, arena_t *a)
{
    const json *kind = jget(jm, "kind");
    static const uint8_t types[] = {RHIL_T_HELLO, RHIL_T_CONFIGURE, RHIL_T_PROCESS, RHIL_T_RESET_STATE,
                                    RHIL_T_GET_STATUS, RHIL_T_PING, RHIL_T_BOOT, RHIL_T_INFO,
                                    RHIL_T_ACK, RHIL_T_RESULT, RHIL_T_STATUS, RHIL_T_PONG, RHIL_T_ERROR};
    size_t t;
    memset(m, 0, sizeof *m);
    if (!kind || kind->type != J_STR)
        return 0;
    for (t = 0; t < sizeof types; t++)
        if (strcmp(kind->text, kind_of(types[t])) == 0)
            break;
    if (t == sizeof types)
        return 0;
    m->type = types[t];
    switch (m->type) {
    case RHIL_T_HELLO:
        m->u.hello.minVersion = (uint8_t)ju(jm, "minVersion");
        m->u.hello.maxVersion = (uint8_t)ju(jm, "maxVersion");
        break;
    case RHIL_T_CONFIGURE: {
        const json *ps = jget(jm, "params");
        size_t i;
        if (!ps || ps->type != J_ARR || ps->n > RHIL_MAX_PARAMS)
            return 0;
        m->u.configure.count = (uint8_t)ps->n;
        for (i = 0; i < ps->n; i++) {
            rhil_param_t *p = &m->u.configure.params[i];
            const json *jp = ps->items[i], *ty = jget(jp, "type"), *val = jget(jp, "value");
            p->name = jstr(jp, "name");
            if (!ty || ty->type != J_STR || !val)
                return 0;
            if (strcmp(ty->text, "bool") == 0) {
                p->type = RHIL_PARAM_BOOL;
                p->v.b = (uint8_t)(val->type == J_BOOL && val->boolean);
            } else if (strcmp(ty->text, "i32") == 0) {
                long long v = 0;
                num_i64(val, &v);
                p->type = RHIL_PARAM_I32;
                p->v.i = (int32_t)v;
            } else if (strcmp(ty->text, "f64") == 0) {
                p->type = RHIL_PARAM_F64;
                num_f64(val, &p->v.f);
            } else if (strcmp(ty->text, "string") == 0) {
                p->type = RHIL_PARAM_STRING;
                p->v.s = jstr(jp, "value");
            } else {
                return 0;
            }
        }
        break;
    }
    case RHIL_T_PROCESS:
        m->u.process.batchId = (uint32_t)ju(jm, "batchId");
        m->u.process.count = (uint16_t)ju(jm, "count");
        m->u.process.channels = (uint16_t)ju(jm, "channels");
        m->u.process.format = jfmt(jm, "format");
        m->u.process.samples = jsamples(a, jm, m->u.process.format);
        break;
    case RHIL_T_PING:
    case RHIL_T_PONG:
        m->u.ping = jhex(a, jm, "data");
        break;
    case RHIL_T_BOOT:
        m->u.boot.bootCount = (uint32_t)ju(jm, "bootCount");
        m->u.boot.epoch = (uint32_t)ju(jm, "epoch");
        m->u.boot.reason = (uint8_t)ju(jm, "reason");
        break;
    case RHIL_T_INFO: {
        rhil_info_t *p = &m->u.info;
        p->protocolVersion = (uint8_t)ju(jm, "protocolVersion");
        p->inFormat = jfmt(jm, "inFormat");
        p->outFormat = jfmt(jm, "outFormat");
        p->credits = (uint8_t)ju(jm, "credits");
        p->inChannels = (uint16_t)ju(jm, "inChannels");
        p->outChannels = (uint16_t)ju(jm, "outChannels");
        p->maxBatch = (uint16_t)ju(jm, "maxBatch");
        p->maxFrame = (uint32_t)ju(jm, "maxFrame");
        p->samplePeriodNs = (uint32_t)ju(jm, "samplePeriodNs");
        p->capabilities = (uint32_t)ju(jm, "capabilities");
        p->inMin = (float)jf(jm, "inMin");
        p->inMax = (float)jf(jm, "inMax");
        p->outMin = (float)jf(jm, "outMin");
        p->outMax = (float)jf(jm, "outMax");
        p->vendor = jstr(jm, "vendor");
        p->model = jstr(jm, "model");
        p->serial = jstr(jm, "serial");
        p->firmware = jstr(jm, "firmware");
        break;
    }
    case RHIL_T_ACK:
        m->u.ack.ackedType = (uint8_t)ju(jm, "ackedType");
        m->u.ack.epoch = (uint32_t)ju(jm, "epoch");
        break;
    case RHIL_T_RESULT:
        m->u.result.batchId = (uint32_t)ju(jm, "batchId");
        m->u.result.epoch = (uint32_t)ju(jm, "epoch");
        m->u.result.timestampUs = ju(jm, "timestampUs");
        m->u.result.status = (uint16_t)ju(jm, "status");
        m->u.result.count = (uint16_t)ju(jm, "count");
        m->u.result.channels = (uint16_t)ju(jm, "channels");
        m->u.result.format = jfmt(jm, "format");
        m->u.result.samples = jsamples(a, jm, m->u.result.format);
        break;
    case RHIL_T_STATUS: {
        rhil_status_t *p = &m->u.status;
        p->framesOk = (uint32_t)ju(jm, "framesOk");
        p->crcErrors = (uint32_t)ju(jm, "crcErrors");
        p->framingErrors = (uint32_t)ju(jm, "framingErrors");
        p->rejected = (uint32_t)ju(jm, "rejected");
        p->droppedBatches = (uint32_t)ju(jm, "droppedBatches");
        p->epoch = (uint32_t)ju(jm, "epoch");
        p->bootCount = (uint32_t)ju(jm, "bootCount");
        p->uptimeUs = ju(jm, "uptimeUs");
        p->temperatureC = (float)jf(jm, "temperatureC");
        break;
    }
    case RHIL_T_ERROR:
        m->u.error.code = (uint16_t)ju(jm, "code");
        m->u.error.refSeq = (uint16_t)ju(jm, "refSeq");
        m->u.error.refType = (uint8_t)ju(jm, "refType");
        m->u.error.detail = (uint32_t)ju(jm, "detail");
        m->u.error.text = jstr(jm, "text");
        break;
    default:
        break;
    }
    return 1;
}

/* ================================================================ the three files */

static rhil_decoder_t dec;
static rhil_msg_t msg;
static uint8_t out[RHIL_ENCODED_MAX(65547u) + 16];

static void run_crc(const char *dir)
{
    json *root = load_json(dir, "crc32c.json");
    const json *vs = jget(root, "vectors");
    size_t i;
    if (!root)
        return;
    CHECK(vs && vs->type == J_ARR && vs->n > 0, "crc32c.json has vectors");
    for (i = 0; vs && i < vs->n; i++) {
        long n;
        unsigned long long want = 0;
        unsigned char *d = hex_field(vs->items[i], "data", &n);
        int ok = n >= 0 && num_u64(jget(vs->items[i], "crc"), &want);
        uint32_t got = ok ? rhil_crc32c(d, (size_t)n) : 0;
        CHECK(ok && got == want, "crc32c vector \"%s\": expected %08llx, got %08lx", vname(vs->items[i]), want,
              (unsigned long)got);
        free(d);
    }
    jfree(root);
}

static void run_cobs(const char *dir)
{
    json *root = load_json(dir, "cobs.json");
    const json *vs = jget(root, "vectors");
    size_t i;
    if (!root)
        return;
    CHECK(vs && vs->type == J_ARR && vs->n > 0, "cobs.json has vectors");
    for (i = 0; vs && i < vs->n; i++) {
        long n, en, r;
        unsigned char *d = hex_field(vs->items[i], "data", &n);
        unsigned char *e = hex_field(vs->items[i], "encoded", &en);
        unsigned char *buf = (unsigned char *)xmalloc((size_t)(n > en ? n : en) * 2 + 16);
        if (n < 0 || en < 0) {
            CHECK(0, "cobs vector \"%s\": bad hex", vname(vs->items[i]));
        } else {
            r = rhil_cobs_encode(d, (size_t)n, buf, (size_t)(n > en ? n : en) * 2 + 16);
            CHECK(r == en && memcmp(buf, e, (size_t)en) == 0, "cobs vector \"%s\": encoding differs",
                  vname(vs->items[i]));
            r = rhil_cobs_decode(e, (size_t)en, buf, (size_t)(n > en ? n : en) * 2 + 16);
            CHECK(r == n && memcmp(buf, d, (size_t)n) == 0, "cobs vector \"%s\": decoding differs",
                  vname(vs->items[i]));
        }
        free(d);
        free(e);
        free(buf);
    }
    jfree(root);
}

static void run_valid(const json *v)
{
    long n, enc;
    unsigned char *frame = hex_field(v, "frame", &n);
    unsigned long long seq = 0, flags = 0;
    const json *jm = jget(v, "message");
    size_t off = 0;
    int frames = 0, rejects = 0, reject_reason = -1;
    rhil_event_t ev, fev;
    rhil_msg_t built;
    arena_t arena;

    cur = vname(v);
    memset(&fev, 0, sizeof fev);
    if (n < 0 || !num_u64(jget(v, "seq"), &seq) || !num_u64(jget(v, "flags"), &flags) || !jm) {
        CHECK(0, "vector \"%s\": malformed entry", cur);
        free(frame);
        return;
    }
    if ((size_t)n - 1 > (size_t)RHIL_MAX_FRAME + RHIL_MAX_FRAME / 254u + 1u) {
        /* frame cannot fit this build's RHIL_MAX_FRAME: not applicable */
        free(frame);
        return;
    }
    /* decode */
    rhil_decoder_init(&dec, RHIL_MAX_FRAME, RHIL_ROLE_ANY);
    while (off < (size_t)n) {
        off += rhil_decoder_feed(&dec, frame + off, (size_t)n - off, &ev, &msg);
        if (ev.kind == RHIL_EV_FRAME) {
            frames++;
            fev = ev;
            break; /* msg points into the decoder: compare before feeding more */
        }
        if (ev.kind == RHIL_EV_REJECT) {
            rejects++;
            reject_reason = ev.reason;
        }
    }
    CHECK(frames == 1 && rejects == 0 && off == (size_t)n, "vector \"%s\": decodes to one frame (%d frames, %d rejects: %s)",
          cur, frames, rejects, reject_reason >= 0 ? rhil_reason_name(reject_reason) : "-");
    if (frames != 1) {
        free(frame);
        return;
    }
    CHECK(fev.seq == seq && fev.flags == flags, "vector \"%s\": seq/flags %u/%u, expected %llu/%llu", cur,
          fev.seq, fev.flags, seq, flags);
    mismatches = 0;
    compare_message(jm, &msg);
    CHECK(mismatches == 0, "vector \"%s\": %d message fields differ", cur, mismatches);

    /* encode the decoded message */
    enc = rhil_encode(&msg, (uint16_t)seq, (uint8_t)flags, out, sizeof out);
    CHECK(enc == n && memcmp(out, frame, (size_t)n) == 0, "vector \"%s\": re-encoding the decoded message differs",
          cur);

    /* encode the message built from JSON alone */
    arena.n = 0;
    if (!build_from_json(jm, &built, &arena)) {
        CHECK(0, "vector \"%s\": cannot build the message from JSON", cur);
    } else {
        enc = rhil_encode(&built, (uint16_t)seq, (uint8_t)flags, out, sizeof out);
        if (!(enc == n && memcmp(out, frame, (size_t)n) == 0)) {
            CHECK(0, "vector \"%s\": encoding the JSON message differs (%ld bytes, expected %ld)", cur, enc, n);
            printf("  got      ");
            if (enc > 0)
                print_hex(out, (size_t)enc, 120);
            printf("\n  expected ");
            print_hex(frame, (size_t)n, 120);
            printf("\n");
        } else {
            CHECK(1, "ok");
        }
    }
    arena_free(&arena);
    free(frame);
}

static void run_invalid(const json *v)
{
    long n;
    unsigned char *bytes = hex_field(v, "bytes", &n);
    unsigned long long max_frame = 0, valid_after = 0;
    const json *rej = jget(v, "rejects");
    int pass;

    cur = vname(v);
    if (n < 0 || !num_u64(jget(v, "maxFrame"), &max_frame) || !num_u64(jget(v, "validAfter"), &valid_after) || !rej ||
        rej->type != J_ARR) {
        CHECK(0, "vector \"%s\": malformed entry", cur);
        free(bytes);
        return;
    }
    if (max_frame > (unsigned long long)RHIL_MAX_FRAME) {
        free(bytes);
        return; /* needs a larger build */
    }
    /* pass 0: whole stream at once; pass 1: one byte at a time */
    for (pass = 0; pass < 2; pass++) {
        size_t off = 0, k = 0;
        unsigned long long frames = 0;
        int ok = 1;
        char got[512];
        got[0] = 0;
        rhil_decoder_init(&dec, (uint32_t)max_frame, RHIL_ROLE_ANY);
        while (off < (size_t)n) {
            rhil_event_t ev;
            size_t chunk = pass == 0 ? (size_t)n - off : 1;
            off += rhil_decoder_feed(&dec, bytes + off, chunk, &ev, &msg);
            if (ev.kind == RHIL_EV_FRAME)
                frames++;
            if (ev.kind == RHIL_EV_REJECT) {
                const char *name = rhil_reason_name(ev.reason);
                if (strlen(got) < 400) {
                    strcat(got, " ");
                    strcat(got, name);
                }
                if (k >= rej->n || rej->items[k]->type != J_STR || strcmp(rej->items[k]->text, name) != 0)
                    ok = 0;
                k++;
            }
        }
        if (k != rej->n || frames != valid_after)
            ok = 0;
        if (!ok) {
            size_t i;
            CHECK(0, "vector \"%s\" (%s): rejects [%s ] and %llu valid frames; expected %llu valid", cur,
                  pass ? "byte by byte" : "one chunk", got, frames, valid_after);
            printf("  expected rejects [");
            for (i = 0; i < rej->n; i++)
                printf(" %s", rej->items[i]->type == J_STR ? rej->items[i]->text : "?");
            printf(" ]\n");
        } else {
            CHECK(1, "ok");
        }
    }
    free(bytes);
}

static void run_frames(const char *dir)
{
    json *root = load_json(dir, "frames.json");
    const json *valid = jget(root, "valid"), *invalid = jget(root, "invalid");
    size_t i;
    if (!root)
        return;
    CHECK(valid && valid->type == J_ARR && valid->n > 0, "frames.json has valid vectors");
    CHECK(invalid && invalid->type == J_ARR && invalid->n > 0, "frames.json has invalid vectors");
    for (i = 0; valid && i < valid->n; i++)
        run_valid(valid->items[i]);
    for (i = 0; invalid && i < invalid->n; i++)
        run_invalid(invalid->items[i]);
    printf("vectors: %lu valid, %lu invalid frames\n", valid ? (unsigned long)valid->n : 0UL,
           invalid ? (unsigned long)invalid->n : 0UL);
    jfree(root);
}

/* ================================================================ device behaviour (device.json) */

typedef struct {
    const uint8_t *in;
    size_t in_len, in_pos;
    uint8_t out[8192];
    size_t out_len;
} vboard_t;

static rhil_device_t vdev;

static size_t vb_read(void *ctx, uint8_t *buf, size_t cap)
{
    vboard_t *b = (vboard_t *)ctx;
    size_t n = b->in_len - b->in_pos;
    if (n > cap)
        n = cap;
    memcpy(buf, b->in + b->in_pos, n);
    b->in_pos += n;
    return n;
}

static void vb_write(void *ctx, const uint8_t *data, size_t len)
{
    vboard_t *b = (vboard_t *)ctx;
    if (len > sizeof b->out - b->out_len)
        len = sizeof b->out - b->out_len; /* the reply count check then fails */
    memcpy(b->out + b->out_len, data, len);
    b->out_len += len;
}

static int vb_echo(void *ctx, const float *in, float *out)
{
    (void)ctx;
    out[0] = in[0];
    return 0;
}

/* The named numeric field of a decoded reply; 0 when the message has no such field. */
static int reply_field(const rhil_msg_t *m, const char *k, unsigned long long *v)
{
#define F(t, name, expr)                                                                           \
    if (m->type == (t) && strcmp(k, name) == 0) {                                                  \
        *v = (expr);                                                                               \
        return 1;                                                                                  \
    }
    F(RHIL_T_ERROR, "code", m->u.error.code)
    F(RHIL_T_ERROR, "refSeq", m->u.error.refSeq)
    F(RHIL_T_ERROR, "refType", m->u.error.refType)
    F(RHIL_T_ERROR, "detail", m->u.error.detail)
    F(RHIL_T_ACK, "ackedType", m->u.ack.ackedType)
    F(RHIL_T_ACK, "epoch", m->u.ack.epoch)
    F(RHIL_T_STATUS, "epoch", m->u.status.epoch)
    F(RHIL_T_STATUS, "droppedBatches", m->u.status.droppedBatches)
    F(RHIL_T_RESULT, "epoch", m->u.result.epoch)
    F(RHIL_T_RESULT, "batchId", m->u.result.batchId)
    F(RHIL_T_RESULT, "count", m->u.result.count)
    F(RHIL_T_RESULT, "channels", m->u.result.channels)
#undef F
    return 0;
}

static void run_device_case(const json *dcfg, const json *c)
{
    static vboard_t b;
    rhil_device_config_t cfg;
    rhil_device_hooks_t hooks;
    const json *replies = jget(c, "replies");
    long n;
    unsigned char *req = hex_field(c, "requests", &n);
    size_t off = 0, i, k;
    int got = 0, polls;
    uint32_t boot_epoch = 0;

    cur = vname(c);
    memset(&b, 0, sizeof b);
    memset(&cfg, 0, sizeof cfg);
    memset(&hooks, 0, sizeof hooks);
    cfg.inFormat = jfmt(dcfg, "inFormat");
    cfg.outFormat = jfmt(dcfg, "outFormat");
    cfg.inChannels = (uint16_t)ju(dcfg, "inChannels");
    cfg.outChannels = (uint16_t)ju(dcfg, "outChannels");
    cfg.credits = (uint8_t)ju(dcfg, "credits");
    cfg.maxBatch = (uint16_t)ju(dcfg, "maxBatch");
    cfg.maxFrame = (uint32_t)ju(dcfg, "maxFrame");
    cfg.inMin = 0;
    cfg.inMax = 4095;
    cfg.outMin = 0;
    cfg.outMax = 4095;
    cfg.bootCount = 1;
    cfg.epoch = 0xfffffffeu; /* epochChange must wrap */
    hooks.read = vb_read;
    hooks.write = vb_write;
    hooks.process = vb_echo; /* no configure hook: no CONFIGURE capability */
    if (n < 0 || !replies || replies->type != J_ARR || rhil_device_init(&vdev, &cfg, &hooks, &b) != RHIL_OK) {
        CHECK(0, "device vector \"%s\": malformed entry or device config refused", cur);
        free(req);
        return;
    }
    CHECK((vdev.capabilities & RHIL_CAP_CONFIGURE) == (ju(dcfg, "capabilities") & RHIL_CAP_CONFIGURE),
          "device vector \"%s\": CONFIGURE capability as in device.json", cur);
    b.in = req;
    b.in_len = (size_t)n;
    rhil_device_start(&vdev);
    for (polls = 0; polls < 1000 && rhil_device_poll(&vdev); polls++) {
    }
    rhil_decoder_init(&dec, RHIL_MAX_FRAME, RHIL_ROLE_HOST);
    for (i = 0; off < b.out_len;) {
        rhil_event_t ev;
        off += rhil_decoder_feed(&dec, b.out + off, b.out_len - off, &ev, &msg);
        if (ev.kind == RHIL_EV_REJECT)
            CHECK(0, "device vector \"%s\": the device sent a frame the host rejects (%s)", cur, rhil_reason_name(ev.reason));
        if (ev.kind != RHIL_EV_FRAME)
            continue;
        if (got++ == 0) {
            CHECK(msg.type == RHIL_T_BOOT, "device vector \"%s\": BOOT first", cur);
            boot_epoch = msg.u.boot.epoch;
            continue;
        }
        if (i >= replies->n) {
            CHECK(0, "device vector \"%s\": more replies than the %lu expected", cur, (unsigned long)replies->n);
            break;
        }
        {
            const json *r = replies->items[i], *jm = jget(r, "message"), *kind = jget(jm, "kind");
            unsigned long long want = 0, have = 0;
            CHECK(kind && kind->type == J_STR && strcmp(kind->text, kind_of(msg.type)) == 0,
                  "device vector \"%s\": reply %lu is %s, expected %s", cur, (unsigned long)i, kind_of(msg.type),
                  kind && kind->type == J_STR ? kind->text : "?");
            CHECK(num_u64(jget(r, "seq"), &want) && want == ev.seq, "device vector \"%s\": reply %lu seq %u", cur,
                  (unsigned long)i, ev.seq);
            CHECK(num_u64(jget(r, "flags"), &want) && want == ev.flags, "device vector \"%s\": reply %lu flags %u", cur,
                  (unsigned long)i, ev.flags);
            for (k = 0; jm && k < jm->n; k++) {
                const char *key = jm->keys[k];
                int is_change = strcmp(key, "epochChange") == 0;
                if (strcmp(key, "kind") == 0)
                    continue;
                if (strcmp(key, "format") == 0) {
                    CHECK(msg.type == RHIL_T_RESULT && jfmt(jm, "format") == msg.u.result.format,
                          "device vector \"%s\": reply %lu format", cur, (unsigned long)i);
                    continue;
                }
                if (!num_u64(jm->items[k], &want) || !reply_field(&msg, is_change ? "epoch" : key, &have)) {
                    CHECK(0, "device vector \"%s\": reply %lu has no field %s", cur, (unsigned long)i, key);
                    continue;
                }
                if (is_change)
                    have = (uint32_t)((uint32_t)have - boot_epoch);
                CHECK(want == have, "device vector \"%s\": reply %lu %s is %llu, expected %llu", cur, (unsigned long)i,
                      key, have, want);
            }
        }
        i++;
    }
    CHECK(i == replies->n, "device vector \"%s\": %lu replies, expected %lu", cur, (unsigned long)i,
          (unsigned long)replies->n);
    free(req);
}

static void run_device(const char *dir)
{
    json *root = load_json(dir, "device.json");
    const json *dcfg = jget(root, "device"), *cases = jget(root, "cases");
    size_t i;
    if (!root)
        return;
    CHECK(dcfg && cases && cases->type == J_ARR && cases->n > 0, "device.json has a device and cases");
    for (i = 0; cases && i < cases->n; i++)
        run_device_case(dcfg, cases->items[i]);
    printf("vectors: %lu device behaviour cases\n", cases ? (unsigned long)cases->n : 0UL);
    jfree(root);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : VECTORS_DIR;
    run_crc(dir);
    run_cobs(dir);
    run_frames(dir);
    run_device(dir);
    return t_summary("test_vectors");
}
