// Package metrics exposes fakesmtp's counters in the Prometheus text
// format. Counters the server already keeps (internal/smtpd.Counters)
// are read at scrape time rather than copied, so the SMTP hot path pays
// nothing for metrics; latencies are histograms fed by small hooks.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"fakesmtp/internal/smtpd"
)

// Sources are the live values a scrape reads; nil funcs report nothing.
type Sources struct {
	// Counters returns the SMTP server's counters, read at scrape time.
	Counters  func() *smtpd.Counters
	Active    func() int // sessions now
	Tarpitted func() int // sessions in the tarpit now
	// Queue reports the relay queue: messages queued and in failed/.
	Queue func() (queued, failed int)
	// Indexed reports the messages in the index.
	Indexed func() int
}

// Metrics is the registry and the histograms that hooks feed.
type Metrics struct {
	reg         *prometheus.Registry
	storeCommit prometheus.Histogram
	dnsQuery    *prometheus.HistogramVec
	dnsFailures *prometheus.CounterVec
}

// New registers every metric.
func New(src Sources) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.storeCommit = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "fakesmtp_store_commit_seconds", Help: "Time to make an accepted message durable (write, fsync, rename) before the 250.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)})
	m.dnsQuery = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "fakesmtp_dns_query_seconds", Help: "DNS list query latency, per list zone.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}, []string{"zone"})
	m.dnsFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fakesmtp_dns_query_failures_total", Help: "DNS list queries that failed (timeout, SERVFAIL, error codes), per zone."}, []string{"zone"})
	m.reg.MustRegister(m.storeCommit, m.dnsQuery, m.dnsFailures)

	if c := src.Counters; c != nil {
		counter := func(name, help string, f func(*smtpd.Counters) int64) {
			m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(f(c())) }))
		}
		counter("fakesmtp_sessions_total", "SMTP sessions started.", func(c *smtpd.Counters) int64 { return c.Sessions.Load() })
		counter("fakesmtp_messages_accepted_total", "Messages accepted with a 250.", func(c *smtpd.Counters) int64 { return c.Accepted.Load() })
		counter("fakesmtp_message_bytes_accepted_total", "Bytes of the messages accepted.", func(c *smtpd.Counters) int64 { return c.Bytes.Load() })
		counter("fakesmtp_tarpit_replies_total", "Replies delayed or stuttered by the tarpit.", func(c *smtpd.Counters) int64 { return c.Tarpitted.Load() })
		m.reg.MustRegister(&refusals{c: c, desc: prometheus.NewDesc("fakesmtp_refusals_total",
			"What the server refused or flagged, by reason.", []string{"reason"}, nil)})
	}
	gauge := func(name, help string, f func() int) {
		if f != nil {
			m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return float64(f()) }))
		}
	}
	gauge("fakesmtp_sessions_active", "SMTP sessions open now.", src.Active)
	gauge("fakesmtp_sessions_tarpitted", "SMTP sessions held in the tarpit now.", src.Tarpitted)
	gauge("fakesmtp_index_messages", "Messages in the index.", src.Indexed)
	if src.Queue != nil {
		m.reg.MustRegister(&queue{f: src.Queue, desc: prometheus.NewDesc("fakesmtp_relay_queue_messages",
			"Messages in the relay queue, by state (queued, failed).", []string{"state"}, nil)})
	}
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveCommit records one store commit.
func (m *Metrics) ObserveCommit(d time.Duration) { m.storeCommit.Observe(d.Seconds()) }

// ObserveDNS records one DNS list query.
func (m *Metrics) ObserveDNS(zone string, d time.Duration, err error) {
	m.dnsQuery.WithLabelValues(zone).Observe(d.Seconds())
	if err != nil {
		m.dnsFailures.WithLabelValues(zone).Inc()
	}
}

// refusals reads the refusal counters at scrape time, one series a
// reason.
type refusals struct {
	c    func() *smtpd.Counters
	desc *prometheus.Desc
}

func (r *refusals) Describe(ch chan<- *prometheus.Desc) { ch <- r.desc }

func (r *refusals) Collect(ch chan<- prometheus.Metric) {
	c := r.c()
	for _, x := range []struct {
		reason string
		n      int64
	}{
		{"message", c.Refused.Load()},
		{"early_talk", c.EarlyTalk.Load()},
		{"dns_listed", c.Listed.Load()},
		{"trap", c.TrapHits.Load()},
		{"greylist", c.Greylisted.Load()},
		{"per_ip_limit", c.PerIPRefused.Load()},
		{"session_limit", c.SessionLimit.Load()},
		{"non_smtp", c.NonSMTP.Load()},
		{"proxy_header", c.ProxyRefused.Load()},
	} {
		ch <- prometheus.MustNewConstMetric(r.desc, prometheus.CounterValue, float64(x.n), x.reason)
	}
}

// queue reads the relay queue's size at scrape time.
type queue struct {
	f    func() (queued, failed int)
	desc *prometheus.Desc
}

func (q *queue) Describe(ch chan<- *prometheus.Desc) { ch <- q.desc }

func (q *queue) Collect(ch chan<- prometheus.Metric) {
	queued, failed := q.f()
	ch <- prometheus.MustNewConstMetric(q.desc, prometheus.GaugeValue, float64(queued), "queued")
	ch <- prometheus.MustNewConstMetric(q.desc, prometheus.GaugeValue, float64(failed), "failed")
}
