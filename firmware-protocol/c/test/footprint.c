/* footprint.c - static RAM of the library's structs for this build's RHIL_MAX_FRAME
 * and device settings (make footprint builds it for 1024 and 65547). */
#include "../rhil_device.h"

#include <stdio.h>

int main(void)
{
    printf("RHIL_MAX_FRAME=%lu RHIL_DEV_SLOTS=%d RHIL_DEV_QUEUE=%d RHIL_DEV_MAX_CHANNELS=%d RHIL_DEV_RX_CHUNK=%d\n",
           (unsigned long)RHIL_MAX_FRAME, RHIL_DEV_SLOTS, RHIL_DEV_QUEUE, RHIL_DEV_MAX_CHANNELS, RHIL_DEV_RX_CHUNK);
    printf("  sizeof(rhil_decoder_t) = %lu bytes\n", (unsigned long)sizeof(rhil_decoder_t));
    printf("  sizeof(rhil_msg_t)     = %lu bytes\n", (unsigned long)sizeof(rhil_msg_t));
    printf("  sizeof(rhil_writer_t)  = %lu bytes\n", (unsigned long)sizeof(rhil_writer_t));
    printf("  sizeof(rhil_device_t)  = %lu bytes (includes a decoder, a message and a writer)\n",
           (unsigned long)sizeof(rhil_device_t));
    return 0;
}
