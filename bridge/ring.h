/* The write ring: collectd's write threads copy each value list into it in
 * C, and one Go goroutine drains it in batches. Entering Go from collectd's
 * threads for every value list cost collectd about 4 us of CPU per value
 * list (the Go runtime's scheduler waking and handing off its processors
 * each time), a third more than collectd's own work; a copy into the ring
 * costs a mutex and a memcpy. */
#ifndef ANOMALY_RING_H
#define ANOMALY_RING_H

#include "plugin.h"

/* Only the plugin itself calls these: none is exported from anomaly.so
 * (module_register, collectd.org/plugin's, is). */
#pragma GCC visibility push(hidden)

/* Value lists with more data sources than this are refused (and counted). */
#define ANOMALY_MAX_VALUES 16

typedef struct {
  /* collectd's data sets live as long as the daemon: a pointer is enough. */
  const data_set_t *ds;
  /* The value list as collectd passed it, with values pointing at the copy
   * below and no meta data. */
  value_list_t vl;
  value_t values[ANOMALY_MAX_VALUES];
} anomaly_record_t;

/* anomaly_ring_init allocates a ring of capacity records; 0 on success. */
int anomaly_ring_init(size_t capacity);

/* anomaly_ring_put copies a value list in, waiting while the ring is full
 * (collectd's own write queue then holds what comes next). It returns 0,
 * or -1 for a value list it cannot hold (too many values, or the ring
 * closed), which it counts. */
int anomaly_ring_put(const data_set_t *ds, const value_list_t *vl);

/* anomaly_ring_take returns the number of records ready, contiguous in
 * memory from *first (at most up to the ring's end); the consumer reads
 * them in place and then releases them. */
size_t anomaly_ring_take(anomaly_record_t **first);
void anomaly_ring_release(size_t n);

/* anomaly_ring_close wakes and refuses producers; records already in the
 * ring can still be taken. */
void anomaly_ring_close(void);

/* Value lists refused since the start. */
unsigned long long anomaly_ring_refused(void);

/* anomaly_ring_wait blocks the consumer until the ring holds a record, or
 * timeout_ms pass; it returns the records ready, or -1 once the ring is
 * closed and empty. A producer wakes it only when it waits: an idle
 * plugin costs no wake-ups, a busy one no signals. */
int anomaly_ring_wait(long timeout_ms);

/* Puts that found the ring full and waited, and the most records it held:
 * what says whether the consumer keeps up. */
unsigned long long anomaly_ring_full_waits(void);
size_t anomaly_ring_high_water(void);

#pragma GCC visibility pop

#endif
