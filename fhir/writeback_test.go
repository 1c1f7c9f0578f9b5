package fhir

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/mbcplan/mbcplan/fhir/fhirtest"
)

// sandbox is a fhirtest server, its store and a client for it.
type sandbox struct {
	store  *fhirtest.Store
	client *Client
}

// newSandbox starts a sandbox FHIR server; wrap, when set, sits in front of
// it (to inject faults after the server acted).
func newSandbox(t *testing.T, opts fhirtest.Options, wrap func(http.Handler) http.Handler) *sandbox {
	t.Helper()
	st := fhirtest.NewStore()
	var h http.Handler = fhirtest.NewServer(st, opts)
	if wrap != nil {
		h = wrap(h)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	c, err := NewClient(ts.URL, ts.Client(), WithRetry(2, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return &sandbox{store: st, client: c}
}

// carePlans decodes every CarePlan in the sandbox.
func (s *sandbox) carePlans(t *testing.T) []r4.CarePlan {
	t.Helper()
	var out []r4.CarePlan
	for _, r := range s.store.Resources("CarePlan") {
		cp, err := r4.UnmarshalCarePlan(r.JSON)
		if err != nil {
			t.Fatalf("stored CarePlan does not decode: %v", err)
		}
		out = append(out, cp)
	}
	return out
}

func countStatus(cps []r4.CarePlan, intent r4.CarePlanIntent, status r4.RequestStatus) int {
	n := 0
	for _, cp := range cps {
		if cp.Intent == intent && cp.Status == status {
			n++
		}
	}
	return n
}

func validateAll(t *testing.T, cps []r4.CarePlan) {
	t.Helper()
	for i := range cps {
		if err := Validate(&cps[i]); err != nil {
			t.Errorf("stored CarePlan %d: %v", i, err)
		}
	}
}

func TestWriteDraftEHRIdempotent(t *testing.T) {
	sb := newSandbox(t, fhirtest.Options{}, nil)
	w := &Writer{Client: sb.client}
	ctx := t.Context()
	d1, err := w.WriteDraft(ctx, planHRPositive(), cpFacts("Patient/p1"), cpContext())
	if err != nil {
		t.Fatalf("WriteDraft: %v", err)
	}
	if d1.Where != WhereEHR || !d1.Created || d1.Status != "draft" {
		t.Errorf("got where %q created %v status %q; want ehr true draft", d1.Where, d1.Created, d1.Status)
	}
	if !strings.HasPrefix(d1.Identifier, DraftIdentifierSystem+"|") {
		t.Errorf("got identifier %q; want system %s", d1.Identifier, DraftIdentifierSystem)
	}
	dc := cpContext()
	dc.Now = dc.Now.Add(time.Hour) // a later click: same inputs
	d2, err := w.WriteDraft(ctx, planHRPositive(), cpFacts("Patient/p1"), dc)
	if err != nil {
		t.Fatalf("WriteDraft again: %v", err)
	}
	if d2.Created || d2.ID != d1.ID {
		t.Errorf("second write: got created %v id %s; want false %s", d2.Created, d2.ID, d1.ID)
	}
	cps := sb.carePlans(t)
	if len(cps) != 1 {
		t.Fatalf("got %d CarePlans; want 1", len(cps))
	}
	validateAll(t, cps)
	if n := len(sb.store.Resources("Provenance")); n != 1 {
		t.Errorf("got %d Provenance; want 1", n)
	}
}

func TestWriteDraftReplacesOpenDraft(t *testing.T) {
	sb := newSandbox(t, fhirtest.Options{}, nil)
	w := &Writer{Client: sb.client}
	ctx := t.Context()
	d1, err := w.WriteDraft(ctx, planHRPositive(), cpFacts("Patient/p1"), cpContext())
	if err != nil {
		t.Fatal(err)
	}
	dc := cpContext()
	dc.OptionID = "H02-ai"
	d2, err := w.WriteDraft(ctx, planHRPositive(), cpFacts("Patient/p1"), dc)
	if err != nil {
		t.Fatal(err)
	}
	if !d2.Created || !slices.Equal(d2.Replaced, []string{"CarePlan/" + d1.ID}) {
		t.Errorf("got created %v replaced %q; want true [CarePlan/%s]", d2.Created, d2.Replaced, d1.ID)
	}
	old, err := w.Read(ctx, d1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if old.Status != "revoked" {
		t.Errorf("old draft: got status %q; want revoked", old.Status)
	}
	cp, err := decodeCarePlan(d2.CarePlan)
	if err != nil {
		t.Fatal(err)
	}
	if len(cp.Replaces) != 1 || *cp.Replaces[0].Reference != "CarePlan/"+d1.ID {
		t.Errorf("new draft: got replaces %v; want CarePlan/%s", cp.Replaces, d1.ID)
	}
	cps := sb.carePlans(t)
	validateAll(t, cps)
	if n := countStatus(cps, r4.CarePlanIntentProposal, r4.RequestStatusDraft); n != 1 {
		t.Errorf("got %d open drafts; want 1", n)
	}
	// Drafting the first option again opens a new draft with the same
	// identifier (the old one is revoked) and revokes the second.
	d3, err := w.WriteDraft(ctx, planHRPositive(), cpFacts("Patient/p1"), cpContext())
	if err != nil {
		t.Fatal(err)
	}
	if !d3.Created || d3.Identifier != d1.Identifier || d3.ID == d1.ID {
		t.Errorf("third write: got created %v identifier same %v id %s; want a new draft with the first identifier", d3.Created, d3.Identifier == d1.Identifier, d3.ID)
	}
	if n := countStatus(sb.carePlans(t), r4.CarePlanIntentProposal, r4.RequestStatusDraft); n != 1 {
		t.Errorf("got %d open drafts; want 1", n)
	}
}

// lostResponse lets the server act on the first CarePlan create, then
// answers the client with fail (a 500, or hangs until the client gives up).
func lostResponse(hang bool) func(http.Handler) http.Handler {
	var once sync.Once
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hit := false
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/CarePlan") {
				once.Do(func() { hit = true })
			}
			if !hit {
				next.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(httptest.NewRecorder(), r)
			if hang {
				<-r.Context().Done()
				return
			}
			http.Error(w, "internal error", http.StatusInternalServerError)
		})
	}
}

func TestWriteDraftRetryAfterFault(t *testing.T) {
	var failFirst sync.Once
	tests := []struct {
		name string
		opts fhirtest.Options
		wrap func(http.Handler) http.Handler
	}{
		{"500 before the server acted", fhirtest.Options{Fault: func(r *http.Request) (int, time.Duration) {
			status := 0
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/CarePlan") {
				failFirst.Do(func() { status = http.StatusInternalServerError })
			}
			return status, 0
		}}, nil},
		{"500 after the server created it", fhirtest.Options{}, lostResponse(false)},
		{"timeout after the server created it", fhirtest.Options{}, lostResponse(true)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sb := newSandbox(t, tc.opts, tc.wrap)
			w := &Writer{Client: sb.client}
			ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
			_, err := w.WriteDraft(ctx, planHRPositive(), cpFacts("Patient/p1"), cpContext())
			cancel()
			if err == nil {
				t.Fatal("first write: got no error; want the fault")
			}
			d, err := w.WriteDraft(t.Context(), planHRPositive(), cpFacts("Patient/p1"), cpContext())
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			if d.Status != "draft" {
				t.Errorf("got status %q; want draft", d.Status)
			}
			cps := sb.carePlans(t)
			if len(cps) != 1 {
				t.Errorf("got %d CarePlans after the retry; want exactly 1", len(cps))
			}
			validateAll(t, cps)
			if n := len(sb.store.Resources("Provenance")); n != 1 {
				t.Errorf("got %d Provenance; want 1", n)
			}
		})
	}
}

func TestEditAndStaleIfMatch(t *testing.T) {
	sb := newSandbox(t, fhirtest.Options{}, nil)
	w := &Writer{Client: sb.client}
	ctx := t.Context()
	d, err := w.WriteDraft(ctx, planHRPositive(), cpFacts("Patient/p1"), cpContext())
	if err != nil {
		t.Fatal(err)
	}
	note := "Start after dental review."
	e1, err := w.Edit(ctx, d.ID, d.VersionID, Edit{Note: &note, RemoveActivities: []string{"item-6"}}, cpContext())
	if err != nil {
		t.Fatalf("Edit: %v", err)
	}
	cp, err := decodeCarePlan(e1.CarePlan)
	if err != nil {
		t.Fatal(err)
	}
	if len(cp.Activity) != 7 || !noteContains(cp, note) || !strings.Contains(cp.Text.Div, "dental review") {
		t.Errorf("edit not applied: %d activities, note %v, narrative %v", len(cp.Activity), noteContains(cp, note), strings.Contains(cp.Text.Div, "dental review"))
	}
	if e1.VersionID == d.VersionID {
		t.Errorf("edit kept version %s; want a new one", e1.VersionID)
	}

	// A second clinician still holds the first version.
	note2 := "Prefers the afternoon clinic."
	pending := Edit{Note: &note2}
	_, err = w.Edit(ctx, d.ID, d.VersionID, pending, cpContext())
	var ce *ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("stale edit: got %v; want a *ConflictError", err)
	}
	if !errors.Is(err, ErrPreconditionFailed) {
		t.Errorf("ConflictError does not match ErrPreconditionFailed")
	}
	if ce.Current == nil || ce.Current.VersionID != e1.VersionID {
		t.Errorf("got current %v; want version %s", ce.Current, e1.VersionID)
	}
	if ce.Edit == nil || ce.Edit.Note == nil || *ce.Edit.Note != note2 {
		t.Errorf("the pending edit was not returned")
	}
	if !slices.Contains(ce.Changes, "activity: 8 → 7 entries") || !slices.Contains(ce.Changes, "note: 5 → 6 entries") {
		t.Errorf("got changes %q; want the activity and note counts", ce.Changes)
	}
	if strings.Contains(err.Error(), d.ID) || strings.Contains(err.Error(), "afternoon") {
		t.Errorf("error %q names an id or content", err)
	}
	// Re-applied on the current version, it lands.
	if _, err := w.Edit(ctx, d.ID, ce.Current.VersionID, *ce.Edit, cpContext()); err != nil {
		t.Errorf("re-applied edit: %v", err)
	}
	if _, err := w.Edit(ctx, d.ID, "", Edit{RemoveActivities: []string{"no-such"}}, cpContext()); !errors.Is(err, ErrUnknownActivity) {
		t.Errorf("unknown activity: got %v; want ErrUnknownActivity", err)
	}
	validateAll(t, sb.carePlans(t))
	if n := len(sb.store.Resources("Provenance")); n != 3 {
		t.Errorf("got %d Provenance; want 3 (draft, two edits)", n)
	}
}

func TestAcceptAndReject(t *testing.T) {
	sb := newSandbox(t, fhirtest.Options{}, nil)
	w := &Writer{Client: sb.client}
	ctx := t.Context()
	d, err := w.WriteDraft(ctx, planHRPositive(), cpFacts("Patient/p1"), cpChosenContext())
	if err != nil {
		t.Fatal(err)
	}
	note := "x"
	e, err := w.Edit(ctx, d.ID, d.VersionID, Edit{Note: &note}, cpContext())
	if err != nil {
		t.Fatal(err)
	}
	// Accepting the version before the edit loses nothing and writes nothing.
	dc := cpContext()
	dc.Note = "Agreed with the patient."
	_, err = w.Accept(ctx, d.ID, d.VersionID, dc)
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Action != "accept" || ce.Edit == nil || *ce.Edit.Note != dc.Note {
		t.Fatalf("stale accept: got %v; want a *ConflictError with the pending note", err)
	}
	if n := countStatus(sb.carePlans(t), r4.CarePlanIntentPlan, r4.RequestStatusActive); n != 0 {
		t.Errorf("got %d active plans after a stale accept; want 0", n)
	}

	acc, err := w.Accept(ctx, d.ID, e.VersionID, dc)
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if acc.Proposal.Status != "completed" || acc.Plan.Status != "active" || acc.Note != nil {
		t.Errorf("got proposal %q plan %q note %v; want completed active nil", acc.Proposal.Status, acc.Plan.Status, acc.Note)
	}
	plan, err := decodeCarePlan(acc.Plan.CarePlan)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Intent != r4.CarePlanIntentPlan || len(plan.BasedOn) != 1 || *plan.BasedOn[0].Reference != "CarePlan/"+d.ID ||
		plan.Author == nil || *plan.Author.Reference != "Practitioner/dr1" || !noteContains(plan, dc.Note) {
		t.Errorf("accepted plan: got intent %s basedOn %v author %v; want plan, the proposal, the clinician", plan.Intent.Code(), plan.BasedOn, plan.Author)
	}
	cps := sb.carePlans(t)
	validateAll(t, cps)
	if got := countStatus(cps, r4.CarePlanIntentPlan, r4.RequestStatusActive); got != 1 {
		t.Errorf("got %d active plans; want 1", got)
	}
	// Accepting again, or rejecting, a completed proposal is refused.
	if _, err := w.Accept(ctx, d.ID, acc.Proposal.VersionID, dc); !errors.Is(err, ErrNotOpen) {
		t.Errorf("second accept: got %v; want ErrNotOpen", err)
	}
	if _, err := w.Reject(ctx, d.ID, "", "changed my mind", dc); !errors.Is(err, ErrNotOpen) {
		t.Errorf("reject after accept: got %v; want ErrNotOpen", err)
	}

	// Reject another patient's draft.
	dc2 := cpContext()
	dc2.PatientRef = "Patient/p2"
	d2, err := w.WriteDraft(ctx, planHER2Cardiac(), cpFacts("Patient/p2"), dc2)
	if err != nil {
		t.Fatal(err)
	}
	rj, err := w.Reject(ctx, d2.ID, d2.VersionID, "Patient declines chemotherapy", dc2)
	if err != nil {
		t.Fatalf("Reject: %v", err)
	}
	rcp, err := decodeCarePlan(rj.CarePlan)
	if err != nil {
		t.Fatal(err)
	}
	if rcp.Status != r4.RequestStatusRevoked || !noteContains(rcp, "Patient declines chemotherapy") {
		t.Errorf("rejected: got status %s; want revoked with the reason in a note", rcp.Status.Code())
	}
	if _, err := w.Accept(ctx, d2.ID, "", cpContext()); !errors.Is(err, ErrNotOpen) {
		t.Errorf("accept after reject: got %v; want ErrNotOpen", err)
	}
	noClin := cpContext()
	noClin.ClinicianRef, noClin.ClinicianName = "", ""
	if _, err := w.Accept(ctx, d2.ID, "", noClin); !errors.Is(err, ErrNoClinician) {
		t.Errorf("accept without clinician: got %v; want ErrNoClinician", err)
	}
	validateAll(t, sb.carePlans(t))
	// draft, edit, accept; draft, reject.
	if n := len(sb.store.Resources("Provenance")); n != 5 {
		t.Errorf("got %d Provenance; want 5", n)
	}
}

// TestAcceptRaceLosesNothing: someone edits the proposal between the
// writer's read and its update; the plan made meanwhile is withdrawn.
func TestAcceptRaceLosesNothing(t *testing.T) {
	var st *fhirtest.Store
	var once sync.Once
	wrap := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/CarePlan/") {
				once.Do(func() {
					id := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
					cur, ok := st.Get("CarePlan", id)
					if !ok {
						return
					}
					var m map[string]any
					if json.Unmarshal(cur.JSON, &m) != nil {
						return
					}
					m["note"] = append(m["note"].([]any), map[string]any{"text": "edited elsewhere"})
					b, _ := json.Marshal(m)
					if _, err := st.Put(b); err != nil {
						return
					}
				})
			}
			next.ServeHTTP(w, r)
		})
	}
	sb := newSandbox(t, fhirtest.Options{}, wrap)
	st = sb.store
	w := &Writer{Client: sb.client}
	d, err := w.WriteDraft(t.Context(), planHRPositive(), cpFacts("Patient/p1"), cpChosenContext())
	if err != nil {
		t.Fatal(err)
	}
	dc := cpContext()
	dc.Note = "Accepted in clinic."
	_, err = w.Accept(t.Context(), d.ID, d.VersionID, dc)
	var ce *ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v; want a *ConflictError", err)
	}
	if ce.Edit == nil || *ce.Edit.Note != dc.Note || !slices.Contains(ce.Changes, "note: 6 → 7 entries") {
		t.Errorf("got pending %v changes %q; want the note and the note count", ce.Edit, ce.Changes)
	}
	cps := sb.carePlans(t)
	if n := countStatus(cps, r4.CarePlanIntentPlan, r4.RequestStatusActive); n != 0 {
		t.Errorf("got %d active plans; want 0 (withdrawn)", n)
	}
	if n := countStatus(cps, r4.CarePlanIntentProposal, r4.RequestStatusDraft); n != 1 {
		t.Errorf("got %d open drafts; want 1", n)
	}
	// Re-applied on the current version, the acceptance lands.
	if _, err := w.Accept(t.Context(), d.ID, ce.Current.VersionID, *ceDC(dc, ce)); err != nil {
		t.Errorf("re-applied accept: %v", err)
	}
}

func ceDC(dc DraftContext, ce *ConflictError) *DraftContext {
	if ce.Edit != nil && ce.Edit.Note != nil {
		dc.Note = *ce.Edit.Note
	}
	return &dc
}

func TestAppStorePath(t *testing.T) {
	sb := newSandbox(t, fhirtest.Options{CarePlanReadOnly: true}, nil)
	ms := NewMemStore(func() time.Time { return cpNow })
	w := &Writer{Client: sb.client, Store: ms}
	ctx := t.Context()
	d, err := w.WriteDraft(ctx, planHRPositive(), cpFacts("Patient/p1"), cpChosenContext())
	if err != nil {
		t.Fatalf("WriteDraft: %v", err)
	}
	if d.Where != WhereAppStore || !d.Created {
		t.Errorf("got where %q created %v; want app-store true", d.Where, d.Created)
	}
	again, err := w.WriteDraft(ctx, planHRPositive(), cpFacts("Patient/p1"), cpChosenContext())
	if err != nil || again.ID != d.ID || again.Created {
		t.Errorf("second write: got %v created %v; want the same draft", err, again != nil && again.Created)
	}
	if n := len(sb.store.Resources("CarePlan")); n != 0 {
		t.Errorf("got %d CarePlans in the EHR; want 0", n)
	}
	acc, err := w.Accept(ctx, d.ID, d.VersionID, cpContext())
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if acc.Plan.Where != WhereAppStore || acc.Note == nil || acc.Note.Where != WhereEHR {
		t.Fatalf("got plan where %q note %+v; want app-store and a note in the EHR", acc.Plan.Where, acc.Note)
	}
	docs := sb.store.Resources("DocumentReference")
	if len(docs) != 1 {
		t.Fatalf("got %d DocumentReferences; want 1", len(docs))
	}
	dr, err := r4.UnmarshalDocumentReference(docs[0].JSON)
	if err != nil {
		t.Fatal(err)
	}
	if dr.Status != r4.DocumentReferenceStatusCurrent || *dr.Type.Coding[0].Code != "11506-3" || *dr.Subject.Reference != "Patient/p1" {
		t.Errorf("note: got status %s type %s; want current 11506-3 about Patient/p1", dr.Status.Code(), *dr.Type.Coding[0].Code)
	}
	body, err := base64.StdEncoding.DecodeString(*dr.Content[0].Attachment.Data)
	if err != nil || !strings.Contains(string(body), "Treatment plan: Letrozole + ribociclib") || !strings.HasPrefix(*dr.Content[0].Attachment.ContentType, "text/html") {
		t.Errorf("note content: got %q (%v); want the HTML plan", body, err)
	}
	// The clinician chose letrozole: the note names the drugs given.
	if want := "Drugs: letrozole; ribociclib."; !strings.Contains(string(body), want) {
		t.Errorf("note content: want %q", want)
	}
	// The plans live in the app store: the note names them by identifier,
	// never by a literal reference the chart would resolve to nothing.
	if dr.Context == nil || len(dr.Context.Related) != 2 {
		t.Fatalf("got context %+v; want two related CarePlans", dr.Context)
	}
	for i, wantSys := range []string{PlanIdentifierSystem, DraftIdentifierSystem} {
		r := dr.Context.Related[i]
		if r.Reference != nil || r.Identifier == nil || *r.Identifier.System != wantSys {
			t.Errorf("related %d: got reference %v identifier %+v; want only an identifier of %s", i, r.Reference, r.Identifier, wantSys)
		}
	}
	if v := *dr.Context.Related[0].Identifier.Value; acc.Plan.Identifier != PlanIdentifierSystem+"|"+v {
		t.Errorf("related plan %s; want the accepted plan's identifier %s", v, acc.Plan.Identifier)
	}
	// Everything else stayed in the app store: proposal, plan, Provenance.
	plans, err := ms.Find(ctx, "CarePlan", "Patient/p1", "")
	if err != nil {
		t.Fatal(err)
	}
	var statuses []string
	for _, p := range plans {
		statuses = append(statuses, p.Status)
		cp, err := r4.UnmarshalCarePlan(withIDVersion(p.JSON, p.ID, p.VersionID))
		if err != nil {
			t.Fatal(err)
		}
		if err := Validate(&cp); err != nil {
			t.Errorf("stored plan: %v", err)
		}
	}
	if !slices.Equal(statuses, []string{"completed", "active"}) {
		t.Errorf("got app-store CarePlans %q; want [completed active]", statuses)
	}
	prov, err := ms.Find(ctx, "Provenance", "Patient/p1", "")
	if err != nil || len(prov) != 2 {
		t.Errorf("got %d Provenance in the app store (%v); want 2", len(prov), err)
	}
}

func TestAppStoreOnlyWithoutClient(t *testing.T) {
	w := &Writer{Store: NewMemStore(nil)}
	d, err := w.WriteDraft(t.Context(), planHER2Unknown(), cpFacts("Patient/p3"), DraftContext{Now: cpNow})
	if err != nil {
		t.Fatal(err)
	}
	if d.Where != WhereAppStore {
		t.Errorf("got where %q; want app-store", d.Where)
	}
	if _, err := (&Writer{}).WriteDraft(t.Context(), planHER2Unknown(), cpFacts("Patient/p3"), DraftContext{Now: cpNow}); !errors.Is(err, ErrNoWriteBack) {
		t.Errorf("no client, no store: got %v; want ErrNoWriteBack", err)
	}
}

func TestWriteDraftWithChoice(t *testing.T) {
	sb := newSandbox(t, fhirtest.Options{}, nil)
	w := &Writer{Client: sb.client}
	ctx := t.Context()
	open, err := w.WriteDraft(ctx, planHRPositive(), cpFacts("Patient/p1"), cpContext())
	if err != nil {
		t.Fatal(err)
	}
	dc := cpContext()
	dc.Choices = map[string]string{"ai": "anastrozole"}
	chosen, err := w.WriteDraft(ctx, planHRPositive(), cpFacts("Patient/p1"), dc)
	if err != nil {
		t.Fatalf("WriteDraft with a choice: %v", err)
	}
	if !chosen.Created || chosen.Identifier == open.Identifier || !slices.Equal(chosen.Replaced, []string{open.Ref()}) {
		t.Errorf("got created %v, same identifier %v, replaced %q; want a new draft replacing %s",
			chosen.Created, chosen.Identifier == open.Identifier, chosen.Replaced, open.Ref())
	}
	cp, err := decodeCarePlan(chosen.CarePlan)
	if err != nil {
		t.Fatal(err)
	}
	if got := productNames(cp); !slices.Equal(got, []string{"anastrozole", "ribociclib"}) {
		t.Errorf("got products %q; want [anastrozole ribociclib]", got)
	}
	dc.Choices = map[string]string{"ai": "exemestane"}
	if _, err := w.WriteDraft(ctx, planHRPositive(), cpFacts("Patient/p1"), dc); !errors.Is(err, ErrUnknownChoice) {
		t.Errorf("bad choice: got %v; want ErrUnknownChoice", err)
	}
	if n := len(sb.store.Resources("CarePlan")); n != 2 {
		t.Errorf("got %d CarePlans; want 2 (nothing written for the bad choice)", n)
	}
}

// TestEditSettlesChoice: removing all alternatives but one is a choice; the
// draft then reads as a draft written with that choice would.
func TestEditSettlesChoice(t *testing.T) {
	w := &Writer{Store: NewMemStore(func() time.Time { return cpNow })}
	ctx := t.Context()
	d, err := w.WriteDraft(ctx, planHRPositive(), cpFacts("Patient/p1"), cpContext())
	if err != nil {
		t.Fatal(err)
	}
	// drug-1 letrozole, drug-2 anastrozole, drug-3 ribociclib.
	e, err := w.Edit(ctx, d.ID, d.VersionID, Edit{RemoveActivities: []string{"drug-1"}}, cpContext())
	if err != nil {
		t.Fatalf("Edit: %v", err)
	}
	cp, err := decodeCarePlan(e.CarePlan)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"anastrozole: Chosen by the clinician from: letrozole, anastrozole; part of Letrozole + ribociclib; schedule: per label",
		"ribociclib: Part of Letrozole + ribociclib; schedule: per label",
	}
	if got := drugActivities(cp); !slices.Equal(got, want) {
		t.Errorf("got drug activities %q; want %q", got, want)
	}
	if !noteContains(cp, "anastrozole chosen by the clinician; alternatives considered: letrozole.") {
		t.Error("no note naming the alternative considered")
	}
	if strings.Contains(cp.Text.Div, "choose one before accepting") {
		t.Error("narrative still asks for a choice")
	}
	if err := Validate(cp); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestBuildDocumentReferenceLinks(t *testing.T) {
	dc := cpContext()
	dc.Choices = map[string]string{"ai": "letrozole"}
	prop, err := BuildCarePlan(planHRPositive(), cpFacts("Patient/p1"), dc)
	if err != nil {
		t.Fatal(err)
	}
	propValue := firstIdentifier(prop, DraftIdentifierSystem)
	plan := acceptedPlan(prop, &Resource{Type: "CarePlan", ID: "prop1", VersionID: "2"}, cpContext())
	planValue := firstIdentifier(plan, PlanIdentifierSystem)
	type rel struct{ ref, system, value string }
	tests := []struct {
		name  string
		links NoteLinks
		want  []rel
	}{
		{"plans in the EHR: literal references", NoteLinks{Where: WhereEHR, PlanID: "plan1", ProposalID: "prop1", ProposalIdentifier: propValue},
			[]rel{{"CarePlan/plan1", PlanIdentifierSystem, planValue}, {"CarePlan/prop1", DraftIdentifierSystem, propValue}}},
		{"plans in the app store: identifiers only", NoteLinks{Where: WhereAppStore, PlanID: "plan1", ProposalID: "prop1", ProposalIdentifier: propValue},
			[]rel{{"", PlanIdentifierSystem, planValue}, {"", DraftIdentifierSystem, propValue}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, format := range []string{NoteHTML, NotePlain} {
				dr, err := BuildDocumentReference(plan, cpContext(), format, tc.links)
				if err != nil {
					t.Fatalf("BuildDocumentReference: %v", err)
				}
				if dr.Context == nil || len(dr.Context.Encounter) != 1 {
					t.Fatalf("got context %+v; want the encounter and the related plans", dr.Context)
				}
				var got []rel
				for _, r := range dr.Context.Related {
					x := rel{}
					if r.Reference != nil {
						x.ref = *r.Reference
					}
					if r.Identifier != nil {
						x.system, x.value = *r.Identifier.System, *r.Identifier.Value
					}
					if r.Type == nil || *r.Type != "CarePlan" || r.Display == nil {
						t.Errorf("related %+v: want type CarePlan and a display", x)
					}
					got = append(got, x)
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("got related %+v; want %+v", got, tc.want)
				}
				body, err := base64.StdEncoding.DecodeString(*dr.Content[0].Attachment.Data)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range []string{"Drugs: letrozole; ribociclib.", "letrozole chosen by the clinician; alternatives considered: anastrozole."} {
					if !strings.Contains(string(body), s) {
						t.Errorf("%s note does not hold %q", format, s)
					}
				}
				if dr.Text == nil || !strings.Contains(dr.Text.Div, "Drugs: letrozole; ribociclib.") || validateNarrative(dr.Text) != nil {
					t.Errorf("got narrative %+v; want a valid one naming the drugs", dr.Text)
				}
				if b, err := json.Marshal(dr); err != nil {
					t.Fatal(err)
				} else if _, err := r4.UnmarshalDocumentReference(b); err != nil {
					t.Errorf("round trip: %v", err)
				}
			}
		})
	}
	if _, err := BuildDocumentReference(plan, cpContext(), NoteHTML, NoteLinks{}); err == nil {
		t.Error("no place given: got no error; want one")
	}
}

// cpChosenContext is cpContext with the clinician's choice of aromatase
// inhibitor made, so the draft can be accepted.
func cpChosenContext() DraftContext {
	dc := cpContext()
	dc.Choices = map[string]string{"ai": "letrozole"}
	return dc
}

func TestAcceptNeedsEveryChoiceMade(t *testing.T) {
	ctx := t.Context()
	w := &Writer{Store: NewMemStore(func() time.Time { return cpNow })}
	d, err := w.WriteDraft(ctx, planHRPositive(), cpFacts("Patient/p1"), cpContext())
	if err != nil {
		t.Fatalf("WriteDraft: %v", err)
	}
	if _, err := w.Accept(ctx, d.ID, d.VersionID, cpContext()); !errors.Is(err, ErrChoiceNeeded) {
		t.Fatalf("Accept with alternatives still open: got %v; want ErrChoiceNeeded", err)
	}
	got, err := w.Read(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "draft" || got.VersionID != d.VersionID {
		t.Errorf("refused accept changed the draft: status %q version %q; want draft %q", got.Status, got.VersionID, d.VersionID)
	}
}

func TestReviewStepsRefuseADraftAboutAnotherPatient(t *testing.T) {
	ctx := t.Context()
	w := &Writer{Store: NewMemStore(func() time.Time { return cpNow })}
	d, err := w.WriteDraft(ctx, planHRPositive(), cpFacts("Patient/p1"), cpChosenContext())
	if err != nil {
		t.Fatalf("WriteDraft: %v", err)
	}
	other := cpChosenContext()
	other.PatientRef = "Patient/p2"
	note := "for someone else"
	if _, err := w.Accept(ctx, d.ID, d.VersionID, other); !errors.Is(err, ErrPatientMismatch) {
		t.Errorf("Accept in another patient's context: got %v; want ErrPatientMismatch", err)
	}
	if _, err := w.Reject(ctx, d.ID, d.VersionID, "not for this patient", other); !errors.Is(err, ErrPatientMismatch) {
		t.Errorf("Reject in another patient's context: got %v; want ErrPatientMismatch", err)
	}
	if _, err := w.Edit(ctx, d.ID, d.VersionID, Edit{Note: &note}, other); !errors.Is(err, ErrPatientMismatch) {
		t.Errorf("Edit in another patient's context: got %v; want ErrPatientMismatch", err)
	}
	got, err := w.Read(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "draft" || got.VersionID != d.VersionID {
		t.Errorf("refused steps changed the draft: status %q version %q; want draft %q", got.Status, got.VersionID, d.VersionID)
	}
}
