package fhirtest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const newPlan = `{"resourceType":"CarePlan","id":"client-chosen","status":"draft","intent":"proposal",
 "identifier":[{"system":"urn:example:draft","value":"draft-2"}],"subject":{"reference":"Patient/pat-a"}}`

func TestRead(t *testing.T) {
	ts, _ := startServer(t, Options{})
	tests := []struct {
		name, path string
		status     int
		etag       string
	}{
		{"read", "/Patient/pat-a", 200, `W/"1"`},
		{"vread", "/Observation/er-a/_history/1", 200, `W/"1"`},
		{"missing resource", "/Observation/nope", 404, ""},
		{"missing version", "/Observation/er-a/_history/2", 404, ""},
		{"base without type", "/", 404, ""},
		{"unknown path", "/Observation/er-a/_history", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, "GET", ts.URL+tt.path, "")
			if r.status != tt.status {
				t.Fatalf("GET %s: got %d; want %d", tt.path, r.status, tt.status)
			}
			if got := r.header.Get("Content-Type"); got != ContentType {
				t.Errorf("Content-Type: got %q; want %q", got, ContentType)
			}
			if got := r.header.Get("ETag"); got != tt.etag {
				t.Errorf("ETag: got %q; want %q", got, tt.etag)
			}
			if tt.status != 200 && outcomeCode(r) == "" {
				t.Errorf("GET %s: got body %s; want an OperationOutcome", tt.path, r.body)
			}
		})
	}
}

func TestMetadata(t *testing.T) {
	tests := []struct {
		name             string
		readOnly         bool
		wantCarePlanOps  string
		wantDocumentOps  string
		wantObservations string
	}{
		{"CarePlan writable", false, "read vread search-type create update", "read vread search-type create update", "read vread search-type"},
		{"CarePlan read-only like Epic", true, "read vread search-type", "read vread search-type create update", "read vread search-type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, _ := startServer(t, Options{
				CarePlanReadOnly: tt.readOnly,
				Auth:             grants{},
				OAuthAuthorize:   "https://ehr.example/auth/authorize",
				OAuthToken:       "https://ehr.example/auth/token",
			})
			r := call(t, "GET", ts.URL+"/metadata", "") // no token needed
			if r.status != 200 {
				t.Fatalf("GET /metadata: got %d; want 200", r.status)
			}
			var cs struct {
				ResourceType string   `json:"resourceType"`
				FHIRVersion  string   `json:"fhirVersion"`
				Format       []string `json:"format"`
				Rest         []struct {
					Security struct {
						Extension []struct {
							URL       string `json:"url"`
							Extension []struct {
								URL      string `json:"url"`
								ValueURI string `json:"valueUri"`
							} `json:"extension"`
						} `json:"extension"`
						Service []struct {
							Coding []struct {
								Code string `json:"code"`
							} `json:"coding"`
						} `json:"service"`
					} `json:"security"`
					Resource []struct {
						Type        string `json:"type"`
						Interaction []struct {
							Code string `json:"code"`
						} `json:"interaction"`
						SearchParam []struct {
							Name string `json:"name"`
						} `json:"searchParam"`
					} `json:"resource"`
				} `json:"rest"`
			}
			if err := json.Unmarshal(r.body, &cs); err != nil {
				t.Fatal(err)
			}
			if cs.ResourceType != "CapabilityStatement" || cs.FHIRVersion != "4.0.1" || len(cs.Rest) != 1 {
				t.Fatalf("got %s %s with %d rest; want CapabilityStatement 4.0.1 with 1", cs.ResourceType, cs.FHIRVersion, len(cs.Rest))
			}
			if len(cs.Format) == 0 || cs.Format[0] != "json" {
				t.Errorf("format: got %v; want json first", cs.Format)
			}
			sec := cs.Rest[0].Security
			uris := map[string]string{}
			for _, e := range sec.Extension {
				if e.URL == "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris" {
					for _, x := range e.Extension {
						uris[x.URL] = x.ValueURI
					}
				}
			}
			if uris["authorize"] != "https://ehr.example/auth/authorize" || uris["token"] != "https://ehr.example/auth/token" {
				t.Errorf("oauth-uris: got %v; want the authorize and token URLs", uris)
			}
			if len(sec.Service) == 0 || len(sec.Service[0].Coding) == 0 || sec.Service[0].Coding[0].Code != "SMART-on-FHIR" {
				t.Errorf("security.service: got %+v; want SMART-on-FHIR", sec.Service)
			}
			ops := map[string]string{}
			params := map[string]string{}
			for _, res := range cs.Rest[0].Resource {
				var codes, names []string
				for _, i := range res.Interaction {
					codes = append(codes, i.Code)
				}
				for _, p := range res.SearchParam {
					names = append(names, p.Name)
				}
				ops[res.Type] = strings.Join(codes, " ")
				params[res.Type] = " " + strings.Join(names, " ") + " "
			}
			for typ, want := range map[string]string{"CarePlan": tt.wantCarePlanOps, "DocumentReference": tt.wantDocumentOps, "Observation": tt.wantObservations} {
				if ops[typ] != want {
					t.Errorf("%s interactions: got %q; want %q", typ, ops[typ], want)
				}
			}
			for _, p := range []string{"patient", "code", "category", "date", "status"} {
				if !strings.Contains(params["Observation"], " "+p+" ") {
					t.Errorf("Observation search params %q: missing %q", params["Observation"], p)
				}
			}
		})
	}
}

func TestCreate(t *testing.T) {
	ts, store := startServer(t, Options{})
	r := call(t, "POST", ts.URL+"/CarePlan", newPlan)
	if r.status != 201 {
		t.Fatalf("POST CarePlan: got %d; want 201 (%s)", r.status, r.body)
	}
	id := field(t, r.body, "id")
	if id == "" || id == "client-chosen" {
		t.Errorf("id: got %q; want one the server chose", id)
	}
	if got, want := r.header.Get("Location"), ts.URL+"/CarePlan/"+id+"/_history/1"; got != want {
		t.Errorf("Location: got %q; want %q", got, want)
	}
	if got := r.header.Get("ETag"); got != `W/"1"` {
		t.Errorf("ETag: got %q; want W/\"1\"", got)
	}
	if got := field(t, r.body, "meta", "versionId"); got != "1" {
		t.Errorf("meta.versionId: got %q; want 1", got)
	}
	if field(t, r.body, "meta", "lastUpdated") == "" {
		t.Errorf("meta.lastUpdated: missing")
	}
	if _, ok := store.Get("CarePlan", id); !ok {
		t.Errorf("store: CarePlan not found after create")
	}

	r = call(t, "POST", ts.URL+"/Provenance", `{"resourceType":"Provenance","target":[{"reference":"CarePlan/plan-a"}]}`, "Prefer: return=minimal")
	if r.status != 201 || len(r.body) != 0 || r.header.Get("Location") == "" {
		t.Errorf("POST Provenance return=minimal: got %d, %d body bytes, Location %q; want 201, empty, a Location", r.status, len(r.body), r.header.Get("Location"))
	}
}

func TestCreateRefused(t *testing.T) {
	big := `{"resourceType":"CarePlan","note":[{"text":"` + strings.Repeat("x", MaxBodyBytes) + `"}]}`
	tests := []struct {
		name     string
		readOnly bool
		path     string
		body     string
		status   int
		code     string
	}{
		{"CarePlan on a read-only server", true, "/CarePlan", newPlan, 405, "not-supported"},
		{"Observation is not writable", false, "/Observation", `{"resourceType":"Observation","status":"final"}`, 405, "not-supported"},
		{"malformed JSON", false, "/CarePlan", `{"resourceType":"CarePlan",`, 400, "structure"},
		{"JSON array", false, "/CarePlan", `[{"resourceType":"CarePlan"}]`, 400, "structure"},
		{"trailing data", false, "/CarePlan", `{"resourceType":"CarePlan"} {}`, 400, "structure"},
		{"resourceType mismatch", false, "/CarePlan", `{"resourceType":"DocumentReference","status":"current"}`, 400, "invalid"},
		{"missing resourceType", false, "/CarePlan", `{"status":"draft"}`, 400, "invalid"},
		{"body too large", false, "/CarePlan", big, 413, "too-long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, store := startServer(t, Options{CarePlanReadOnly: tt.readOnly})
			before := len(store.Resources("CarePlan"))
			r := call(t, "POST", ts.URL+tt.path, tt.body)
			if r.status != tt.status || outcomeCode(r) != tt.code {
				t.Errorf("POST %s: got %d %q; want %d %q", tt.path, r.status, outcomeCode(r), tt.status, tt.code)
			}
			if after := len(store.Resources("CarePlan")); after != before {
				t.Errorf("CarePlans: got %d after a refused create; want %d", after, before)
			}
		})
	}
	t.Run("DocumentReference on a read-only server", func(t *testing.T) {
		ts, _ := startServer(t, Options{CarePlanReadOnly: true})
		r := call(t, "POST", ts.URL+"/DocumentReference", `{"resourceType":"DocumentReference","status":"current","subject":{"reference":"Patient/pat-a"}}`)
		if r.status != 201 {
			t.Errorf("POST DocumentReference: got %d; want 201", r.status)
		}
	})
}

func TestConditionalCreate(t *testing.T) {
	ts, store := startServer(t, Options{})
	existing := "If-None-Exist: identifier=" + url.QueryEscape("urn:example:draft|draft-1")
	fresh := "If-None-Exist: identifier=" + url.QueryEscape("urn:example:draft|draft-2")

	r := call(t, "POST", ts.URL+"/CarePlan", newPlan, existing)
	if r.status != 200 || field(t, r.body, "id") != "plan-a" {
		t.Errorf("one match: got %d id %q; want 200 plan-a", r.status, field(t, r.body, "id"))
	}
	r = call(t, "POST", ts.URL+"/CarePlan", newPlan, fresh)
	if r.status != 201 {
		t.Fatalf("no match: got %d; want 201", r.status)
	}
	created := field(t, r.body, "id")
	r = call(t, "POST", ts.URL+"/CarePlan", newPlan, "If-None-Exist: CarePlan?identifier="+url.QueryEscape("urn:example:draft|draft-2"))
	if r.status != 200 || field(t, r.body, "id") != created {
		t.Errorf("repeat: got %d id %q; want 200 %q", r.status, field(t, r.body, "id"), created)
	}
	if got := len(store.Resources("CarePlan")); got != 2 {
		t.Errorf("CarePlans: got %d; want 2", got)
	}
	call(t, "POST", ts.URL+"/CarePlan", newPlan) // an unconditional duplicate
	r = call(t, "POST", ts.URL+"/CarePlan", newPlan, fresh)
	if r.status != 412 || outcomeCode(r) == "" {
		t.Errorf("two matches: got %d %s; want 412 with an OperationOutcome", r.status, r.body)
	}
	r = call(t, "POST", ts.URL+"/CarePlan", newPlan, "If-None-Exist: frobnicate=1")
	if r.status != 400 {
		t.Errorf("If-None-Exist without a known parameter: got %d; want 400", r.status)
	}
}

func TestConditionalCreateIsAtomic(t *testing.T) {
	ts, store := startServer(t, Options{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			call(t, "POST", ts.URL+"/CarePlan", newPlan, "If-None-Exist: identifier=draft-2")
		})
	}
	wg.Wait()
	if got := len(store.Resources("CarePlan")); got != 2 {
		t.Errorf("CarePlans after 8 concurrent conditional creates: got %d; want 2", got)
	}
}

func TestUpdate(t *testing.T) {
	ts, store := startServer(t, Options{})
	active := `{"resourceType":"CarePlan","id":"plan-a","status":"active","intent":"proposal","subject":{"reference":"Patient/pat-a"}}`
	steps := []struct {
		name, path, body, ifMatch string
		status                    int
		etag                      string
	}{
		{"weak If-Match", "/CarePlan/plan-a", active, `W/"1"`, 200, `W/"2"`},
		{"stale If-Match", "/CarePlan/plan-a", active, `W/"1"`, 412, ""},
		{"strong If-Match", "/CarePlan/plan-a", active, `"2"`, 200, `W/"3"`},
		{"unquoted If-Match", "/CarePlan/plan-a", active, `3`, 400, ""},
		{"no If-Match", "/CarePlan/plan-a", active, "", 200, `W/"4"`},
		{"id mismatch", "/CarePlan/plan-b", active, "", 400, ""},
		{"malformed JSON", "/CarePlan/plan-a", `{"id":`, "", 400, ""},
		{"create by update", "/CarePlan/plan-new", strings.Replace(active, "plan-a", "plan-new", 1), "", 201, `W/"1"`},
		{"If-Match on a missing resource", "/CarePlan/plan-none", strings.Replace(active, "plan-a", "plan-none", 1), `W/"1"`, 412, ""},
		{"not writable", "/Observation/er-a", `{"resourceType":"Observation","id":"er-a"}`, "", 405, ""},
	}
	for _, st := range steps {
		var hdr []string
		if st.ifMatch != "" {
			hdr = append(hdr, "If-Match: "+st.ifMatch)
		}
		r := call(t, "PUT", ts.URL+st.path, st.body, hdr...)
		if r.status != st.status {
			t.Errorf("%s: got %d; want %d (%s)", st.name, r.status, st.status, r.body)
			continue
		}
		if st.status >= 400 && outcomeCode(r) == "" {
			t.Errorf("%s: got body %s; want an OperationOutcome", st.name, r.body)
		}
		if got := r.header.Get("ETag"); got != st.etag {
			t.Errorf("%s: got ETag %q; want %q", st.name, got, st.etag)
		}
	}
	v1, ok := store.Version("CarePlan", "plan-a", "1")
	if !ok || field(t, v1.JSON, "status") != "draft" {
		t.Errorf("version 1: got %s; want the original draft", v1.JSON)
	}
	r := call(t, "GET", ts.URL+"/CarePlan/plan-a/_history/2", "")
	if r.status != 200 || field(t, r.body, "status") != "active" {
		t.Errorf("vread 2: got %d %q; want 200 active", r.status, field(t, r.body, "status"))
	}
}

// grants is a fake Authorizer: token → grant.
type grants map[string]Grant

func (g grants) Authorize(_ *http.Request, token string) (Grant, error) {
	if gr, ok := g[token]; ok {
		return gr, nil
	}
	return Grant{}, errors.New("unknown token")
}

func TestAuth(t *testing.T) {
	auth := grants{
		"v1-a":       {Patient: "pat-a", Scopes: []string{"launch", "openid", "patient/*.read"}},
		"v2-obs-a":   {Patient: "pat-a", Scopes: []string{"patient/Observation.rs"}},
		"v2-read-a":  {Patient: "pat-a", Scopes: []string{"patient/Observation.r"}},
		"granular-a": {Patient: "pat-a", Scopes: []string{"patient/Observation.rs?category=laboratory"}},
		"user-a":     {Patient: "pat-a", Scopes: []string{"user/*.read"}},
		"system":     {Scopes: []string{"system/Observation.read"}},
		"no-patient": {Scopes: []string{"patient/*.read"}},
		"write-a":    {Patient: "pat-a", Scopes: []string{"patient/CarePlan.cu"}},
		"v1write-a":  {Patient: "pat-a", Scopes: []string{"patient/CarePlan.write", "patient/CarePlan.read"}},
		"expired":    {Patient: "pat-a", Scopes: []string{"patient/*.read"}, Expired: true},
		"fhir401":    {PlainUnauthorized: true},
		"fhir503":    {Patient: "pat-a", Scopes: []string{"patient/*.read"}, Unavailable: true},
	}
	ts, _ := startServer(t, Options{Auth: auth})
	planB := strings.Replace(newPlan, "Patient/pat-a", "Patient/"+patientB, 1)
	tests := []struct {
		name, token, method, path, body string
		status                          int
		wantIDs                         int // for searches: entries expected; -1 not a search
	}{
		{"no token", "", "GET", "/Observation?patient=pat-a", "", 401, -1},
		{"unknown token", "nope", "GET", "/Observation?patient=pat-a", "", 401, -1},
		{"expired token", "expired", "GET", "/Observation?patient=pat-a", "", 401, -1},
		{"unavailable", "fhir503", "GET", "/Patient/pat-a", "", 503, -1},
		{"metadata needs no token", "", "GET", "/metadata", "", 200, -1},
		{"own patient", "v1-a", "GET", "/Patient/pat-a", "", 200, -1},
		{"another patient", "v1-a", "GET", "/Patient/" + patientB, "", 403, -1},
		{"another patient's result", "v1-a", "GET", "/Observation/er-b", "", 403, -1},
		{"own result", "v1-a", "GET", "/Observation/er-a", "", 200, -1},
		{"not about a patient", "v1-a", "GET", "/Practitioner/onc-1", "", 200, -1},
		{"search own patient", "v1-a", "GET", "/Observation?patient=pat-a", "", 200, 3},
		{"search another patient", "v1-a", "GET", "/Observation?patient=" + patientB, "", 403, -1},
		{"search another subject", "v1-a", "GET", "/Observation?subject=Patient/" + patientB, "", 403, -1},
		{"search without patient is limited", "v1-a", "GET", "/Observation?code=16112-5", "", 200, 1},
		{"search Patient is limited", "v1-a", "GET", "/Patient", "", 200, 1},
		{"search Patient by another id", "v1-a", "GET", "/Patient?_id=" + patientB, "", 403, -1},
		{"v2 rs", "v2-obs-a", "GET", "/Observation?patient=pat-a", "", 200, 3},
		{"v2 other type", "v2-obs-a", "GET", "/Condition?patient=pat-a", "", 403, -1},
		{"v2 read without search", "v2-read-a", "GET", "/Observation?patient=pat-a", "", 403, -1},
		{"v2 read", "v2-read-a", "GET", "/Observation/er-a", "", 200, -1},
		{"granular scope grants nothing", "granular-a", "GET", "/Observation?patient=pat-a", "", 403, -1},
		{"user scope reads others", "user-a", "GET", "/Observation/er-b", "", 200, -1},
		{"system scope", "system", "GET", "/Observation?patient=" + patientB, "", 200, 1},
		{"patient scope without patient", "no-patient", "GET", "/Observation?patient=pat-a", "", 403, -1},
		{"read scope cannot write", "v1-a", "POST", "/CarePlan", newPlan, 403, -1},
		{"v2 create for own patient", "write-a", "POST", "/CarePlan", newPlan, 201, -1},
		{"v2 create for another patient", "write-a", "POST", "/CarePlan", planB, 403, -1},
		{"v1 write update", "v1write-a", "PUT", "/CarePlan/plan-a", `{"resourceType":"CarePlan","id":"plan-a","status":"active","intent":"proposal","subject":{"reference":"Patient/pat-a"}}`, 200, -1},
		{"v1 write moves plan to another patient", "v1write-a", "PUT", "/CarePlan/plan-a", `{"resourceType":"CarePlan","id":"plan-a","status":"active","intent":"proposal","subject":{"reference":"Patient/` + patientB + `"}}`, 403, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.token != "" {
				hdr = append(hdr, "Authorization: Bearer "+tt.token)
			}
			r := call(t, tt.method, ts.URL+tt.path, tt.body, hdr...)
			if r.status != tt.status {
				t.Fatalf("%s %s with %q: got %d; want %d (%s)", tt.method, tt.path, tt.token, r.status, tt.status, r.body)
			}
			if r.status == 401 || r.status == 403 || r.status == 503 {
				if outcomeCode(r) == "" {
					t.Errorf("got body %s; want an OperationOutcome", r.body)
				}
			}
			if r.status == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate: got %q; want Bearer", r.header.Get("WWW-Authenticate"))
			}
			if tt.wantIDs >= 0 {
				if got := len(decodeBundle(t, r).Entry); got != tt.wantIDs {
					t.Errorf("entries: got %d; want %d", got, tt.wantIDs)
				}
			}
		})
	}

	r := call(t, "GET", ts.URL+"/Observation?patient=pat-a", "", "Authorization: Bearer expired")
	if h := r.header.Get("WWW-Authenticate"); !strings.Contains(h, `error="invalid_token"`) {
		t.Errorf("expired: WWW-Authenticate %q; want error=\"invalid_token\"", h)
	}
	r = call(t, "GET", ts.URL+"/Observation?patient=pat-a", "", "Authorization: Bearer fhir401")
	if r.status != 401 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") || outcomeCode(r) != "" {
		t.Errorf("simulated fhir_401: got %d %q %s; want 401 plain text", r.status, r.header.Get("Content-Type"), r.body)
	}
}

func TestGrantPermits(t *testing.T) {
	tests := []struct {
		scope           string
		typ             string
		op              byte
		allowed, onlyPt bool
	}{
		{"patient/Observation.read", "Observation", opSearch, true, true},
		{"patient/Observation.read", "Observation", opCreate, false, true},
		{"patient/*.write", "CarePlan", opUpdate, true, true},
		{"patient/*.*", "CarePlan", opCreate, true, true},
		{"patient/Observation.cruds", "Observation", opDelete, true, true},
		{"patient/Observation.sr", "Observation", opRead, false, true}, // wrong order
		{"patient/Observation.rx", "Observation", opRead, false, true},
		{"user/Observation.rs", "Observation", opRead, true, false},
		{"system/*.read", "Patient", opRead, true, false},
		{"openid", "Patient", opRead, false, true},
		{"patient/Condition.rs", "Observation", opRead, false, true},
	}
	for _, tt := range tests {
		allowed, onlyPt := Grant{Scopes: []string{tt.scope}}.permits(tt.typ, tt.op)
		if allowed != tt.allowed || (allowed && onlyPt != tt.onlyPt) {
			t.Errorf("%q on %s %c: got %v, patient only %v; want %v, %v", tt.scope, tt.typ, tt.op, allowed, onlyPt, tt.allowed, tt.onlyPt)
		}
	}
}

func TestFault(t *testing.T) {
	tests := []struct {
		status     int
		retryAfter string
	}{
		{500, ""},
		{429, "1"},
		{503, "1"},
	}
	for _, tt := range tests {
		ts, _ := startServer(t, Options{Fault: func(*http.Request) (int, time.Duration) { return tt.status, 0 }})
		r := call(t, "GET", ts.URL+"/Patient/pat-a", "")
		if r.status != tt.status || r.header.Get("Retry-After") != tt.retryAfter || outcomeCode(r) == "" {
			t.Errorf("fault %d: got %d Retry-After %q %s; want %d %q with an OperationOutcome", tt.status, r.status, r.header.Get("Retry-After"), r.body, tt.status, tt.retryAfter)
		}
	}
}

func TestFaultDelayEndsWithTheRequest(t *testing.T) {
	srv := NewServer(fixtureStore(t), Options{Fault: func(*http.Request) (int, time.Duration) { return 0, time.Hour }})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, "GET", "/Patient/pat-a", nil))
	if rec.Body.Len() != 0 {
		t.Errorf("cancelled slow request: got body %s; want none", rec.Body)
	}
}

func TestMountedUnderAPrefix(t *testing.T) {
	store := fixtureStore(t)
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	mux.Handle("/sandbox/fhir/", NewServer(store, Options{BaseURL: ts.URL + "/sandbox/fhir/"}))
	mux.Handle("/stripped/", http.StripPrefix("/stripped", NewServer(store, Options{BaseURL: ts.URL + "/stripped"})))

	for _, base := range []string{ts.URL + "/sandbox/fhir", ts.URL + "/stripped"} {
		b := decodeBundle(t, call(t, "GET", base+"/Observation?_id=er-a", ""))
		if len(b.Entry) != 1 || b.Entry[0].FullURL != base+"/Observation/er-a" {
			t.Errorf("search under %s: got %+v; want one entry with fullUrl %s/Observation/er-a", base, b.Entry, base)
		}
		r := call(t, "POST", base+"/CarePlan", newPlan)
		if !strings.HasPrefix(r.header.Get("Location"), base+"/CarePlan/") {
			t.Errorf("Location under %s: got %q", base, r.header.Get("Location"))
		}
	}
}

func TestMethodNotAllowed(t *testing.T) {
	ts, _ := startServer(t, Options{})
	for _, tt := range []struct{ method, path string }{
		{"DELETE", "/CarePlan/plan-a"},
		{"PATCH", "/CarePlan"},
		{"POST", "/metadata"},
		{"GET", "/CarePlan/_search"},
	} {
		r := call(t, tt.method, ts.URL+tt.path, "")
		if r.status != 405 || r.header.Get("Allow") == "" {
			t.Errorf("%s %s: got %d Allow %q; want 405 with Allow", tt.method, tt.path, r.status, r.header.Get("Allow"))
		}
	}
}
