package fhirtest

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestSearch(t *testing.T) {
	ts, _ := startServer(t, Options{})
	tests := []struct {
		name, path string
		want       []string
	}{
		{"patient by id", "/Observation?patient=pat-a", []string{"er-a", "her2-a", "lvef-a"}},
		{"patient by reference", "/Observation?patient=Patient/pat-a", []string{"er-a", "her2-a", "lvef-a"}},
		{"subject", "/Observation?subject=Patient/" + patientB, []string{"er-b"}},
		{"code with system", "/Observation?code=" + url.QueryEscape("http://loinc.org|16112-5"), []string{"er-a", "er-b"}},
		{"code comma is OR", "/Observation?patient=pat-a&code=16112-5,48676-1", []string{"er-a", "her2-a"}},
		{"code system only", "/Observation?patient=pat-a&code=" + url.QueryEscape("http://loinc.org|"), []string{"er-a", "her2-a", "lvef-a"}},
		{"code in another system", "/Observation?code=" + url.QueryEscape("http://snomed.info/sct|16112-5"), []string{}},
		{"category code", "/Observation?patient=pat-a&category=laboratory", []string{"er-a", "her2-a"}},
		{"category system|code", "/Observation?category=" + url.QueryEscape("http://terminology.hl7.org/CodeSystem/observation-category|exam"), []string{"lvef-a"}},
		{"status", "/Observation?status=amended", []string{"er-b"}},
		{"date ge", "/Observation?date=ge2024-01-01", []string{"er-a", "her2-a"}},
		{"date lt year", "/Observation?date=lt2024", []string{"lvef-a", "er-b"}},
		{"date month", "/Observation?date=2024-03", []string{"er-a", "her2-a"}},
		{"date range ANDed", "/Observation?date=ge2024-03-05&date=le2024-03-05", []string{"er-a"}},
		{"date gt day", "/Observation?date=gt2024-03-05", []string{"her2-a"}},
		{"date day holds a dateTime", "/Observation?date=2024-03-10", []string{"her2-a"}},
		{"sort by date descending", "/Observation?patient=pat-a&_sort=-date", []string{"her2-a", "er-a", "lvef-a"}},
		{"sort by date", "/Observation?_sort=date", []string{"er-b", "lvef-a", "er-a", "her2-a"}},
		{"_id", "/Observation?_id=er-b", []string{"er-b"}},
		{"unknown parameter ignored", "/Observation?frobnicate=1", []string{"er-a", "her2-a", "lvef-a", "er-b"}},
		{"clinical-status", "/Condition?clinical-status=active", []string{"mbc-a"}},
		{"onset-date year", "/Condition?onset-date=2022", []string{"mbc-a"}},
		{"identifier system|value", "/Patient?identifier=" + url.QueryEscape("urn:example:mrn|MRN-B"), []string{patientB}},
		{"identifier value only", "/Patient?identifier=MRN-A", []string{"pat-a"}},
		{"medication code", "/MedicationRequest?patient=pat-a&code=" + url.QueryEscape("http://www.nlm.nih.gov/research/umls/rxnorm|72965"), []string{"letrozole-a"}},
		{"careplan identifier", "/CarePlan?identifier=" + url.QueryEscape("urn:example:draft|draft-1"), []string{"plan-a"}},
		{"another patient's conditions", "/Condition?patient=" + patientB, []string{"htn-b"}},
		{"unknown type is empty", "/Basic?patient=pat-a", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, "GET", ts.URL+tt.path, "")
			if r.status != 200 {
				t.Fatalf("GET %s: got status %d; want 200 (%s)", tt.path, r.status, r.body)
			}
			b := decodeBundle(t, r)
			if got := b.ids(); !slices.Equal(got, tt.want) {
				t.Errorf("GET %s: got %v; want %v", tt.path, got, tt.want)
			}
			if b.Total == nil || *b.Total != len(tt.want) {
				t.Errorf("GET %s: got total %v; want %d", tt.path, b.Total, len(tt.want))
			}
			for _, e := range b.Entry {
				if want := ts.URL + "/" + e.Resource.ResourceType + "/" + e.Resource.ID; e.FullURL != want {
					t.Errorf("fullUrl: got %q; want %q", e.FullURL, want)
				}
				if e.Search.Mode != "match" {
					t.Errorf("search.mode: got %q; want match", e.Search.Mode)
				}
			}
		})
	}
}

func TestSearchRefusesBadValues(t *testing.T) {
	ts, _ := startServer(t, Options{})
	for _, path := range []string{"/Observation?_count=many", "/Observation?_count=-1", "/Observation?date=yesterday", "/Observation?date=ge2024-13-01", "/Observation?_offset=9223372036854775807"} {
		r := call(t, "GET", ts.URL+path, "")
		if r.status != 400 || outcomeCode(r) != "invalid" {
			t.Errorf("GET %s: got %d %q; want 400 with an OperationOutcome", path, r.status, outcomeCode(r))
		}
	}
}

func TestSearchPostForm(t *testing.T) {
	ts, _ := startServer(t, Options{})
	req := call(t, "POST", ts.URL+"/Observation/_search", "patient=pat-a&code=48676-1", "Content-Type: application/x-www-form-urlencoded")
	if got := decodeBundle(t, req).ids(); !slices.Equal(got, []string{"her2-a"}) {
		t.Errorf("POST _search: got %v; want [her2-a]", got)
	}
}

func TestSearchPaging(t *testing.T) {
	ts, _ := startServer(t, Options{})
	next := ts.URL + "/Observation?_count=3&_sort=date"
	var got []string
	pages := 0
	for next != "" && pages < 10 {
		b := decodeBundle(t, call(t, "GET", next, ""))
		pages++
		if b.Total == nil || *b.Total != 4 {
			t.Errorf("page %d: got total %v; want 4", pages, b.Total)
		}
		if self := b.link("self"); !strings.HasPrefix(self, ts.URL+"/Observation?") {
			t.Errorf("page %d: got self link %q; want an absolute URL", pages, self)
		}
		got = append(got, b.ids()...)
		next = b.link("next")
	}
	if want := []string{"er-b", "lvef-a", "er-a", "her2-a"}; !slices.Equal(got, want) || pages != 2 {
		t.Errorf("paged search: got %v in %d pages; want %v in 2", got, pages, want)
	}
}

func TestSearchPageSize(t *testing.T) {
	tests := []struct {
		name     string
		pageSize int
		path     string
		want     int
	}{
		{"option page size", 2, "/Observation", 2},
		{"default page size", 0, "/Observation", 4},
		{"_count wins", 2, "/Observation?_count=3", 3},
		{"_count=0 counts only", 0, "/Observation?_count=0", 0},
		{"_summary=count", 0, "/Observation?_summary=count", 0},
		{"_offset past the end", 0, "/Observation?_offset=9", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, _ := startServer(t, Options{PageSize: tt.pageSize})
			b := decodeBundle(t, call(t, "GET", ts.URL+tt.path, ""))
			if len(b.Entry) != tt.want || b.Total == nil || *b.Total != 4 {
				t.Errorf("GET %s: got %d entries, total %v; want %d entries, total 4", tt.path, len(b.Entry), b.Total, tt.want)
			}
		})
	}
}

func TestIgnorePatientParamReturnsEveryPatient(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		ts, _ := startServer(t, Options{IgnorePatientParam: ignore})
		b := decodeBundle(t, call(t, "GET", ts.URL+"/Observation?patient=pat-a&code=16112-5", ""))
		want := []string{"er-a"}
		if ignore {
			want = []string{"er-a", "er-b"} // two patients: the leak the app must catch
		}
		if got := b.ids(); !slices.Equal(got, want) {
			t.Errorf("IgnorePatientParam %v: got %v; want %v", ignore, got, want)
		}
	}
}

func TestMatchDate(t *testing.T) {
	tests := []struct {
		param, value string
		want         bool
	}{
		{"2024-03-05", "2024-03-05", true},
		{"2024-03-05", "2024-03-05T23:59:59Z", true},
		{"2024-03-05", "2024-03", false}, // a month is not within a day
		{"ne2024-03-05", "2024-03-06", true},
		{"ge2024-03-05", "2024-03-04", false},
		{"le2024-03-05", "2024-03-05", true},
		{"lt2024-03-05", "2024-03-05", false},
		{"gt2024-03-05", "2024-03-06T00:00:00Z", true},
		{"sa2024-03-05", "2024-03-06", true},
		{"eb2024-03-05", "2024-03-04", true},
		{"eb2024-03-05", "2024-03-05", false},
		{"ge2024-03-05T10:00:00Z", "2024-03-05T10:00:00+01:00", false},
		{"2024", "not a date", false},
	}
	for _, tt := range tests {
		if got := matchDate(tt.param, tt.value); got != tt.want {
			t.Errorf("matchDate(%q, %q): got %v; want %v", tt.param, tt.value, got, tt.want)
		}
	}
}

func TestMatchToken(t *testing.T) {
	cc := map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "16112-5"}}}
	id := map[string]any{"value": "MRN-A"}
	tests := []struct {
		param string
		node  any
		want  bool
	}{
		{"16112-5", cc, true},
		{"http://loinc.org|16112-5", cc, true},
		{"http://loinc.org|", cc, true},
		{"|16112-5", cc, false}, // |code means "no system"
		{"http://loinc.org|48676-1", cc, false},
		{"final", "final", true},
		{"final", "amended", false},
		{"|MRN-A", id, true},
		{"urn:x|MRN-A", id, false},
		{"", "final", false},
	}
	for _, tt := range tests {
		if got := matchToken(tt.param, tt.node); got != tt.want {
			t.Errorf("matchToken(%q, %v): got %v; want %v", tt.param, tt.node, got, tt.want)
		}
	}
}

func TestCollapseQuerySlashes(t *testing.T) {
	ts, _ := startServer(t, Options{CollapseQuerySlashes: true})
	tests := []struct {
		name, query string
		want        int
	}{
		{"raw system is collapsed", "code=http://loinc.org|16112-5", 0},
		{"encoded system passes", "code=" + url.QueryEscape("http://loinc.org|16112-5"), 2},
	}
	for _, tt := range tests {
		b := decodeBundle(t, call(t, "GET", ts.URL+"/Observation?"+tt.query, ""))
		if len(b.Entry) != tt.want {
			t.Errorf("%s: got %d entries; want %d", tt.name, len(b.Entry), tt.want)
		}
	}
}
