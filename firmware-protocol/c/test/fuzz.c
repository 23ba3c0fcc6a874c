/*
 * fuzz.c - randomized property tests of rhil_proto and rhil_device.
 *
 *   fuzz --cases N --seed S [--first K] [--verbose]
 *
 * Each case (reproducible from seed and case number) generates a random valid message
 * of a random type, encodes it, and checks:
 *   P1 roundtrip  the unmutated frame decodes to exactly one frame (or one `oversize`
 *                 when it exceeds the runtime maxFrame) and re-encodes byte for byte;
 *   P2 chunking   a mutated stream (bit flips, random bytes, truncation, insertions,
 *                 deletions, zeros, oversize runs, duplicated regions) fed in random
 *                 chunks gives the same events as fed in one piece;
 *   P3 accounting every 0x00-delimited segment gives exactly one event (frame or
 *                 rejection), and the decoder's counters agree with the events;
 *   P4 accepted   every frame accepted from a mutated stream validates and re-encodes
 *                 to the same bytes (up to the reserved fields);
 *   P5 resync     a valid frame after the mutated region (behind a 0x00) always decodes;
 *   P6 device     the device dispatcher, fed the same stream, answers exactly one reply
 *                 per request and per version/type/payload rejection, and every byte it
 *                 writes decodes cleanly on a host decoder.
 * A crash or sanitizer report is the remaining property (no crash).
 * Ends with "C fuzz: N passed, M failed" where N/M count the properties above.
 */
#include "../rhil_device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------ PRNG */

static uint64_t rng_state;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static uint32_t below(uint32_t n) { return n ? (uint32_t)((rnd() >> 32) % n) : 0; }
static int chance(uint32_t percent) { return below(100) < percent; }

/* ------------------------------------------------------------ buffers */

#define STREAM_CAP (1u << 19)
static uint8_t frame[RHIL_ENCODED_MAX(65547u) + 16];
static uint8_t sentinel[64];
static long sentinel_len;
static uint8_t stream[STREAM_CAP], tmp[STREAM_CAP];
static size_t stream_len;
static uint8_t reenc[RHIL_ENCODED_MAX(65547u) + 16];
static uint8_t raw2[65547 + 16];
static uint8_t pool[8][65536]; /* message contents */

static rhil_decoder_t decA, decB;
static rhil_msg_t msgA, msgB, gen;

/* ------------------------------------------------------------ generators */

static void rand_bytes(uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        p[i] = (uint8_t)rnd();
}

/* random size, mostly small, sometimes large */
static uint32_t rand_size(uint32_t max)
{
    uint32_t r = below(100), n;
    if (r < 60)
        n = below(16);
    else if (r < 90)
        n = below(300);
    else if (r < 99)
        n = below(4000);
    else
        n = below(max + 1);
    return n > max ? max : n;
}

/* valid UTF-8 of at most max bytes */
static rhil_bytes_t rand_utf8(uint8_t *p, uint32_t max)
{
    rhil_bytes_t b;
    uint32_t target = chance(20) ? max : below(max + 1), n = 0;
    while (n < target) {
        uint32_t kind = below(10), cp;
        if (kind < 6) {
            cp = below(0x80);
        } else if (kind < 8) {
            cp = 0x80 + below(0x800 - 0x80);
        } else if (kind < 9) {
            do
                cp = 0x800 + below(0x10000 - 0x800);
            while (cp >= 0xD800 && cp <= 0xDFFF);
        } else {
            cp = 0x10000 + below(0x110000 - 0x10000);
        }
        if (cp < 0x80) {
            if (n + 1 > target)
                break;
            p[n++] = (uint8_t)cp;
        } else if (cp < 0x800) {
            if (n + 2 > target)
                break;
            p[n++] = (uint8_t)(0xC0 | (cp >> 6));
            p[n++] = (uint8_t)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            if (n + 3 > target)
                break;
            p[n++] = (uint8_t)(0xE0 | (cp >> 12));
            p[n++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
            p[n++] = (uint8_t)(0x80 | (cp & 0x3F));
        } else {
            if (n + 4 > target)
                break;
            p[n++] = (uint8_t)(0xF0 | (cp >> 18));
            p[n++] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
            p[n++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
            p[n++] = (uint8_t)(0x80 | (cp & 0x3F));
        }
    }
    b.ptr = p;
    b.len = n;
    return b;
}

static float rand_finite(void)
{
    uint32_t u;
    float f;
    switch (below(4)) {
    case 0:
        return (float)below(2001) / 1000.0f - 1.0f;
    case 1:
        return 0.0f;
    default:
        do
            u = (uint32_t)rnd();
        while ((u & 0x7F800000u) == 0x7F800000u);
        memcpy(&f, &u, 4);
        return f;
    }
}

static void rand_samples(uint8_t *p, uint8_t format, uint32_t n)
{
    uint32_t i;
    if (format == RHIL_FMT_F32) {
        for (i = 0; i < n; i++)
            rhil_sample_put(p, format, i, rand_finite());
    } else if (chance(20)) {
        memset(p, chance(50) ? 0 : 0xFF, (size_t)n * 2); /* long COBS runs */
    } else {
        rand_bytes(p, (size_t)n * 2);
    }
}

/* shape of a sample block fitting `budget` bytes */
static void rand_shape(uint32_t budget, uint16_t *count, uint16_t *channels, uint8_t *format)
{
    uint32_t sz, total, ch, cnt;
    *format = (uint8_t)below(3);
    sz = rhil_format_size(*format);
    total = rand_size(budget / sz);
    if (total < 1)
        total = 1;
    ch = 1 + below(chance(50) ? 4 : 64);
    if (ch > total)
        ch = total;
    cnt = total / ch;
    if (cnt > 65535u)
        cnt = 65535u;
    *count = (uint16_t)cnt;
    *channels = (uint16_t)ch;
}

/* device under test: f32 x2 in, u16 x3 out */
#define DEV_IN 2
#define DEV_OUT 3

static void gen_message(rhil_msg_t *m)
{
    static const uint8_t types[] = {RHIL_T_HELLO, RHIL_T_CONFIGURE, RHIL_T_PROCESS, RHIL_T_RESET_STATE,
                                    RHIL_T_GET_STATUS, RHIL_T_PING, RHIL_T_BOOT, RHIL_T_INFO,
                                    RHIL_T_ACK, RHIL_T_RESULT, RHIL_T_STATUS, RHIL_T_PONG, RHIL_T_ERROR};
    uint32_t i;
    memset(m, 0, sizeof *m);
    m->type = chance(30) ? RHIL_T_PROCESS : types[below(sizeof types)];
    switch (m->type) {
    case RHIL_T_HELLO:
        m->u.hello.minVersion = (uint8_t)(1 + below(chance(80) ? 2 : 255));
        m->u.hello.maxVersion = (uint8_t)(m->u.hello.minVersion + below(256u - m->u.hello.minVersion));
        break;
    case RHIL_T_CONFIGURE: {
        rhil_configure_t *c = &m->u.configure;
        c->count = (uint8_t)below(17);
        for (i = 0; i < c->count; i++) {
            rhil_param_t *p = &c->params[i];
            uint8_t *name = pool[0] + i * 200;
            uint32_t k, nl = 1 + below(32);
            for (k = 0; k < nl; k++)
                name[k] = (uint8_t)(0x21 + below(0x7F - 0x21));
            p->name.ptr = name;
            p->name.len = nl;
            p->type = (uint8_t)(1 + below(4));
            switch (p->type) {
            case RHIL_PARAM_BOOL:
                p->v.b = (uint8_t)below(2);
                break;
            case RHIL_PARAM_I32:
                p->v.i = (int32_t)(uint32_t)rnd();
                break;
            case RHIL_PARAM_F64: {
                uint64_t u;
                do
                    u = rnd();
                while ((u & 0x7FF0000000000000ull) == 0x7FF0000000000000ull);
                memcpy(&p->v.f, &u, 8);
                break;
            }
            default:
                p->v.s = rand_utf8(name + 40, RHIL_MAX_PARAM_STR);
                break;
            }
        }
        break;
    }
    case RHIL_T_PROCESS: {
        rhil_process_t *p = &m->u.process;
        if (chance(50)) {
            p->format = RHIL_FMT_F32;
            p->channels = DEV_IN;
            p->count = (uint16_t)(1 + below(chance(90) ? 8 : 2000));
        } else {
            rand_shape(65535u - 9u, &p->count, &p->channels, &p->format);
        }
        p->batchId = (uint32_t)rnd();
        rand_samples(pool[1], p->format, (uint32_t)p->count * p->channels);
        p->samples = pool[1];
        break;
    }
    case RHIL_T_RESULT: {
        rhil_result_t *p = &m->u.result;
        rand_shape(65535u - 23u, &p->count, &p->channels, &p->format);
        p->batchId = (uint32_t)rnd();
        p->epoch = (uint32_t)rnd();
        p->timestampUs = rnd() >> below(64);
        p->status = (uint16_t)below(8);
        rand_samples(pool[2], p->format, (uint32_t)p->count * p->channels);
        p->samples = pool[2];
        break;
    }
    case RHIL_T_PING:
    case RHIL_T_PONG:
        m->u.ping.len = rand_size(65535u);
        if (chance(30))
            memset(pool[3], 0, m->u.ping.len);
        else
            rand_bytes(pool[3], m->u.ping.len);
        m->u.ping.ptr = pool[3];
        break;
    case RHIL_T_BOOT:
        m->u.boot.bootCount = (uint32_t)rnd();
        m->u.boot.epoch = (uint32_t)rnd();
        m->u.boot.reason = (uint8_t)rnd();
        break;
    case RHIL_T_INFO: {
        rhil_info_t *p = &m->u.info;
        p->protocolVersion = (uint8_t)(1 + below(3));
        p->inFormat = (uint8_t)below(3);
        p->outFormat = (uint8_t)below(3);
        p->credits = (uint8_t)(1 + below(255));
        p->maxFrame = 64 + below(65547 - 64 + 1);
        { /* SPEC 3: maxBatch fits a full PROCESS and RESULT into maxFrame */
            uint32_t in_sz = rhil_format_size(p->inFormat), out_sz = rhil_format_size(p->outFormat), fit;
            p->inChannels = (uint16_t)(1 + below((p->maxFrame - 21) / in_sz));
            p->outChannels = (uint16_t)(1 + below((p->maxFrame - 35) / out_sz));
            fit = (p->maxFrame - 21) / (in_sz * p->inChannels);
            if ((p->maxFrame - 35) / (out_sz * p->outChannels) < fit)
                fit = (p->maxFrame - 35) / (out_sz * p->outChannels);
            if (fit > 65535)
                fit = 65535;
            p->maxBatch = (uint16_t)(1 + below(fit));
        }
        p->samplePeriodNs = (uint32_t)rnd();
        p->capabilities = (uint32_t)below(16);
        do {
            p->inMin = rand_finite();
            p->inMax = rand_finite();
        } while (!(p->inMin < p->inMax));
        do {
            p->outMin = rand_finite();
            p->outMax = rand_finite();
        } while (!(p->outMin < p->outMax));
        p->vendor = rand_utf8(pool[4], 64);
        p->model = rand_utf8(pool[4] + 100, 64);
        p->serial = rand_utf8(pool[4] + 200, 64);
        p->firmware = rand_utf8(pool[4] + 300, 64);
        break;
    }
    case RHIL_T_ACK:
        m->u.ack.ackedType = (uint8_t)rnd();
        m->u.ack.epoch = (uint32_t)rnd();
        break;
    case RHIL_T_STATUS: {
        rhil_status_t *p = &m->u.status;
        p->framesOk = (uint32_t)rnd();
        p->crcErrors = (uint32_t)rnd();
        p->framingErrors = (uint32_t)rnd();
        p->rejected = (uint32_t)rnd();
        p->droppedBatches = (uint32_t)rnd();
        p->epoch = (uint32_t)rnd();
        p->bootCount = (uint32_t)rnd();
        p->uptimeUs = rnd();
        if (chance(20)) {
            uint32_t nan = 0x7FC00000u;
            memcpy(&p->temperatureC, &nan, 4);
        } else {
            p->temperatureC = rand_finite();
        }
        break;
    }
    case RHIL_T_ERROR:
        m->u.error.code = (uint16_t)below(12);
        m->u.error.refSeq = (uint16_t)rnd();
        m->u.error.refType = (uint8_t)rnd();
        m->u.error.detail = (uint32_t)rnd();
        m->u.error.text = rand_utf8(pool[5], 128);
        break;
    default: /* RESET_STATE, GET_STATUS */
        break;
    }
}

/* ------------------------------------------------------------ properties */

enum { P_ROUNDTRIP, P_CHUNKING, P_ACCOUNTING, P_ACCEPTED, P_RESYNC, P_DEVICE, P_COUNT };
static const char *const pnames[P_COUNT] = {"roundtrip", "chunking", "accounting", "accepted", "resync", "device"};
static unsigned long violations[P_COUNT];
static unsigned long long cur_case;
static int verbose;

static void violate(int p, const char *what)
{
    violations[p]++;
    if (violations[p] <= 5 || verbose)
        printf("FAIL case %llu property %s: %s\n", cur_case, pnames[p], what);
}

/* ------------------------------------------------------------ event logs */

#define MAX_EVENTS 4096
typedef struct {
    uint32_t n;
    uint8_t kind[MAX_EVENTS], reason[MAX_EVENTS];
    uint16_t seq[MAX_EVENTS];
    uint32_t flen[MAX_EVENTS];
} evlog_t;

static evlog_t logA, logB;
static unsigned long long total_frames, total_rejects[RHIL_REJ_COUNT], total_bytes;

static void log_event(evlog_t *l, const rhil_event_t *ev)
{
    if (l->n < MAX_EVENTS) {
        l->kind[l->n] = ev->kind;
        l->reason[l->n] = ev->reason;
        l->seq[l->n] = ev->seq;
        l->flen[l->n] = ev->frame_len;
    }
    l->n++;
}

/* re-encode an accepted frame's message and compare with the frame (P4) */
static void check_accepted(const rhil_event_t *ev, const rhil_msg_t *m, int prop)
{
    long n, rn;
    int reserved_zero;
    if (rhil_msg_validate(m) != RHIL_OK) {
        violate(prop, "accepted message does not validate");
        return;
    }
    n = rhil_encode(m, ev->seq, ev->flags, reenc, sizeof reenc);
    if (n < 0) {
        violate(prop, "accepted message does not encode");
        return;
    }
    rn = rhil_cobs_decode(reenc, (size_t)n - 1, raw2, sizeof raw2);
    reserved_zero = ev->frame[3] == 0 &&
                    !(ev->type == RHIL_T_INFO && (ev->frame[8 + 10] != 0 || ev->frame[8 + 11] != 0));
    if (rn != (long)ev->frame_len)
        violate(prop, "re-encoded length differs");
    else if (reserved_zero && memcmp(raw2, ev->frame, ev->frame_len) != 0)
        violate(prop, "re-encoded bytes differ");
}

/* Feed stream[0..len) to d in random chunks, logging events. */
static void feed_random_chunks(rhil_decoder_t *d, rhil_msg_t *m, const uint8_t *p, size_t len, evlog_t *l,
                               int check, int prop)
{
    size_t off = 0;
    l->n = 0;
    while (off < len) {
        size_t chunk = 1 + below(chance(50) ? 16 : 4096), end;
        if (chunk > len - off)
            chunk = len - off;
        end = off + chunk;
        while (off < end) {
            rhil_event_t ev;
            off += rhil_decoder_feed(d, p + off, end - off, &ev, m);
            if (ev.kind == RHIL_EV_NONE)
                continue;
            log_event(l, &ev);
            if (ev.kind == RHIL_EV_FRAME && check)
                check_accepted(&ev, m, prop);
        }
    }
}

static void feed_whole(rhil_decoder_t *d, rhil_msg_t *m, const uint8_t *p, size_t len, evlog_t *l)
{
    size_t off = 0;
    l->n = 0;
    while (off < len) {
        rhil_event_t ev;
        off += rhil_decoder_feed(d, p + off, len - off, &ev, m);
        if (ev.kind != RHIL_EV_NONE)
            log_event(l, &ev);
    }
}

/* ------------------------------------------------------------ mutations */

static void insert_at(size_t pos, const uint8_t *p, size_t n)
{
    if (stream_len + n > STREAM_CAP - 128)
        return;
    memmove(stream + pos + n, stream + pos, stream_len - pos);
    memcpy(stream + pos, p, n);
    stream_len += n;
}

static void mutate(uint32_t max_frame)
{
    uint32_t k, nmut = 1 + below(chance(80) ? 2 : 8);
    for (k = 0; k < nmut && stream_len > 0; k++) {
        size_t pos = below((uint32_t)stream_len), n;
        uint8_t buf[32];
        switch (below(10)) {
        case 0: /* random byte */
            stream[pos] = (uint8_t)rnd();
            break;
        case 1: /* bit flip */
        case 2:
            stream[pos] ^= (uint8_t)(1u << below(8));
            break;
        case 3: /* truncation */
            stream_len = pos;
            break;
        case 4: /* insert random bytes */
            n = 1 + below(16);
            rand_bytes(buf, n);
            insert_at(pos, buf, n);
            break;
        case 5: /* delete bytes */
            n = 1 + below(16);
            if (n > stream_len - pos)
                n = stream_len - pos;
            memmove(stream + pos, stream + pos + n, stream_len - pos - n);
            stream_len -= n;
            break;
        case 6: /* a zero in the middle */
            if (chance(50))
                stream[pos] = 0;
            else
                insert_at(pos, (const uint8_t *)"\0", 1);
            break;
        case 7: { /* oversize run: non-zero bytes around the limit */
            size_t limit = (size_t)max_frame + max_frame / 254u + 1u, i;
            if (max_frame > 4096 && !chance(5))
                break; /* keep the big ones rare */
            n = limit - 8 + below(300);
            if (stream_len + n > STREAM_CAP - 128)
                break;
            memmove(stream + pos + n, stream + pos, stream_len - pos);
            for (i = 0; i < n; i++)
                stream[pos + i] = (uint8_t)(1 + below(255));
            stream_len += n;
            break;
        }
        case 8: { /* duplicate a region */
            size_t from = below((uint32_t)stream_len), len = 1 + below(64);
            if (len > stream_len - from)
                len = stream_len - from;
            if (stream_len + len > STREAM_CAP - 128)
                break;
            memcpy(tmp, stream + from, len);
            insert_at(pos, tmp, len);
            break;
        }
        default: /* swap two bytes */
            n = below((uint32_t)stream_len);
            buf[0] = stream[pos];
            stream[pos] = stream[n];
            stream[n] = buf[0];
            break;
        }
    }
}

/* Mutate the unstuffed frame and fix its CRC, so that the checks after `crc`
 * (length, version, type, payload) and the payload parsers see arbitrary input. */
static long crc_fixed_mutation(long n)
{
    static uint8_t rawf[65547 + 512];
    long len = rhil_cobs_decode(frame, (size_t)n - 1, rawf, sizeof rawf - 300), plen, r;
    uint32_t k, nmut = 1 + below(3), crc;
    if (len < 12)
        return n;
    len -= 4; /* drop the CRC */
    for (k = 0; k < nmut; k++) {
        plen = len - 8;
        switch (below(8)) {
        case 0: /* random byte anywhere */
            rawf[below((uint32_t)len)] = (uint8_t)rnd();
            break;
        case 1: /* bit flip in the payload */
            if (plen > 0)
                rawf[8 + below((uint32_t)plen)] ^= (uint8_t)(1u << below(8));
            break;
        case 2: /* truncate the payload, keep the length field right */
        case 3:
            if (plen > 0)
                len -= 1 + (long)below((uint32_t)(plen < 16 ? plen : 16));
            plen = len - 8;
            rawf[6] = (uint8_t)plen;
            rawf[7] = (uint8_t)(plen >> 8);
            break;
        case 4: /* extend the payload */
            if (len + 16 <= 65543) {
                uint32_t add = 1 + below(16);
                rand_bytes(rawf + len, add);
                len += (long)add;
                plen = len - 8;
                rawf[6] = (uint8_t)plen;
                rawf[7] = (uint8_t)(plen >> 8);
            }
            break;
        case 5: /* another type: parse one layout as another */
            rawf[1] = chance(80) ? (uint8_t)(chance(50) ? 1 + below(6) : 0x80 + below(16)) : (uint8_t)rnd();
            break;
        case 6: /* version */
            rawf[0] = (uint8_t)(chance(50) ? 1 : rnd());
            break;
        default: /* length field */
            rawf[6 + below(2)] = (uint8_t)rnd();
            break;
        }
    }
    crc = rhil_crc32c(rawf, (size_t)len);
    rawf[len++] = (uint8_t)crc;
    rawf[len++] = (uint8_t)(crc >> 8);
    rawf[len++] = (uint8_t)(crc >> 16);
    rawf[len++] = (uint8_t)(crc >> 24);
    r = rhil_cobs_encode(rawf, (size_t)len, frame, sizeof frame - 1);
    if (r < 0)
        return n;
    frame[r] = 0;
    return r + 1;
}

/* ------------------------------------------------------------ device under test */

typedef struct {
    const uint8_t *in;
    size_t len, pos;
    uint8_t *out;
    size_t out_len, out_cap;
    int overflow;
} fboard_t;

static fboard_t fb;
static rhil_device_t fdev;
static rhil_decoder_t hostdec;
static uint8_t dev_out[1u << 22];

static size_t fb_read(void *ctx, uint8_t *buf, size_t cap)
{
    fboard_t *b = (fboard_t *)ctx;
    size_t n = b->len - b->pos, lim = 1 + below(chance(30) ? 8 : 256);
    if (n > cap)
        n = cap;
    if (n > lim)
        n = lim;
    memcpy(buf, b->in + b->pos, n);
    b->pos += n;
    return n;
}

static void fb_write(void *ctx, const uint8_t *data, size_t len)
{
    fboard_t *b = (fboard_t *)ctx;
    if (len > b->out_cap - b->out_len) {
        b->overflow = 1;
        return;
    }
    memcpy(b->out + b->out_len, data, len);
    b->out_len += len;
}

static int fb_process(void *ctx, const float *in, float *out)
{
    (void)ctx;
    out[0] = in[0] * 1000.0f + 2000.0f;
    out[1] = in[1] * 30000.0f + 30000.0f;
    out[2] = (in[0] - in[1]) * 70000.0f;
    return 0;
}

static void device_setup(void)
{
    rhil_device_config_t c;
    rhil_device_hooks_t h;
    memset(&c, 0, sizeof c);
    memset(&h, 0, sizeof h);
    c.inFormat = RHIL_FMT_F32;
    c.outFormat = RHIL_FMT_U16;
    c.inChannels = DEV_IN;
    c.outChannels = DEV_OUT;
    c.credits = 1;
    c.maxFrame = RHIL_MAX_FRAME;
    c.inMin = -1;
    c.inMax = 1;
    c.outMin = 0;
    c.outMax = 65535;
    c.vendor = "fuzz";
    h.read = fb_read;
    h.write = fb_write;
    h.process = fb_process;
    fb.out = dev_out;
    fb.out_cap = sizeof dev_out;
    if (rhil_device_init(&fdev, &c, &h, &fb) != RHIL_OK) {
        printf("device init failed\n");
        exit(2);
    }
}

static void device_case(void)
{
    uint32_t ok0 = fdev.dec.frames_ok, hv0 = fdev.dec.rejects[RHIL_REJ_VERSION] +
                                             fdev.dec.rejects[RHIL_REJ_TYPE] + fdev.dec.rejects[RHIL_REJ_PAYLOAD];
    uint32_t expected, replies = 0;
    size_t off = 0;
    int guard = 0;
    fb.in = stream;
    fb.len = stream_len;
    fb.pos = 0;
    fb.out_len = 0;
    fb.overflow = 0;
    while ((rhil_device_poll(&fdev) || fb.pos < fb.len) && guard < 10000000)
        guard++;
    expected = (fdev.dec.frames_ok - ok0) + (fdev.dec.rejects[RHIL_REJ_VERSION] + fdev.dec.rejects[RHIL_REJ_TYPE] +
                                            fdev.dec.rejects[RHIL_REJ_PAYLOAD] - hv0);
    if (fb.overflow) {
        violate(P_DEVICE, "device output overflow");
        return;
    }
    rhil_decoder_init(&hostdec, RHIL_MAX_FRAME, RHIL_ROLE_HOST);
    while (off < fb.out_len) {
        rhil_event_t ev;
        off += rhil_decoder_feed(&hostdec, dev_out + off, fb.out_len - off, &ev, &msgB);
        if (ev.kind == RHIL_EV_REJECT) {
            violate(P_DEVICE, "device wrote a frame the host rejects");
            return;
        }
        if (ev.kind == RHIL_EV_FRAME) {
            replies++;
            if (!(ev.flags & RHIL_FLAG_RESPONSE))
                violate(P_DEVICE, "reply without RESPONSE");
        }
    }
    if (replies != expected) {
        char why[96];
        sprintf(why, "%lu replies for %lu requests", (unsigned long)replies, (unsigned long)expected);
        violate(P_DEVICE, why);
    }
    if (fdev.q_count != 0 || fdev.held || fdev.pending_process != 0)
        violate(P_DEVICE, "device queue not empty when idle");
}

/* ------------------------------------------------------------ one case */

static void run_case(unsigned long long seed, unsigned long long index)
{
    uint64_t s = seed * 0x100000001B3ull ^ index;
    long n;
    uint32_t max_frame, i, zeros;
    int oversize_expected, crc_fixed;
    size_t raw_len;
    uint16_t seq;
    uint8_t flags;

    rng_state = splitmix64(&s) | 1u;
    cur_case = index;
    gen_message(&gen);
    seq = (uint16_t)rnd();
    flags = (uint8_t)(chance(90) ? below(2) : rnd());
    n = rhil_encode(&gen, seq, flags, frame, sizeof frame);
    if (n < 0) {
        violate(P_ROUNDTRIP, "generated message does not encode");
        return;
    }
    raw_len = (size_t)rhil_payload_size(&gen) + 12u;
    if ((size_t)n > RHIL_ENCODED_MAX(raw_len))
        violate(P_ROUNDTRIP, "encoded size above n + n/254 + 2");

    max_frame = chance(70) ? (uint32_t)RHIL_MAX_FRAME : 64 + below((uint32_t)RHIL_MAX_FRAME - 64 + 1);
    if (chance(10) && raw_len <= (size_t)RHIL_MAX_FRAME)
        max_frame = (uint32_t)raw_len - (chance(50) ? 1u : 0u); /* at the edge */
    if (max_frame < 64)
        max_frame = 64;
    oversize_expected = raw_len > max_frame;

    /* P1: unmutated frame, random chunks */
    rhil_decoder_init(&decA, max_frame, RHIL_ROLE_ANY);
    feed_random_chunks(&decA, &msgA, frame, (size_t)n, &logA, 0, P_ROUNDTRIP);
    if (oversize_expected) {
        if (!(logA.n == 1 && logA.kind[0] == RHIL_EV_REJECT && logA.reason[0] == RHIL_REJ_OVERSIZE))
            violate(P_ROUNDTRIP, "frame above maxFrame is not exactly one oversize");
    } else if (!(logA.n == 1 && logA.kind[0] == RHIL_EV_FRAME && logA.seq[0] == seq)) {
        char why[96];
        sprintf(why, "valid frame (type %02x, %lu bytes) gave %lu events, first %s", gen.type,
                (unsigned long)raw_len, (unsigned long)logA.n,
                logA.n && logA.kind[0] == RHIL_EV_REJECT ? rhil_reason_name(logA.reason[0]) : "frame");
        violate(P_ROUNDTRIP, why);
    } else {
        long r = rhil_encode(&msgA, seq, flags, reenc, sizeof reenc);
        if (r != n || memcmp(reenc, frame, (size_t)n) != 0)
            violate(P_ROUNDTRIP, "re-encoding differs");
    }

    /* build the stream: [garbage] frame [second frame] -> mutate -> 00 sentinel */
    crc_fixed = chance(40);
    if (crc_fixed)
        n = crc_fixed_mutation(n);
    stream_len = 0;
    if (chance(20)) {
        size_t g = below(64);
        rand_bytes(stream, g);
        stream_len = g;
    }
    if (stream_len + (size_t)n < STREAM_CAP / 2) {
        memcpy(stream + stream_len, frame, (size_t)n);
        stream_len += (size_t)n;
    }
    if (chance(30)) {
        memcpy(stream + stream_len, sentinel, (size_t)sentinel_len);
        stream_len += (size_t)sentinel_len;
    }
    if (!chance(crc_fixed ? 70 : 5))
        mutate(max_frame);
    stream[stream_len++] = 0;
    memcpy(stream + stream_len, sentinel, (size_t)sentinel_len);
    stream_len += (size_t)sentinel_len;
    total_bytes += stream_len;

    /* P2-P5 */
    rhil_decoder_init(&decA, max_frame, RHIL_ROLE_ANY);
    rhil_decoder_init(&decB, max_frame, RHIL_ROLE_ANY);
    feed_random_chunks(&decA, &msgA, stream, stream_len, &logA, 1, P_ACCEPTED);
    feed_whole(&decB, &msgB, stream, stream_len, &logB);
    if (logA.n != logB.n) {
        violate(P_CHUNKING, "different number of events");
    } else {
        for (i = 0; i < logA.n && i < MAX_EVENTS; i++)
            if (logA.kind[i] != logB.kind[i] || logA.reason[i] != logB.reason[i] || logA.seq[i] != logB.seq[i] ||
                logA.flen[i] != logB.flen[i]) {
                violate(P_CHUNKING, "events differ");
                break;
            }
    }
    for (zeros = 0, i = 0; i < stream_len; i++)
        zeros += stream[i] == 0;
    {
        uint32_t sum = decA.frames_ok, r;
        for (r = 0; r < RHIL_REJ_COUNT; r++)
            sum += decA.rejects[r];
        if (logA.n != zeros)
            violate(P_ACCOUNTING, "events != delimited segments");
        if (sum != logA.n)
            violate(P_ACCOUNTING, "counters != events");
        total_frames += decA.frames_ok;
        for (r = 0; r < RHIL_REJ_COUNT; r++)
            total_rejects[r] += decA.rejects[r];
    }
    if (logA.n == 0 || logA.kind[(logA.n - 1) % MAX_EVENTS] != RHIL_EV_FRAME ||
        logA.seq[(logA.n - 1) % MAX_EVENTS] != 0xBEEF)
        violate(P_RESYNC, "sentinel frame after the mutated region did not decode");

    /* P6: the device, every 4th case */
    if (index % 4 == 0)
        device_case();
}

int main(int argc, char **argv)
{
    unsigned long long cases = 100000, seed = 1, first = 0, k;
    int i, failed = 0;
    clock_t t0;
    double secs;
    rhil_msg_t s;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--cases") == 0 && i + 1 < argc)
            cases = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--first") == 0 && i + 1 < argc)
            first = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--verbose") == 0)
            verbose = 1;
        else {
            fprintf(stderr, "usage: %s [--cases N] [--seed S] [--first K] [--verbose]\n", argv[0]);
            return 2;
        }
    }
    memset(&s, 0, sizeof s);
    s.type = RHIL_T_PING;
    s.u.ping.ptr = (const uint8_t *)"sentinel";
    s.u.ping.len = 8;
    sentinel_len = rhil_encode(&s, 0xBEEF, 0, sentinel, sizeof sentinel);
    device_setup();

    t0 = clock();
    for (k = first; k < first + cases; k++)
        run_case(seed, k);
    secs = (double)(clock() - t0) / CLOCKS_PER_SEC;

    printf("fuzz: %llu cases (seed %llu) in %.2f s, %.0f cases/s, %.1f MB streamed\n", cases, seed, secs,
           secs > 0 ? (double)cases / secs : 0.0, (double)total_bytes / 1e6);
    printf("fuzz: %llu frames accepted; rejections:", total_frames);
    for (i = 0; i < (int)RHIL_REJ_COUNT; i++)
        printf(" %s %llu", rhil_reason_name(i), total_rejects[i]);
    printf("\n");
    printf("fuzz: device: %lu frames ok, %lu ERROR-answered rejections, epoch %lu\n",
           (unsigned long)fdev.dec.frames_ok,
           (unsigned long)(fdev.dec.rejects[RHIL_REJ_VERSION] + fdev.dec.rejects[RHIL_REJ_TYPE] +
                           fdev.dec.rejects[RHIL_REJ_PAYLOAD]),
           (unsigned long)fdev.epoch);
    for (i = 0; i < P_COUNT; i++) {
        if (violations[i]) {
            failed++;
            printf("FAIL property %s violated in %lu cases\n", pnames[i], violations[i]);
        }
    }
    printf("C fuzz: %d passed, %d failed\n", P_COUNT - failed, failed);
    return failed ? 1 : 0;
}
