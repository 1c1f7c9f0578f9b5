package fhir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/mbcplan/mbcplan/recommend"
)

// BenchmarkFetchMapRecommend measures one patient's read (FetchRecord),
// mapping and recommendation against a server that adds 50 ms to every
// response, with the Observations spanning two pages. The wave is parallel
// and the second page is the only serial step, so the goal is about 100 ms:
// the metric ratio-to-100ms should stay at or below 1.2.
func BenchmarkFetchMapRecommend(b *testing.B) {
	lib := loadLibrary(b)
	sc, ok := lib.Lookup("mbc-01")
	if !ok {
		b.Skip("mbc-01 not in the library")
	}
	srv := newFakeFHIR()
	srv.load(b, sc.Bundle)
	most := 0
	for _, rs := range srv.byType {
		most = max(most, len(rs))
	}
	srv.pageSize = (most + 1) / 2 // two pages for the largest search
	if n := len(srv.byType["Observation"]); n <= srv.pageSize {
		b.Fatalf("%d Observations fit one page of %d; want two pages", n, srv.pageSize)
	}
	srv.delay = 50 * time.Millisecond
	c := srv.start(b)
	if tr, ok := c.hc.Transport.(*http.Transport); ok {
		tr.MaxIdleConnsPerHost = 32 // keep the wave's connections between iterations
	}
	ctx := b.Context()
	// Warm up: open the wave's connections once, as a session's client has.
	if _, err := c.FetchRecord(ctx, "mbc-01"); err != nil {
		b.Fatal(err)
	}
	var plan recommend.Plan
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		rec, err := c.FetchRecord(ctx, "mbc-01")
		if err != nil {
			b.Fatal(err)
		}
		plan = recommend.Recommend(MapFacts(rec), lib.AsOf, recommend.Settings{})
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(elapsed)/float64(b.N)/float64(100*time.Millisecond), "ratio-to-100ms")
	_ = plan
}

// largeRecord builds a Bundle of about n resources about one patient by
// repeating the library's resources under new ids.
func largeRecord(b *testing.B, n int) []byte {
	b.Helper()
	lib := loadLibrary(b)
	var entries []json.RawMessage
	var patient json.RawMessage
	for _, sc := range lib.Scenarios {
		srv := newFakeFHIR()
		srv.load(b, sc.Bundle)
		for typ, rs := range srv.byType {
			for _, raw := range rs {
				if typ == "Patient" {
					if patient == nil {
						patient = raw
					}
					continue
				}
				entries = append(entries, raw)
			}
		}
	}
	var head struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(patient, &head); err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	buf.WriteString(`{"resourceType":"Bundle","type":"collection","entry":[{"resource":`)
	buf.Write(patient)
	buf.WriteString(`}`)
	for i := 0; i < n-1; i++ {
		raw := entries[i%len(entries)]
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			b.Fatal(err)
		}
		m["id"] = fmt.Sprintf("r%d", i)
		for _, k := range []string{"subject", "patient"} {
			if _, ok := m[k]; ok {
				m[k] = map[string]any{"reference": "Patient/" + head.ID}
			}
		}
		out, err := json.Marshal(m)
		if err != nil {
			b.Fatal(err)
		}
		buf.WriteString(`,{"resource":`)
		buf.Write(out)
		buf.WriteString(`}`)
	}
	buf.WriteString(`]}`)
	return buf.Bytes()
}

// BenchmarkMapFacts2000 measures mapping a record of 2,000 resources that
// the reader has already checked and decoded.
func BenchmarkMapFacts2000(b *testing.B) {
	rec, err := RecordFromBundle(largeRecord(b, 2000))
	if err != nil {
		b.Fatal(err)
	}
	if len(rec.Resources) < 1900 {
		b.Fatalf("%d resources kept; want about 2000", len(rec.Resources))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		MapFacts(rec)
	}
}

// BenchmarkRecordFromBundle2000 measures reading (decoding and checking)
// and mapping a Bundle of 2,000 resources.
func BenchmarkRecordFromBundle2000(b *testing.B) {
	data := largeRecord(b, 2000)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		rec, err := RecordFromBundle(data)
		if err != nil {
			b.Fatal(err)
		}
		MapFacts(rec)
	}
}
