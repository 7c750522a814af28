#include "ring.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static anomaly_record_t *ring;
static size_t cap;
static size_t head; /* next record to take: the consumer's */
static size_t tail; /* next record to fill: the producers' */
static int producers_waiting;
static int consumer_waiting;
static unsigned long long full_waits;
static size_t high_water;
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
  if (!closed && ring != NULL && tail - head == cap)
    full_waits++;
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
  if (tail - head > high_water)
    high_water = tail - head;
  if (consumer_waiting)
    pthread_cond_signal(&not_empty);
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
  pthread_cond_broadcast(&not_empty);
  pthread_mutex_unlock(&mu);
}

int anomaly_ring_wait(long timeout_ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += timeout_ms / 1000;
  until.tv_nsec += (timeout_ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&mu);
  if (tail == head && !closed) {
    consumer_waiting = 1;
    pthread_cond_timedwait(&not_empty, &mu, &until);
    consumer_waiting = 0;
  }
  int n = (int)(tail - head);
  if (n == 0 && closed)
    n = -1;
  pthread_mutex_unlock(&mu);
  return n;
}

unsigned long long anomaly_ring_full_waits(void) {
  pthread_mutex_lock(&mu);
  unsigned long long n = full_waits;
  pthread_mutex_unlock(&mu);
  return n;
}

size_t anomaly_ring_high_water(void) {
  pthread_mutex_lock(&mu);
  size_t n = high_water;
  pthread_mutex_unlock(&mu);
  return n;
}

unsigned long long anomaly_ring_refused(void) {
  return __atomic_load_n(&refused, __ATOMIC_RELAXED);
}
