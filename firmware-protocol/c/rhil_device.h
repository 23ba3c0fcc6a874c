/*
 * rhil_device.h - device side of the reservoir-hil protocol v1 (C99).
 *
 * A board port supplies three hooks (read, write, process) and optionally a few
 * more, fills a rhil_device_config_t, and calls rhil_device_poll() from its
 * main loop. The dispatcher does framing, validation, credits, the state epoch,
 * sample-format conversion, input clipping and output saturation flags.
 *
 * Everything lives in one caller-owned rhil_device_t (no malloc, no globals).
 * It is large (it holds the frame buffers): make it static, not a local.
 *
 * Request handling: rhil_device_poll() first reads whatever the transport has
 * (non-blocking) and queues complete requests in arrival order, then executes
 * every queued request and writes the replies in the same order. A PROCESS that
 * arrives while `credits` PROCESS requests are already queued is answered with
 * ERROR NO_CREDIT (in order). When the queue is full the dispatcher stops
 * reading, so the transport's own flow control (USB, a pty) applies.
 */
#ifndef RHIL_DEVICE_H
#define RHIL_DEVICE_H

#include "rhil_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Frame buffers for queued requests. A device advertising `credits` should
 * have credits + 1 (credits PROCESS frames plus one control request, SPEC 5). */
#ifndef RHIL_DEV_SLOTS
#define RHIL_DEV_SLOTS 2
#endif
/* Queued replies (requests waiting for execution and ERRORs to send). */
#ifndef RHIL_DEV_QUEUE
#define RHIL_DEV_QUEUE 8
#endif
/* Largest inChannels / outChannels (size of the float vectors). */
#ifndef RHIL_DEV_MAX_CHANNELS
#define RHIL_DEV_MAX_CHANNELS 64
#endif
/* Bytes read from the transport per read() call. */
#ifndef RHIL_DEV_RX_CHUNK
#define RHIL_DEV_RX_CHUNK 64
#endif

#if (RHIL_MAX_FRAME) < 64
#error "a device needs RHIL_MAX_FRAME >= 64"
#endif
#if (RHIL_DEV_SLOTS) < 1 || (RHIL_DEV_SLOTS) > 255 || (RHIL_DEV_QUEUE) < 2 || (RHIL_DEV_QUEUE) > 255
#error "RHIL_DEV_SLOTS must be 1..255 and RHIL_DEV_QUEUE 2..255"
#endif

/* Outcome of a CONFIGURE, filled by the board's configure hook. */
typedef struct {
    uint32_t detail;          /* BAD_PARAM: index of the first bad parameter */
    const char *text;         /* reason (UTF-8, NUL-terminated, cut to 128 bytes); may be NULL */
    uint8_t dynamics_changed; /* on success: 1 if the reservoir's dynamics changed (epoch += 1) */
} rhil_config_result_t;

typedef struct {
    /* --- required --- */
    /* Non-blocking read: copy up to cap received bytes into buf, return the count (0: none). */
    size_t (*read)(void *ctx, uint8_t *buf, size_t cap);
    /* Write all len bytes (may block until they are queued). */
    void (*write)(void *ctx, const uint8_t *data, size_t len);
    /* Drive the reservoir with one input vector (inChannels values, already clipped to
     * [inMin, inMax], in sample units) and read one output vector (outChannels values).
     * Return < 0 on a hardware fault (ERROR DEVICE_FAULT, detail = -return), else 0 or
     * RHIL_STATUS_OVERRUN if the sample period was missed. */
    int (*process)(void *ctx, const float *in, float *out);

    /* --- optional: NULL selects the default --- */
    /* Return the reservoir to its rest state (RESET_STATE). Default: nothing. */
    void (*reset)(void *ctx);
    /* Microseconds since boot. Default: a virtual clock advanced by
     * count * samplePeriodNs per batch (1 us per vector when samplePeriodNs is 0). */
    uint64_t (*now_us)(void *ctx);
    /* Board temperature in degrees C. Present => capability TEMPERATURE. */
    float (*temperature)(void *ctx);
    /* Apply all parameters or none. Return 0 when applied, else an RHIL_ERR_* code
     * (normally RHIL_ERR_BAD_PARAM) with res->detail and res->text set.
     * Present => capability CONFIGURE; absent => ERROR NOT_SUPPORTED. */
    int (*configure)(void *ctx, const rhil_configure_t *cfg, rhil_config_result_t *res);
} rhil_device_hooks_t;

typedef struct {
    uint8_t inFormat, outFormat;      /* RHIL_FMT_* */
    uint16_t inChannels, outChannels; /* 1..RHIL_DEV_MAX_CHANNELS */
    uint16_t maxBatch;                /* 0: the largest that fits maxFrame */
    uint8_t credits;                  /* 1..255, normally RHIL_DEV_SLOTS - 1 */
    uint32_t maxFrame;                /* 64..RHIL_MAX_FRAME */
    uint32_t samplePeriodNs;          /* 0 if unpaced */
    uint32_t capabilities;            /* HW_TIMESTAMP, PERSISTENT_BOOT_COUNT; the
                                         TEMPERATURE and CONFIGURE bits follow the hooks */
    float inMin, inMax;               /* drive range, sample units */
    float outMin, outMax;             /* response range, sample units */
    const char *vendor, *model, *serial, *firmware; /* UTF-8, <= 64 bytes, may be NULL */
    uint32_t bootCount;               /* as it should appear in BOOT */
    uint32_t epoch;                   /* state epoch after boot (persisted or random) */
    uint8_t bootReason;               /* RHIL_BOOT_* */
    uint8_t leadingZero;              /* 1: send one 0x00 before BOOT */
} rhil_device_config_t;

/* one queued reply */
typedef struct {
    uint8_t kind; /* internal */
    uint8_t type; /* request type */
    uint8_t slot;
    uint16_t seq;
    uint16_t code;
    uint32_t detail;
} rhil_dev_entry_t;

typedef struct rhil_device {
    rhil_device_config_t cfg;
    rhil_device_hooks_t hooks;
    void *ctx;
    uint32_t capabilities; /* as advertised */
    uint16_t maxBatch;     /* as advertised */
    uint32_t epoch;
    uint32_t droppedBatches;
    uint64_t virt_ns;

    rhil_decoder_t dec;
    rhil_msg_t msg;
    rhil_writer_t writer;
    rhil_event_t held_ev; /* event that could not be queued yet */
    uint8_t held;

    uint8_t q_head, q_count, pending_process;
    rhil_dev_entry_t q[RHIL_DEV_QUEUE];
    uint8_t slot_used[RHIL_DEV_SLOTS];
    uint32_t slot_len[RHIL_DEV_SLOTS];
    uint8_t slot[RHIL_DEV_SLOTS][RHIL_MAX_FRAME];

    uint16_t rx_pos, rx_len;
    uint8_t rx[RHIL_DEV_RX_CHUNK];
    float vin[RHIL_DEV_MAX_CHANNELS];
    float vout[RHIL_DEV_MAX_CHANNELS];
    uint8_t out[RHIL_MAX_FRAME - 35]; /* RESULT samples */
} rhil_device_t;

/* Check the configuration and prepare the device. Returns RHIL_OK or
 * RHIL_E_INVALID (bad format/channels/ranges/strings, no maxBatch >= 1 fits,
 * INFO larger than maxFrame, missing required hook). Sends nothing. */
int rhil_device_init(rhil_device_t *dev, const rhil_device_config_t *cfg,
                     const rhil_device_hooks_t *hooks, void *ctx);

/* Send BOOT (preceded by 0x00 if cfg.leadingZero). Call once after init. */
void rhil_device_start(rhil_device_t *dev);

/* Read what is available, queue requests, execute them and write the replies.
 * Returns 1 if anything was read or sent, 0 if idle. */
int rhil_device_poll(rhil_device_t *dev);

/* The INFO this device advertises (strings point into cfg). */
void rhil_device_info(const rhil_device_t *dev, rhil_info_t *info);
/* The STATUS it would report now. */
void rhil_device_status(rhil_device_t *dev, rhil_status_t *st);

#ifdef __cplusplus
}
#endif

#endif /* RHIL_DEVICE_H */
