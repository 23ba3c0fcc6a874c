/*
 * boards/rp2040/main.c - example board port of the reservoir-hil device library for a
 * Raspberry Pi Pico (RP2040) driving an analog electronic reservoir.
 *
 * Wiring of this example (adapt to your lab):
 *   GPIO 0, 1   PWM "DACs" (12-bit, 30.5 kHz carrier, RC low-pass 10k/100n) -> reservoir inputs
 *   GPIO 26-28  ADC0..ADC2 <- reservoir outputs (0..3.3 V, 12-bit)
 *   USB         CDC-ACM to the host (TinyUSB device stack)
 * Protocol view: 2 input channels, 3 output channels, both u16 in 0..4095 (raw
 * PWM level / ADC code), one vector every 100 us (10 kHz), paced by the hardware timer.
 *
 * Build with the Pico SDK (see CMakeLists.txt next to this file): RHIL_MAX_FRAME=1024,
 * and a TinyUSB CDC device configuration (tusb_config.h, usb_descriptors.c).
 * This file is an example: it is not built by the library's Makefile.
 */
#include <stdio.h>
#include <string.h>

#include "hardware/adc.h"
#include "hardware/gpio.h"
#include "hardware/pwm.h"
#include "hardware/watchdog.h"
#include "pico/rand.h"
#include "pico/stdlib.h"
#include "pico/unique_id.h"
#include "tusb.h"

#include "rhil_device.h"

#define N_IN 2
#define N_OUT 3
#define PWM_TOP 4095u          /* 12-bit PWM level = the u16 drive value */
#define SAMPLE_PERIOD_US 100u  /* 10 kHz */
#define WASHOUT_US 5000u       /* RESET_STATE: time for the analog state to decay */

static const uint dac_pins[N_IN] = {0, 1};
static const uint adc_inputs[N_OUT] = {0, 1, 2}; /* GPIO 26, 27, 28 */

/* The device lives in static RAM (about 5.6 KB at RHIL_MAX_FRAME=1024). */
static rhil_device_t dev;

typedef struct {
    uint64_t next_tick_us; /* pacing of the sample period */
} board_t;

static board_t board;

/* ---------------------------------------------------------------- hook: read / write (USB CDC) */

static size_t cdc_read(void *ctx, uint8_t *buf, size_t cap)
{
    (void)ctx;
    tud_task(); /* service USB from the main loop */
    if (!tud_cdc_connected() || tud_cdc_available() == 0)
        return 0;
    return tud_cdc_read(buf, (uint32_t)cap);
}

static void cdc_write(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    while (len > 0) {
        uint32_t room = tud_cdc_write_available();
        if (room == 0) {
            /* FIFO full: push it out and let the stack run */
            tud_cdc_write_flush();
            tud_task();
            if (!tud_cdc_connected())
                return; /* host went away: drop the reply */
            continue;
        }
        if (room > len)
            room = (uint32_t)len;
        tud_cdc_write(data, room);
        data += room;
        len -= room;
    }
    tud_cdc_write_flush();
}

/* ---------------------------------------------------------------- hook: process (DAC -> reservoir -> ADC) */

static int board_process(void *ctx, const float *in, float *out)
{
    board_t *b = (board_t *)ctx;
    int status = 0;
    uint64_t now = time_us_64();
    int i;

    /* pace: one vector per sample period; flag OVERRUN when we are late */
    if (b->next_tick_us == 0 || now > b->next_tick_us + SAMPLE_PERIOD_US) {
        if (b->next_tick_us != 0)
            status = RHIL_STATUS_OVERRUN;
        b->next_tick_us = now;
    }
    while (time_us_64() < b->next_tick_us)
        tight_loop_contents();
    b->next_tick_us += SAMPLE_PERIOD_US;

    /* drive: the dispatcher already clipped in[] to [inMin, inMax] = [0, 4095] */
    for (i = 0; i < N_IN; i++)
        pwm_set_gpio_level(dac_pins[i], (uint16_t)(in[i] + 0.5f));

    /* let the reservoir respond for most of the period, then sample */
    busy_wait_us_32(SAMPLE_PERIOD_US * 3 / 4);
    for (i = 0; i < N_OUT; i++) {
        adc_select_input(adc_inputs[i]);
        out[i] = (float)adc_read(); /* 0..4095; 0 and 4095 are flagged OUTPUT_SATURATED */
    }
    return status;
}

/* ---------------------------------------------------------------- optional hooks */

static void board_reset(void *ctx)
{
    int i;
    (void)ctx;
    for (i = 0; i < N_IN; i++)
        pwm_set_gpio_level(dac_pins[i], PWM_TOP / 2); /* rest input */
    sleep_us(WASHOUT_US);
    board.next_tick_us = 0;
}

static uint64_t board_now_us(void *ctx)
{
    (void)ctx;
    return time_us_64(); /* hardware timer since boot: capability HW_TIMESTAMP */
}

static float board_temperature(void *ctx)
{
    float v;
    (void)ctx;
    adc_select_input(4); /* internal sensor */
    v = (float)adc_read() * 3.3f / 4096.0f;
    return 27.0f - (v - 0.706f) / 0.001721f;
}

/* ---------------------------------------------------------------- setup */

static void hw_init(void)
{
    int i;
    for (i = 0; i < N_IN; i++) {
        uint slice = pwm_gpio_to_slice_num(dac_pins[i]);
        gpio_set_function(dac_pins[i], GPIO_FUNC_PWM);
        pwm_set_wrap(slice, PWM_TOP);
        pwm_set_gpio_level(dac_pins[i], PWM_TOP / 2);
        pwm_set_enabled(slice, true);
    }
    adc_init();
    for (i = 0; i < N_OUT; i++)
        adc_gpio_init(26 + adc_inputs[i]);
    adc_set_temp_sensor_enabled(true);
}

int main(void)
{
    rhil_device_config_t cfg;
    rhil_device_hooks_t hooks;
    static char serial[2 * PICO_UNIQUE_BOARD_ID_SIZE_BYTES + 1];
    uint32_t boot_count;
    uint8_t reason;

    hw_init();
    tusb_init();

    /* boot counter and reason: the watchdog scratch registers survive a watchdog or
     * software reset but not a power cycle (so no PERSISTENT_BOOT_COUNT capability) */
    if (watchdog_caused_reboot()) {
        reason = watchdog_enable_caused_reboot() ? RHIL_BOOT_WATCHDOG : RHIL_BOOT_REQUESTED;
        boot_count = watchdog_hw->scratch[0] + 1u;
    } else {
        reason = RHIL_BOOT_POWER_ON;
        boot_count = 1;
    }
    watchdog_hw->scratch[0] = boot_count;
    pico_get_unique_board_id_string(serial, sizeof serial);

    memset(&cfg, 0, sizeof cfg);
    cfg.inFormat = RHIL_FMT_U16;
    cfg.outFormat = RHIL_FMT_U16;
    cfg.inChannels = N_IN;
    cfg.outChannels = N_OUT;
    cfg.maxBatch = 0; /* largest that fits: (1024 - 35) / 6 = 164 vectors */
    cfg.credits = RHIL_DEV_SLOTS - 1;
    cfg.maxFrame = RHIL_MAX_FRAME;
    cfg.samplePeriodNs = SAMPLE_PERIOD_US * 1000u;
    cfg.capabilities = RHIL_CAP_HW_TIMESTAMP;
    cfg.inMin = 0;
    cfg.inMax = PWM_TOP;
    cfg.outMin = 0;
    cfg.outMax = 4095;
    cfg.vendor = "Example Lab";
    cfg.model = "RP2040 RC reservoir";
    cfg.serial = serial;
    cfg.firmware = "rhil-rp2040 1.0";
    cfg.bootCount = boot_count;
    cfg.epoch = get_rand_32(); /* SPEC 6: differ from any epoch reported before */
    cfg.bootReason = reason;
    cfg.leadingZero = 1;

    memset(&hooks, 0, sizeof hooks);
    hooks.read = cdc_read;
    hooks.write = cdc_write;
    hooks.process = board_process;
    hooks.reset = board_reset;
    hooks.now_us = board_now_us;
    hooks.temperature = board_temperature;
    /* hooks.configure left NULL: CONFIGURE is answered NOT_SUPPORTED */

    if (rhil_device_init(&dev, &cfg, &hooks, &board) != RHIL_OK) {
        for (;;)
            tight_loop_contents(); /* configuration error: fix cfg */
    }

    /* wait for the host to open the port, then announce ourselves */
    while (!tud_cdc_connected())
        tud_task();
    rhil_device_start(&dev);

    for (;;)
        rhil_device_poll(&dev);
}
