package main

import (
	"fmt"
	"io"
	"sort"
	"sync"
	"time"
)

// metrics counts requests per route template and status, in the Prometheus
// text format, with no labels that could carry PHI.
type metrics struct {
	mu      sync.Mutex
	count   map[metricKey]int64
	seconds map[metricKey]float64
	events  map[string]int64
}

type metricKey struct {
	route  string
	status int
}

func newMetrics() *metrics {
	return &metrics{count: map[metricKey]int64{}, seconds: map[metricKey]float64{}, events: map[string]int64{}}
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := metricKey{route, status}
	m.count[k]++
	m.seconds[k] += d.Seconds()
}

// event counts an outcome by a fixed name (e.g. "draft_written_ehr").
func (m *metrics) event(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events[name]++
}

func (m *metrics) write(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]metricKey, 0, len(m.count))
	for k := range m.count {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].route != keys[j].route {
			return keys[i].route < keys[j].route
		}
		return keys[i].status < keys[j].status
	})
	fmt.Fprintln(w, "# TYPE mbcplan_requests_total counter")
	for _, k := range keys {
		fmt.Fprintf(w, "mbcplan_requests_total{route=%q,status=\"%d\"} %d\n", k.route, k.status, m.count[k])
	}
	fmt.Fprintln(w, "# TYPE mbcplan_request_seconds_sum counter")
	for _, k := range keys {
		fmt.Fprintf(w, "mbcplan_request_seconds_sum{route=%q,status=\"%d\"} %g\n", k.route, k.status, m.seconds[k])
	}
	names := make([]string, 0, len(m.events))
	for n := range m.events {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "# TYPE mbcplan_events_total counter")
	for _, n := range names {
		fmt.Fprintf(w, "mbcplan_events_total{event=%q} %d\n", n, m.events[n])
	}
}
