/*
 * rhil_serve.c - a simulated reservoir device on the host, built from the C reference
 * library (rhil_proto + rhil_device). It lets the TypeScript host be tested against
 * device code written independently of it.
 *
 *   rhil_serve [--pty] [--inputs N] [--outputs M] [--credits K] [--seed S]
 *              [--nodes R] [--format u16|i16|f32] [--in-format F] [--out-format F]
 *              [--max-frame BYTES] [--max-batch B] [--period-ns P] [--paced]
 *              [--leak A] [--epoch E] [--boot-count C] [--boot-reason R]
 *              [--temperature] [--no-configure] [--leading-zero] [--verbose]
 *
 * Default transport: protocol bytes on stdin/stdout (nothing else is ever written to
 * stdout). With --pty it opens a pseudo-terminal in raw mode, prints
 * "PTY /dev/pts/N" on stdout and serves on it until killed.
 *
 * The reservoir: an echo-state network of R (default 16) leaky tanh nodes with fixed
 * weights drawn from --seed; deterministic for a given seed and input sequence.
 *   x <- (1 - a) x + a tanh(W x + g Win u + b),   y = tanh(Wout x)
 * CONFIGURE accepts "leak_rate" (f64 in (0, 1]), "input_gain" (f64 in [0, 100]) and
 * "spectral_radius" (f64 in [0, 2]); each changes the dynamics (epoch + 1).
 * Sample units: f32 drives in [-1, 1], u16 in [0, 65535], i16 in [-32768, 32767];
 * responses map y in [-1, 1] to the same ranges.
 */
#define _DEFAULT_SOURCE 1
#define _XOPEN_SOURCE 700

#include "../rhil_device.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_NODES 256

typedef struct {
    int fd_in, fd_out;
    int eof;
    int verbose;
    int paced;
    uint32_t period_ns;
    struct timespec t0;
    /* reservoir */
    int nodes, inputs, outputs;
    uint8_t in_format, out_format;
    double leak, gain, radius;
    double w[MAX_NODES][MAX_NODES];
    double win[MAX_NODES][RHIL_DEV_MAX_CHANNELS];
    double wout[RHIL_DEV_MAX_CHANNELS][MAX_NODES];
    double bias[MAX_NODES];
    double x[MAX_NODES], xn[MAX_NODES];
    double base_radius; /* estimated spectral radius of the raw W */
} serve_t;

static serve_t S;
static rhil_device_t dev;

/* ---------------------------------------------------------------- reservoir */

static uint64_t sm_state;
static uint64_t splitmix64(void)
{
    uint64_t z = (sm_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double uniform(void) { return (double)(splitmix64() >> 11) / 9007199254740992.0 * 2.0 - 1.0; }

/* power iteration on |W| gives an upper bound of the spectral radius that is stable */
static double estimate_radius(void)
{
    double v[MAX_NODES], u[MAX_NODES], norm = 0;
    int it, i, j;
    for (i = 0; i < S.nodes; i++)
        v[i] = 1.0;
    for (it = 0; it < 100; it++) {
        norm = 0;
        for (i = 0; i < S.nodes; i++) {
            u[i] = 0;
            for (j = 0; j < S.nodes; j++)
                u[i] += fabs(S.w[i][j]) * v[j];
            if (u[i] > norm)
                norm = u[i];
        }
        if (norm == 0)
            return 0;
        for (i = 0; i < S.nodes; i++)
            v[i] = u[i] / norm;
    }
    return norm;
}

static void reservoir_build(uint64_t seed)
{
    int i, j;
    sm_state = seed;
    for (i = 0; i < S.nodes; i++) {
        for (j = 0; j < S.nodes; j++)
            S.w[i][j] = (splitmix64() % 4 == 0) ? uniform() : 0.0; /* 25% connectivity */
        for (j = 0; j < S.inputs; j++)
            S.win[i][j] = uniform();
        S.bias[i] = 0.1 * uniform();
    }
    for (i = 0; i < S.outputs; i++)
        for (j = 0; j < S.nodes; j++)
            S.wout[i][j] = uniform() * 2.0 / sqrt((double)S.nodes);
    S.base_radius = estimate_radius();
}

static void reservoir_reset(void *ctx)
{
    int i;
    (void)ctx;
    for (i = 0; i < S.nodes; i++)
        S.x[i] = 0.0;
}

static double to_unit(float v, uint8_t format)
{
    switch (format) {
    case RHIL_FMT_U16: return (double)v / 32767.5 - 1.0;
    case RHIL_FMT_I16: return (double)v / 32768.0;
    default: return (double)v;
    }
}

static float from_unit(double y, uint8_t format)
{
    switch (format) {
    case RHIL_FMT_U16: return (float)((y + 1.0) * 32767.5);
    case RHIL_FMT_I16: return (float)(y * 32768.0);
    default: return (float)y;
    }
}

static void sleep_until_ns(uint64_t t_ns)
{
    struct timespec now, d;
    uint64_t now_ns;
    clock_gettime(CLOCK_MONOTONIC, &now);
    now_ns = (uint64_t)(now.tv_sec - S.t0.tv_sec) * 1000000000ull + (uint64_t)(now.tv_nsec - S.t0.tv_nsec);
    if (t_ns <= now_ns)
        return;
    d.tv_sec = (time_t)((t_ns - now_ns) / 1000000000ull);
    d.tv_nsec = (long)((t_ns - now_ns) % 1000000000ull);
    nanosleep(&d, NULL);
}

static uint64_t now_us(void *ctx);

static int reservoir_process(void *ctx, const float *in, float *out)
{
    int i, j;
    double scale = S.base_radius > 0 ? S.radius / S.base_radius : 0.0;
    int status = 0;
    (void)ctx;
    if (S.paced && S.period_ns) {
        /* one vector per sample period; report OVERRUN when we are late */
        static uint64_t next_ns;
        uint64_t t = now_us(NULL) * 1000u;
        if (next_ns == 0 || t > next_ns + S.period_ns)
            next_ns = t;
        if (t > next_ns + S.period_ns / 2 && next_ns != t)
            status = RHIL_STATUS_OVERRUN;
        sleep_until_ns(next_ns);
        next_ns += S.period_ns;
    }
    for (i = 0; i < S.nodes; i++) {
        double a = S.bias[i];
        for (j = 0; j < S.nodes; j++)
            a += scale * S.w[i][j] * S.x[j];
        for (j = 0; j < S.inputs; j++)
            a += S.gain * S.win[i][j] * to_unit(in[j], S.in_format);
        S.xn[i] = (1.0 - S.leak) * S.x[i] + S.leak * tanh(a);
    }
    for (i = 0; i < S.nodes; i++)
        S.x[i] = S.xn[i];
    for (i = 0; i < S.outputs; i++) {
        double y = 0;
        for (j = 0; j < S.nodes; j++)
            y += S.wout[i][j] * S.x[j];
        out[i] = from_unit(tanh(y), S.out_format);
    }
    return status;
}

static int param_is(const rhil_param_t *p, const char *name)
{
    return p->name.len == strlen(name) && memcmp(p->name.ptr, name, p->name.len) == 0;
}

static int reservoir_configure(void *ctx, const rhil_configure_t *cfg, rhil_config_result_t *res)
{
    double leak = S.leak, gain = S.gain, radius = S.radius;
    uint8_t i;
    (void)ctx;
    for (i = 0; i < cfg->count; i++) {
        const rhil_param_t *p = &cfg->params[i];
        int ok = p->type == RHIL_PARAM_F64;
        if (ok && param_is(p, "leak_rate") && p->v.f > 0 && p->v.f <= 1)
            leak = p->v.f;
        else if (ok && param_is(p, "input_gain") && p->v.f >= 0 && p->v.f <= 100)
            gain = p->v.f;
        else if (ok && param_is(p, "spectral_radius") && p->v.f >= 0 && p->v.f <= 2)
            radius = p->v.f;
        else {
            res->detail = i;
            res->text = "expected leak_rate (0,1], input_gain [0,100] or spectral_radius [0,2], as f64";
            return RHIL_ERR_BAD_PARAM;
        }
    }
    /* all or nothing */
    S.leak = leak;
    S.gain = gain;
    S.radius = radius;
    res->dynamics_changed = cfg->count > 0;
    return 0;
}

static float board_temperature(void *ctx)
{
    struct timespec now;
    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return 25.0f + 0.5f * (float)sin((double)now.tv_sec / 60.0);
}

/* ---------------------------------------------------------------- transport */

static uint64_t now_us(void *ctx)
{
    struct timespec now;
    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)(now.tv_sec - S.t0.tv_sec) * 1000000ull + (uint64_t)((now.tv_nsec - S.t0.tv_nsec) / 1000);
}

static size_t io_read(void *ctx, uint8_t *buf, size_t cap)
{
    ssize_t n;
    (void)ctx;
    if (S.eof)
        return 0;
    n = read(S.fd_in, buf, cap);
    if (n > 0)
        return (size_t)n;
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != EIO))
        S.eof = 1;
    return 0;
}

static void io_write(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    while (len > 0) {
        ssize_t n = write(S.fd_out, data, len);
        if (n > 0) {
            data += n;
            len -= (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            struct pollfd p;
            p.fd = S.fd_out;
            p.events = POLLOUT;
            poll(&p, 1, 100);
        } else {
            if (S.verbose)
                fprintf(stderr, "rhil_serve: write failed: %s\n", strerror(errno));
            exit(1);
        }
    }
}

static int open_pty(int *master_out)
{
    int master, slave;
    const char *name;
    struct termios t;
    master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0)
        return -1;
    name = ptsname(master);
    if (!name)
        return -1;
    /* keep one slave descriptor open ourselves: the master never sees a hangup when the
     * host closes and reopens the port, and the raw settings stay in place */
    slave = open(name, O_RDWR | O_NOCTTY);
    if (slave < 0 || tcgetattr(slave, &t) != 0)
        return -1;
    cfmakeraw(&t);
    if (tcsetattr(slave, TCSANOW, &t) != 0)
        return -1;
    printf("PTY %s\n", name);
    fflush(stdout);
    *master_out = master;
    return slave;
}

/* ---------------------------------------------------------------- main */

static int parse_format(const char *s, uint8_t *f)
{
    if (strcmp(s, "u16") == 0)
        *f = RHIL_FMT_U16;
    else if (strcmp(s, "i16") == 0)
        *f = RHIL_FMT_I16;
    else if (strcmp(s, "f32") == 0)
        *f = RHIL_FMT_F32;
    else
        return 0;
    return 1;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: rhil_serve [--pty] [--inputs N] [--outputs M] [--credits K] [--seed S] [--nodes R]\n"
            "                  [--format u16|i16|f32] [--in-format F] [--out-format F] [--max-frame BYTES]\n"
            "                  [--max-batch B] [--period-ns P] [--paced] [--leak A] [--epoch E]\n"
            "                  [--boot-count C] [--boot-reason R] [--temperature] [--no-configure]\n"
            "                  [--leading-zero] [--verbose]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    rhil_device_config_t c;
    rhil_device_hooks_t h;
    unsigned long long seed = 1;
    int use_pty = 0, i, keep_slave = -1, temperature = 0, configure = 1, have_epoch = 0;
    unsigned long v;
    char serial[32];

    memset(&c, 0, sizeof c);
    memset(&h, 0, sizeof h);
    S.inputs = 1;
    S.outputs = 4;
    S.nodes = 16;
    S.in_format = S.out_format = RHIL_FMT_F32;
    S.leak = 0.3;
    S.gain = 1.0;
    S.radius = 0.9;
    c.credits = 4;
    c.maxFrame = RHIL_MAX_FRAME;
    c.bootCount = 1;
    c.bootReason = RHIL_BOOT_POWER_ON;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *arg = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_ARG                                                                                                     \
    do {                                                                                                             \
        if (!arg)                                                                                                    \
            usage();                                                                                                 \
        i++;                                                                                                         \
        v = strtoul(arg, NULL, 0);                                                                                   \
    } while (0)
        if (strcmp(a, "--pty") == 0)
            use_pty = 1;
        else if (strcmp(a, "--inputs") == 0) {
            NEED_ARG;
            S.inputs = (int)v;
        } else if (strcmp(a, "--outputs") == 0) {
            NEED_ARG;
            S.outputs = (int)v;
        } else if (strcmp(a, "--nodes") == 0) {
            NEED_ARG;
            S.nodes = (int)v;
        } else if (strcmp(a, "--credits") == 0) {
            NEED_ARG;
            if (v < 1 || v > 255)
                usage();
            c.credits = (uint8_t)v;
        } else if (strcmp(a, "--seed") == 0) {
            NEED_ARG;
            seed = strtoull(arg, NULL, 0);
        } else if (strcmp(a, "--format") == 0) {
            NEED_ARG;
            if (!parse_format(arg, &S.in_format))
                usage();
            S.out_format = S.in_format;
        } else if (strcmp(a, "--in-format") == 0) {
            NEED_ARG;
            if (!parse_format(arg, &S.in_format))
                usage();
        } else if (strcmp(a, "--out-format") == 0) {
            NEED_ARG;
            if (!parse_format(arg, &S.out_format))
                usage();
        } else if (strcmp(a, "--max-frame") == 0) {
            NEED_ARG;
            c.maxFrame = (uint32_t)v;
        } else if (strcmp(a, "--max-batch") == 0) {
            NEED_ARG;
            c.maxBatch = (uint16_t)(v > 65535 ? 65535 : v);
        } else if (strcmp(a, "--period-ns") == 0) {
            NEED_ARG;
            S.period_ns = (uint32_t)v;
        } else if (strcmp(a, "--paced") == 0)
            S.paced = 1;
        else if (strcmp(a, "--leak") == 0) {
            if (!arg)
                usage();
            S.leak = atof(argv[++i]);
        } else if (strcmp(a, "--epoch") == 0) {
            NEED_ARG;
            c.epoch = (uint32_t)v;
            have_epoch = 1;
        } else if (strcmp(a, "--boot-count") == 0) {
            NEED_ARG;
            c.bootCount = (uint32_t)v;
        } else if (strcmp(a, "--boot-reason") == 0) {
            NEED_ARG;
            c.bootReason = (uint8_t)v;
        } else if (strcmp(a, "--temperature") == 0)
            temperature = 1;
        else if (strcmp(a, "--no-configure") == 0)
            configure = 0;
        else if (strcmp(a, "--leading-zero") == 0)
            c.leadingZero = 1;
        else if (strcmp(a, "--verbose") == 0)
            S.verbose = 1;
        else
            usage();
#undef NEED_ARG
    }
    if (S.inputs < 1 || S.inputs > RHIL_DEV_MAX_CHANNELS || S.outputs < 1 || S.outputs > RHIL_DEV_MAX_CHANNELS ||
        S.nodes < 1 || S.nodes > MAX_NODES || !(S.leak > 0 && S.leak <= 1)) {
        fprintf(stderr, "rhil_serve: --inputs/--outputs must be 1..%d, --nodes 1..%d, --leak in (0, 1]\n",
                RHIL_DEV_MAX_CHANNELS, MAX_NODES);
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &S.t0);
    if (!have_epoch) {
        /* SHOULD differ from any epoch reported before: time and pid */
        struct timespec rt;
        clock_gettime(CLOCK_REALTIME, &rt);
        c.epoch = (uint32_t)((uint64_t)rt.tv_sec * 2654435761u ^ (uint64_t)rt.tv_nsec ^ ((uint64_t)getpid() << 16));
    }
    reservoir_build(seed);
    reservoir_reset(NULL);

    c.inFormat = S.in_format;
    c.outFormat = S.out_format;
    c.inChannels = (uint16_t)S.inputs;
    c.outChannels = (uint16_t)S.outputs;
    c.samplePeriodNs = S.period_ns;
    c.capabilities = 0;
    switch (S.in_format) {
    case RHIL_FMT_U16: c.inMin = 0; c.inMax = 65535; break;
    case RHIL_FMT_I16: c.inMin = -32768; c.inMax = 32767; break;
    default: c.inMin = -1; c.inMax = 1; break;
    }
    switch (S.out_format) {
    case RHIL_FMT_U16: c.outMin = 0; c.outMax = 65535; break;
    case RHIL_FMT_I16: c.outMin = -32768; c.outMax = 32767; break;
    default: c.outMin = -1; c.outMax = 1; break;
    }
    sprintf(serial, "esn%d-seed%llu", S.nodes, seed);
    c.vendor = "reservoir-hil";
    c.model = "rhil_serve ESN";
    c.serial = serial;
    c.firmware = "rhil-c 1.0";

    h.read = io_read;
    h.write = io_write;
    h.process = reservoir_process;
    h.reset = reservoir_reset;
    h.now_us = now_us;
    if (temperature)
        h.temperature = board_temperature;
    if (configure)
        h.configure = reservoir_configure;

    if (use_pty) {
        int master;
        keep_slave = open_pty(&master);
        if (keep_slave < 0) {
            fprintf(stderr, "rhil_serve: cannot open a pseudo-terminal: %s\n", strerror(errno));
            return 1;
        }
        S.fd_in = S.fd_out = master;
    } else {
        S.fd_in = 0;
        S.fd_out = 1;
    }
    fcntl(S.fd_in, F_SETFL, fcntl(S.fd_in, F_GETFL) | O_NONBLOCK);

    if (rhil_device_init(&dev, &c, &h, NULL) != RHIL_OK) {
        fprintf(stderr, "rhil_serve: invalid configuration (channels, max-frame 64..%lu, or INFO too large)\n",
                (unsigned long)RHIL_MAX_FRAME);
        return 2;
    }
    if (S.verbose)
        fprintf(stderr,
                "rhil_serve: %d inputs (%s), %d outputs (%s), %d nodes, seed %llu, credits %u, maxFrame %lu, "
                "maxBatch %u, epoch %lu\n",
                S.inputs, S.in_format == 0 ? "u16" : S.in_format == 1 ? "i16" : "f32", S.outputs,
                S.out_format == 0 ? "u16" : S.out_format == 1 ? "i16" : "f32", S.nodes, seed, c.credits,
                (unsigned long)c.maxFrame, dev.maxBatch, (unsigned long)c.epoch);
    rhil_device_start(&dev);

    for (;;) {
        if (rhil_device_poll(&dev))
            continue;
        if (S.eof)
            break;
        {
            struct pollfd p;
            p.fd = S.fd_in;
            p.events = POLLIN;
            poll(&p, 1, 50);
        }
    }
    if (S.verbose)
        fprintf(stderr, "rhil_serve: input closed, %lu frames ok\n", (unsigned long)dev.dec.frames_ok);
    (void)keep_slave;
    return 0;
}
