/*
 * rhil_proto.h - reservoir-hil wire protocol v1, codec library (C99).
 *
 * Contract: firmware-protocol/SPEC.md. This library implements
 *   - CRC-32C (SPEC 1.3)
 *   - COBS encoding/decoding with a 0x00 delimiter (SPEC 1.2)
 *   - message structs, encoder and payload parser for every message (SPEC 3, 4)
 *   - a streaming frame decoder with the rejection reasons of SPEC 2
 *
 * No dynamic allocation and no global mutable state: every piece of state lives
 * in a caller-owned struct. Parsed messages point into the caller's frame
 * buffer (strings, byte strings and sample arrays are NOT copied), so a parsed
 * message is valid only as long as the buffer it was parsed from.
 */
#ifndef RHIL_PROTO_H
#define RHIL_PROTO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- limits */

#define RHIL_PROTOCOL_VERSION 1u
#define RHIL_FRAME_OVERHEAD 12u       /* 8-byte header + 4-byte CRC */
#define RHIL_HEADER_SIZE 8u
#define RHIL_MAX_FRAME_LIMIT 65547ul  /* SPEC MAX_FRAME */
#define RHIL_MIN_INFO_MAX_FRAME 64ul  /* smallest maxFrame a device may advertise */

/* Capacity (in decoded frame bytes) of rhil_decoder_t's buffer. Boards set it
 * smaller, e.g. -DRHIL_MAX_FRAME=1024. Must lie in 12..65547. */
#ifndef RHIL_MAX_FRAME
#define RHIL_MAX_FRAME 65547
#endif
#if (RHIL_MAX_FRAME) < 12 || (RHIL_MAX_FRAME) > 65547
#error "RHIL_MAX_FRAME must be in 12..65547"
#endif

/* Wire size of a COBS-encoded frame of n bytes plus its 0x00 delimiter. */
#define RHIL_ENCODED_MAX(n) ((n) + (n) / 254u + 2u)

#define RHIL_MAX_INFO_STR 64u
#define RHIL_MAX_ERROR_TEXT 128u
#define RHIL_MAX_PARAMS 16u
#define RHIL_MAX_PARAM_NAME 32u
#define RHIL_MAX_PARAM_STR 64u

/* ---------------------------------------------------------------- enums */

/* message types (SPEC 3) */
#define RHIL_T_HELLO 0x01u
#define RHIL_T_CONFIGURE 0x02u
#define RHIL_T_PROCESS 0x03u
#define RHIL_T_RESET_STATE 0x04u
#define RHIL_T_GET_STATUS 0x05u
#define RHIL_T_PING 0x06u
#define RHIL_T_BOOT 0x80u
#define RHIL_T_INFO 0x81u
#define RHIL_T_ACK 0x82u
#define RHIL_T_RESULT 0x83u
#define RHIL_T_STATUS 0x85u
#define RHIL_T_PONG 0x86u
#define RHIL_T_ERROR 0x8Fu

/* header flags */
#define RHIL_FLAG_RESPONSE 0x01u

/* sample formats */
#define RHIL_FMT_U16 0u
#define RHIL_FMT_I16 1u
#define RHIL_FMT_F32 2u

/* INFO capabilities */
#define RHIL_CAP_TEMPERATURE 0x1u
#define RHIL_CAP_HW_TIMESTAMP 0x2u
#define RHIL_CAP_CONFIGURE 0x4u
#define RHIL_CAP_PERSISTENT_BOOT_COUNT 0x8u

/* RESULT status bits */
#define RHIL_STATUS_INPUT_CLIPPED 0x1u
#define RHIL_STATUS_OUTPUT_SATURATED 0x2u
#define RHIL_STATUS_OVERRUN 0x4u

/* CONFIGURE parameter types */
#define RHIL_PARAM_BOOL 1u
#define RHIL_PARAM_I32 2u
#define RHIL_PARAM_F64 3u
#define RHIL_PARAM_STRING 4u

/* BOOT reasons */
#define RHIL_BOOT_POWER_ON 0u
#define RHIL_BOOT_WATCHDOG 1u
#define RHIL_BOOT_BROWN_OUT 2u
#define RHIL_BOOT_REQUESTED 3u
#define RHIL_BOOT_FAULT_RECOVERY 4u
#define RHIL_BOOT_UNKNOWN 255u

/* ERROR codes (SPEC 4) */
#define RHIL_ERR_UNSUPPORTED_VERSION 1u
#define RHIL_ERR_UNKNOWN_TYPE 2u
#define RHIL_ERR_BAD_PAYLOAD 3u
#define RHIL_ERR_TOO_LARGE 4u
#define RHIL_ERR_BAD_SHAPE 5u
#define RHIL_ERR_NO_CREDIT 6u
#define RHIL_ERR_BAD_PARAM 7u
#define RHIL_ERR_DEVICE_FAULT 8u
#define RHIL_ERR_NOT_SUPPORTED 9u

/* rejection reasons (SPEC 2), in check order */
typedef enum {
    RHIL_REJ_OVERSIZE = 0,
    RHIL_REJ_EMPTY,
    RHIL_REJ_COBS,
    RHIL_REJ_SHORT,
    RHIL_REJ_CRC,
    RHIL_REJ_LENGTH,
    RHIL_REJ_VERSION,
    RHIL_REJ_TYPE,
    RHIL_REJ_PAYLOAD,
    RHIL_REJ_COUNT
} rhil_reason_t;

/* Which message types a receiver accepts (the `type` check of SPEC 2). */
typedef enum {
    RHIL_ROLE_DEVICE = 0, /* receives host -> device types only */
    RHIL_ROLE_HOST = 1,   /* receives device -> host types only */
    RHIL_ROLE_ANY = 2     /* accepts every known type (tests, sniffers) */
} rhil_role_t;

/* library return codes (negative) */
#define RHIL_OK 0
#define RHIL_E_NOSPACE (-1) /* output buffer too small */
#define RHIL_E_INVALID (-2) /* message violates a SPEC limit or is not representable */
#define RHIL_E_COBS (-3)    /* malformed COBS input */

/* ---------------------------------------------------------------- messages */

/* A byte string that is not NUL-terminated. For parsed messages it points into
 * the frame buffer. */
typedef struct {
    const uint8_t *ptr;
    uint32_t len;
} rhil_bytes_t;

typedef struct {
    uint8_t minVersion;
    uint8_t maxVersion;
} rhil_hello_t;

typedef struct {
    uint8_t protocolVersion;
    uint8_t inFormat;
    uint8_t outFormat;
    uint8_t credits;
    uint16_t inChannels;
    uint16_t outChannels;
    uint16_t maxBatch;
    uint16_t reserved; /* encoded as 0 whatever it holds; ignored on receipt */
    uint32_t maxFrame;
    uint32_t samplePeriodNs;
    uint32_t capabilities;
    float inMin, inMax, outMin, outMax;
    rhil_bytes_t vendor, model, serial, firmware; /* UTF-8, <= 64 bytes each */
} rhil_info_t;

typedef struct {
    rhil_bytes_t name; /* 1..32 printable ASCII */
    uint8_t type;      /* RHIL_PARAM_* */
    union {
        uint8_t b;      /* 0 or 1 */
        int32_t i;
        double f;       /* finite */
        rhil_bytes_t s; /* UTF-8, <= 64 bytes */
    } v;
} rhil_param_t;

typedef struct {
    uint8_t count; /* 0..16 */
    rhil_param_t params[RHIL_MAX_PARAMS];
} rhil_configure_t;

typedef struct {
    uint8_t ackedType;
    uint32_t epoch;
} rhil_ack_t;

/* Samples are kept in wire form: count*channels little-endian values of the
 * given format, row-major. Use rhil_sample_get / rhil_sample_put. */
typedef struct {
    uint32_t batchId;
    uint16_t count;
    uint16_t channels;
    uint8_t format;
    const uint8_t *samples;
} rhil_process_t;

typedef struct {
    uint32_t batchId;
    uint32_t epoch;
    uint64_t timestampUs;
    uint16_t status;
    uint16_t count;
    uint16_t channels;
    uint8_t format;
    const uint8_t *samples;
} rhil_result_t;

typedef struct {
    uint32_t framesOk;
    uint32_t crcErrors;
    uint32_t framingErrors;
    uint32_t rejected;
    uint32_t droppedBatches;
    uint32_t epoch;
    uint32_t bootCount;
    uint64_t uptimeUs;
    float temperatureC; /* NaN when the board has none */
} rhil_status_t;

typedef struct {
    uint32_t bootCount;
    uint32_t epoch;
    uint8_t reason;
} rhil_boot_t;

typedef struct {
    uint16_t code;
    uint16_t refSeq;
    uint8_t refType;
    uint32_t detail;
    rhil_bytes_t text; /* UTF-8, <= 128 bytes */
} rhil_error_t;

typedef struct {
    uint8_t type; /* RHIL_T_* */
    union {
        rhil_hello_t hello;
        rhil_configure_t configure;
        rhil_process_t process;
        /* RESET_STATE and GET_STATUS carry nothing */
        rhil_bytes_t ping; /* PING and PONG: the data bytes */
        rhil_boot_t boot;
        rhil_info_t info;
        rhil_ack_t ack;
        rhil_result_t result;
        rhil_status_t status;
        rhil_error_t error;
    } u;
} rhil_msg_t;

/* ---------------------------------------------------------------- helpers */

uint32_t rhil_crc32c_update(uint32_t state, const uint8_t *data, size_t len);
/* CRC-32C of data (init and final XOR applied). rhil_crc32c("123456789") == 0xE3069283 */
uint32_t rhil_crc32c(const uint8_t *data, size_t len);

/* COBS without delimiter. Return the output length, or RHIL_E_NOSPACE /
 * RHIL_E_COBS. Decoding rejects a 0x00 byte inside the input and a code byte
 * that points past the end. */
long rhil_cobs_encode(const uint8_t *in, size_t n, uint8_t *out, size_t cap);
long rhil_cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap);

/* sample size in bytes of a format (0 for an unknown format) */
unsigned rhil_format_size(uint8_t format);
/* Read / write sample `index` of a wire sample array. put rounds to nearest and
 * saturates for the integer formats. */
float rhil_sample_get(const uint8_t *samples, uint8_t format, uint32_t index);
void rhil_sample_put(uint8_t *samples, uint8_t format, uint32_t index, float value);

int rhil_is_finite_f32(float v);
int rhil_is_finite_f64(double v);
int rhil_utf8_valid(const uint8_t *s, size_t n);

/* name of a rejection reason as in SPEC 2 ("oversize", ..., "payload") */
const char *rhil_reason_name(int reason);
/* 1 if `type` is a defined message type that `role` may receive */
int rhil_type_accepted(uint8_t type, rhil_role_t role);

/* ---------------------------------------------------------------- encoding */

/* Check a message against every SPEC limit. RHIL_OK or RHIL_E_INVALID. */
int rhil_msg_validate(const rhil_msg_t *m);
/* Payload size in bytes of a valid message, or RHIL_E_INVALID. */
long rhil_payload_size(const rhil_msg_t *m);

/* Byte sink for the streaming encoder, e.g. a UART/USB write function. */
typedef void (*rhil_sink_fn)(void *ctx, const uint8_t *data, size_t len);

/* Streaming COBS writer: holds one block (<= 255 bytes), so a frame of any
 * size can be sent with under 300 bytes of state. */
typedef struct {
    rhil_sink_fn sink;
    void *ctx;
    uint32_t crc;
    uint32_t total; /* bytes handed to the sink */
    uint16_t n;     /* data bytes in the current block */
    uint8_t last_ff;
    uint8_t blk[255];
} rhil_writer_t;

/* Encode a message as one complete wire frame (COBS + trailing 0x00) into
 * out[0..cap). Returns the number of bytes written, RHIL_E_NOSPACE or
 * RHIL_E_INVALID. The message is validated first. */
long rhil_encode(const rhil_msg_t *m, uint16_t seq, uint8_t flags, uint8_t *out, size_t cap);

/* Same, but streams the wire bytes to `sink` through a caller-owned writer.
 * Returns the number of bytes emitted or RHIL_E_INVALID (nothing emitted). */
long rhil_encode_stream(const rhil_msg_t *m, uint16_t seq, uint8_t flags, rhil_writer_t *w,
                        rhil_sink_fn sink, void *ctx);

/* Encode an arbitrary frame (any version, type, payload; no validation) into
 * out. For tests and tools. Returns the length or RHIL_E_NOSPACE/RHIL_E_INVALID
 * (payload longer than 65535). */
long rhil_encode_raw(uint8_t version, uint8_t type, uint8_t flags, uint16_t seq,
                     const uint8_t *payload, size_t len, uint8_t *out, size_t cap);

/* ---------------------------------------------------------------- parsing */

/* Parse a payload of the given type. Returns RHIL_OK or RHIL_E_INVALID (the
 * `payload` rejection). Pointers in *m refer to `payload`. */
int rhil_parse_payload(uint8_t type, const uint8_t *payload, size_t len, rhil_msg_t *m);

/* Result of checking one delimited frame. */
typedef struct {
    uint8_t kind;       /* RHIL_EV_NONE / RHIL_EV_FRAME / RHIL_EV_REJECT */
    uint8_t reason;     /* rhil_reason_t when kind == RHIL_EV_REJECT */
    uint8_t has_header; /* 1 when the CRC passed: the fields below are trustworthy */
    uint8_t version;
    uint8_t type;
    uint8_t flags;
    uint16_t seq;
    const uint8_t *frame; /* decoded frame incl. header and CRC; NULL for early rejects */
    uint32_t frame_len;
} rhil_event_t;

#define RHIL_EV_NONE 0u
#define RHIL_EV_FRAME 1u
#define RHIL_EV_REJECT 2u

/* Apply the checks of SPEC 2 from `oversize` (frame longer than max_frame) to
 * `payload` to one decoded (unstuffed) frame. Fills *ev and, on success, *m.
 * Returns RHIL_EV_FRAME or RHIL_EV_REJECT. Never reads outside frame[0..len). */
int rhil_frame_check(const uint8_t *frame, size_t len, uint32_t max_frame, rhil_role_t role,
                     rhil_event_t *ev, rhil_msg_t *m);

/* ---------------------------------------------------------------- streaming decoder */

typedef struct {
    uint32_t max_frame;  /* runtime limit, 12..RHIL_MAX_FRAME */
    uint32_t raw_limit;  /* max_frame + max_frame/254 + 1 */
    uint32_t raw;        /* encoded bytes since the last delimiter */
    uint32_t len;        /* decoded bytes in buf */
    uint8_t rem;         /* data bytes still expected in the current COBS block */
    uint8_t zero_pending;/* the current block ends with an implied zero */
    uint8_t discard;     /* oversize: drop everything up to the next 0x00 */
    uint8_t role;        /* rhil_role_t */
    uint32_t frames_ok;
    uint32_t rejects[RHIL_REJ_COUNT];
    uint8_t buf[RHIL_MAX_FRAME];
} rhil_decoder_t;

/* max_frame is clamped to 12..RHIL_MAX_FRAME. */
void rhil_decoder_init(rhil_decoder_t *d, uint32_t max_frame, rhil_role_t role);
/* Drop any partial frame (counters are kept). */
void rhil_decoder_reset(rhil_decoder_t *d);

/* Consume bytes from data[0..len) until one event happens or the input is
 * exhausted. Returns the number of bytes consumed; ev->kind tells whether an
 * event happened (its byte is included in the count). On RHIL_EV_FRAME, *m holds
 * the parsed message and ev->frame the decoded frame; both stay valid until the
 * next call on this decoder. m must not be NULL (the payload is parsed into it
 * to validate it). */
size_t rhil_decoder_feed(rhil_decoder_t *d, const uint8_t *data, size_t len, rhil_event_t *ev,
                         rhil_msg_t *m);

#ifdef __cplusplus
}
#endif

#endif /* RHIL_PROTO_H */
