/*
 * rhil_proto.c - reservoir-hil wire protocol v1, codec library (C99).
 * See rhil_proto.h and firmware-protocol/SPEC.md.
 */
#include "rhil_proto.h"

#include <string.h>

/* The f32 sample format and f64 parameters are IEEE-754 bit patterns. */
typedef char rhil_check_float_size[(sizeof(float) == 4 && sizeof(double) == 8) ? 1 : -1];

/* ================================================================ CRC-32C */

/* Reflected polynomial 0x82F63B78, one entry per byte value. */
static const uint32_t crc32c_table[256] = {
    0x00000000UL, 0xF26B8303UL, 0xE13B70F7UL, 0x1350F3F4UL, 0xC79A971FUL, 0x35F1141CUL,
    0x26A1E7E8UL, 0xD4CA64EBUL, 0x8AD958CFUL, 0x78B2DBCCUL, 0x6BE22838UL, 0x9989AB3BUL,
    0x4D43CFD0UL, 0xBF284CD3UL, 0xAC78BF27UL, 0x5E133C24UL, 0x105EC76FUL, 0xE235446CUL,
    0xF165B798UL, 0x030E349BUL, 0xD7C45070UL, 0x25AFD373UL, 0x36FF2087UL, 0xC494A384UL,
    0x9A879FA0UL, 0x68EC1CA3UL, 0x7BBCEF57UL, 0x89D76C54UL, 0x5D1D08BFUL, 0xAF768BBCUL,
    0xBC267848UL, 0x4E4DFB4BUL, 0x20BD8EDEUL, 0xD2D60DDDUL, 0xC186FE29UL, 0x33ED7D2AUL,
    0xE72719C1UL, 0x154C9AC2UL, 0x061C6936UL, 0xF477EA35UL, 0xAA64D611UL, 0x580F5512UL,
    0x4B5FA6E6UL, 0xB93425E5UL, 0x6DFE410EUL, 0x9F95C20DUL, 0x8CC531F9UL, 0x7EAEB2FAUL,
    0x30E349B1UL, 0xC288CAB2UL, 0xD1D83946UL, 0x23B3BA45UL, 0xF779DEAEUL, 0x05125DADUL,
    0x1642AE59UL, 0xE4292D5AUL, 0xBA3A117EUL, 0x4851927DUL, 0x5B016189UL, 0xA96AE28AUL,
    0x7DA08661UL, 0x8FCB0562UL, 0x9C9BF696UL, 0x6EF07595UL, 0x417B1DBCUL, 0xB3109EBFUL,
    0xA0406D4BUL, 0x522BEE48UL, 0x86E18AA3UL, 0x748A09A0UL, 0x67DAFA54UL, 0x95B17957UL,
    0xCBA24573UL, 0x39C9C670UL, 0x2A993584UL, 0xD8F2B687UL, 0x0C38D26CUL, 0xFE53516FUL,
    0xED03A29BUL, 0x1F682198UL, 0x5125DAD3UL, 0xA34E59D0UL, 0xB01EAA24UL, 0x42752927UL,
    0x96BF4DCCUL, 0x64D4CECFUL, 0x77843D3BUL, 0x85EFBE38UL, 0xDBFC821CUL, 0x2997011FUL,
    0x3AC7F2EBUL, 0xC8AC71E8UL, 0x1C661503UL, 0xEE0D9600UL, 0xFD5D65F4UL, 0x0F36E6F7UL,
    0x61C69362UL, 0x93AD1061UL, 0x80FDE395UL, 0x72966096UL, 0xA65C047DUL, 0x5437877EUL,
    0x4767748AUL, 0xB50CF789UL, 0xEB1FCBADUL, 0x197448AEUL, 0x0A24BB5AUL, 0xF84F3859UL,
    0x2C855CB2UL, 0xDEEEDFB1UL, 0xCDBE2C45UL, 0x3FD5AF46UL, 0x7198540DUL, 0x83F3D70EUL,
    0x90A324FAUL, 0x62C8A7F9UL, 0xB602C312UL, 0x44694011UL, 0x5739B3E5UL, 0xA55230E6UL,
    0xFB410CC2UL, 0x092A8FC1UL, 0x1A7A7C35UL, 0xE811FF36UL, 0x3CDB9BDDUL, 0xCEB018DEUL,
    0xDDE0EB2AUL, 0x2F8B6829UL, 0x82F63B78UL, 0x709DB87BUL, 0x63CD4B8FUL, 0x91A6C88CUL,
    0x456CAC67UL, 0xB7072F64UL, 0xA457DC90UL, 0x563C5F93UL, 0x082F63B7UL, 0xFA44E0B4UL,
    0xE9141340UL, 0x1B7F9043UL, 0xCFB5F4A8UL, 0x3DDE77ABUL, 0x2E8E845FUL, 0xDCE5075CUL,
    0x92A8FC17UL, 0x60C37F14UL, 0x73938CE0UL, 0x81F80FE3UL, 0x55326B08UL, 0xA759E80BUL,
    0xB4091BFFUL, 0x466298FCUL, 0x1871A4D8UL, 0xEA1A27DBUL, 0xF94AD42FUL, 0x0B21572CUL,
    0xDFEB33C7UL, 0x2D80B0C4UL, 0x3ED04330UL, 0xCCBBC033UL, 0xA24BB5A6UL, 0x502036A5UL,
    0x4370C551UL, 0xB11B4652UL, 0x65D122B9UL, 0x97BAA1BAUL, 0x84EA524EUL, 0x7681D14DUL,
    0x2892ED69UL, 0xDAF96E6AUL, 0xC9A99D9EUL, 0x3BC21E9DUL, 0xEF087A76UL, 0x1D63F975UL,
    0x0E330A81UL, 0xFC588982UL, 0xB21572C9UL, 0x407EF1CAUL, 0x532E023EUL, 0xA145813DUL,
    0x758FE5D6UL, 0x87E466D5UL, 0x94B49521UL, 0x66DF1622UL, 0x38CC2A06UL, 0xCAA7A905UL,
    0xD9F75AF1UL, 0x2B9CD9F2UL, 0xFF56BD19UL, 0x0D3D3E1AUL, 0x1E6DCDEEUL, 0xEC064EEDUL,
    0xC38D26C4UL, 0x31E6A5C7UL, 0x22B65633UL, 0xD0DDD530UL, 0x0417B1DBUL, 0xF67C32D8UL,
    0xE52CC12CUL, 0x1747422FUL, 0x49547E0BUL, 0xBB3FFD08UL, 0xA86F0EFCUL, 0x5A048DFFUL,
    0x8ECEE914UL, 0x7CA56A17UL, 0x6FF599E3UL, 0x9D9E1AE0UL, 0xD3D3E1ABUL, 0x21B862A8UL,
    0x32E8915CUL, 0xC083125FUL, 0x144976B4UL, 0xE622F5B7UL, 0xF5720643UL, 0x07198540UL,
    0x590AB964UL, 0xAB613A67UL, 0xB831C993UL, 0x4A5A4A90UL, 0x9E902E7BUL, 0x6CFBAD78UL,
    0x7FAB5E8CUL, 0x8DC0DD8FUL, 0xE330A81AUL, 0x115B2B19UL, 0x020BD8EDUL, 0xF0605BEEUL,
    0x24AA3F05UL, 0xD6C1BC06UL, 0xC5914FF2UL, 0x37FACCF1UL, 0x69E9F0D5UL, 0x9B8273D6UL,
    0x88D28022UL, 0x7AB90321UL, 0xAE7367CAUL, 0x5C18E4C9UL, 0x4F48173DUL, 0xBD23943EUL,
    0xF36E6F75UL, 0x0105EC76UL, 0x12551F82UL, 0xE03E9C81UL, 0x34F4F86AUL, 0xC69F7B69UL,
    0xD5CF889DUL, 0x27A40B9EUL, 0x79B737BAUL, 0x8BDCB4B9UL, 0x988C474DUL, 0x6AE7C44EUL,
    0xBE2DA0A5UL, 0x4C4623A6UL, 0x5F16D052UL, 0xAD7D5351UL,
};

uint32_t rhil_crc32c_update(uint32_t state, const uint8_t *data, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++)
        state = crc32c_table[(state ^ data[i]) & 0xFFu] ^ (state >> 8);
    return state;
}

uint32_t rhil_crc32c(const uint8_t *data, size_t len)
{
    return rhil_crc32c_update(0xFFFFFFFFul, data, len) ^ 0xFFFFFFFFul;
}

/* ================================================================ COBS */

long rhil_cobs_encode(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    size_t o = 0, code_pos, i;
    uint8_t code = 1;
    int last_ff = 0;

    if (cap < 1)
        return RHIL_E_NOSPACE;
    code_pos = o++;
    for (i = 0; i < n; i++) {
        if (in[i] == 0) {
            out[code_pos] = code;
            if (o >= cap)
                return RHIL_E_NOSPACE;
            code_pos = o++;
            code = 1;
            last_ff = 0;
        } else {
            if (o >= cap)
                return RHIL_E_NOSPACE;
            out[o++] = in[i];
            code++;
            if (code == 0xFF) {
                out[code_pos] = 0xFF;
                code = 1;
                last_ff = 1;
                if (i + 1 < n) { /* more data: open the next block */
                    if (o >= cap)
                        return RHIL_E_NOSPACE;
                    code_pos = o++;
                }
            }
        }
    }
    if (!(last_ff && code == 1))
        out[code_pos] = code;
    return (long)o;
}

long rhil_cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    size_t i = 0, o = 0;
    while (i < n) {
        uint8_t c = in[i++];
        size_t k;
        if (c == 0)
            return RHIL_E_COBS;
        if ((size_t)(c - 1) > n - i)
            return RHIL_E_COBS; /* code byte points past the end */
        for (k = 1; k < c; k++) {
            if (in[i] == 0)
                return RHIL_E_COBS;
            if (o >= cap)
                return RHIL_E_NOSPACE;
            out[o++] = in[i++];
        }
        if (c != 0xFF && i < n) {
            if (o >= cap)
                return RHIL_E_NOSPACE;
            out[o++] = 0;
        }
    }
    return (long)o;
}

/* ================================================================ little helpers */

static uint16_t ld16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t ld64(const uint8_t *p) { return (uint64_t)ld32(p) | ((uint64_t)ld32(p + 4) << 32); }
static void st16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void st32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static float f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static double f64_from_bits(uint64_t u)
{
    double f;
    memcpy(&f, &u, 8);
    return f;
}
static uint64_t f64_bits(double f)
{
    uint64_t u;
    memcpy(&u, &f, 8);
    return u;
}

int rhil_is_finite_f32(float v) { return (f32_bits(v) & 0x7F800000ul) != 0x7F800000ul; }
int rhil_is_finite_f64(double v)
{
    return (f64_bits(v) & 0x7FF0000000000000ull) != 0x7FF0000000000000ull;
}

unsigned rhil_format_size(uint8_t format)
{
    switch (format) {
    case RHIL_FMT_U16:
    case RHIL_FMT_I16:
        return 2;
    case RHIL_FMT_F32:
        return 4;
    default:
        return 0;
    }
}

float rhil_sample_get(const uint8_t *samples, uint8_t format, uint32_t index)
{
    switch (format) {
    case RHIL_FMT_U16:
        return (float)ld16(samples + 2u * index);
    case RHIL_FMT_I16:
        return (float)(int16_t)ld16(samples + 2u * index);
    case RHIL_FMT_F32:
        return f32_from_bits(ld32(samples + 4u * index));
    default:
        return 0.0f;
    }
}

void rhil_sample_put(uint8_t *samples, uint8_t format, uint32_t index, float v)
{
    switch (format) {
    case RHIL_FMT_U16: {
        uint16_t u;
        if (!(v > 0.0f)) /* also NaN */
            u = 0;
        else if (v >= 65535.0f)
            u = 65535u;
        else
            u = (uint16_t)(v + 0.5f);
        st16(samples + 2u * index, u);
        break;
    }
    case RHIL_FMT_I16: {
        int32_t s;
        if (v != v)
            s = 0;
        else if (v <= -32768.0f)
            s = -32768;
        else if (v >= 32767.0f)
            s = 32767;
        else if (v >= 0.0f)
            s = (int32_t)(v + 0.5f);
        else
            s = -(int32_t)(-v + 0.5f);
        st16(samples + 2u * index, (uint16_t)(s & 0xFFFF));
        break;
    }
    case RHIL_FMT_F32:
        st32(samples + 4u * index, f32_bits(v));
        break;
    default:
        break;
    }
}

int rhil_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t k, need;
        uint8_t lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            need = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0; /* overlong */
            else if (c == 0xED)
                hi = 0x9F; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90; /* overlong */
            else if (c == 0xF4)
                hi = 0x8F; /* above U+10FFFF */
        } else
            return 0;
        if (n - i - 1 < need)
            return 0;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (k = 2; k <= need; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return 0;
        i += need + 1;
    }
    return 1;
}

static const char *const reason_names[RHIL_REJ_COUNT] = {
    "oversize", "empty", "cobs", "short", "crc", "length", "version", "type", "payload"};

const char *rhil_reason_name(int reason)
{
    if (reason < 0 || reason >= (int)RHIL_REJ_COUNT)
        return "?";
    return reason_names[reason];
}

int rhil_type_accepted(uint8_t type, rhil_role_t role)
{
    int to_device = type >= RHIL_T_HELLO && type <= RHIL_T_PING;
    int to_host = type == RHIL_T_BOOT || type == RHIL_T_INFO || type == RHIL_T_ACK ||
                  type == RHIL_T_RESULT || type == RHIL_T_STATUS || type == RHIL_T_PONG ||
                  type == RHIL_T_ERROR;
    switch (role) {
    case RHIL_ROLE_DEVICE:
        return to_device;
    case RHIL_ROLE_HOST:
        return to_host;
    default:
        return to_device || to_host;
    }
}

/* ================================================================ validation */

static int str_ok(const rhil_bytes_t *s, uint32_t max)
{
    if (s->len > max)
        return 0;
    if (s->len > 0 && s->ptr == NULL)
        return 0;
    return rhil_utf8_valid(s->ptr, s->len);
}

static int name_ok(const rhil_bytes_t *s)
{
    uint32_t i;
    if (s->len < 1 || s->len > RHIL_MAX_PARAM_NAME || s->ptr == NULL)
        return 0;
    for (i = 0; i < s->len; i++)
        if (s->ptr[i] < 0x21 || s->ptr[i] > 0x7E)
            return 0;
    return 1;
}

/* bytes of samples for count x channels in format, or 0 on an invalid shape */
static uint64_t samples_bytes(uint16_t count, uint16_t channels, uint8_t format)
{
    unsigned sz = rhil_format_size(format);
    if (count < 1 || channels < 1 || sz == 0)
        return 0;
    return (uint64_t)count * channels * sz;
}

static int samples_finite(const uint8_t *p, uint8_t format, uint64_t n)
{
    uint64_t i;
    if (format != RHIL_FMT_F32)
        return 1;
    for (i = 0; i < n; i++)
        if ((ld32(p + 4u * i) & 0x7F800000ul) == 0x7F800000ul)
            return 0;
    return 1;
}

int rhil_msg_validate(const rhil_msg_t *m)
{
    return rhil_payload_size(m) >= 0 ? RHIL_OK : RHIL_E_INVALID;
}

long rhil_payload_size(const rhil_msg_t *m)
{
    uint64_t n = 0;
    uint32_t i;
    switch (m->type) {
    case RHIL_T_HELLO:
        if (m->u.hello.minVersion < 1 || m->u.hello.minVersion > m->u.hello.maxVersion)
            return RHIL_E_INVALID;
        return 2;
    case RHIL_T_CONFIGURE: {
        const rhil_configure_t *c = &m->u.configure;
        if (c->count > RHIL_MAX_PARAMS)
            return RHIL_E_INVALID;
        n = 1;
        for (i = 0; i < c->count; i++) {
            const rhil_param_t *p = &c->params[i];
            if (!name_ok(&p->name))
                return RHIL_E_INVALID;
            n += 1u + p->name.len + 1u;
            switch (p->type) {
            case RHIL_PARAM_BOOL:
                if (p->v.b > 1)
                    return RHIL_E_INVALID;
                n += 1;
                break;
            case RHIL_PARAM_I32:
                n += 4;
                break;
            case RHIL_PARAM_F64:
                if (!rhil_is_finite_f64(p->v.f))
                    return RHIL_E_INVALID;
                n += 8;
                break;
            case RHIL_PARAM_STRING:
                if (!str_ok(&p->v.s, RHIL_MAX_PARAM_STR))
                    return RHIL_E_INVALID;
                n += 1u + p->v.s.len;
                break;
            default:
                return RHIL_E_INVALID;
            }
        }
        break;
    }
    case RHIL_T_PROCESS: {
        const rhil_process_t *p = &m->u.process;
        uint64_t sb = samples_bytes(p->count, p->channels, p->format);
        if (sb == 0 || (sb > 0 && p->samples == NULL))
            return RHIL_E_INVALID;
        if (!samples_finite(p->samples, p->format, (uint64_t)p->count * p->channels))
            return RHIL_E_INVALID;
        n = 9u + sb;
        break;
    }
    case RHIL_T_RESET_STATE:
    case RHIL_T_GET_STATUS:
        return 0;
    case RHIL_T_PING:
    case RHIL_T_PONG:
        if (m->u.ping.len > 0 && m->u.ping.ptr == NULL)
            return RHIL_E_INVALID;
        n = m->u.ping.len;
        break;
    case RHIL_T_BOOT:
        return 9;
    case RHIL_T_INFO: {
        const rhil_info_t *p = &m->u.info;
        if (rhil_format_size(p->inFormat) == 0 || rhil_format_size(p->outFormat) == 0)
            return RHIL_E_INVALID;
        if (p->credits < 1 || p->inChannels < 1 || p->outChannels < 1 || p->maxBatch < 1)
            return RHIL_E_INVALID;
        if (p->maxFrame < RHIL_MIN_INFO_MAX_FRAME || p->maxFrame > RHIL_MAX_FRAME_LIMIT)
            return RHIL_E_INVALID;
        /* SPEC 3: a full PROCESS and a full RESULT both fit in maxFrame (64-bit: no overflow) */
        if (RHIL_FRAME_OVERHEAD + 9u + (uint64_t)p->maxBatch * p->inChannels * rhil_format_size(p->inFormat) > p->maxFrame ||
            RHIL_FRAME_OVERHEAD + 23u + (uint64_t)p->maxBatch * p->outChannels * rhil_format_size(p->outFormat) > p->maxFrame)
            return RHIL_E_INVALID;
        if (!rhil_is_finite_f32(p->inMin) || !rhil_is_finite_f32(p->inMax) || !(p->inMin < p->inMax))
            return RHIL_E_INVALID;
        if (!rhil_is_finite_f32(p->outMin) || !rhil_is_finite_f32(p->outMax) ||
            !(p->outMin < p->outMax))
            return RHIL_E_INVALID;
        if (!str_ok(&p->vendor, RHIL_MAX_INFO_STR) || !str_ok(&p->model, RHIL_MAX_INFO_STR) ||
            !str_ok(&p->serial, RHIL_MAX_INFO_STR) || !str_ok(&p->firmware, RHIL_MAX_INFO_STR))
            return RHIL_E_INVALID;
        n = 40u + 4u + p->vendor.len + p->model.len + p->serial.len + p->firmware.len;
        break;
    }
    case RHIL_T_ACK:
        return 5;
    case RHIL_T_RESULT: {
        const rhil_result_t *p = &m->u.result;
        uint64_t sb = samples_bytes(p->count, p->channels, p->format);
        if (sb == 0 || p->samples == NULL)
            return RHIL_E_INVALID;
        if (!samples_finite(p->samples, p->format, (uint64_t)p->count * p->channels))
            return RHIL_E_INVALID;
        n = 23u + sb;
        break;
    }
    case RHIL_T_STATUS:
        return 40;
    case RHIL_T_ERROR:
        if (!str_ok(&m->u.error.text, RHIL_MAX_ERROR_TEXT))
            return RHIL_E_INVALID;
        n = 10u + m->u.error.text.len;
        break;
    default:
        return RHIL_E_INVALID;
    }
    if (n > 65535u || n + RHIL_FRAME_OVERHEAD > RHIL_MAX_FRAME_LIMIT)
        return RHIL_E_INVALID;
    return (long)n;
}

/* ================================================================ parsing */

typedef struct {
    const uint8_t *p;
    size_t n;
    size_t pos;
    int bad;
} reader_t;

static const uint8_t *rd_take(reader_t *r, size_t k)
{
    const uint8_t *q;
    if (r->bad || k > r->n - r->pos) {
        r->bad = 1;
        return NULL;
    }
    q = r->p + r->pos;
    r->pos += k;
    return q;
}
static uint8_t rd_u8(reader_t *r)
{
    const uint8_t *q = rd_take(r, 1);
    return q ? q[0] : 0;
}
static uint16_t rd_u16(reader_t *r)
{
    const uint8_t *q = rd_take(r, 2);
    return q ? ld16(q) : 0;
}
static uint32_t rd_u32(reader_t *r)
{
    const uint8_t *q = rd_take(r, 4);
    return q ? ld32(q) : 0;
}
static uint64_t rd_u64(reader_t *r)
{
    const uint8_t *q = rd_take(r, 8);
    return q ? ld64(q) : 0;
}
static float rd_f32(reader_t *r) { return f32_from_bits(rd_u32(r)); }
static void rd_str(reader_t *r, rhil_bytes_t *s)
{
    uint8_t len = rd_u8(r);
    s->ptr = rd_take(r, len);
    s->len = s->ptr ? len : 0;
}

int rhil_parse_payload(uint8_t type, const uint8_t *payload, size_t len, rhil_msg_t *m)
{
    reader_t r;
    uint32_t i;
    r.p = payload;
    r.n = len;
    r.pos = 0;
    r.bad = 0;
    m->type = type;

    switch (type) {
    case RHIL_T_HELLO:
        m->u.hello.minVersion = rd_u8(&r);
        m->u.hello.maxVersion = rd_u8(&r);
        break;
    case RHIL_T_CONFIGURE: {
        rhil_configure_t *c = &m->u.configure;
        c->count = rd_u8(&r);
        if (c->count > RHIL_MAX_PARAMS)
            return RHIL_E_INVALID;
        for (i = 0; i < c->count && !r.bad; i++) {
            rhil_param_t *p = &c->params[i];
            rd_str(&r, &p->name);
            p->type = rd_u8(&r);
            if (r.bad)
                return RHIL_E_INVALID;
            switch (p->type) {
            case RHIL_PARAM_BOOL:
                p->v.b = rd_u8(&r);
                break;
            case RHIL_PARAM_I32:
                p->v.i = (int32_t)rd_u32(&r);
                break;
            case RHIL_PARAM_F64:
                p->v.f = f64_from_bits(rd_u64(&r));
                break;
            case RHIL_PARAM_STRING:
                rd_str(&r, &p->v.s);
                break;
            default:
                return RHIL_E_INVALID;
            }
        }
        break;
    }
    case RHIL_T_PROCESS: {
        rhil_process_t *p = &m->u.process;
        uint64_t sb;
        p->batchId = rd_u32(&r);
        p->count = rd_u16(&r);
        p->channels = rd_u16(&r);
        p->format = rd_u8(&r);
        if (r.bad)
            return RHIL_E_INVALID;
        sb = samples_bytes(p->count, p->channels, p->format);
        if (sb == 0 || sb != len - r.pos)
            return RHIL_E_INVALID;
        p->samples = rd_take(&r, (size_t)sb);
        break;
    }
    case RHIL_T_RESET_STATE:
    case RHIL_T_GET_STATUS:
        break;
    case RHIL_T_PING:
    case RHIL_T_PONG:
        m->u.ping.ptr = payload;
        m->u.ping.len = (uint32_t)len;
        r.pos = len;
        break;
    case RHIL_T_BOOT:
        m->u.boot.bootCount = rd_u32(&r);
        m->u.boot.epoch = rd_u32(&r);
        m->u.boot.reason = rd_u8(&r);
        break;
    case RHIL_T_INFO: {
        rhil_info_t *p = &m->u.info;
        p->protocolVersion = rd_u8(&r);
        p->inFormat = rd_u8(&r);
        p->outFormat = rd_u8(&r);
        p->credits = rd_u8(&r);
        p->inChannels = rd_u16(&r);
        p->outChannels = rd_u16(&r);
        p->maxBatch = rd_u16(&r);
        p->reserved = rd_u16(&r);
        p->maxFrame = rd_u32(&r);
        p->samplePeriodNs = rd_u32(&r);
        p->capabilities = rd_u32(&r);
        p->inMin = rd_f32(&r);
        p->inMax = rd_f32(&r);
        p->outMin = rd_f32(&r);
        p->outMax = rd_f32(&r);
        rd_str(&r, &p->vendor);
        rd_str(&r, &p->model);
        rd_str(&r, &p->serial);
        rd_str(&r, &p->firmware);
        break;
    }
    case RHIL_T_ACK:
        m->u.ack.ackedType = rd_u8(&r);
        m->u.ack.epoch = rd_u32(&r);
        break;
    case RHIL_T_RESULT: {
        rhil_result_t *p = &m->u.result;
        uint64_t sb;
        p->batchId = rd_u32(&r);
        p->epoch = rd_u32(&r);
        p->timestampUs = rd_u64(&r);
        p->status = rd_u16(&r);
        p->count = rd_u16(&r);
        p->channels = rd_u16(&r);
        p->format = rd_u8(&r);
        if (r.bad)
            return RHIL_E_INVALID;
        sb = samples_bytes(p->count, p->channels, p->format);
        if (sb == 0 || sb != len - r.pos)
            return RHIL_E_INVALID;
        p->samples = rd_take(&r, (size_t)sb);
        break;
    }
    case RHIL_T_STATUS: {
        rhil_status_t *p = &m->u.status;
        p->framesOk = rd_u32(&r);
        p->crcErrors = rd_u32(&r);
        p->framingErrors = rd_u32(&r);
        p->rejected = rd_u32(&r);
        p->droppedBatches = rd_u32(&r);
        p->epoch = rd_u32(&r);
        p->bootCount = rd_u32(&r);
        p->uptimeUs = rd_u64(&r);
        p->temperatureC = rd_f32(&r);
        break;
    }
    case RHIL_T_ERROR:
        m->u.error.code = rd_u16(&r);
        m->u.error.refSeq = rd_u16(&r);
        m->u.error.refType = rd_u8(&r);
        m->u.error.detail = rd_u32(&r);
        rd_str(&r, &m->u.error.text);
        break;
    default:
        return RHIL_E_INVALID;
    }
    if (r.bad || r.pos != len)
        return RHIL_E_INVALID; /* truncated or trailing bytes */
    /* value limits: the same rules the encoder enforces */
    return rhil_payload_size(m) == (long)len ? RHIL_OK : RHIL_E_INVALID;
}

int rhil_frame_check(const uint8_t *frame, size_t len, uint32_t max_frame, rhil_role_t role,
                     rhil_event_t *ev, rhil_msg_t *m)
{
    uint32_t crc;
    ev->kind = RHIL_EV_REJECT;
    ev->reason = 0;
    ev->has_header = 0;
    ev->version = ev->type = ev->flags = 0;
    ev->seq = 0;
    ev->frame = frame;
    ev->frame_len = (uint32_t)len;

    if (len > max_frame || len > RHIL_MAX_FRAME_LIMIT) {
        ev->reason = RHIL_REJ_OVERSIZE;
        return RHIL_EV_REJECT;
    }
    if (len == 0) {
        ev->reason = RHIL_REJ_EMPTY;
        return RHIL_EV_REJECT;
    }
    if (len < RHIL_FRAME_OVERHEAD) {
        ev->reason = RHIL_REJ_SHORT;
        return RHIL_EV_REJECT;
    }
    crc = rhil_crc32c(frame, len - 4);
    if (crc != ld32(frame + len - 4)) {
        ev->reason = RHIL_REJ_CRC;
        return RHIL_EV_REJECT;
    }
    ev->has_header = 1;
    ev->version = frame[0];
    ev->type = frame[1];
    ev->flags = frame[2];
    ev->seq = ld16(frame + 4);
    if ((size_t)ld16(frame + 6) != len - RHIL_FRAME_OVERHEAD) {
        ev->reason = RHIL_REJ_LENGTH;
        return RHIL_EV_REJECT;
    }
    if (frame[0] != RHIL_PROTOCOL_VERSION) {
        ev->reason = RHIL_REJ_VERSION;
        return RHIL_EV_REJECT;
    }
    if (!rhil_type_accepted(frame[1], role)) {
        ev->reason = RHIL_REJ_TYPE;
        return RHIL_EV_REJECT;
    }
    if (rhil_parse_payload(frame[1], frame + RHIL_HEADER_SIZE, len - RHIL_FRAME_OVERHEAD, m) !=
        RHIL_OK) {
        ev->reason = RHIL_REJ_PAYLOAD;
        return RHIL_EV_REJECT;
    }
    ev->kind = RHIL_EV_FRAME;
    return RHIL_EV_FRAME;
}

/* ================================================================ encoding */

static void w_init(rhil_writer_t *w, rhil_sink_fn sink, void *ctx)
{
    w->sink = sink;
    w->ctx = ctx;
    w->crc = 0xFFFFFFFFul;
    w->total = 0;
    w->n = 0;
    w->last_ff = 0;
}

static void w_flush(rhil_writer_t *w, uint8_t code)
{
    w->blk[0] = code;
    w->sink(w->ctx, w->blk, (size_t)w->n + 1u);
    w->total += (uint32_t)w->n + 1u;
    w->n = 0;
}

/* append one byte to the COBS stream (no CRC) */
static void w_stuff(rhil_writer_t *w, uint8_t b)
{
    if (b == 0) {
        w_flush(w, (uint8_t)(w->n + 1u));
        w->last_ff = 0;
    } else {
        w->blk[1u + w->n++] = b;
        if (w->n == 254u) {
            w_flush(w, 0xFF);
            w->last_ff = 1;
        }
    }
}

static void w_byte(rhil_writer_t *w, uint8_t b)
{
    w->crc = crc32c_table[(w->crc ^ b) & 0xFFu] ^ (w->crc >> 8);
    w_stuff(w, b);
}

static void w_bytes(rhil_writer_t *w, const uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        w_byte(w, p[i]);
}

static void w_u16(rhil_writer_t *w, uint16_t v)
{
    w_byte(w, (uint8_t)v);
    w_byte(w, (uint8_t)(v >> 8));
}
static void w_u32(rhil_writer_t *w, uint32_t v)
{
    w_u16(w, (uint16_t)v);
    w_u16(w, (uint16_t)(v >> 16));
}
static void w_u64(rhil_writer_t *w, uint64_t v)
{
    w_u32(w, (uint32_t)v);
    w_u32(w, (uint32_t)(v >> 32));
}
static void w_f32(rhil_writer_t *w, float f) { w_u32(w, f32_bits(f)); }
static void w_str(rhil_writer_t *w, const rhil_bytes_t *s)
{
    w_byte(w, (uint8_t)s->len);
    w_bytes(w, s->ptr, s->len);
}

static void w_header(rhil_writer_t *w, uint8_t version, uint8_t type, uint8_t flags, uint16_t seq,
                     uint16_t len)
{
    w_byte(w, version);
    w_byte(w, type);
    w_byte(w, flags);
    w_byte(w, 0);
    w_u16(w, seq);
    w_u16(w, len);
}

static void w_finish(rhil_writer_t *w)
{
    uint32_t crc = w->crc ^ 0xFFFFFFFFul;
    static const uint8_t delim = 0;
    w_stuff(w, (uint8_t)crc);
    w_stuff(w, (uint8_t)(crc >> 8));
    w_stuff(w, (uint8_t)(crc >> 16));
    w_stuff(w, (uint8_t)(crc >> 24));
    if (!(w->n == 0 && w->last_ff))
        w_flush(w, (uint8_t)(w->n + 1u));
    w->sink(w->ctx, &delim, 1);
    w->total += 1;
}

static void w_payload(rhil_writer_t *w, const rhil_msg_t *m)
{
    uint32_t i;
    switch (m->type) {
    case RHIL_T_HELLO:
        w_byte(w, m->u.hello.minVersion);
        w_byte(w, m->u.hello.maxVersion);
        break;
    case RHIL_T_CONFIGURE:
        w_byte(w, m->u.configure.count);
        for (i = 0; i < m->u.configure.count; i++) {
            const rhil_param_t *p = &m->u.configure.params[i];
            w_str(w, &p->name);
            w_byte(w, p->type);
            switch (p->type) {
            case RHIL_PARAM_BOOL:
                w_byte(w, p->v.b);
                break;
            case RHIL_PARAM_I32:
                w_u32(w, (uint32_t)p->v.i);
                break;
            case RHIL_PARAM_F64:
                w_u64(w, f64_bits(p->v.f));
                break;
            default:
                w_str(w, &p->v.s);
                break;
            }
        }
        break;
    case RHIL_T_PROCESS: {
        const rhil_process_t *p = &m->u.process;
        w_u32(w, p->batchId);
        w_u16(w, p->count);
        w_u16(w, p->channels);
        w_byte(w, p->format);
        w_bytes(w, p->samples, (size_t)samples_bytes(p->count, p->channels, p->format));
        break;
    }
    case RHIL_T_PING:
    case RHIL_T_PONG:
        w_bytes(w, m->u.ping.ptr, m->u.ping.len);
        break;
    case RHIL_T_BOOT:
        w_u32(w, m->u.boot.bootCount);
        w_u32(w, m->u.boot.epoch);
        w_byte(w, m->u.boot.reason);
        break;
    case RHIL_T_INFO: {
        const rhil_info_t *p = &m->u.info;
        w_byte(w, p->protocolVersion);
        w_byte(w, p->inFormat);
        w_byte(w, p->outFormat);
        w_byte(w, p->credits);
        w_u16(w, p->inChannels);
        w_u16(w, p->outChannels);
        w_u16(w, p->maxBatch);
        w_u16(w, 0);
        w_u32(w, p->maxFrame);
        w_u32(w, p->samplePeriodNs);
        w_u32(w, p->capabilities);
        w_f32(w, p->inMin);
        w_f32(w, p->inMax);
        w_f32(w, p->outMin);
        w_f32(w, p->outMax);
        w_str(w, &p->vendor);
        w_str(w, &p->model);
        w_str(w, &p->serial);
        w_str(w, &p->firmware);
        break;
    }
    case RHIL_T_ACK:
        w_byte(w, m->u.ack.ackedType);
        w_u32(w, m->u.ack.epoch);
        break;
    case RHIL_T_RESULT: {
        const rhil_result_t *p = &m->u.result;
        w_u32(w, p->batchId);
        w_u32(w, p->epoch);
        w_u64(w, p->timestampUs);
        w_u16(w, p->status);
        w_u16(w, p->count);
        w_u16(w, p->channels);
        w_byte(w, p->format);
        w_bytes(w, p->samples, (size_t)samples_bytes(p->count, p->channels, p->format));
        break;
    }
    case RHIL_T_STATUS: {
        const rhil_status_t *p = &m->u.status;
        w_u32(w, p->framesOk);
        w_u32(w, p->crcErrors);
        w_u32(w, p->framingErrors);
        w_u32(w, p->rejected);
        w_u32(w, p->droppedBatches);
        w_u32(w, p->epoch);
        w_u32(w, p->bootCount);
        w_u64(w, p->uptimeUs);
        w_f32(w, p->temperatureC);
        break;
    }
    case RHIL_T_ERROR:
        w_u16(w, m->u.error.code);
        w_u16(w, m->u.error.refSeq);
        w_byte(w, m->u.error.refType);
        w_u32(w, m->u.error.detail);
        w_str(w, &m->u.error.text);
        break;
    default: /* RESET_STATE, GET_STATUS: empty */
        break;
    }
}

long rhil_encode_stream(const rhil_msg_t *m, uint16_t seq, uint8_t flags, rhil_writer_t *w,
                        rhil_sink_fn sink, void *ctx)
{
    long n = rhil_payload_size(m);
    if (n < 0)
        return RHIL_E_INVALID;
    w_init(w, sink, ctx);
    w_header(w, RHIL_PROTOCOL_VERSION, m->type, flags, seq, (uint16_t)n);
    w_payload(w, m);
    w_finish(w);
    return (long)w->total;
}

typedef struct {
    uint8_t *out;
    size_t cap;
    size_t pos;
    int overflow;
} buf_sink_t;

static void buf_sink(void *ctx, const uint8_t *data, size_t len)
{
    buf_sink_t *b = (buf_sink_t *)ctx;
    if (b->overflow || len > b->cap - b->pos) {
        b->overflow = 1;
        return;
    }
    memcpy(b->out + b->pos, data, len);
    b->pos += len;
}

long rhil_encode(const rhil_msg_t *m, uint16_t seq, uint8_t flags, uint8_t *out, size_t cap)
{
    rhil_writer_t w;
    buf_sink_t b;
    long r;
    b.out = out;
    b.cap = cap;
    b.pos = 0;
    b.overflow = 0;
    r = rhil_encode_stream(m, seq, flags, &w, buf_sink, &b);
    if (r < 0)
        return r;
    if (b.overflow)
        return RHIL_E_NOSPACE;
    return (long)b.pos;
}

long rhil_encode_raw(uint8_t version, uint8_t type, uint8_t flags, uint16_t seq,
                     const uint8_t *payload, size_t len, uint8_t *out, size_t cap)
{
    rhil_writer_t w;
    buf_sink_t b;
    if (len > 65535u)
        return RHIL_E_INVALID;
    b.out = out;
    b.cap = cap;
    b.pos = 0;
    b.overflow = 0;
    w_init(&w, buf_sink, &b);
    w_header(&w, version, type, flags, seq, (uint16_t)len);
    w_bytes(&w, payload, len);
    w_finish(&w);
    if (b.overflow)
        return RHIL_E_NOSPACE;
    return (long)b.pos;
}

/* ================================================================ streaming decoder */

void rhil_decoder_reset(rhil_decoder_t *d)
{
    d->raw = 0;
    d->len = 0;
    d->rem = 0;
    d->zero_pending = 0;
    d->discard = 0;
}

void rhil_decoder_init(rhil_decoder_t *d, uint32_t max_frame, rhil_role_t role)
{
    int i;
    if (max_frame > (uint32_t)RHIL_MAX_FRAME)
        max_frame = (uint32_t)RHIL_MAX_FRAME;
    if (max_frame < RHIL_FRAME_OVERHEAD)
        max_frame = RHIL_FRAME_OVERHEAD;
    d->max_frame = max_frame;
    d->raw_limit = max_frame + max_frame / 254u + 1u;
    d->role = (uint8_t)role;
    d->frames_ok = 0;
    for (i = 0; i < (int)RHIL_REJ_COUNT; i++)
        d->rejects[i] = 0;
    rhil_decoder_reset(d);
}

static void ev_reject(rhil_decoder_t *d, rhil_event_t *ev, int reason)
{
    ev->kind = RHIL_EV_REJECT;
    ev->reason = (uint8_t)reason;
    d->rejects[reason]++;
}

static size_t dec_oversize(rhil_decoder_t *d, rhil_event_t *ev, size_t consumed)
{
    d->raw = 0;
    d->len = 0;
    d->rem = 0;
    d->zero_pending = 0;
    d->discard = 1;
    ev_reject(d, ev, RHIL_REJ_OVERSIZE);
    return consumed;
}

size_t rhil_decoder_feed(rhil_decoder_t *d, const uint8_t *data, size_t len, rhil_event_t *ev,
                         rhil_msg_t *m)
{
    size_t i = 0;
    ev->kind = RHIL_EV_NONE;
    ev->reason = 0;
    ev->has_header = 0;
    ev->frame = NULL;
    ev->frame_len = 0;
    ev->version = ev->type = ev->flags = 0;
    ev->seq = 0;

    while (i < len) {
        uint8_t b = data[i++];
        if (b == 0) {
            uint32_t flen;
            if (d->discard) {
                d->discard = 0;
                continue; /* end of an oversize run: already counted */
            }
            if (d->raw == 0) {
                ev_reject(d, ev, RHIL_REJ_EMPTY);
                return i;
            }
            flen = d->len;
            if (d->rem != 0) {
                rhil_decoder_reset(d);
                ev_reject(d, ev, RHIL_REJ_COBS);
                return i;
            }
            rhil_decoder_reset(d);
            if (rhil_frame_check(d->buf, flen, d->max_frame, (rhil_role_t)d->role, ev, m) ==
                RHIL_EV_FRAME)
                d->frames_ok++;
            else
                d->rejects[ev->reason]++;
            return i;
        }
        if (d->discard) {
            /* skip quickly to the next delimiter */
            const uint8_t *z = (const uint8_t *)memchr(data + i, 0, len - i);
            i = z ? (size_t)(z - data) : len;
            continue;
        }
        if (++d->raw > d->raw_limit)
            return dec_oversize(d, ev, i);
        if (d->rem == 0) {
            /* code byte: the previous block's implied zero is real now */
            if (d->zero_pending) {
                if (d->len >= d->max_frame)
                    return dec_oversize(d, ev, i);
                d->buf[d->len++] = 0;
            }
            d->rem = (uint8_t)(b - 1u);
            d->zero_pending = (uint8_t)(b != 0xFFu);
        } else {
            /* data byte, then as many more of this block as are at hand */
            size_t k, run;
            if (d->len >= d->max_frame)
                return dec_oversize(d, ev, i);
            d->buf[d->len++] = b;
            d->rem--;
            run = d->rem;
            if (run > len - i)
                run = len - i;
            if (run > d->max_frame - d->len)
                run = d->max_frame - d->len;
            if (run > d->raw_limit - d->raw)
                run = d->raw_limit - d->raw;
            for (k = 0; k < run && data[i + k] != 0; k++)
                d->buf[d->len + k] = data[i + k];
            d->len += (uint32_t)k;
            d->raw += (uint32_t)k;
            d->rem = (uint8_t)(d->rem - k);
            i += k;
        }
    }
    return i;
}
