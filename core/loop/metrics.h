/* Metrics shared by every worker: one shared memory segment, mapped before the workers are
 * forked, so that a scrape shows the same totals whichever worker answers it.
 *
 * - Each worker has a slot (an ls_stats, core/stats.h) that only it writes; the built-in
 *   metrics are the sums over the slots (per worker for Lua memory).
 * - The app's metrics (lunaserve.metrics) live in a registry in the same segment: metrics by
 *   name, and a bounded number of series (one per set of label values) whose values every
 *   worker updates with atomic operations. Registration takes a spin lock; updates do not.
 *
 * The text is Prometheus's exposition format 0.0.4. */
#ifndef LS_METRICS_H
#define LS_METRICS_H

#include "stats.h"

#include <stddef.h>
#include <stdint.h>

#define LS_METRICS_MAX_WORKERS 256 /* as --workers */
#define LS_METRICS_MAX_METRICS 256
#define LS_METRICS_MAX_LABELS 8
#define LS_METRICS_MAX_BUCKETS 16

typedef enum { LS_METRIC_COUNTER, LS_METRIC_GAUGE, LS_METRIC_HISTOGRAM } ls_metric_type;

/* Maps the segment with room for max_series app series and makes slot 0 this process's
 * (ls_stats_self). Returns 0 or -errno. Call once, before any fork. */
int ls_metrics_init(size_t max_series);
/* In a worker, right after the fork: its slot (0-based) becomes ls_stats_self; its gauges
 * start from zero (a restarted worker's connections died with it). */
void ls_metrics_enter_slot(int slot, int nslots);
/* The master counts a worker restart. */
void ls_metrics_count_restart(void);

/* The whole exposition text, built in a malloc'd buffer (*len bytes); NULL if out of memory. */
char *ls_metrics_render(size_t *len);

/* --- the app's metrics --- */
/* Finds or makes the metric `name`. labels: nlabels names; buckets: the histogram's upper
 * bounds, ascending (without +Inf). Returns its index, or -1 with *err set (a name or label
 * that is not valid, a name already made with another type or labels, too many metrics). */
int ls_metrics_define(const char *name, const char *help, ls_metric_type type,
                      const char *const *labels, int nlabels, const double *buckets,
                      int nbuckets, const char **err);
/* Finds or makes the series of metric m with these label values (in the metric's label
 * order); returns its index, or -1 with *err set (past the series limit: counted in
 * lunaserve_metric_errors_total). */
long ls_metrics_series(int m, const char *const *values, const size_t *lens, const char **err);
void ls_metrics_add(long series, double v);     /* counter and gauge */
void ls_metrics_set(long series, double v);     /* gauge */
void ls_metrics_observe(long series, double v); /* histogram */
/* The value of a counter or gauge series (for specs and apps). */
double ls_metrics_value(long series);

#endif
