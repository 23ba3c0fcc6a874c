/*
 * test_codec.c - unit tests of rhil_proto (CRC, COBS, messages, streaming decoder).
 * Independent of the shared JSON vectors (see test_vectors.c for those).
 */
#include "../rhil_proto.h"
#include "testutil.h"

#include <math.h>

#ifndef PROGRAM_NAME
#define PROGRAM_NAME "test_codec"
#endif

#define WIRE_CAP (RHIL_ENCODED_MAX(65547u) + 16u)

static uint8_t wire[WIRE_CAP];
static uint8_t wire2[WIRE_CAP];
static uint8_t raw[70000];
static rhil_decoder_t dec;
static rhil_msg_t msg;

/* ------------------------------------------------------------ event log */

#define MAX_EV 256
typedef struct {
    int n;
    int kind[MAX_EV];
    int reason[MAX_EV];
    int has_header[MAX_EV];
    uint16_t seq[MAX_EV];
    uint8_t type[MAX_EV];
    int frames, rejects;
} evlog_t;

/* Feed p[0..n) in chunks of `chunk` bytes (0: all at once); log every event. For
 * frames, the first frame's re-encoding is stored in wire2 (length in *reenc_len). */
static void run_stream(rhil_decoder_t *d, const uint8_t *p, size_t n, size_t chunk, evlog_t *log,
                       long *reenc_len)
{
    size_t off = 0;
    memset(log, 0, sizeof *log);
    if (reenc_len)
        *reenc_len = -100;
    while (off < n) {
        size_t len = chunk ? chunk : n;
        if (len > n - off)
            len = n - off;
        while (len > 0) {
            rhil_event_t ev;
            size_t used = rhil_decoder_feed(d, p + off, len, &ev, &msg);
            if (used == 0 || used > len) {
                CHECK(0, "feed consumed %lu of %lu", (unsigned long)used, (unsigned long)len);
                return;
            }
            off += used;
            len -= used;
            if (ev.kind == RHIL_EV_NONE) {
                if (len != 0)
                    CHECK(0, "no event but input left");
                continue;
            }
            if (log->n < MAX_EV) {
                log->kind[log->n] = ev.kind;
                log->reason[log->n] = ev.reason;
                log->has_header[log->n] = ev.has_header;
                log->seq[log->n] = ev.seq;
                log->type[log->n] = ev.type;
                log->n++;
            }
            if (ev.kind == RHIL_EV_FRAME) {
                if (log->frames == 0 && reenc_len)
                    *reenc_len = rhil_encode(&msg, ev.seq, ev.flags, wire2, sizeof wire2);
                log->frames++;
            } else {
                log->rejects++;
            }
        }
    }
}

/* ------------------------------------------------------------ CRC */

static void test_crc(void)
{
    const uint8_t check[] = "123456789";
    uint8_t zeros[32] = {0};
    uint32_t st;
    CHECK(rhil_crc32c(check, 9) == 0xE3069283ul, "check value %08lx",
          (unsigned long)rhil_crc32c(check, 9));
    CHECK(rhil_crc32c(NULL, 0) == 0, "empty crc");
    CHECK(rhil_crc32c(zeros, 32) == 0x8A9136AAul, "32 zeros %08lx", (unsigned long)rhil_crc32c(zeros, 32));
    st = rhil_crc32c_update(0xFFFFFFFFul, check, 4);
    st = rhil_crc32c_update(st, check + 4, 5);
    CHECK((uint32_t)(st ^ 0xFFFFFFFFu) == 0xE3069283u, "incremental crc");
}

/* ------------------------------------------------------------ COBS */

static void cobs_case(const char *name, const uint8_t *data, size_t n, const uint8_t *enc, size_t en)
{
    uint8_t out[600], back[600];
    long r = rhil_cobs_encode(data, n, out, sizeof out);
    CHECK(r == (long)en && memcmp(out, enc, en) == 0, "cobs encode %s (got %ld)", name, r);
    r = rhil_cobs_decode(enc, en, back, sizeof back);
    CHECK(r == (long)n && memcmp(back, data, n) == 0, "cobs decode %s (got %ld)", name, r);
}

static void test_cobs(void)
{
    static const uint8_t d1[] = {0x00}, e1[] = {0x01, 0x01};
    static const uint8_t d2[] = {0x00, 0x00}, e2[] = {0x01, 0x01, 0x01};
    static const uint8_t d3[] = {0x11, 0x22, 0x00, 0x33}, e3[] = {0x03, 0x11, 0x22, 0x02, 0x33};
    static const uint8_t d4[] = {0x11, 0x22, 0x33, 0x44}, e4[] = {0x05, 0x11, 0x22, 0x33, 0x44};
    static const uint8_t e0[] = {0x01};
    uint8_t d5[255], e5[260], d6[256], e6[260];
    uint8_t out[4], big[2000], enc[2100], back[2000];
    unsigned i, trial;
    uint32_t rng = 12345;

    cobs_case("empty", e0, 0, e0, 1);
    cobs_case("00", d1, 1, e1, 2);
    cobs_case("00 00", d2, 2, e2, 3);
    cobs_case("11 22 00 33", d3, 4, e3, 5);
    cobs_case("11 22 33 44", d4, 4, e4, 5);
    for (i = 0; i < 254; i++)
        d5[i] = (uint8_t)(i + 1);
    e5[0] = 0xFF;
    memcpy(e5 + 1, d5, 254);
    cobs_case("254 bytes 01..FE", d5, 254, e5, 255);
    for (i = 0; i < 255; i++)
        d6[i] = (uint8_t)(i + 1);
    e6[0] = 0xFF;
    memcpy(e6 + 1, d6, 254);
    e6[255] = 0x02;
    e6[256] = 0xFF;
    cobs_case("255 bytes 01..FF", d6, 255, e6, 257);
    /* 254 non-zero then a zero: FF block, then an empty run ended by the zero, then the final run */
    d6[254] = 0;
    memcpy(e6 + 1, d5, 254);
    e6[255] = 0x01;
    e6[256] = 0x01;
    cobs_case("254 bytes then 00", d6, 255, e6, 257);

    CHECK(rhil_cobs_encode(d4, 4, out, 4) == RHIL_E_NOSPACE, "cobs encode nospace");
    {
        static const uint8_t bad1[] = {0x05, 0x11, 0x22};
        static const uint8_t bad2[] = {0x03, 0x11, 0x00};
        static const uint8_t bad3[] = {0x00};
        CHECK(rhil_cobs_decode(bad1, 3, out, 4) == RHIL_E_COBS, "cobs decode past end");
        CHECK(rhil_cobs_decode(bad2, 3, out, 4) == RHIL_E_COBS, "cobs decode zero inside");
        CHECK(rhil_cobs_decode(bad3, 1, out, 4) == RHIL_E_COBS, "cobs decode zero code");
    }

    /* random round trips with every zero density and length, incl. block edges */
    for (trial = 0; trial < 3000; trial++) {
        size_t n = trial < 1200 ? trial % 600 : (size_t)((rng = rng * 1103515245u + 12345u) >> 8) % 2000;
        unsigned density = trial % 5; /* 0: no zeros .. 4: many */
        long r, r2;
        int ok = 1;
        for (i = 0; i < n; i++) {
            rng = rng * 1103515245u + 12345u;
            if (density && ((rng >> 16) % (density == 1 ? 300 : density == 2 ? 50 : density == 3 ? 5 : 2)) == 0)
                big[i] = 0;
            else
                big[i] = (uint8_t)(1 + (rng >> 24) % 255);
        }
        r = rhil_cobs_encode(big, n, enc, sizeof enc);
        if (r < 0 || (size_t)r > n + n / 254 + 1)
            ok = 0;
        for (i = 0; ok && i < (size_t)r; i++)
            if (enc[i] == 0)
                ok = 0;
        r2 = ok ? rhil_cobs_decode(enc, (size_t)r, back, sizeof back) : -1;
        if (r2 != (long)n || memcmp(back, big, n) != 0)
            ok = 0;
        if (trial % 100 == 0 || !ok)
            CHECK(ok, "cobs round trip n=%lu density=%u", (unsigned long)n, density);
    }
}

/* ------------------------------------------------------------ messages */

static const uint8_t samp_u16[] = {0x00, 0x00, 0xFF, 0x0F, 0x00, 0x01, 0x01, 0x00, 0xFF, 0xFF, 0x00, 0x80};
static uint8_t samp_f32[4 * 6];

static rhil_bytes_t B(const char *s)
{
    rhil_bytes_t b;
    b.ptr = (const uint8_t *)s;
    b.len = (uint32_t)strlen(s);
    return b;
}

static int build_msg(int which, rhil_msg_t *m)
{
    memset(m, 0, sizeof *m);
    switch (which) {
    case 0:
        m->type = RHIL_T_HELLO;
        m->u.hello.minVersion = 1;
        m->u.hello.maxVersion = 3;
        return 1;
    case 1:
        m->type = RHIL_T_CONFIGURE;
        m->u.configure.count = 4;
        m->u.configure.params[0].name = B("feedback");
        m->u.configure.params[0].type = RHIL_PARAM_BOOL;
        m->u.configure.params[0].v.b = 1;
        m->u.configure.params[1].name = B("exposure_us");
        m->u.configure.params[1].type = RHIL_PARAM_I32;
        m->u.configure.params[1].v.i = -1500;
        m->u.configure.params[2].name = B("input_gain");
        m->u.configure.params[2].type = RHIL_PARAM_F64;
        m->u.configure.params[2].v.f = 0.625;
        m->u.configure.params[3].name = B("mask");
        m->u.configure.params[3].type = RHIL_PARAM_STRING;
        m->u.configure.params[3].v.s = B("random:7 \xc2\xb5");
        return 1;
    case 2:
        m->type = RHIL_T_PROCESS;
        m->u.process.batchId = 100;
        m->u.process.count = 3;
        m->u.process.channels = 2;
        m->u.process.format = RHIL_FMT_U16;
        m->u.process.samples = samp_u16;
        return 1;
    case 3:
        m->type = RHIL_T_RESET_STATE;
        return 1;
    case 4:
        m->type = RHIL_T_GET_STATUS;
        return 1;
    case 5:
        m->type = RHIL_T_PING;
        m->u.ping.ptr = samp_u16;
        m->u.ping.len = sizeof samp_u16;
        return 1;
    case 6:
        m->type = RHIL_T_BOOT;
        m->u.boot.bootCount = 5;
        m->u.boot.epoch = 327680;
        m->u.boot.reason = RHIL_BOOT_WATCHDOG;
        return 1;
    case 7:
        m->type = RHIL_T_INFO;
        m->u.info.protocolVersion = 1;
        m->u.info.inFormat = RHIL_FMT_U16;
        m->u.info.outFormat = RHIL_FMT_F32;
        m->u.info.credits = 4;
        m->u.info.inChannels = 2;
        m->u.info.outChannels = 64;
        m->u.info.maxBatch = 255; /* the most whose RESULT (35 + 255 x 64 x 4 bytes) fits maxFrame */
        m->u.info.maxFrame = 65547;
        m->u.info.samplePeriodNs = 10000;
        m->u.info.capabilities = RHIL_CAP_TEMPERATURE | RHIL_CAP_HW_TIMESTAMP;
        m->u.info.inMin = 0;
        m->u.info.inMax = 4095;
        m->u.info.outMin = -1.5f;
        m->u.info.outMax = 1.5f;
        m->u.info.vendor = B("Acme Photonics");
        m->u.info.model = B("OR-1");
        m->u.info.serial = B("");
        m->u.info.firmware = B("1.2.3");
        return 1;
    case 8:
        m->type = RHIL_T_ACK;
        m->u.ack.ackedType = RHIL_T_RESET_STATE;
        m->u.ack.epoch = 0xFFFFFFFFul;
        return 1;
    case 9:
        m->type = RHIL_T_RESULT;
        m->u.result.batchId = 4294967294ul;
        m->u.result.epoch = 3;
        m->u.result.timestampUs = 4503599627370497ull;
        m->u.result.status = RHIL_STATUS_INPUT_CLIPPED | RHIL_STATUS_OVERRUN;
        m->u.result.count = 2;
        m->u.result.channels = 3;
        m->u.result.format = RHIL_FMT_F32;
        m->u.result.samples = samp_f32;
        return 1;
    case 10:
        m->type = RHIL_T_STATUS;
        m->u.status.framesOk = 1000;
        m->u.status.crcErrors = 2;
        m->u.status.framingErrors = 3;
        m->u.status.rejected = 1;
        m->u.status.droppedBatches = 1;
        m->u.status.epoch = 8;
        m->u.status.bootCount = 12;
        m->u.status.uptimeUs = 5000000123ull;
        m->u.status.temperatureC = 36.5f;
        return 1;
    case 11:
        m->type = RHIL_T_PONG;
        m->u.ping.ptr = NULL;
        m->u.ping.len = 0;
        return 1;
    case 12:
        m->type = RHIL_T_ERROR;
        m->u.error.code = RHIL_ERR_NO_CREDIT;
        m->u.error.refSeq = 20;
        m->u.error.refType = RHIL_T_PROCESS;
        m->u.error.detail = 4;
        m->u.error.text = B("no credit: 4 batches in flight \xc2\xb5");
        return 1;
    case 13:
        m->type = RHIL_T_STATUS; /* NaN temperature */
        m->u.status.bootCount = 1;
        m->u.status.temperatureC = (float)NAN;
        return 1;
    case 14:
        m->type = RHIL_T_CONFIGURE;
        m->u.configure.count = 0;
        return 1;
    case 15:
        m->type = RHIL_T_PROCESS;
        m->u.process.batchId = 1;
        m->u.process.count = 1;
        m->u.process.channels = 6;
        m->u.process.format = RHIL_FMT_I16;
        m->u.process.samples = samp_u16;
        return 1;
    default:
        return 0;
    }
}

static void test_roundtrip(void)
{
    int which;
    float fv[6] = {0.5f, -1.25f, 0.0f, 1e-30f, -3.4e38f, 0.001f};
    for (which = 0; which < 6; which++)
        rhil_sample_put(samp_f32, RHIL_FMT_F32, (uint32_t)which, fv[which]);

    for (which = 0; build_msg(which, &msg); which++) {
        rhil_msg_t orig;
        long n, n2, plen, rn;
        evlog_t log;
        long reenc;
        size_t i, zeros = 0;
        uint16_t seq = (uint16_t)(which * 4099u + 1u);
        uint8_t flags = (uint8_t)(which & 1);
        orig = msg;
        plen = rhil_payload_size(&orig);
        CHECK(plen >= 0, "msg %d payload size %ld", which, plen);
        n = rhil_encode(&orig, seq, flags, wire, sizeof wire);
        CHECK(n > 0 && (size_t)n <= RHIL_ENCODED_MAX((size_t)plen + 12u), "msg %d encode %ld", which, n);
        if (n <= 0)
            continue;
        for (i = 0; i < (size_t)n; i++)
            zeros += wire[i] == 0;
        CHECK(zeros == 1 && wire[n - 1] == 0, "msg %d: exactly one 0x00, at the end", which);
        /* unstuffed layout */
        rn = rhil_cobs_decode(wire, (size_t)n - 1, raw, sizeof raw);
        CHECK(rn == plen + 12 && raw[0] == 1 && raw[1] == orig.type && raw[2] == flags && raw[3] == 0 &&
                  (raw[4] | raw[5] << 8) == seq && (raw[6] | raw[7] << 8) == plen &&
                  rhil_crc32c(raw, (size_t)rn - 4) ==
                      ((uint32_t)raw[rn - 4] | (uint32_t)raw[rn - 3] << 8 | (uint32_t)raw[rn - 2] << 16 |
                       (uint32_t)raw[rn - 1] << 24),
              "msg %d raw layout", which);
        /* decode and re-encode */
        rhil_decoder_init(&dec, RHIL_MAX_FRAME, RHIL_ROLE_ANY);
        run_stream(&dec, wire, (size_t)n, 0, &log, &reenc);
        CHECK(log.frames == 1 && log.rejects == 0, "msg %d decodes (%d frames, %d rejects, reason %s)",
              which, log.frames, log.rejects, log.rejects ? rhil_reason_name(log.reason[0]) : "-");
        CHECK(reenc == n && memcmp(wire2, wire, (size_t)n) == 0, "msg %d re-encodes identically", which);
        CHECK(log.seq[0] == seq && log.type[0] == orig.type, "msg %d header", which);
        /* NOSPACE with a buffer one byte short; no write past it */
        memset(wire2, 0xAA, sizeof wire2);
        n2 = rhil_encode(&orig, seq, flags, wire2, (size_t)n - 1);
        CHECK(n2 == RHIL_E_NOSPACE && wire2[n - 1] == 0xAA, "msg %d nospace", which);
    }
}

/* field-level checks of a few decoded messages */
static void test_decode_fields(void)
{
    long n;
    evlog_t log;
    rhil_msg_t m;

    build_msg(1, &m);
    n = rhil_encode(&m, 3, 0, wire, sizeof wire);
    rhil_decoder_init(&dec, RHIL_MAX_FRAME, RHIL_ROLE_DEVICE);
    run_stream(&dec, wire, (size_t)n, 0, &log, NULL);
    CHECK(log.frames == 1 && msg.type == RHIL_T_CONFIGURE && msg.u.configure.count == 4, "configure decodes");
    CHECK(msg.u.configure.params[0].type == RHIL_PARAM_BOOL && msg.u.configure.params[0].v.b == 1 &&
              msg.u.configure.params[0].name.len == 8 &&
              memcmp(msg.u.configure.params[0].name.ptr, "feedback", 8) == 0,
          "configure bool param");
    CHECK(msg.u.configure.params[1].v.i == -1500, "configure i32 param");
    CHECK(msg.u.configure.params[2].v.f == 0.625, "configure f64 param");
    CHECK(msg.u.configure.params[3].v.s.len == 11, "configure string param");

    build_msg(13, &m);
    n = rhil_encode(&m, 12, 1, wire, sizeof wire);
    rhil_decoder_init(&dec, RHIL_MAX_FRAME, RHIL_ROLE_HOST);
    run_stream(&dec, wire, (size_t)n, 0, &log, NULL);
    CHECK(log.frames == 1 && msg.u.status.temperatureC != msg.u.status.temperatureC && msg.u.status.bootCount == 1,
          "status NaN temperature");

    build_msg(9, &m);
    n = rhil_encode(&m, 7, 1, wire, sizeof wire);
    run_stream(&dec, wire, (size_t)n, 0, &log, NULL);
    CHECK(log.frames == 1 && msg.u.result.timestampUs == 4503599627370497ull && msg.u.result.count == 2 &&
              msg.u.result.format == RHIL_FMT_F32 &&
              rhil_sample_get(msg.u.result.samples, RHIL_FMT_F32, 1) == -1.25f &&
              rhil_sample_get(msg.u.result.samples, RHIL_FMT_F32, 4) == -3.4e38f,
          "result fields");
}

/* ------------------------------------------------------------ rejections */

/* Build a frame from raw parts, optionally corrupting it, COBS-encode it with delimiter. */
static long frame_bytes(uint8_t version, uint8_t type, uint16_t seq, const uint8_t *payload, size_t plen,
                        long length_field, uint8_t *out)
{
    uint8_t f[400];
    size_t n = 8 + plen + 4;
    uint32_t crc;
    long r;
    f[0] = version;
    f[1] = type;
    f[2] = 0;
    f[3] = 0;
    f[4] = (uint8_t)seq;
    f[5] = (uint8_t)(seq >> 8);
    if (length_field < 0)
        length_field = (long)plen;
    f[6] = (uint8_t)length_field;
    f[7] = (uint8_t)(length_field >> 8);
    if (plen)
        memcpy(f + 8, payload, plen);
    crc = rhil_crc32c(f, n - 4);
    f[n - 4] = (uint8_t)crc;
    f[n - 3] = (uint8_t)(crc >> 8);
    f[n - 2] = (uint8_t)(crc >> 16);
    f[n - 1] = (uint8_t)(crc >> 24);
    r = rhil_cobs_encode(f, n, out, 1000);
    out[r] = 0;
    return r + 1;
}

static uint8_t ping_frame[64];
static long ping_len;

/* stream = prefix + a valid PING; expect `reason` (or none if < 0) then one frame */
static void expect_reject(const char *name, const uint8_t *prefix, size_t plen, uint32_t max_frame,
                          rhil_role_t role, int reason, int header, uint16_t seq, uint8_t type)
{
    static uint8_t buf[4096];
    evlog_t log;
    size_t chunk;
    memcpy(buf, prefix, plen);
    memcpy(buf + plen, ping_frame, (size_t)ping_len);
    for (chunk = 0; chunk <= 7; chunk += 1) {
        rhil_decoder_init(&dec, max_frame, role);
        run_stream(&dec, buf, plen + (size_t)ping_len, chunk, &log, NULL);
        if (!(log.n == 2 && log.kind[0] == RHIL_EV_REJECT && log.reason[0] == reason &&
              log.kind[1] == RHIL_EV_FRAME && log.has_header[0] == header &&
              (!header || (log.seq[0] == seq && log.type[0] == type)) && dec.rejects[reason] == 1 &&
              dec.frames_ok == 1)) {
            CHECK(0, "%s (chunk %lu): %d events, first %s/%s", name, (unsigned long)chunk, log.n,
                  log.n ? (log.kind[0] == RHIL_EV_FRAME ? "frame" : "reject") : "-",
                  log.n ? rhil_reason_name(log.reason[0]) : "-");
            return;
        }
    }
    CHECK(1, "%s", name);
}

static void test_rejections(void)
{
    uint8_t b[1200], p[300];
    long n;
    size_t i;
    static const uint8_t ping_data[] = {0xAB};
    ping_len = frame_bytes(1, RHIL_T_PING, 0x277, ping_data, 1, -1, ping_frame);

    /* oversize: a run without delimiter longer than maxFrame + maxFrame/254 + 1 */
    memset(b, 0x42, 200);
    b[200] = 0;
    expect_reject("oversize run", b, 201, 64, RHIL_ROLE_ANY, RHIL_REJ_OVERSIZE, 0, 0, 0);
    /* oversize: a valid 70-byte frame at maxFrame 64 */
    memset(p, 0x01, 58);
    n = frame_bytes(1, RHIL_T_PING, 2, p, 58, -1, b);
    expect_reject("oversize decoded", b, (size_t)n, 64, RHIL_ROLE_ANY, RHIL_REJ_OVERSIZE, 0, 0, 0);
    /* ... but accepted at maxFrame 70 */
    {
        evlog_t log;
        rhil_decoder_init(&dec, 70, RHIL_ROLE_ANY);
        run_stream(&dec, b, (size_t)n, 0, &log, NULL);
        CHECK(log.frames == 1 && log.rejects == 0, "70-byte frame at maxFrame 70");
        rhil_decoder_init(&dec, 69, RHIL_ROLE_ANY);
        run_stream(&dec, b, (size_t)n, 0, &log, NULL);
        CHECK(log.frames == 0 && log.rejects == 1 && log.reason[0] == RHIL_REJ_OVERSIZE,
              "70-byte frame at maxFrame 69");
    }
    /* oversize: zeros (0x01 codes) decode to maxFrame+1 bytes */
    memset(b, 0x01, 66);
    b[66] = 0;
    expect_reject("oversize implied zeros", b, 67, 64, RHIL_ROLE_ANY, RHIL_REJ_OVERSIZE, 0, 0, 0);
    /* exactly 64 decoded zeros is not oversize (it is a crc failure) */
    memset(b, 0x01, 65);
    b[65] = 0;
    expect_reject("64 zeros at maxFrame 64", b, 66, 64, RHIL_ROLE_ANY, RHIL_REJ_CRC, 0, 0, 0);

    b[0] = 0;
    expect_reject("empty", b, 1, 65547, RHIL_ROLE_ANY, RHIL_REJ_EMPTY, 0, 0, 0);
    {
        static const uint8_t c[] = {0x05, 0x11, 0x22, 0x00};
        expect_reject("cobs past end", c, 4, 65547, RHIL_ROLE_ANY, RHIL_REJ_COBS, 0, 0, 0);
    }
    {
        static const uint8_t c[] = {0xFF, 0x11, 0x00};
        expect_reject("cobs FF past end", c, 3, 65547, RHIL_ROLE_ANY, RHIL_REJ_COBS, 0, 0, 0);
    }
    {
        static const uint8_t s[] = {0x03, 0x01, 0x06, 0x01, 0x02, 0x01, 0x00};
        expect_reject("short 5 bytes", s, sizeof s, 65547, RHIL_ROLE_ANY, RHIL_REJ_SHORT, 0, 0, 0);
    }
    {
        /* 11 decoded bytes */
        static const uint8_t s[] = {0x0C, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x00};
        expect_reject("short 11 bytes", s, sizeof s, 65547, RHIL_ROLE_ANY, RHIL_REJ_SHORT, 0, 0, 0);
    }
    n = frame_bytes(1, RHIL_T_PING, 0x63, ping_data, 1, -1, b);
    b[n - 3] ^= 0x10; /* CRC byte (non-zero after flip) */
    expect_reject("crc", b, (size_t)n, 65547, RHIL_ROLE_ANY, RHIL_REJ_CRC, 0, 0, 0);
    n = frame_bytes(1, RHIL_T_PING, 0x63, ping_data, 1, 2, b);
    expect_reject("length", b, (size_t)n, 65547, RHIL_ROLE_ANY, RHIL_REJ_LENGTH, 1, 0x63, RHIL_T_PING);
    n = frame_bytes(2, RHIL_T_PING, 0x63, ping_data, 1, -1, b);
    expect_reject("version 2", b, (size_t)n, 65547, RHIL_ROLE_ANY, RHIL_REJ_VERSION, 1, 0x63, RHIL_T_PING);
    n = frame_bytes(0, RHIL_T_PROCESS, 0x64, ping_data, 1, -1, b);
    expect_reject("version 0", b, (size_t)n, 65547, RHIL_ROLE_ANY, RHIL_REJ_VERSION, 1, 0x64, RHIL_T_PROCESS);
    n = frame_bytes(1, 0x7F, 0x65, ping_data, 1, -1, b);
    expect_reject("type 7f", b, (size_t)n, 65547, RHIL_ROLE_ANY, RHIL_REJ_TYPE, 1, 0x65, 0x7F);
    n = frame_bytes(1, 0x84, 0x65, ping_data, 1, -1, b);
    expect_reject("type 84", b, (size_t)n, 65547, RHIL_ROLE_ANY, RHIL_REJ_TYPE, 1, 0x65, 0x84);
    n = frame_bytes(1, 0x00, 0x65, NULL, 0, -1, b);
    expect_reject("type 00", b, (size_t)n, 65547, RHIL_ROLE_ANY, RHIL_REJ_TYPE, 1, 0x65, 0x00);
    /* direction */
    n = frame_bytes(1, RHIL_T_PONG, 0x66, ping_data, 1, -1, b);
    expect_reject("pong to device", b, (size_t)n, 65547, RHIL_ROLE_DEVICE, RHIL_REJ_TYPE, 1, 0x66, RHIL_T_PONG);
    {
        evlog_t log;
        uint8_t hb[40];
        long hn = frame_bytes(1, RHIL_T_HELLO, 9, (const uint8_t *)"\x01\x01", 2, -1, hb);
        rhil_decoder_init(&dec, 65547, RHIL_ROLE_HOST);
        run_stream(&dec, hb, (size_t)hn, 0, &log, NULL);
        CHECK(log.n == 1 && log.reason[0] == RHIL_REJ_TYPE, "hello to host is a type rejection");
        rhil_decoder_init(&dec, 65547, RHIL_ROLE_HOST);
        run_stream(&dec, ping_frame, (size_t)ping_len, 0, &log, NULL);
        CHECK(log.n == 1 && log.reason[0] == RHIL_REJ_TYPE, "ping to host is a type rejection");
    }

    /* payload rejections */
    {
        struct {
            const char *name;
            uint8_t type;
            const char *hex;
        } cases[] = {
            {"hello min 0", RHIL_T_HELLO, "0001"},
            {"hello max < min", RHIL_T_HELLO, "0201"},
            {"hello 3 bytes", RHIL_T_HELLO, "010101"},
            {"hello 1 byte", RHIL_T_HELLO, "01"},
            {"getStatus with a byte", RHIL_T_GET_STATUS, "00"},
            {"resetState with a byte", RHIL_T_RESET_STATE, "01"},
            {"configure empty payload", RHIL_T_CONFIGURE, ""},
            {"configure 17 params", RHIL_T_CONFIGURE, "11"},
            {"configure missing param", RHIL_T_CONFIGURE, "01"},
            {"configure name with space", RHIL_T_CONFIGURE, "010261200101"},
            {"configure name empty", RHIL_T_CONFIGURE, "01000101"},
            {"configure name 33 bytes", RHIL_T_CONFIGURE,
             "01216161616161616161616161616161616161616161616161616161616161616161610101"},
            {"configure name 0x7f", RHIL_T_CONFIGURE, "01017f0101"},
            {"configure type 5", RHIL_T_CONFIGURE, "0101780501"},
            {"configure type 0", RHIL_T_CONFIGURE, "0101780001"},
            {"configure bool 2", RHIL_T_CONFIGURE, "0101780102"},
            {"configure i32 short", RHIL_T_CONFIGURE, "010178020102"},
            {"configure f64 NaN", RHIL_T_CONFIGURE, "010178030000000000f8ff7f"},
            {"configure f64 inf", RHIL_T_CONFIGURE, "01017803000000000000f07f"},
            {"configure f64 -inf", RHIL_T_CONFIGURE, "01017803000000000000f0ff"},
            {"configure string bad utf8", RHIL_T_CONFIGURE, "01017804 01ff"},
            {"configure string 65 bytes", RHIL_T_CONFIGURE,
             "01017804414141414141414141414141414141414141414141414141414141414141414141414141414141414141414141414141414141414141414141414141414141414141"},
            {"configure trailing byte", RHIL_T_CONFIGURE, "010178010100"},
            {"process count 0", RHIL_T_PROCESS, "640000000000010000"},
            {"process channels 0", RHIL_T_PROCESS, "640000000100000000"},
            {"process format 3", RHIL_T_PROCESS, "64000000010001000300"},
            {"process length short", RHIL_T_PROCESS, "6400000002000100000000"},
            {"process length long", RHIL_T_PROCESS, "640000000100010000000000"},
            {"process 8 bytes", RHIL_T_PROCESS, "6400000001000100"},
            {"process f32 NaN", RHIL_T_PROCESS, "640000000100010002 0000c07f"},
            {"process f32 -inf", RHIL_T_PROCESS, "640000000100010002 000080ff"},
            {"ack 4 bytes", RHIL_T_ACK, "02030000"},
            {"ack 6 bytes", RHIL_T_ACK, "020300000000"},
            {"boot 8 bytes", RHIL_T_BOOT, "0100000002000000"},
            {"status 39 bytes", RHIL_T_STATUS,
             "000000000000000000000000000000000000000000000000000000000000000000000000000000"},
            {"error text past end", RHIL_T_ERROR, "0300010003000000000561"},
            {"error text bad utf8", RHIL_T_ERROR, "03000100030000000002c328"},
            {"error overlong utf8", RHIL_T_ERROR, "03000100030000000002c0af"},
            {"error surrogate utf8", RHIL_T_ERROR, "03000100030000000003eda080"},
            {"error trailing byte", RHIL_T_ERROR, "030001000300000000016161"},
            {"result count 0", RHIL_T_RESULT, "01000000020000000000000000000000000000000100000000"},
            {"result truncated", RHIL_T_RESULT, "01000000020000000000000000000000000002000100000000"},
            {"result f32 inf", RHIL_T_RESULT, "01000000020000000000000000000000000001000100020000807f"},
        };
        size_t k;
        for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            long pl = from_hex(cases[k].hex, p, sizeof p);
            if (pl < 0) {
                CHECK(0, "bad hex in case %s", cases[k].name);
                continue;
            }
            n = frame_bytes(1, cases[k].type, (uint16_t)(0x100 + k), p, (size_t)pl, -1, b);
            expect_reject(cases[k].name, b, (size_t)n, 65547, RHIL_ROLE_ANY, RHIL_REJ_PAYLOAD, 1,
                          (uint16_t)(0x100 + k), cases[k].type);
        }
    }
    /* info payload limits */
    {
        rhil_msg_t m;
        struct {
            const char *name;
            int field;
        } cases[] = {{"info credits 0", 0},    {"info inChannels 0", 1}, {"info maxBatch 0", 2},
                     {"info maxFrame 63", 3},  {"info maxFrame 65548", 4}, {"info inMin == inMax", 5},
                     {"info outMax NaN", 6},   {"info vendor 65 bytes", 7}, {"info inFormat 3", 8},
                     {"info outChannels 0", 9}, {"info model bad utf8", 10}};
        size_t k;
        static const char v65[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            uint8_t pay[400];
            long pl;
            build_msg(7, &m);
            pl = rhil_payload_size(&m);
            /* serialise the valid INFO, then patch the raw payload */
            n = rhil_encode(&m, 1, 1, wire, sizeof wire);
            pl = rhil_cobs_decode(wire, (size_t)n - 1, raw, sizeof raw) - 12;
            memcpy(pay, raw + 8, (size_t)pl);
            switch (cases[k].field) {
            case 0: pay[3] = 0; break;
            case 1: pay[4] = pay[5] = 0; break;
            case 2: pay[8] = pay[9] = 0; break;
            case 3: pay[12] = 63; pay[13] = pay[14] = pay[15] = 0; break;
            case 4: pay[12] = 0x0C; pay[13] = 0x00; pay[14] = 0x01; pay[15] = 0; break;
            case 5: memcpy(pay + 28, pay + 24, 4); break;
            case 6: pay[36] = 0; pay[37] = 0; pay[38] = 0xC0; pay[39] = 0x7F; break;
            case 7:
                pay[40] = 65;
                memcpy(pay + 41, v65, 65);
                pay[106] = 0; pay[107] = 0; pay[108] = 0; pay[109] = 0;
                pl = 110;
                break;
            case 8: pay[1] = 3; break;
            case 9: pay[6] = pay[7] = 0; break;
            case 10: pay[40 + 1 + 14 + 1] = 0xFF; break; /* first byte of model */
            }
            n = frame_bytes(1, RHIL_T_INFO, 5, pay, (size_t)pl, -1, b);
            expect_reject(cases[k].name, b, (size_t)n, 65547, RHIL_ROLE_ANY, RHIL_REJ_PAYLOAD, 1, 5, RHIL_T_INFO);
        }
    }

    /* resynchronisation after garbage of every kind */
    {
        evlog_t log;
        uint32_t rng = 99;
        int trial, bad = 0;
        for (trial = 0; trial < 500; trial++) {
            size_t g = (size_t)(trial % 300);
            for (i = 0; i < g; i++) {
                rng = rng * 1664525u + 1013904223u;
                b[i] = (uint8_t)(rng >> 24);
            }
            b[g] = 0; /* terminate the garbage */
            memcpy(b + g + 1, ping_frame, (size_t)ping_len);
            rhil_decoder_init(&dec, 65547, RHIL_ROLE_ANY);
            run_stream(&dec, b, g + 1 + (size_t)ping_len, (size_t)(trial % 5), &log, NULL);
            if (log.frames < 1 || log.kind[log.n - 1] != RHIL_EV_FRAME || log.seq[log.n - 1] != 0x277)
                bad++;
        }
        CHECK(bad == 0, "valid frame after garbage: %d failures", bad);
    }
}

/* a valid frame split at every byte offset, and fed one byte at a time */
static void test_splits(void)
{
    rhil_msg_t m;
    long n;
    size_t cut, i;
    int bad = 0;
    build_msg(9, &m);
    n = rhil_encode(&m, 77, 1, wire, sizeof wire);
    for (cut = 0; cut <= (size_t)n; cut++) {
        rhil_event_t ev;
        int frames = 0, rejects = 0;
        size_t off = 0, used;
        rhil_decoder_init(&dec, 65547, RHIL_ROLE_HOST);
        while (off < cut) {
            used = rhil_decoder_feed(&dec, wire + off, cut - off, &ev, &msg);
            off += used;
            frames += ev.kind == RHIL_EV_FRAME;
            rejects += ev.kind == RHIL_EV_REJECT;
        }
        while (off < (size_t)n) {
            used = rhil_decoder_feed(&dec, wire + off, (size_t)n - off, &ev, &msg);
            off += used;
            frames += ev.kind == RHIL_EV_FRAME;
            rejects += ev.kind == RHIL_EV_REJECT;
        }
        if (frames != 1 || rejects != 0 || msg.u.result.batchId != 4294967294ul)
            bad++;
    }
    CHECK(bad == 0, "split at every offset: %d failures", bad);
    {
        rhil_event_t ev;
        int frames = 0;
        rhil_decoder_init(&dec, 65547, RHIL_ROLE_HOST);
        for (i = 0; i < (size_t)n; i++) {
            size_t used = rhil_decoder_feed(&dec, wire + i, 1, &ev, &msg);
            if (used != 1)
                bad++;
            frames += ev.kind == RHIL_EV_FRAME;
        }
        CHECK(frames == 1 && bad == 0, "byte at a time");
    }
    /* two frames back to back in one chunk: two events, the first returns early */
    {
        rhil_event_t ev;
        size_t used;
        memcpy(wire2, wire, (size_t)n);
        memcpy(wire2 + n, wire, (size_t)n);
        rhil_decoder_init(&dec, 65547, RHIL_ROLE_HOST);
        used = rhil_decoder_feed(&dec, wire2, 2 * (size_t)n, &ev, &msg);
        CHECK(used == (size_t)n && ev.kind == RHIL_EV_FRAME, "first of two frames");
        used = rhil_decoder_feed(&dec, wire2 + n, (size_t)n, &ev, &msg);
        CHECK(used == (size_t)n && ev.kind == RHIL_EV_FRAME && dec.frames_ok == 2, "second of two frames");
    }
}

/* a frame of maximal size (65547 bytes) where the build allows it, and big PINGs */
static void test_large(void)
{
    rhil_msg_t m;
    long n;
    evlog_t log;
    long reenc;
    size_t i, plen = (size_t)RHIL_MAX_FRAME - 12u;
    static uint8_t data[65535];
    for (i = 0; i < plen; i++)
        data[i] = (uint8_t)(i % 7 == 0 ? 0 : i * 31u);
    memset(&m, 0, sizeof m);
    m.type = RHIL_T_PING;
    m.u.ping.ptr = data;
    m.u.ping.len = (uint32_t)plen;
    n = rhil_encode(&m, 65535, 0, wire, sizeof wire);
    CHECK(n > 0, "encode max ping");
    rhil_decoder_init(&dec, RHIL_MAX_FRAME, RHIL_ROLE_DEVICE);
    run_stream(&dec, wire, (size_t)n, 1000, &log, &reenc);
    CHECK(log.frames == 1 && msg.u.ping.len == plen && memcmp(msg.u.ping.ptr, data, plen) == 0,
          "max-size frame (%lu bytes) decodes", (unsigned long)plen + 12u);
    CHECK(reenc == n && memcmp(wire, wire2, (size_t)n) == 0, "max-size frame re-encodes");
    /* one byte more than RHIL_MAX_FRAME is oversize, even if the runtime limit is higher */
    m.u.ping.len = (uint32_t)plen + 1u;
    if (plen + 1u <= 65535u) {
        n = rhil_encode(&m, 1, 0, wire, sizeof wire);
        rhil_decoder_init(&dec, 65547, RHIL_ROLE_DEVICE); /* clamped to RHIL_MAX_FRAME */
        run_stream(&dec, wire, (size_t)n, 0, &log, NULL);
        CHECK(log.n == 1 && log.reason[0] == RHIL_REJ_OVERSIZE, "frame above RHIL_MAX_FRAME is oversize");
    }
    /* all non-zero payload: long 0xFF blocks */
    for (i = 0; i < plen; i++)
        data[i] = (uint8_t)(1 + i % 255);
    m.u.ping.len = (uint32_t)plen;
    n = rhil_encode(&m, 2, 0, wire, sizeof wire);
    CHECK(n > 0 && (size_t)n <= RHIL_ENCODED_MAX(plen + 12u), "non-zero max ping size %ld", n);
    rhil_decoder_init(&dec, RHIL_MAX_FRAME, RHIL_ROLE_DEVICE);
    run_stream(&dec, wire, (size_t)n, 0, &log, &reenc);
    CHECK(log.frames == 1 && reenc == n && memcmp(wire, wire2, (size_t)n) == 0, "non-zero max ping round trip");
}

/* ------------------------------------------------------------ validation & helpers */

static void test_validate(void)
{
    rhil_msg_t m;
    uint8_t nanbuf[4] = {0x00, 0x00, 0xC0, 0x7F};
    static const char s65[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    char s129[130];
    uint8_t out[64];

    memset(s129, 'A', 129);
    s129[129] = 0;
    build_msg(0, &m);
    m.u.hello.minVersion = 0;
    CHECK(rhil_encode(&m, 1, 0, wire, sizeof wire) == RHIL_E_INVALID, "encode rejects hello min 0");
    build_msg(7, &m);
    m.u.info.vendor = B(s65);
    CHECK(rhil_msg_validate(&m) == RHIL_E_INVALID, "validate rejects 65-byte vendor");
    build_msg(7, &m);
    m.u.info.maxFrame = 63;
    CHECK(rhil_msg_validate(&m) == RHIL_E_INVALID, "validate rejects maxFrame 63");
    build_msg(12, &m);
    m.u.error.text = B(s129);
    CHECK(rhil_msg_validate(&m) == RHIL_E_INVALID, "validate rejects 129-byte text");
    m.u.error.text.len = 128;
    CHECK(rhil_msg_validate(&m) == RHIL_OK, "validate accepts 128-byte text");
    build_msg(15, &m);
    m.u.process.format = RHIL_FMT_F32;
    m.u.process.channels = 1;
    m.u.process.samples = nanbuf;
    CHECK(rhil_msg_validate(&m) == RHIL_E_INVALID, "validate rejects NaN sample");
    build_msg(1, &m);
    m.u.configure.params[1].name = B("bad name");
    CHECK(rhil_msg_validate(&m) == RHIL_E_INVALID, "validate rejects name with space");
    m.u.configure.params[1].name = B("x");
    m.u.configure.count = 17;
    CHECK(rhil_msg_validate(&m) == RHIL_E_INVALID, "validate rejects 17 params");
    m.type = 0x42;
    CHECK(rhil_msg_validate(&m) == RHIL_E_INVALID, "validate rejects unknown type");
    CHECK(rhil_encode_raw(1, 0x42, 0, 1, NULL, 0, out, sizeof out) > 0, "encode_raw any type");

    /* sample conversion */
    rhil_sample_put(out, RHIL_FMT_U16, 0, 70000.0f);
    rhil_sample_put(out, RHIL_FMT_U16, 1, -3.0f);
    rhil_sample_put(out, RHIL_FMT_U16, 2, 2.5f);
    rhil_sample_put(out, RHIL_FMT_U16, 3, (float)NAN);
    CHECK(rhil_sample_get(out, RHIL_FMT_U16, 0) == 65535.0f && rhil_sample_get(out, RHIL_FMT_U16, 1) == 0.0f &&
              rhil_sample_get(out, RHIL_FMT_U16, 2) == 3.0f && rhil_sample_get(out, RHIL_FMT_U16, 3) == 0.0f,
          "u16 put saturates and rounds");
    rhil_sample_put(out, RHIL_FMT_I16, 0, 40000.0f);
    rhil_sample_put(out, RHIL_FMT_I16, 1, -40000.0f);
    rhil_sample_put(out, RHIL_FMT_I16, 2, -2.5f);
    rhil_sample_put(out, RHIL_FMT_I16, 3, -1.0f);
    CHECK(rhil_sample_get(out, RHIL_FMT_I16, 0) == 32767.0f && rhil_sample_get(out, RHIL_FMT_I16, 1) == -32768.0f &&
              rhil_sample_get(out, RHIL_FMT_I16, 2) == -3.0f && rhil_sample_get(out, RHIL_FMT_I16, 3) == -1.0f &&
              out[6] == 0xFF && out[7] == 0xFF,
          "i16 put saturates and rounds");
    rhil_sample_put(out, RHIL_FMT_F32, 0, -1.25f);
    CHECK(out[0] == 0x00 && out[1] == 0x00 && out[2] == 0xA0 && out[3] == 0xBF, "f32 little-endian");

    /* UTF-8 */
    CHECK(rhil_utf8_valid((const uint8_t *)"a\xc2\xb5\xe2\x82\xac\xf0\x9f\x98\x80", 10), "utf8 valid");
    CHECK(!rhil_utf8_valid((const uint8_t *)"\xc2", 1), "utf8 truncated");
    CHECK(!rhil_utf8_valid((const uint8_t *)"\xe0\x80\x80", 3), "utf8 overlong 3");
    CHECK(!rhil_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4), "utf8 above 10FFFF");
    CHECK(!rhil_utf8_valid((const uint8_t *)"\xed\xbf\xbf", 3), "utf8 surrogate");
    CHECK(!rhil_utf8_valid((const uint8_t *)"\x80", 1), "utf8 lone continuation");
    CHECK(!rhil_utf8_valid((const uint8_t *)"\xf5\x80\x80\x80", 4), "utf8 f5");
    CHECK(rhil_utf8_valid((const uint8_t *)"\xef\xbf\xbf\xf4\x8f\xbf\xbf", 7), "utf8 max code points");

    CHECK(strcmp(rhil_reason_name(RHIL_REJ_PAYLOAD), "payload") == 0 &&
              strcmp(rhil_reason_name(RHIL_REJ_OVERSIZE), "oversize") == 0,
          "reason names");
}

int main(void)
{
    test_crc();
    test_cobs();
    test_roundtrip();
    test_decode_fields();
    test_rejections();
    test_splits();
    test_large();
    test_validate();
    return t_summary(PROGRAM_NAME);
}
