package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/changewatch/changewatch/jobs"
)

type metrics struct {
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	bytes     prometheus.Counter
	errors    *prometheus.CounterVec
	downloads *prometheus.CounterVec
}

func newMetrics(s *Server) (*prometheus.Registry, *metrics) {
	reg := prometheus.NewRegistry()
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "changewatch_http_requests_total",
			Help: "HTTP requests answered, by method and status code."}, []string{"method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "changewatch_http_request_seconds",
			Help: "HTTP request durations.", Buckets: prometheus.DefBuckets}, []string{"method"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "changewatch_http_response_bytes_total",
			Help: "Bytes of HTTP responses written by serve (downloads are redirected to the object store)."}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "changewatch_serve_errors_total",
			Help: "Errors of serve, by kind."}, []string{"kind"}),
		downloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "changewatch_downloads_total",
			Help: "File downloads handed out, by file extension."}, []string{"ext"}),
	}
	reg.MustRegister(m.requests, m.latency, m.bytes, m.errors, m.downloads,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&queueCollector{s: s})
	return reg, m
}

func (m *metrics) observeHTTP(r *http.Request, code int, n int64, d time.Duration) {
	m.requests.WithLabelValues(r.Method, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(r.Method).Observe(d.Seconds())
	m.bytes.Add(float64(n))
	if code >= 500 {
		m.errors.WithLabelValues("http_5xx").Inc()
	}
}

func (s *Server) metricsHandler(w http.ResponseWriter, r *http.Request) error {
	promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	return nil
}

// queueCollector reads the queues through asynq's Inspector at each scrape: sizes by
// state, today's processed and failed counts, and the stage timings of the finished
// detections still retained (their summaries' timings_s).
type queueCollector struct{ s *Server }

var (
	queueSizeDesc = prometheus.NewDesc("changewatch_queue_tasks", "Tasks in a queue, by state.", []string{"queue", "state"}, nil)
	processedDesc = prometheus.NewDesc("changewatch_queue_processed_today", "Tasks processed today (UTC), by queue.", []string{"queue"}, nil)
	failedDesc    = prometheus.NewDesc("changewatch_queue_failed_today", "Task attempts that failed today (UTC), by queue.", []string{"queue"}, nil)
	stageDesc     = prometheus.NewDesc("changewatch_task_stage_seconds", "Seconds the retained finished detections spent per stage.", []string{"stage"}, nil)
	scrapeErrDesc = prometheus.NewDesc("changewatch_queue_scrape_errors", "Queues that could not be inspected at this scrape.", nil, nil)
)

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{queueSizeDesc, processedDesc, failedDesc, stageDesc, scrapeErrDesc} {
		ch <- d
	}
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	errs := 0
	sums := map[string]float64{}
	counts := map[string]uint64{}
	for _, q := range queues() {
		if ctx.Err() != nil {
			errs++
			continue
		}
		info, err := c.s.ins.GetQueueInfo(q)
		if err != nil {
			if !strings.Contains(err.Error(), "not found") {
				errs++
			}
			continue
		}
		for state, n := range map[string]int{"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled,
			"retry": info.Retry, "archived": info.Archived, "completed": info.Completed} {
			ch <- prometheus.MustNewConstMetric(queueSizeDesc, prometheus.GaugeValue, float64(n), q, state)
		}
		ch <- prometheus.MustNewConstMetric(processedDesc, prometheus.GaugeValue, float64(info.Processed), q)
		ch <- prometheus.MustNewConstMetric(failedDesc, prometheus.GaugeValue, float64(info.Failed), q)
		done, err := c.s.ins.ListCompletedTasks(q, asynq.PageSize(maxListed))
		if err != nil {
			errs++
			continue
		}
		for _, t := range done {
			if t.Type != jobs.TypeDetectChange && t.Type != jobs.TypeMerge && t.Type != jobs.TypeDetectChunk {
				continue
			}
			var sum struct {
				Timings map[string]float64 `json:"timings_s"`
			}
			if json.Unmarshal(t.Result, &sum) != nil {
				continue
			}
			for stage, sec := range sum.Timings {
				sums[stage] += sec
				counts[stage]++
			}
		}
	}
	for stage, sec := range sums {
		ch <- prometheus.MustNewConstSummary(stageDesc, counts[stage], sec, nil, stage)
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrDesc, prometheus.GaugeValue, float64(errs))
}
