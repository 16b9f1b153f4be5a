/*
 * ward_monitor.h - bedside monitor interface
 *
 * Reads vital signs from the serial bus and raises alarms when a value leaves its band.
 */
#ifndef WARD_MONITOR_H
#define WARD_MONITOR_H

#include <stdint.h>
#include <stddef.h>

#define MAX_BEDS 64
#define ALARM_HR_LOW 40
#define ALARM_HR_HIGH 140

typedef struct {
    uint16_t bed_id;
    uint16_t heart_rate;
    uint8_t spo2;
    int16_t temperature_decicelsius;
    uint32_t timestamp;
} vital_sample_t;

typedef enum { ALARM_NONE = 0, ALARM_LOW, ALARM_HIGH, ALARM_SENSOR_FAULT } alarm_level_t;

int monitor_open(const char *device, int baud_rate);
int monitor_read(int fd, vital_sample_t *out, size_t count);
alarm_level_t monitor_check(const vital_sample_t *sample);
void monitor_close(int fd);

#endif /* WARD_MONITOR_H */
