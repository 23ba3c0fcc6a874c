/*
 * test_device.c - tests of the device dispatcher (rhil_device) against a mock board.
 * The test plays the host: it encodes requests into the board's input and decodes
 * the device's output with a host-role decoder.
 */
#include "../rhil_device.h"
#include "testutil.h"

#include <math.h>

#ifndef PROGRAM_NAME
#define PROGRAM_NAME "test_device"
#endif

/* ------------------------------------------------------------ mock board */

typedef struct {
    uint8_t in[1 << 16];
    size_t in_len, in_pos, read_max;
    uint8_t out[1 << 18];
    size_t out_len;
    int resets, process_calls, fault_at, overrun_at;
    float last_in[RHIL_DEV_MAX_CHANNELS];
    float out_value; /* added to every output */
    int configure_calls;
} board_t;

static board_t board;
static rhil_device_t dev;

static size_t b_read(void *ctx, uint8_t *buf, size_t cap)
{
    board_t *b = (board_t *)ctx;
    size_t n = b->in_len - b->in_pos;
    if (n > cap)
        n = cap;
    if (b->read_max && n > b->read_max)
        n = b->read_max;
    memcpy(buf, b->in + b->in_pos, n);
    b->in_pos += n;
    return n;
}

static void b_write(void *ctx, const uint8_t *data, size_t len)
{
    board_t *b = (board_t *)ctx;
    if (len > sizeof b->out - b->out_len) {
        printf("FAIL mock output overflow\n");
        exit(1);
    }
    memcpy(b->out + b->out_len, data, len);
    b->out_len += len;
}

/* out[k] = (k+1) * sum(in) + out_value */
static int b_process(void *ctx, const float *in, float *out)
{
    board_t *b = (board_t *)ctx;
    float s = 0;
    uint16_t k;
    b->process_calls++;
    for (k = 0; k < dev.cfg.inChannels; k++) {
        s += in[k];
        b->last_in[k] = in[k];
    }
    for (k = 0; k < dev.cfg.outChannels; k++)
        out[k] = (float)(k + 1) * s + b->out_value;
    if (b->fault_at && b->process_calls == b->fault_at)
        return -5;
    if (b->overrun_at && b->process_calls == b->overrun_at)
        return RHIL_STATUS_OVERRUN;
    return 0;
}

static void b_reset(void *ctx) { ((board_t *)ctx)->resets++; }
static float b_temp(void *ctx)
{
    (void)ctx;
    return 41.25f;
}

/* accepts "gain" (f64 in [0, 2], changes dynamics) and "led" (bool) */
static int b_configure(void *ctx, const rhil_configure_t *cfg, rhil_config_result_t *res)
{
    uint8_t i;
    ((board_t *)ctx)->configure_calls++;
    res->dynamics_changed = 0;
    for (i = 0; i < cfg->count; i++) {
        const rhil_param_t *p = &cfg->params[i];
        if (p->name.len == 4 && memcmp(p->name.ptr, "gain", 4) == 0 && p->type == RHIL_PARAM_F64 &&
            p->v.f >= 0 && p->v.f <= 2) {
            res->dynamics_changed = 1;
            continue;
        }
        if (p->name.len == 3 && memcmp(p->name.ptr, "led", 3) == 0 && p->type == RHIL_PARAM_BOOL)
            continue;
        res->detail = i;
        res->text = "unknown parameter, wrong type or out of range";
        return RHIL_ERR_BAD_PARAM;
    }
    return 0;
}

static rhil_device_config_t base_cfg(void)
{
    rhil_device_config_t c;
    memset(&c, 0, sizeof c);
    c.inFormat = RHIL_FMT_F32;
    c.outFormat = RHIL_FMT_F32;
    c.inChannels = 2;
    c.outChannels = 3;
    c.credits = 1;
    c.maxFrame = 1024;
    c.samplePeriodNs = 10000;
    c.capabilities = RHIL_CAP_PERSISTENT_BOOT_COUNT;
    c.inMin = -1;
    c.inMax = 1;
    c.outMin = -10;
    c.outMax = 10;
    c.vendor = "reservoir-hil";
    c.model = "mock";
    c.serial = "0001";
    c.firmware = "test";
    c.bootCount = 7;
    c.epoch = 1000;
    c.bootReason = RHIL_BOOT_WATCHDOG;
    return c;
}

static rhil_device_hooks_t base_hooks(void)
{
    rhil_device_hooks_t h;
    memset(&h, 0, sizeof h);
    h.read = b_read;
    h.write = b_write;
    h.process = b_process;
    h.reset = b_reset;
    return h;
}

/* ------------------------------------------------------------ host side */

#define MAX_REPLIES 64
typedef struct {
    uint8_t frame[1100];
    uint32_t len;
    uint16_t seq;
    uint8_t flags, type;
    rhil_msg_t m; /* points into frame */
} reply_t;

static reply_t replies[MAX_REPLIES];
static int nreplies, host_rejects;
static rhil_decoder_t hostdec;
static uint8_t wire[4096];

static void setup(const rhil_device_config_t *c, const rhil_device_hooks_t *h)
{
    memset(&board, 0, sizeof board);
    CHECK(rhil_device_init(&dev, c, h, &board) == RHIL_OK, "device init");
    rhil_decoder_init(&hostdec, RHIL_MAX_FRAME, RHIL_ROLE_HOST);
    rhil_device_start(&dev);
}

static void host_raw(const uint8_t *p, size_t n)
{
    memcpy(board.in + board.in_len, p, n);
    board.in_len += n;
}

static void host_send(const rhil_msg_t *m, uint16_t seq)
{
    long n = rhil_encode(m, seq, 0, wire, sizeof wire);
    if (n < 0) {
        CHECK(0, "host encode failed (%ld) for type %02x", n, m->type);
        return;
    }
    host_raw(wire, (size_t)n);
}

static void host_send_raw(uint8_t version, uint8_t type, uint16_t seq, const uint8_t *payload, size_t len)
{
    long n = rhil_encode_raw(version, type, 0, seq, payload, len, wire, sizeof wire);
    host_raw(wire, (size_t)n);
}

/* run the device until idle, then decode everything it wrote */
static void exchange(void)
{
    size_t off = 0;
    int guard = 0;
    while (rhil_device_poll(&dev) && guard < 100000)
        guard++;
    CHECK(board.in_pos == board.in_len, "device consumed all input");
    nreplies = 0;
    host_rejects = 0;
    while (off < board.out_len) {
        rhil_event_t ev;
        rhil_msg_t m;
        off += rhil_decoder_feed(&hostdec, board.out + off, board.out_len - off, &ev, &m);
        if (ev.kind == RHIL_EV_REJECT)
            host_rejects++;
        if (ev.kind == RHIL_EV_FRAME && nreplies < MAX_REPLIES) {
            reply_t *r = &replies[nreplies++];
            memcpy(r->frame, ev.frame, ev.frame_len);
            r->len = ev.frame_len;
            r->seq = ev.seq;
            r->flags = ev.flags;
            r->type = ev.type;
            rhil_parse_payload(ev.type, r->frame + 8, r->len - 12, &r->m);
        }
    }
    board.out_len = 0;
    board.in_len = board.in_pos = 0;
}

static int is_reply(int i, uint8_t type, uint16_t seq)
{
    return i < nreplies && replies[i].type == type && replies[i].seq == seq &&
           (replies[i].flags & RHIL_FLAG_RESPONSE) != 0;
}

static int is_error(int i, uint16_t seq, uint8_t ref_type, uint16_t code, uint32_t detail)
{
    const rhil_error_t *e;
    if (!is_reply(i, RHIL_T_ERROR, seq))
        return 0;
    e = &replies[i].m.u.error;
    return e->code == code && e->refSeq == seq && e->refType == ref_type && e->detail == detail;
}

static uint8_t samples[4096];

static void send_process(uint16_t seq, uint32_t batch, uint16_t count, uint16_t channels, uint8_t format,
                         const float *values)
{
    rhil_msg_t m;
    uint32_t i;
    for (i = 0; i < (uint32_t)count * channels; i++)
        rhil_sample_put(samples, format, i, values ? values[i] : 0.25f);
    m.type = RHIL_T_PROCESS;
    m.u.process.batchId = batch;
    m.u.process.count = count;
    m.u.process.channels = channels;
    m.u.process.format = format;
    m.u.process.samples = samples;
    host_send(&m, seq);
}

static void send_simple(uint8_t type, uint16_t seq)
{
    rhil_msg_t m;
    m.type = type;
    m.u.ping.ptr = NULL;
    m.u.ping.len = 0;
    host_send(&m, seq);
}

static void send_hello(uint16_t seq, uint8_t lo, uint8_t hi)
{
    rhil_msg_t m;
    m.type = RHIL_T_HELLO;
    m.u.hello.minVersion = lo;
    m.u.hello.maxVersion = hi;
    host_send(&m, seq);
}

static uint32_t result_epoch(int i) { return replies[i].m.u.result.epoch; }

/* ------------------------------------------------------------ tests */

static void test_boot_hello(void)
{
    rhil_device_config_t c = base_cfg();
    rhil_device_hooks_t h = base_hooks();
    const rhil_info_t *info;

    c.leadingZero = 1;
    setup(&c, &h);
    CHECK(board.out_len > 0 && board.out[0] == 0x00, "leading zero before BOOT");
    exchange();
    CHECK(host_rejects == 1 && nreplies == 1 && replies[0].type == RHIL_T_BOOT && replies[0].seq == 0 &&
              replies[0].flags == 0,
          "BOOT first, unsolicited (seq 0, RESPONSE clear)");
    CHECK(replies[0].m.u.boot.bootCount == 7 && replies[0].m.u.boot.epoch == 1000 &&
              replies[0].m.u.boot.reason == RHIL_BOOT_WATCHDOG,
          "BOOT fields");

    send_hello(1, 1, 1);
    exchange();
    CHECK(nreplies == 1 && is_reply(0, RHIL_T_INFO, 1), "HELLO -> INFO");
    info = &replies[0].m.u.info;
    CHECK(info->protocolVersion == 1 && info->inFormat == RHIL_FMT_F32 && info->outFormat == RHIL_FMT_F32 &&
              info->credits == 1 && info->inChannels == 2 && info->outChannels == 3 && info->maxFrame == 1024 &&
              info->samplePeriodNs == 10000 && info->inMin == -1 && info->inMax == 1 && info->outMin == -10 &&
              info->outMax == 10,
          "INFO fields");
    /* (1024-12-9)/8 = 125 drives, (1024-12-23)/12 = 82 responses */
    CHECK(info->maxBatch == 82, "INFO maxBatch %u", info->maxBatch);
    CHECK(info->capabilities == RHIL_CAP_PERSISTENT_BOOT_COUNT, "INFO capabilities %lx",
          (unsigned long)info->capabilities);
    CHECK(info->vendor.len == 13 && memcmp(info->vendor.ptr, "reservoir-hil", 13) == 0 && info->model.len == 4,
          "INFO strings");

    send_hello(2, 1, 5);
    send_hello(3, 2, 3);
    exchange();
    CHECK(nreplies == 2 && is_reply(0, RHIL_T_INFO, 2), "HELLO 1..5 -> INFO");
    CHECK(is_error(1, 3, RHIL_T_HELLO, RHIL_ERR_UNSUPPORTED_VERSION, 0x0101),
          "HELLO 2..3 -> ERROR UNSUPPORTED_VERSION detail 0x0101");
}

static void test_process(void)
{
    rhil_device_config_t c = base_cfg();
    rhil_device_hooks_t h = base_hooks();
    float in[6] = {0.25f, 0.5f, -0.5f, 0.125f, 0.0f, 0.0f};
    const rhil_result_t *r;
    uint64_t ts0;

    setup(&c, &h);
    exchange(); /* BOOT */
    send_process(10, 500, 2, 2, RHIL_FMT_F32, in);
    exchange();
    CHECK(nreplies == 1 && is_reply(0, RHIL_T_RESULT, 10), "PROCESS -> RESULT");
    r = &replies[0].m.u.result;
    CHECK(r->batchId == 500 && r->epoch == 1000 && r->count == 2 && r->channels == 3 && r->format == RHIL_FMT_F32 &&
              r->status == 0,
          "RESULT header (epoch %lu status %u)", (unsigned long)r->epoch, r->status);
    CHECK(rhil_sample_get(r->samples, RHIL_FMT_F32, 0) == 0.75f && rhil_sample_get(r->samples, RHIL_FMT_F32, 2) == 2.25f &&
              rhil_sample_get(r->samples, RHIL_FMT_F32, 3) == -0.375f &&
              rhil_sample_get(r->samples, RHIL_FMT_F32, 5) == -1.125f,
          "RESULT samples");
    ts0 = r->timestampUs;

    /* clipping and saturation */
    in[0] = 1.5f;
    in[1] = 1.0f;
    board.out_value = 0;
    send_process(11, 501, 1, 2, RHIL_FMT_F32, in);
    exchange();
    r = &replies[0].m.u.result;
    CHECK(nreplies == 1 && is_reply(0, RHIL_T_RESULT, 11) && board.last_in[0] == 1.0f, "input clipped to inMax");
    CHECK(r->status == RHIL_STATUS_INPUT_CLIPPED, "INPUT_CLIPPED status %u", r->status);
    CHECK(r->timestampUs == ts0 + 20, "virtual clock advanced by 2 x 10 us (%llu -> %llu)",
          (unsigned long long)ts0, (unsigned long long)r->timestampUs);
    in[0] = 0.5f;
    in[1] = 1.0f;
    send_process(12, 502, 1, 2, RHIL_FMT_F32, in);
    exchange();
    r = &replies[0].m.u.result;
    CHECK(r->status == 0 && rhil_sample_get(r->samples, RHIL_FMT_F32, 2) == 4.5f,
          "no saturation below the limit (status %u)", r->status);
    board.out_value = 6.0f; /* 1.5*3 + 6 = 10.5 > outMax */
    send_process(13, 503, 1, 2, RHIL_FMT_F32, in);
    exchange();
    r = &replies[0].m.u.result;
    CHECK(r->status == RHIL_STATUS_OUTPUT_SATURATED && rhil_sample_get(r->samples, RHIL_FMT_F32, 2) == 10.0f,
          "OUTPUT_SATURATED and clamped to outMax");
    board.out_value = 0;
    board.overrun_at = board.process_calls + 1;
    send_process(14, 504, 1, 2, RHIL_FMT_F32, NULL);
    exchange();
    CHECK(replies[0].m.u.result.status == RHIL_STATUS_OVERRUN, "OVERRUN from the process hook");

    /* maximal batch */
    send_process(15, 505, 82, 2, RHIL_FMT_F32, NULL);
    exchange();
    CHECK(nreplies == 1 && is_reply(0, RHIL_T_RESULT, 15) && replies[0].m.u.result.count == 82 &&
              replies[0].len <= 1024,
          "maxBatch PROCESS -> RESULT within maxFrame (%lu bytes)", (unsigned long)replies[0].len);
}

static void test_process_errors(void)
{
    rhil_device_config_t c = base_cfg();
    rhil_device_hooks_t h = base_hooks();
    rhil_status_t st;
    float nan_in[2];

    c.credits = 4; /* the host may have several PROCESS in flight */
    setup(&c, &h);
    exchange();
    send_process(1, 1, 1, 2, RHIL_FMT_F32, NULL);
    send_process(2, 2, 1, 3, RHIL_FMT_F32, NULL); /* wrong channels */
    send_process(3, 3, 1, 2, RHIL_FMT_F32, NULL);
    exchange();
    CHECK(nreplies == 3 && is_reply(0, RHIL_T_RESULT, 1) && result_epoch(0) == 1000, "RESULT before BAD_SHAPE");
    CHECK(is_error(1, 2, RHIL_T_PROCESS, RHIL_ERR_BAD_SHAPE, 2u | (RHIL_FMT_F32 << 16)), "BAD_SHAPE (channels)");
    CHECK(is_reply(2, RHIL_T_RESULT, 3) && result_epoch(2) == 1001, "epoch +1 after BAD_SHAPE (%lu)",
          (unsigned long)result_epoch(2));

    send_process(4, 4, 1, 2, RHIL_FMT_U16, NULL); /* wrong format */
    send_process(5, 5, 83, 2, RHIL_FMT_F32, NULL); /* above maxBatch 82 */
    send_process(6, 6, 1, 2, RHIL_FMT_F32, NULL);
    exchange();
    CHECK(nreplies == 3 && is_error(0, 4, RHIL_T_PROCESS, RHIL_ERR_BAD_SHAPE, 2u | (RHIL_FMT_F32 << 16)),
          "BAD_SHAPE (format)");
    CHECK(is_error(1, 5, RHIL_T_PROCESS, RHIL_ERR_TOO_LARGE, 82), "TOO_LARGE detail maxBatch");
    CHECK(is_reply(2, RHIL_T_RESULT, 6) && result_epoch(2) == 1003, "epoch +2 after BAD_SHAPE and TOO_LARGE");

    /* credits = 1: a second PROCESS in the same read gets NO_CREDIT */
    dev.cfg.credits = 1;
    send_process(7, 7, 1, 2, RHIL_FMT_F32, NULL);
    send_process(8, 8, 1, 2, RHIL_FMT_F32, NULL);
    send_process(9, 9, 1, 2, RHIL_FMT_F32, NULL);
    exchange();
    CHECK(nreplies == 3 && is_reply(0, RHIL_T_RESULT, 7) && result_epoch(0) == 1003, "first PROCESS runs");
    CHECK(is_error(1, 8, RHIL_T_PROCESS, RHIL_ERR_NO_CREDIT, 1), "NO_CREDIT detail credits");
    CHECK(is_error(2, 9, RHIL_T_PROCESS, RHIL_ERR_NO_CREDIT, 1), "NO_CREDIT again while in flight");
    send_process(10, 10, 1, 2, RHIL_FMT_F32, NULL);
    exchange();
    CHECK(nreplies == 1 && is_reply(0, RHIL_T_RESULT, 10) && result_epoch(0) == 1005, "epoch +2 after two NO_CREDIT");

    dev.cfg.credits = 4;
    /* payload rejection of a PROCESS also answers ERROR and breaks the epoch */
    nan_in[0] = (float)NAN;
    nan_in[1] = 0;
    rhil_sample_put(samples, RHIL_FMT_F32, 0, nan_in[0]);
    rhil_sample_put(samples, RHIL_FMT_F32, 1, 0);
    {
        uint8_t pay[17] = {11, 0, 0, 0, 1, 0, 2, 0, RHIL_FMT_F32};
        memcpy(pay + 9, samples, 8);
        host_send_raw(1, RHIL_T_PROCESS, 11, pay, sizeof pay);
    }
    send_process(12, 12, 1, 2, RHIL_FMT_F32, NULL);
    exchange();
    CHECK(nreplies == 2 && is_error(0, 11, RHIL_T_PROCESS, RHIL_ERR_BAD_PAYLOAD, 0), "NaN sample -> BAD_PAYLOAD");
    CHECK(is_reply(1, RHIL_T_RESULT, 12) && result_epoch(1) == 1006, "epoch +1 after BAD_PAYLOAD on PROCESS");

    /* device fault */
    board.fault_at = board.process_calls + 2;
    send_process(13, 13, 3, 2, RHIL_FMT_F32, NULL);
    send_process(14, 14, 1, 2, RHIL_FMT_F32, NULL);
    exchange();
    CHECK(nreplies == 2 && is_error(0, 13, RHIL_T_PROCESS, RHIL_ERR_DEVICE_FAULT, 5), "DEVICE_FAULT detail 5");
    CHECK(result_epoch(1) == 1007, "epoch +1 after DEVICE_FAULT");
    rhil_device_status(&dev, &st);
    CHECK(st.droppedBatches == 7 && st.epoch == 1007, "droppedBatches %lu epoch %lu", (unsigned long)st.droppedBatches,
          (unsigned long)st.epoch);
}

static void test_credits2(void)
{
    rhil_device_config_t c = base_cfg();
    rhil_device_hooks_t h = base_hooks();
    c.credits = 2;
    setup(&c, &h);
    exchange();
    send_process(1, 1, 1, 2, RHIL_FMT_F32, NULL);
    send_process(2, 2, 1, 2, RHIL_FMT_F32, NULL);
    send_simple(RHIL_T_GET_STATUS, 3);
    send_process(4, 3, 1, 2, RHIL_FMT_F32, NULL);
    exchange();
    CHECK(nreplies == 4 && is_reply(0, RHIL_T_RESULT, 1) && is_reply(1, RHIL_T_RESULT, 2) &&
              is_reply(2, RHIL_T_STATUS, 3),
          "credits 2: two PROCESS and a control request queue");
    if (RHIL_DEV_SLOTS >= 3)
        CHECK(is_error(3, 4, RHIL_T_PROCESS, RHIL_ERR_NO_CREDIT, 2), "third PROCESS in flight -> NO_CREDIT");
    else
        CHECK(is_reply(3, RHIL_T_RESULT, 4) || is_error(3, 4, RHIL_T_PROCESS, RHIL_ERR_NO_CREDIT, 2),
              "third PROCESS answered");
}

static void test_control(void)
{
    rhil_device_config_t c = base_cfg();
    rhil_device_hooks_t h = base_hooks();
    rhil_msg_t m;
    static const uint8_t data[] = {0x00, 0x01, 0x02, 0x00, 0xFF};
    const rhil_status_t *st;

    setup(&c, &h);
    exchange();
    send_simple(RHIL_T_RESET_STATE, 100);
    exchange();
    CHECK(nreplies == 1 && is_reply(0, RHIL_T_ACK, 100) && replies[0].m.u.ack.ackedType == RHIL_T_RESET_STATE &&
              replies[0].m.u.ack.epoch == 1001 && board.resets == 1,
          "RESET_STATE -> ACK with the new epoch");

    m.type = RHIL_T_PING;
    m.u.ping.ptr = data;
    m.u.ping.len = sizeof data;
    host_send(&m, 101);
    send_simple(RHIL_T_PING, 102);
    exchange();
    CHECK(nreplies == 2 && is_reply(0, RHIL_T_PONG, 101) && replies[0].m.u.ping.len == 5 &&
              memcmp(replies[0].m.u.ping.ptr, data, 5) == 0,
          "PING -> PONG with the same data");
    CHECK(is_reply(1, RHIL_T_PONG, 102) && replies[1].m.u.ping.len == 0, "empty PING -> empty PONG");

    /* CONFIGURE without a hook */
    m.type = RHIL_T_CONFIGURE;
    m.u.configure.count = 0;
    host_send(&m, 103);
    exchange();
    CHECK(nreplies == 1 && is_error(0, 103, RHIL_T_CONFIGURE, RHIL_ERR_NOT_SUPPORTED, 0),
          "CONFIGURE without the capability -> NOT_SUPPORTED");

    /* rejected frames: crc, length, garbage (no reply); version, type, payload (ERROR) */
    {
        uint8_t bad[64], f[64];
        long n = rhil_encode_raw(1, RHIL_T_PING, 0, 104, (const uint8_t *)"ab", 2, bad, sizeof bad);
        long fn = rhil_cobs_decode(bad, (size_t)n - 1, f, sizeof f);
        f[8] ^= 0x01; /* payload byte: CRC fails */
        n = rhil_cobs_encode(f, (size_t)fn, bad, sizeof bad);
        bad[n] = 0;
        host_raw(bad, (size_t)n + 1);
        host_raw((const uint8_t *)"\x05\x11\x22\x00", 4); /* cobs */
        host_raw((const uint8_t *)"\x00", 1);              /* empty: not counted */
        host_raw((const uint8_t *)"\x03\x01\x02\x00", 4); /* short */
    }
    {
        uint8_t f[16] = {1, RHIL_T_PING, 0, 0, 105, 0, 3, 0, 0xAB}, enc[32];
        uint32_t crc = rhil_crc32c(f, 9);
        long n;
        f[9] = (uint8_t)crc;
        f[10] = (uint8_t)(crc >> 8);
        f[11] = (uint8_t)(crc >> 16);
        f[12] = (uint8_t)(crc >> 24);
        n = rhil_cobs_encode(f, 13, enc, sizeof enc);
        enc[n] = 0;
        host_raw(enc, (size_t)n + 1); /* length says 3, payload is 1 */
    }
    host_send_raw(2, RHIL_T_PING, 106, NULL, 0);
    host_send_raw(1, 0x7F, 107, NULL, 0);
    host_send_raw(1, RHIL_T_INFO, 108, NULL, 0);
    host_send_raw(1, RHIL_T_HELLO, 109, (const uint8_t *)"\x00\x01", 2);
    send_simple(RHIL_T_GET_STATUS, 110);
    exchange();
    CHECK(nreplies == 5, "5 replies to 10 frames (%d)", nreplies);
    CHECK(is_error(0, 106, RHIL_T_PING, RHIL_ERR_UNSUPPORTED_VERSION, 0x0101), "version 2 -> UNSUPPORTED_VERSION");
    CHECK(is_error(1, 107, 0x7F, RHIL_ERR_UNKNOWN_TYPE, 0x7F), "type 0x7F -> UNKNOWN_TYPE");
    CHECK(is_error(2, 108, RHIL_T_INFO, RHIL_ERR_UNKNOWN_TYPE, RHIL_T_INFO), "INFO to device -> UNKNOWN_TYPE");
    CHECK(is_error(3, 109, RHIL_T_HELLO, RHIL_ERR_BAD_PAYLOAD, 0), "HELLO min 0 -> BAD_PAYLOAD");
    CHECK(is_reply(4, RHIL_T_STATUS, 110), "GET_STATUS -> STATUS");
    st = &replies[4].m.u.status;
    /* ok so far: RESET, PING, PING, CONFIGURE, GET_STATUS = 5 */
    CHECK(st->framesOk == 5 && st->crcErrors == 1 && st->framingErrors == 3 && st->rejected == 4 &&
              st->droppedBatches == 0 && st->epoch == 1001 && st->bootCount == 7,
          "STATUS counters ok=%lu crc=%lu framing=%lu rejected=%lu", (unsigned long)st->framesOk,
          (unsigned long)st->crcErrors, (unsigned long)st->framingErrors, (unsigned long)st->rejected);
    CHECK(st->temperatureC != st->temperatureC, "no temperature hook -> NaN");
}

static void test_configure_temp(void)
{
    rhil_device_config_t c = base_cfg();
    rhil_device_hooks_t h = base_hooks();
    rhil_msg_t m;
    h.configure = b_configure;
    h.temperature = b_temp;
    setup(&c, &h);
    exchange();
    send_hello(1, 1, 1);
    exchange();
    CHECK(replies[0].m.u.info.capabilities ==
              (RHIL_CAP_PERSISTENT_BOOT_COUNT | RHIL_CAP_CONFIGURE | RHIL_CAP_TEMPERATURE),
          "capabilities follow the hooks");
    memset(&m, 0, sizeof m);
    m.type = RHIL_T_CONFIGURE;
    m.u.configure.count = 2;
    m.u.configure.params[0].name.ptr = (const uint8_t *)"led";
    m.u.configure.params[0].name.len = 3;
    m.u.configure.params[0].type = RHIL_PARAM_BOOL;
    m.u.configure.params[0].v.b = 1;
    m.u.configure.params[1].name.ptr = (const uint8_t *)"gain";
    m.u.configure.params[1].name.len = 4;
    m.u.configure.params[1].type = RHIL_PARAM_F64;
    m.u.configure.params[1].v.f = 1.5;
    host_send(&m, 2);
    m.u.configure.count = 1; /* led only: no dynamics change */
    host_send(&m, 3);
    m.u.configure.params[1].v.f = 2.5;
    m.u.configure.count = 2;
    host_send(&m, 4);
    send_simple(RHIL_T_GET_STATUS, 5);
    exchange();
    CHECK(nreplies == 4 && is_reply(0, RHIL_T_ACK, 2) && replies[0].m.u.ack.epoch == 1001 &&
              replies[0].m.u.ack.ackedType == RHIL_T_CONFIGURE,
          "CONFIGURE changing dynamics -> ACK epoch+1");
    CHECK(is_reply(1, RHIL_T_ACK, 3) && replies[1].m.u.ack.epoch == 1001, "CONFIGURE without dynamics -> same epoch");
    CHECK(is_error(2, 4, RHIL_T_CONFIGURE, RHIL_ERR_BAD_PARAM, 1) && replies[2].m.u.error.text.len > 0,
          "out-of-range parameter -> BAD_PARAM detail 1 with text");
    CHECK(is_reply(3, RHIL_T_STATUS, 5) && replies[3].m.u.status.temperatureC == 41.25f &&
              replies[3].m.u.status.epoch == 1001,
          "temperature from the hook");
}

static void test_stream(void)
{
    rhil_device_config_t c = base_cfg();
    rhil_device_hooks_t h = base_hooks();
    uint8_t g[300];
    int i, ok;
    uint32_t rng = 5;

    c.credits = 200; /* more than the queue holds: exercises backpressure */
    setup(&c, &h);
    exchange();
    /* garbage, then a delimiter, then a valid frame */
    for (i = 0; i < 300; i++) {
        rng = rng * 1664525u + 1013904223u;
        g[i] = (uint8_t)((rng >> 24) | 1);
    }
    host_raw(g, sizeof g);
    host_raw((const uint8_t *)"\x00", 1);
    send_hello(1, 1, 1);
    exchange();
    CHECK(nreplies == 1 && is_reply(0, RHIL_T_INFO, 1), "garbage then HELLO -> INFO only");

    /* many requests in one read, replies in order (exercises the full queue) */
    for (i = 0; i < 40; i++) {
        if (i % 4 == 1)
            send_process((uint16_t)(200 + i), (uint32_t)i, 2, 2, RHIL_FMT_F32, NULL);
        else
            send_simple(i % 4 == 3 ? RHIL_T_GET_STATUS : RHIL_T_PING, (uint16_t)(200 + i));
    }
    exchange();
    ok = nreplies == 40;
    for (i = 0; ok && i < 40; i++)
        ok = replies[i].seq == 200 + i &&
             replies[i].type == (i % 4 == 1 ? RHIL_T_RESULT : i % 4 == 3 ? RHIL_T_STATUS : RHIL_T_PONG);
    CHECK(ok, "40 mixed requests in one read -> 40 replies in order (%d)", nreplies);

    /* the same, one byte per read */
    board.read_max = 1;
    for (i = 0; i < 12; i++)
        send_process((uint16_t)(300 + i), (uint32_t)i, 1, 2, RHIL_FMT_F32, NULL);
    board.read_max = 1;
    exchange();
    ok = nreplies == 12;
    for (i = 0; ok && i < 12; i++)
        ok = is_reply(i, RHIL_T_RESULT, (uint16_t)(300 + i));
    CHECK(ok, "one byte per read: 12 RESULTs (%d)", nreplies);

    /* a PROCESS split across polls */
    board.read_max = 0;
    send_process(400, 1, 2, 2, RHIL_FMT_F32, NULL);
    board.in_len -= 5;
    while (rhil_device_poll(&dev)) {
    }
    CHECK(board.out_len == 0, "partial frame: no reply yet");
    board.in_len += 5;
    exchange();
    CHECK(nreplies == 1 && is_reply(0, RHIL_T_RESULT, 400), "rest of the frame -> RESULT");
}

static void test_u16(void)
{
    rhil_device_config_t c = base_cfg();
    rhil_device_hooks_t h = base_hooks();
    float in[4] = {100, 5000, 4095, 0};
    const rhil_result_t *r;
    c.inFormat = RHIL_FMT_U16;
    c.outFormat = RHIL_FMT_I16;
    c.inMin = 0;
    c.inMax = 4095;
    c.outMin = -32768;
    c.outMax = 32767;
    setup(&c, &h);
    exchange();
    send_process(1, 9, 2, 2, RHIL_FMT_U16, in);
    exchange();
    r = &replies[0].m.u.result;
    CHECK(nreplies == 1 && is_reply(0, RHIL_T_RESULT, 1) && r->format == RHIL_FMT_I16 &&
              r->status == RHIL_STATUS_INPUT_CLIPPED,
          "u16 in, i16 out: 5000 clipped to 4095 (status %u)", r->status);
    CHECK(rhil_sample_get(r->samples, RHIL_FMT_I16, 0) == 4195.0f && rhil_sample_get(r->samples, RHIL_FMT_I16, 3) == 4095.0f &&
              rhil_sample_get(r->samples, RHIL_FMT_I16, 2) == 12585.0f,
          "i16 output values");
    board.out_value = 0.4f - 20000.0f; /* -15804.6 .. -7414.6: rounding to nearest */
    in[1] = 100;
    send_process(2, 10, 2, 2, RHIL_FMT_U16, in);
    exchange();
    r = &replies[0].m.u.result;
    CHECK(r->status == 0 && rhil_sample_get(r->samples, RHIL_FMT_I16, 0) == -19800.0f, "i16 rounding (%g)",
          (double)rhil_sample_get(r->samples, RHIL_FMT_I16, 0));
    board.out_value = 32500.0f; /* 3 * 200 + 32500 > 32767 */
    send_process(3, 11, 1, 2, RHIL_FMT_U16, in);
    exchange();
    r = &replies[0].m.u.result;
    CHECK(r->status == RHIL_STATUS_OUTPUT_SATURATED && rhil_sample_get(r->samples, RHIL_FMT_I16, 2) == 32767.0f,
          "i16 output saturated at outMax (status %u)", r->status);
}

static void test_init(void)
{
    rhil_device_config_t c;
    rhil_device_hooks_t h = base_hooks();
    static const char s65[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    c = base_cfg();
    c.inChannels = 0;
    CHECK(rhil_device_init(&dev, &c, &h, &board) == RHIL_E_INVALID, "init rejects 0 channels");
    c = base_cfg();
    c.maxFrame = 63;
    CHECK(rhil_device_init(&dev, &c, &h, &board) == RHIL_E_INVALID, "init rejects maxFrame 63");
    c = base_cfg();
    c.vendor = s65;
    CHECK(rhil_device_init(&dev, &c, &h, &board) == RHIL_E_INVALID, "init rejects a 65-byte vendor");
    c = base_cfg();
    c.maxFrame = 64; /* INFO with these strings is 12 + 40 + 4 + 29 = 85 bytes */
    CHECK(rhil_device_init(&dev, &c, &h, &board) == RHIL_E_INVALID, "init rejects an INFO above maxFrame");
    c.vendor = c.model = c.serial = c.firmware = NULL;
    c.inChannels = 1;
    c.outChannels = 1;
    CHECK(rhil_device_init(&dev, &c, &h, &board) == RHIL_OK && dev.maxBatch == 7,
          "maxFrame 64: maxBatch (64-35)/4 = 7 (%u)", dev.maxBatch);
    c = base_cfg();
    c.inMin = 1;
    CHECK(rhil_device_init(&dev, &c, &h, &board) == RHIL_E_INVALID, "init rejects inMin == inMax");
    c = base_cfg();
    c.maxBatch = 10;
    CHECK(rhil_device_init(&dev, &c, &h, &board) == RHIL_OK && dev.maxBatch == 10, "configured maxBatch");
    h.process = NULL;
    CHECK(rhil_device_init(&dev, &c, &h, &board) == RHIL_E_INVALID, "init needs a process hook");
}

int main(void)
{
    test_boot_hello();
    test_process();
    test_process_errors();
    test_credits2();
    test_control();
    test_configure_temp();
    test_stream();
    test_u16();
    test_init();
    return t_summary(PROGRAM_NAME);
}
