/* Minimal test harness shared by the C test programs (test code may use stdio). */
#ifndef RHIL_TESTUTIL_H
#define RHIL_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long t_pass, t_fail;

/* One check: counted as passed, or printed as one FAIL line and counted as failed. */
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            t_pass++;                                                                              \
        } else {                                                                                   \
            t_fail++;                                                                              \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                            \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
        }                                                                                          \
    } while (0)

/* Print the summary line the project's test runner parses and return the exit code. */
static long from_hex(const char *s, unsigned char *out, size_t cap);
static void print_hex(const unsigned char *p, size_t n, size_t max);
static int t_summary(const char *program)
{
    (void)from_hex; /* helpers some programs do not use */
    (void)print_hex;
    printf("C %s: %ld passed, %ld failed\n", program, t_pass, t_fail);
    return t_fail > 0 ? 1 : 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parse hex (spaces allowed) into out; returns the byte count or -1. */
static long from_hex(const char *s, unsigned char *out, size_t cap)
{
    size_t n = 0;
    while (*s) {
        int hi, lo;
        if (*s == ' ') {
            s++;
            continue;
        }
        hi = hexval((unsigned char)s[0]);
        lo = s[1] ? hexval((unsigned char)s[1]) : -1;
        if (hi < 0 || lo < 0 || n >= cap)
            return -1;
        out[n++] = (unsigned char)(hi * 16 + lo);
        s += 2;
    }
    return (long)n;
}

static void print_hex(const unsigned char *p, size_t n, size_t max)
{
    size_t i;
    for (i = 0; i < n && i < max; i++)
        printf("%02x", p[i]);
    if (n > max)
        printf("...(%lu bytes)", (unsigned long)n);
}

#endif
