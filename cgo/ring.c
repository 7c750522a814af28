#include "ring.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static anomaly_record_t *ring;
static size_t cap;
static size_t head; /* next record to take: the consumer's */
static size_t tail; /* next record to fill: the producers' */
static int producers_waiting;
static int closed;
static unsigned long long refused;

int anomaly_ring_init(size_t capacity) {
  pthread_mutex_lock(&mu);
  if (ring == NULL) {
    ring = calloc(capacity, sizeof(*ring));
    cap = ring == NULL ? 0 : capacity;
  }
  closed = 0;
  pthread_mutex_unlock(&mu);
  return ring == NULL ? -1 : 0;
}

int anomaly_ring_put(const data_set_t *ds, const value_list_t *vl) {
  if (ds == NULL || vl == NULL || vl->values_len > ANOMALY_MAX_VALUES ||
      vl->values_len != ds->ds_num) {
    __atomic_add_fetch(&refused, 1, __ATOMIC_RELAXED);
    return -1;
  }
  pthread_mutex_lock(&mu);
  while (!closed && ring != NULL && tail - head == cap) {
    producers_waiting++;
    pthread_cond_wait(&not_full, &mu);
    producers_waiting--;
  }
  if (closed || ring == NULL) {
    pthread_mutex_unlock(&mu);
    __atomic_add_fetch(&refused, 1, __ATOMIC_RELAXED);
    return -1;
  }
  anomaly_record_t *r = &ring[tail % cap];
  r->ds = ds;
  r->vl = *vl;
  memcpy(r->values, vl->values, vl->values_len * sizeof(value_t));
  r->vl.values = r->values;
  r->vl.meta = NULL;
  tail++;
  pthread_mutex_unlock(&mu);
  return 0;
}

size_t anomaly_ring_take(anomaly_record_t **first) {
  pthread_mutex_lock(&mu);
  size_t n = tail - head;
  if (n > 0) {
    size_t at = head % cap;
    if (at + n > cap) /* up to the ring's end; the rest comes next time */
      n = cap - at;
    *first = &ring[at];
  }
  pthread_mutex_unlock(&mu);
  return n;
}

void anomaly_ring_release(size_t n) {
  pthread_mutex_lock(&mu);
  head += n;
  if (producers_waiting > 0)
    pthread_cond_broadcast(&not_full);
  pthread_mutex_unlock(&mu);
}

void anomaly_ring_close(void) {
  pthread_mutex_lock(&mu);
  closed = 1;
  pthread_cond_broadcast(&not_full);
  pthread_mutex_unlock(&mu);
}

unsigned long long anomaly_ring_refused(void) {
  return __atomic_load_n(&refused, __ATOMIC_RELAXED);
}
