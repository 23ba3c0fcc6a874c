/*
 * rhil_device.c - device side of the reservoir-hil protocol v1 (C99).
 * See rhil_device.h and firmware-protocol/SPEC.md.
 */
#include "rhil_device.h"

#include <string.h>

#define ENT_FRAME 1u /* a request in a slot */
#define ENT_ERROR 2u /* an ERROR decided on receipt */

#define DEVICE_VERSIONS (RHIL_PROTOCOL_VERSION | (RHIL_PROTOCOL_VERSION << 8))

static rhil_bytes_t cstr(const char *s)
{
    rhil_bytes_t b;
    b.ptr = (const uint8_t *)s;
    b.len = s ? (uint32_t)strlen(s) : 0u;
    return b;
}

/* text of an ERROR: at most 128 bytes, cut at a character boundary, valid UTF-8 */
static rhil_bytes_t error_text(const char *s)
{
    rhil_bytes_t b = cstr(s);
    if (b.len > RHIL_MAX_ERROR_TEXT) {
        b.len = RHIL_MAX_ERROR_TEXT;
        while (b.len > 0 && (b.ptr[b.len] & 0xC0u) == 0x80u)
            b.len--;
    }
    if (!rhil_utf8_valid(b.ptr, b.len))
        b.len = 0;
    return b;
}

static uint64_t now_us(rhil_device_t *dev)
{
    if (dev->hooks.now_us)
        return dev->hooks.now_us(dev->ctx);
    return dev->virt_ns / 1000u;
}

void rhil_device_info(const rhil_device_t *dev, rhil_info_t *info)
{
    const rhil_device_config_t *c = &dev->cfg;
    info->protocolVersion = RHIL_PROTOCOL_VERSION;
    info->inFormat = c->inFormat;
    info->outFormat = c->outFormat;
    info->credits = c->credits;
    info->inChannels = c->inChannels;
    info->outChannels = c->outChannels;
    info->maxBatch = dev->maxBatch;
    info->reserved = 0;
    info->maxFrame = c->maxFrame;
    info->samplePeriodNs = c->samplePeriodNs;
    info->capabilities = dev->capabilities;
    info->inMin = c->inMin;
    info->inMax = c->inMax;
    info->outMin = c->outMin;
    info->outMax = c->outMax;
    info->vendor = cstr(c->vendor);
    info->model = cstr(c->model);
    info->serial = cstr(c->serial);
    info->firmware = cstr(c->firmware);
}

void rhil_device_status(rhil_device_t *dev, rhil_status_t *st)
{
    const uint32_t *r = dev->dec.rejects;
    st->framesOk = dev->dec.frames_ok;
    st->crcErrors = r[RHIL_REJ_CRC];
    st->framingErrors = r[RHIL_REJ_OVERSIZE] + r[RHIL_REJ_COBS] + r[RHIL_REJ_SHORT] + r[RHIL_REJ_LENGTH];
    st->rejected = r[RHIL_REJ_VERSION] + r[RHIL_REJ_TYPE] + r[RHIL_REJ_PAYLOAD];
    st->droppedBatches = dev->droppedBatches;
    st->epoch = dev->epoch;
    st->bootCount = dev->cfg.bootCount;
    st->uptimeUs = now_us(dev);
    if (dev->hooks.temperature) {
        st->temperatureC = dev->hooks.temperature(dev->ctx);
    } else {
        uint32_t nan_bits = 0x7FC00000ul;
        memcpy(&st->temperatureC, &nan_bits, 4);
    }
}

int rhil_device_init(rhil_device_t *dev, const rhil_device_config_t *cfg,
                     const rhil_device_hooks_t *hooks, void *ctx)
{
    const rhil_device_config_t *c = cfg;
    unsigned in_size = rhil_format_size(c->inFormat), out_size = rhil_format_size(c->outFormat);
    uint32_t fit_in, fit_out, mb;
    rhil_msg_t m;
    int i;

    if (!hooks || !hooks->read || !hooks->write || !hooks->process)
        return RHIL_E_INVALID;
    if (in_size == 0 || out_size == 0)
        return RHIL_E_INVALID;
    if (c->inChannels < 1 || c->inChannels > RHIL_DEV_MAX_CHANNELS || c->outChannels < 1 ||
        c->outChannels > RHIL_DEV_MAX_CHANNELS)
        return RHIL_E_INVALID;
    if (c->credits < 1)
        return RHIL_E_INVALID;
    if (c->maxFrame < RHIL_MIN_INFO_MAX_FRAME || c->maxFrame > (uint32_t)RHIL_MAX_FRAME)
        return RHIL_E_INVALID;

    fit_in = (c->maxFrame - RHIL_FRAME_OVERHEAD - 9u) / (in_size * c->inChannels);
    fit_out = (c->maxFrame - RHIL_FRAME_OVERHEAD - 23u) / (out_size * c->outChannels);
    mb = fit_in < fit_out ? fit_in : fit_out;
    if (mb > 65535u)
        mb = 65535u;
    if (c->maxBatch != 0 && c->maxBatch < mb)
        mb = c->maxBatch;
    if (mb < 1)
        return RHIL_E_INVALID;

    memset(dev, 0, sizeof *dev);
    dev->cfg = *cfg;
    dev->hooks = *hooks;
    dev->ctx = ctx;
    dev->maxBatch = (uint16_t)mb;
    dev->capabilities = c->capabilities & ~(uint32_t)(RHIL_CAP_TEMPERATURE | RHIL_CAP_CONFIGURE);
    if (hooks->temperature)
        dev->capabilities |= RHIL_CAP_TEMPERATURE;
    if (hooks->configure)
        dev->capabilities |= RHIL_CAP_CONFIGURE;
    dev->epoch = c->epoch;

    /* INFO must satisfy every limit and fit in maxFrame */
    m.type = RHIL_T_INFO;
    rhil_device_info(dev, &m.u.info);
    {
        long n = rhil_payload_size(&m);
        if (n < 0 || (uint32_t)n + RHIL_FRAME_OVERHEAD > c->maxFrame)
            return RHIL_E_INVALID;
    }

    rhil_decoder_init(&dev->dec, c->maxFrame, RHIL_ROLE_DEVICE);
    for (i = 0; i < RHIL_DEV_SLOTS; i++)
        dev->slot_used[i] = 0;
    return RHIL_OK;
}

/* ---------------------------------------------------------------- sending */

static void send_msg(rhil_device_t *dev, const rhil_msg_t *m, uint16_t seq, uint8_t flags)
{
    (void)rhil_encode_stream(m, seq, flags, &dev->writer, dev->hooks.write, dev->ctx);
}

static void send_error(rhil_device_t *dev, uint16_t seq, uint8_t type, uint16_t code,
                       uint32_t detail, const char *text)
{
    rhil_msg_t *m = &dev->msg;
    m->type = RHIL_T_ERROR;
    m->u.error.code = code;
    m->u.error.refSeq = seq;
    m->u.error.refType = type;
    m->u.error.detail = detail;
    m->u.error.text = error_text(text);
    send_msg(dev, m, seq, RHIL_FLAG_RESPONSE);
    if (type == RHIL_T_PROCESS) {
        /* SPEC 6: every PROCESS not processed breaks state continuity */
        dev->epoch++;
        dev->droppedBatches++;
    }
}

static void send_ack(rhil_device_t *dev, uint16_t seq, uint8_t type)
{
    rhil_msg_t *m = &dev->msg;
    m->type = RHIL_T_ACK;
    m->u.ack.ackedType = type;
    m->u.ack.epoch = dev->epoch;
    send_msg(dev, m, seq, RHIL_FLAG_RESPONSE);
}

void rhil_device_start(rhil_device_t *dev)
{
    rhil_msg_t *m = &dev->msg;
    if (dev->cfg.leadingZero) {
        static const uint8_t zero = 0;
        dev->hooks.write(dev->ctx, &zero, 1);
    }
    m->type = RHIL_T_BOOT;
    m->u.boot.bootCount = dev->cfg.bootCount;
    m->u.boot.epoch = dev->epoch;
    m->u.boot.reason = dev->cfg.bootReason;
    send_msg(dev, m, 0, 0);
}

/* ---------------------------------------------------------------- queue */

static int q_push(rhil_device_t *dev, const rhil_dev_entry_t *e)
{
    if (dev->q_count >= RHIL_DEV_QUEUE)
        return 0;
    dev->q[(dev->q_head + dev->q_count) % RHIL_DEV_QUEUE] = *e;
    dev->q_count++;
    if (e->type == RHIL_T_PROCESS)
        dev->pending_process++;
    return 1;
}

static int q_push_error(rhil_device_t *dev, const rhil_event_t *ev, uint16_t code, uint32_t detail)
{
    rhil_dev_entry_t e;
    e.kind = ENT_ERROR;
    e.type = ev->type;
    e.slot = 0;
    e.seq = ev->seq;
    e.code = code;
    e.detail = detail;
    return q_push(dev, &e);
}

static int q_push_frame(rhil_device_t *dev, const rhil_event_t *ev)
{
    rhil_dev_entry_t e;
    int s;
    if (dev->q_count >= RHIL_DEV_QUEUE)
        return 0;
    for (s = 0; s < RHIL_DEV_SLOTS; s++)
        if (!dev->slot_used[s])
            break;
    if (s == RHIL_DEV_SLOTS)
        return 0;
    memcpy(dev->slot[s], ev->frame, ev->frame_len);
    dev->slot_len[s] = ev->frame_len;
    dev->slot_used[s] = 1;
    e.kind = ENT_FRAME;
    e.type = ev->type;
    e.slot = (uint8_t)s;
    e.seq = ev->seq;
    e.code = 0;
    e.detail = 0;
    return q_push(dev, &e);
}

/* Decide what a decoder event becomes. Returns 0 if it cannot be queued yet. */
static int accept_event(rhil_device_t *dev, const rhil_event_t *ev)
{
    if (ev->kind == RHIL_EV_REJECT) {
        if (!ev->has_header)
            return 1; /* SPEC 2: no reply, the header cannot be trusted */
        switch (ev->reason) {
        case RHIL_REJ_VERSION:
            return q_push_error(dev, ev, RHIL_ERR_UNSUPPORTED_VERSION, DEVICE_VERSIONS);
        case RHIL_REJ_TYPE:
            return q_push_error(dev, ev, RHIL_ERR_UNKNOWN_TYPE, ev->type);
        case RHIL_REJ_PAYLOAD:
            return q_push_error(dev, ev, RHIL_ERR_BAD_PAYLOAD, 0);
        default:
            return 1; /* length: no reply */
        }
    }
    if (ev->kind != RHIL_EV_FRAME)
        return 1;
    if (ev->type == RHIL_T_PROCESS) {
        /* the frame passed rhil_frame_check: re-read the shape from its header */
        rhil_msg_t *m = &dev->msg;
        if (rhil_parse_payload(RHIL_T_PROCESS, ev->frame + RHIL_HEADER_SIZE,
                               ev->frame_len - RHIL_FRAME_OVERHEAD, m) != RHIL_OK)
            return q_push_error(dev, ev, RHIL_ERR_BAD_PAYLOAD, 0);
        if (dev->pending_process >= dev->cfg.credits)
            return q_push_error(dev, ev, RHIL_ERR_NO_CREDIT, dev->cfg.credits);
        if (m->u.process.channels != dev->cfg.inChannels || m->u.process.format != dev->cfg.inFormat)
            return q_push_error(dev, ev, RHIL_ERR_BAD_SHAPE,
                                (uint32_t)dev->cfg.inChannels | ((uint32_t)dev->cfg.inFormat << 16));
        if (m->u.process.count > dev->maxBatch)
            return q_push_error(dev, ev, RHIL_ERR_TOO_LARGE, dev->maxBatch);
    }
    return q_push_frame(dev, ev);
}

/* ---------------------------------------------------------------- execution */

static void do_process(rhil_device_t *dev, uint16_t seq)
{
    const rhil_device_config_t *c = &dev->cfg;
    const rhil_process_t p = dev->msg.u.process;
    rhil_msg_t *m = &dev->msg;
    uint16_t status = 0;
    uint64_t ts = now_us(dev);
    uint32_t v, k;

    for (v = 0; v < p.count; v++) {
        int r;
        for (k = 0; k < c->inChannels; k++) {
            float x = rhil_sample_get(p.samples, p.format, v * c->inChannels + k);
            if (x < c->inMin) {
                x = c->inMin;
                status |= RHIL_STATUS_INPUT_CLIPPED;
            } else if (x > c->inMax) {
                x = c->inMax;
                status |= RHIL_STATUS_INPUT_CLIPPED;
            }
            dev->vin[k] = x;
        }
        for (k = 0; k < c->outChannels; k++)
            dev->vout[k] = 0.0f;
        r = dev->hooks.process(dev->ctx, dev->vin, dev->vout);
        if (r < 0) {
            send_error(dev, seq, RHIL_T_PROCESS, RHIL_ERR_DEVICE_FAULT, (uint32_t)(-(long)r),
                       "device fault");
            return;
        }
        status |= (uint16_t)(r & RHIL_STATUS_OVERRUN);
        for (k = 0; k < c->outChannels; k++) {
            uint32_t idx = v * c->outChannels + k;
            float y = dev->vout[k], q;
            if (y != y)
                y = c->outMin; /* NaN: report the low limit, flagged below */
            if (y < c->outMin)
                y = c->outMin;
            else if (y > c->outMax)
                y = c->outMax;
            rhil_sample_put(dev->out, c->outFormat, idx, y);
            q = rhil_sample_get(dev->out, c->outFormat, idx);
            if (q <= c->outMin || q >= c->outMax)
                status |= RHIL_STATUS_OUTPUT_SATURATED;
        }
    }
    dev->virt_ns += (uint64_t)p.count * (c->samplePeriodNs ? c->samplePeriodNs : 1000u);

    m->type = RHIL_T_RESULT;
    m->u.result.batchId = p.batchId;
    m->u.result.epoch = dev->epoch;
    m->u.result.timestampUs = ts;
    m->u.result.status = status;
    m->u.result.count = p.count;
    m->u.result.channels = c->outChannels;
    m->u.result.format = c->outFormat;
    m->u.result.samples = dev->out;
    send_msg(dev, m, seq, RHIL_FLAG_RESPONSE);
}

static void do_frame(rhil_device_t *dev, const rhil_dev_entry_t *e)
{
    rhil_msg_t *m = &dev->msg;
    const uint8_t *f = dev->slot[e->slot];
    uint32_t flen = dev->slot_len[e->slot];

    if (rhil_parse_payload(e->type, f + RHIL_HEADER_SIZE, flen - RHIL_FRAME_OVERHEAD, m) != RHIL_OK) {
        send_error(dev, e->seq, e->type, RHIL_ERR_BAD_PAYLOAD, 0, "bad payload");
        return;
    }
    switch (e->type) {
    case RHIL_T_HELLO:
        if (m->u.hello.minVersion <= RHIL_PROTOCOL_VERSION &&
            RHIL_PROTOCOL_VERSION <= m->u.hello.maxVersion) {
            m->type = RHIL_T_INFO;
            rhil_device_info(dev, &m->u.info);
            send_msg(dev, m, e->seq, RHIL_FLAG_RESPONSE);
        } else {
            send_error(dev, e->seq, e->type, RHIL_ERR_UNSUPPORTED_VERSION, DEVICE_VERSIONS,
                       "this device speaks protocol version 1 only");
        }
        break;
    case RHIL_T_CONFIGURE:
        if (!dev->hooks.configure) {
            send_error(dev, e->seq, e->type, RHIL_ERR_NOT_SUPPORTED, 0,
                       "CONFIGURE is not supported");
        } else {
            rhil_config_result_t res;
            int r;
            res.detail = 0;
            res.text = NULL;
            res.dynamics_changed = 0;
            r = dev->hooks.configure(dev->ctx, &m->u.configure, &res);
            if (r != 0) {
                send_error(dev, e->seq, e->type, (uint16_t)r, res.detail,
                           res.text ? res.text : "parameter rejected");
            } else {
                if (res.dynamics_changed)
                    dev->epoch++;
                send_ack(dev, e->seq, e->type);
            }
        }
        break;
    case RHIL_T_PROCESS:
        do_process(dev, e->seq);
        break;
    case RHIL_T_RESET_STATE:
        if (dev->hooks.reset)
            dev->hooks.reset(dev->ctx);
        dev->epoch++;
        send_ack(dev, e->seq, e->type);
        break;
    case RHIL_T_GET_STATUS:
        m->type = RHIL_T_STATUS;
        rhil_device_status(dev, &m->u.status);
        send_msg(dev, m, e->seq, RHIL_FLAG_RESPONSE);
        break;
    case RHIL_T_PING:
        m->type = RHIL_T_PONG; /* same data, still in the slot */
        send_msg(dev, m, e->seq, RHIL_FLAG_RESPONSE);
        break;
    default:
        send_error(dev, e->seq, e->type, RHIL_ERR_UNKNOWN_TYPE, e->type, "unknown message type");
        break;
    }
}

static void execute_one(rhil_device_t *dev)
{
    rhil_dev_entry_t e = dev->q[dev->q_head];
    static const char *const texts[] = {"",
                                        "unsupported protocol version",
                                        "unknown message type",
                                        "bad payload",
                                        "batch larger than maxBatch",
                                        "channels or format differ from INFO",
                                        "no credit: too many PROCESS in flight"};
    if (e.kind == ENT_ERROR) {
        send_error(dev, e.seq, e.type, e.code, e.detail,
                   e.code < sizeof texts / sizeof texts[0] ? texts[e.code] : "error");
    } else {
        do_frame(dev, &e);
        dev->slot_used[e.slot] = 0;
    }
    dev->q_head = (uint8_t)((dev->q_head + 1u) % RHIL_DEV_QUEUE);
    dev->q_count--;
    if (e.type == RHIL_T_PROCESS)
        dev->pending_process--;
}

int rhil_device_poll(rhil_device_t *dev)
{
    int work = 0;
    rhil_event_t ev;

    /* 1. intake, in arrival order, while the queue can take requests */
    for (;;) {
        size_t used;
        if (dev->held) {
            if (!accept_event(dev, &dev->held_ev))
                break;
            dev->held = 0;
        }
        if (dev->rx_pos >= dev->rx_len) {
            size_t n = dev->hooks.read(dev->ctx, dev->rx, sizeof dev->rx);
            if (n == 0)
                break;
            if (n > sizeof dev->rx)
                n = sizeof dev->rx;
            dev->rx_pos = 0;
            dev->rx_len = (uint16_t)n;
            work = 1;
        }
        used = rhil_decoder_feed(&dev->dec, dev->rx + dev->rx_pos, (size_t)(dev->rx_len - dev->rx_pos),
                                 &ev, &dev->msg);
        dev->rx_pos = (uint16_t)(dev->rx_pos + used);
        if (ev.kind != RHIL_EV_NONE && !accept_event(dev, &ev)) {
            /* the frame stays in the decoder buffer: feed nothing until it is queued */
            dev->held_ev = ev;
            dev->held = 1;
            break;
        }
    }

    /* 2. execute everything queued, replies in arrival order */
    while (dev->q_count > 0) {
        execute_one(dev);
        work = 1;
    }
    return work;
}
