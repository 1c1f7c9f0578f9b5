package medplumtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func TestToTransaction(t *testing.T) {
	tests := []struct {
		name   string
		bundle string
		// want lists the request URLs, in order; wantRefs the references found
		// in the resources, in order.
		want     []string
		wantRefs []string
		wantErr  bool
	}{
		{
			name: "collection with urn:uuid fullUrls and no ids",
			bundle: `{"resourceType":"Bundle","type":"collection","entry":[
				{"fullUrl":"urn:uuid:0a1b2c3d-0000-4000-8000-000000000001","resource":{"resourceType":"Patient"}},
				{"fullUrl":"urn:uuid:0a1b2c3d-0000-4000-8000-000000000002","resource":{"resourceType":"Observation",
					"subject":{"reference":"urn:uuid:0a1b2c3d-0000-4000-8000-000000000001"}}}]}`,
			want:     []string{"Patient/0a1b2c3d-0000-4000-8000-000000000001", "Observation/0a1b2c3d-0000-4000-8000-000000000002"},
			wantRefs: []string{"Patient/0a1b2c3d-0000-4000-8000-000000000001"},
		},
		{
			name: "collection with absolute fullUrls, references rewritten",
			bundle: `{"resourceType":"Bundle","type":"collection","entry":[
				{"fullUrl":"http://example.org/fhir/Patient/p1","resource":{"resourceType":"Patient","id":"p1"}},
				{"fullUrl":"http://example.org/fhir/Condition/c1","resource":{"resourceType":"Condition","id":"c1",
					"subject":{"reference":"http://example.org/fhir/Patient/p1"},
					"evidence":[{"detail":[{"reference":"Observation/elsewhere"}]}]}}]}`,
			want:     []string{"Patient/p1", "Condition/c1"},
			wantRefs: []string{"Patient/p1", "Observation/elsewhere"},
		},
		{
			name: "transaction POST becomes PUT with the resource id",
			bundle: `{"resourceType":"Bundle","type":"transaction","entry":[
				{"resource":{"resourceType":"Patient","id":"p2"},"request":{"method":"POST","url":"Patient"}}]}`,
			want: []string{"Patient/p2"},
		},
		{
			name: "id taken from a PUT request URL",
			bundle: `{"resourceType":"Bundle","type":"transaction","entry":[
				{"resource":{"resourceType":"Patient"},"request":{"method":"PUT","url":"Patient/p3"}}]}`,
			want: []string{"Patient/p3"},
		},
		{name: "not a bundle", bundle: `{"resourceType":"Patient"}`, wantErr: true},
		{name: "not JSON", bundle: `{`, wantErr: true},
		{name: "entry without resourceType", bundle: `{"resourceType":"Bundle","entry":[{"resource":{"id":"x"}}]}`, wantErr: true},
		{name: "entry with an invalid id", bundle: `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"a b"}}]}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := toTransaction([]byte(tt.bundle))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %s; want an error", out)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var tx struct {
				Type  string `json:"type"`
				Entry []struct {
					Resource map[string]any `json:"resource"`
					Request  struct {
						Method string `json:"method"`
						URL    string `json:"url"`
					} `json:"request"`
				} `json:"entry"`
			}
			if err := json.Unmarshal(out, &tx); err != nil {
				t.Fatal(err)
			}
			if tx.Type != "transaction" || len(tx.Entry) != len(tt.want) {
				t.Fatalf("got type %q with %d entries; want transaction with %d", tx.Type, len(tx.Entry), len(tt.want))
			}
			var refs []string
			for i, e := range tx.Entry {
				if e.Request.Method != "PUT" || e.Request.URL != tt.want[i] {
					t.Errorf("entry %d: got %s %s; want PUT %s", i, e.Request.Method, e.Request.URL, tt.want[i])
				}
				if got := e.Resource["resourceType"].(string) + "/" + e.Resource["id"].(string); got != tt.want[i] {
					t.Errorf("entry %d resource: got %s; want %s", i, got, tt.want[i])
				}
				refs = append(refs, findRefs(e.Resource)...)
			}
			if strings.Join(refs, ",") != strings.Join(tt.wantRefs, ",") {
				t.Errorf("references: got %v; want %v", refs, tt.wantRefs)
			}
		})
	}
}

// findRefs lists "reference" values in document order of a decoded tree
// (object keys visited sorted, which is enough for these fixtures).
func findRefs(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		if s, ok := x["reference"].(string); ok {
			out = append(out, s)
		}
		for _, k := range []string{"subject", "evidence", "detail"} {
			if c, ok := x[k]; ok {
				out = append(out, findRefs(c)...)
			}
		}
	case []any:
		for _, c := range x {
			out = append(out, findRefs(c)...)
		}
	}
	return out
}

func TestParseNodeVersion(t *testing.T) {
	tests := []struct {
		in           string
		major, minor int
		ok           bool
	}{
		{"v20.20.2\n", 20, 20, true},
		{"v22.12.0", 22, 12, true},
		{"v18.0.0", 18, 0, true},
		{"20.1.0", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		major, minor, ok := parseNodeVersion(tt.in)
		if major != tt.major || minor != tt.minor || ok != tt.ok {
			t.Errorf("parseNodeVersion(%q): got %d, %d, %v; want %d, %d, %v", tt.in, major, minor, ok, tt.major, tt.minor, tt.ok)
		}
	}
}

// TestFaultProxy needs no Node: it checks the proxy against a plain server.
func TestFaultProxy(t *testing.T) {
	var seenHost atomic.Value
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seenHost.Store(r.Host)
		w.Header().Set("Content-Type", "application/fhir+json")
		w.Write([]byte(`{"resourceType":"Bundle","path":"` + r.URL.Path + `","query":"` + r.URL.RawQuery + `"}`))
	}))
	t.Cleanup(backend.Close)

	var calls atomic.Int32
	base := FaultProxy(t, backend.URL+"/fhir/R4", func(r *http.Request) int {
		if calls.Add(1) == 2 {
			return http.StatusServiceUnavailable
		}
		return 0
	})
	if !strings.HasSuffix(base, "/fhir/R4") || strings.HasPrefix(base, backend.URL) {
		t.Fatalf("proxy base: got %q; want another origin ending in /fhir/R4", base)
	}
	tests := []struct {
		name       string
		want       int
		wantInBody string
	}{
		{"first request passes", http.StatusOK, `"path":"/fhir/R4/Observation","query":"_count=3"`},
		{"second request gets the injected fault", http.StatusServiceUnavailable, `"OperationOutcome"`},
		{"third request passes again", http.StatusOK, `"Bundle"`},
	}
	for _, tt := range tests {
		r := call(t, http.DefaultClient, "GET", base+"/Observation?_count=3", "")
		if r.status != tt.want || !strings.Contains(string(r.body), tt.wantInBody) {
			t.Errorf("%s: got %d %s; want %d with %s", tt.name, r.status, r.body, tt.want, tt.wantInBody)
		}
	}
	if got, want := seenHost.Load(), strings.TrimPrefix(strings.TrimSuffix(base, "/fhir/R4"), "http://"); got != want {
		t.Errorf("Host seen by the server: got %v; want the proxy's %v", got, want)
	}
}

func TestInstalled(t *testing.T) {
	lock := `{"lockfileVersion":3,"packages":{"":{"name":"x"},
		"node_modules/a":{"version":"1.0.0","integrity":"sha512-a"},
		"node_modules/b":{"version":"2.0.0","integrity":"sha512-b"}}}`
	hidden := `{"lockfileVersion":3,"packages":{
		"node_modules/a":{"version":"1.0.0","integrity":"sha512-a"},
		"node_modules/b":{"version":"2.0.0","integrity":"sha512-b"}}}`
	tests := []struct {
		name     string
		hidden   string // node_modules/.package-lock.json; "" for none
		packages []string
		want     bool
	}{
		{"nothing installed", "", nil, false},
		{"installed from this lockfile", hidden, []string{"a", "b"}, true},
		{"a package directory removed by hand", hidden, []string{"a"}, false},
		{"another version installed", strings.Replace(hidden, "2.0.0", "2.0.1", 1), []string{"a", "b"}, false},
		{"another digest installed", strings.Replace(hidden, "sha512-a", "sha512-z", 1), []string{"a", "b"}, false},
		{"a package missing from the record", `{"packages":{"node_modules/a":{"version":"1.0.0","integrity":"sha512-a"}}}`, []string{"a", "b"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write := func(name, data string) {
				t.Helper()
				path := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write("package-lock.json", lock)
			if tt.hidden != "" {
				write("node_modules/.package-lock.json", tt.hidden)
			}
			for _, p := range tt.packages {
				write("node_modules/"+p+"/package.json", "{}")
			}
			got, err := installed(dir)
			if err != nil || got != tt.want {
				t.Errorf("installed: got %v, %v; want %v, nil", got, err, tt.want)
			}
		})
	}
	if _, err := installed(t.TempDir()); err == nil {
		t.Error("installed without package-lock.json: got no error; want one")
	}
}
