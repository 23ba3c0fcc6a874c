/*
 * test_serve.c - smoke test of host/rhil_serve over pipes (POSIX), playing the host.
 *   test_serve [path/to/rhil_serve]
 */
#define _DEFAULT_SOURCE 1
#define _XOPEN_SOURCE 700

#include "../rhil_proto.h"
#include "testutil.h"

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SERVE_PATH
#define SERVE_PATH "build/rhil_serve"
#endif

static const char *serve_path = SERVE_PATH;
static uint8_t in[1 << 16], out[1 << 20];
static size_t in_len;
static long out_len;

#define MAXR 32
static struct {
    uint8_t frame[70000];
    uint32_t len;
    uint16_t seq;
    uint8_t type, flags;
    rhil_msg_t m;
} r[MAXR];
static int nr, rejects;
static rhil_decoder_t dec;

static void put(const rhil_msg_t *m, uint16_t seq)
{
    long n = rhil_encode(m, seq, 0, in + in_len, sizeof in - in_len);
    if (n > 0)
        in_len += (size_t)n;
}

/* run rhil_serve with args, feed `in`, collect and decode its output */
static int run(char *const *argv)
{
    int pin[2], pout[2], status;
    pid_t pid;
    size_t off = 0;
    if (pipe(pin) != 0 || pipe(pout) != 0)
        return 0;
    pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0) {
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        close(pin[1]);
        close(pout[0]);
        execv(serve_path, argv);
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    while (off < in_len) {
        ssize_t n = write(pin[1], in + off, in_len - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    close(pin[1]);
    out_len = 0;
    for (;;) {
        ssize_t n = read(pout[0], out + out_len, sizeof out - (size_t)out_len);
        if (n <= 0)
            break;
        out_len += n;
    }
    close(pout[0]);
    waitpid(pid, &status, 0);
    in_len = 0;

    nr = rejects = 0;
    rhil_decoder_init(&dec, RHIL_MAX_FRAME, RHIL_ROLE_HOST);
    off = 0;
    while (off < (size_t)out_len) {
        rhil_event_t ev;
        rhil_msg_t m;
        off += rhil_decoder_feed(&dec, out + off, (size_t)out_len - off, &ev, &m);
        if (ev.kind == RHIL_EV_REJECT)
            rejects++;
        if (ev.kind == RHIL_EV_FRAME && nr < MAXR) {
            memcpy(r[nr].frame, ev.frame, ev.frame_len);
            r[nr].len = ev.frame_len;
            r[nr].seq = ev.seq;
            r[nr].type = ev.type;
            r[nr].flags = ev.flags;
            rhil_parse_payload(ev.type, r[nr].frame + 8, ev.frame_len - 12, &r[nr].m);
            nr++;
        }
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static uint8_t samples[4096];

static void process(uint16_t seq, uint32_t batch, uint16_t count, uint16_t ch, uint8_t fmt)
{
    rhil_msg_t m;
    uint32_t i;
    for (i = 0; i < (uint32_t)count * ch; i++)
        rhil_sample_put(samples, fmt, i,
                        fmt == RHIL_FMT_F32 ? (float)((int)(i % 7) - 3) / 4.0f : (float)(i * 977u % 65536u));
    m.type = RHIL_T_PROCESS;
    m.u.process.batchId = batch;
    m.u.process.count = count;
    m.u.process.channels = ch;
    m.u.process.format = fmt;
    m.u.process.samples = samples;
    put(&m, seq);
}

static void simple(uint8_t type, uint16_t seq)
{
    rhil_msg_t m;
    m.type = type;
    m.u.ping.ptr = (const uint8_t *)"ping";
    m.u.ping.len = 4;
    if (type == RHIL_T_HELLO) {
        m.u.hello.minVersion = 1;
        m.u.hello.maxVersion = 1;
    }
    put(&m, seq);
}

static int same_samples(int a, int b)
{
    const rhil_result_t *x = &r[a].m.u.result, *y = &r[b].m.u.result;
    size_t n = (size_t)x->count * x->channels * rhil_format_size(x->format);
    return x->count == y->count && x->channels == y->channels && x->format == y->format &&
           memcmp(x->samples, y->samples, n) == 0;
}

int main(int argc, char **argv)
{
    char *args1[] = {"rhil_serve", "--epoch", "42", "--inputs", "2", "--outputs", "3", "--credits", "2",
                     "--seed", "5", NULL};
    char *args2[] = {"rhil_serve", "--epoch", "7", "--inputs", "2", "--outputs", "3", "--seed", "6", NULL};
    char *args3[] = {"rhil_serve", "--format", "u16", "--outputs", "5", "--max-frame", "1024", "--boot-count",
                     "9", NULL};
    static uint8_t first[4096];
    size_t first_len;
    if (argc > 1)
        serve_path = argv[1];

    simple(RHIL_T_HELLO, 1);
    simple(RHIL_T_GET_STATUS, 2);
    process(3, 100, 10, 2, RHIL_FMT_F32);
    simple(RHIL_T_RESET_STATE, 4);
    process(5, 101, 10, 2, RHIL_FMT_F32);
    simple(RHIL_T_PING, 6);
    CHECK(run(args1), "rhil_serve exits 0 at end of input");
    CHECK(rejects == 0 && nr == 7, "7 frames, no rejects (%d, %d)", nr, rejects);
    if (nr != 7)
        return t_summary("test_serve");
    CHECK(r[0].type == RHIL_T_BOOT && r[0].m.u.boot.epoch == 42 && r[0].m.u.boot.bootCount == 1 && r[0].flags == 0,
          "BOOT first with --epoch");
    CHECK(r[1].type == RHIL_T_INFO && r[1].seq == 1 && r[1].m.u.info.inChannels == 2 &&
              r[1].m.u.info.outChannels == 3 && r[1].m.u.info.credits == 2 && r[1].m.u.info.maxFrame == RHIL_MAX_FRAME &&
              (r[1].m.u.info.capabilities & RHIL_CAP_CONFIGURE),
          "INFO");
    CHECK(r[2].type == RHIL_T_STATUS && r[2].seq == 2 && r[2].m.u.status.epoch == 42, "STATUS");
    CHECK(r[3].type == RHIL_T_RESULT && r[3].seq == 3 && r[3].m.u.result.epoch == 42 &&
              r[3].m.u.result.batchId == 100 && r[3].m.u.result.count == 10 && r[3].m.u.result.channels == 3,
          "RESULT");
    CHECK(r[4].type == RHIL_T_ACK && r[4].m.u.ack.epoch == 43, "ACK after RESET_STATE");
    CHECK(r[5].type == RHIL_T_RESULT && r[5].m.u.result.epoch == 43 && same_samples(3, 5) &&
              r[5].m.u.result.timestampUs >= r[3].m.u.result.timestampUs,
          "same drive after reset -> same response, new epoch");
    CHECK(r[6].type == RHIL_T_PONG && r[6].m.u.ping.len == 4, "PONG");
    first_len = (size_t)r[3].m.u.result.count * 3 * 4;
    memcpy(first, r[3].m.u.result.samples, first_len);

    process(1, 1, 10, 2, RHIL_FMT_F32);
    CHECK(run(args2) && nr == 2 && r[1].type == RHIL_T_RESULT, "second run");
    CHECK(nr == 2 && memcmp(first, r[1].m.u.result.samples, first_len) != 0, "another seed, another reservoir");
    process(1, 1, 10, 2, RHIL_FMT_F32);
    args2[8] = "5";
    CHECK(run(args2) && nr == 2 && memcmp(first, r[1].m.u.result.samples, first_len) == 0,
          "same seed, same response (deterministic)");

    simple(RHIL_T_HELLO, 1);
    process(2, 5, 20, 1, RHIL_FMT_U16);
    process(3, 6, 500, 1, RHIL_FMT_U16); /* above maxBatch at maxFrame 1024 */
    CHECK(run(args3) && nr == 4, "u16 run");
    if (nr == 4) {
        CHECK(r[0].m.u.boot.bootCount == 9, "--boot-count");
        CHECK(r[1].m.u.info.inFormat == RHIL_FMT_U16 && r[1].m.u.info.inMin == 0 && r[1].m.u.info.inMax == 65535 &&
                  r[1].m.u.info.maxFrame == 1024 && r[1].m.u.info.maxBatch == (1024 - 35) / 10,
              "u16 INFO (maxBatch %u)", r[1].m.u.info.maxBatch);
        CHECK(r[2].type == RHIL_T_RESULT && r[2].m.u.result.format == RHIL_FMT_U16 && r[2].m.u.result.channels == 5,
              "u16 RESULT");
        CHECK(r[3].type == RHIL_T_ERROR && r[3].m.u.error.code == RHIL_ERR_TOO_LARGE && r[3].m.u.error.detail == 98,
              "TOO_LARGE above maxBatch");
    }
    return t_summary("test_serve");
}
