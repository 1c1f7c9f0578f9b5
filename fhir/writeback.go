package fhir

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/mbcplan/mbcplan/recommend"
)

// Where a record was written.
const (
	WhereEHR      = "ehr"
	WhereAppStore = "app-store"
)

// WriteMode chooses the write-back path.
type WriteMode string

const (
	// WriteAuto follows the CapabilityStatement: CarePlans go to the EHR
	// where it declares CarePlan create and update, to the app store
	// otherwise.
	WriteAuto WriteMode = ""
	// WriteEHR always writes CarePlans to the EHR.
	WriteEHR WriteMode = "ehr"
	// WriteAppStore always keeps CarePlans in the app store.
	WriteAppStore WriteMode = "app-store"
)

// Sentinel errors of the write-back.
var (
	// ErrNotOpen: the draft is not an open proposal (it was accepted,
	// rejected or replaced, or it is not an mbcplan proposal).
	ErrNotOpen = errors.New("fhir: the draft is no longer open")
	// ErrNoWriteBack: neither the EHR nor an app store can keep the draft.
	ErrNoWriteBack = errors.New("fhir: no place to write the draft")
	// ErrUnknownActivity: an edit names an activity the draft does not have.
	ErrUnknownActivity = errors.New("fhir: unknown activity")
	// ErrNoClinician: accepting or rejecting needs the clinician.
	ErrNoClinician = errors.New("fhir: no clinician in context")
	// ErrChoiceNeeded: the draft still offers alternatives ("one of …"); the
	// clinician chooses one drug of each group before accepting.
	ErrChoiceNeeded = errors.New("fhir: accept: choose one drug of each group of alternatives first")
)

// Writer writes drafts and carries them through review. It holds no
// mutable state; one Writer may serve concurrent requests.
type Writer struct {
	// Client is the EHR's FHIR server; nil keeps everything in Store.
	Client *Client
	// Store is the app's own store, for EHRs that cannot keep CarePlans
	// (and their Provenance).
	Store DraftStore
	// Mode overrides the CapabilityStatement (WriteAuto by default).
	Mode WriteMode
	// NoteFormat is the accepted plan's note format where it is written as
	// a DocumentReference: NoteHTML (default) or NotePlain.
	NoteFormat string
}

// Draft is a CarePlan proposal (or plan) as written.
type Draft struct {
	ID        string `json:"id"`
	VersionID string `json:"versionId"`
	// Where is WhereEHR or WhereAppStore.
	Where string `json:"where"`
	// Identifier is "system|value".
	Identifier string `json:"identifier"`
	// Status is the CarePlan status (draft, active, completed, revoked).
	Status string `json:"status"`
	// Created is false when an identical draft already existed.
	Created bool `json:"created"`
	// Replaced lists the earlier open drafts this one revoked.
	Replaced []string `json:"replaced,omitempty"`
	// Warnings are safe sentences about what could not be recorded (a
	// Provenance, a replaced draft).
	Warnings []string        `json:"warnings,omitempty"`
	CarePlan json.RawMessage `json:"carePlan"`
}

// Ref is "CarePlan/{id}".
func (d *Draft) Ref() string { return "CarePlan/" + d.ID }

// Accepted is the outcome of an acceptance.
type Accepted struct {
	// Proposal is the proposal, now completed.
	Proposal Draft `json:"proposal"`
	// Plan is the new CarePlan (intent plan, status active).
	Plan Draft `json:"plan"`
	// Note is the DocumentReference written where the EHR cannot keep
	// CarePlans; nil otherwise.
	Note *NoteRecord `json:"note,omitempty"`
}

// NoteRecord says where the plan's clinical note went.
type NoteRecord struct {
	ID    string `json:"id"`
	Where string `json:"where"`
}

// Edit is a clinician's change to a draft before acceptance.
type Edit struct {
	// Note, when set, replaces the clinician's note ("" removes it).
	Note *string `json:"note,omitempty"`
	// RemoveActivities are the element ids of activities to drop
	// ("drug-2", "order-3").
	RemoveActivities []string `json:"removeActivities,omitempty"`
}

// ConflictError answers a stale If-Match: someone changed the draft since
// the caller read it. It carries the current version, a summary of what
// changed and the caller's pending change, so nothing is lost.
type ConflictError struct {
	// Current is the draft as it is now.
	Current *Resource
	// Changes names the elements that differ from the caller's version
	// ("status: draft → revoked", "note: 2 → 3 entries").
	Changes []string
	// Action is what the caller tried: "edit", "accept" or "reject".
	Action string
	// Edit is the pending edit (for "accept", the clinician's note).
	Edit *Edit
	// Reason is the pending rejection reason.
	Reason string
}

func (e *ConflictError) Error() string {
	return "fhir: " + e.Action + ": the draft changed since it was read"
}

// Unwrap makes a ConflictError match ErrPreconditionFailed.
func (e *ConflictError) Unwrap() error { return ErrPreconditionFailed }

// wbDoc is one resource to write, with what the app store indexes.
type wbDoc struct {
	typ, id, patient, identifier, status string
	body                                 []byte
	// cond is the If-None-Exist query of a create.
	cond url.Values
}

// wbBackend is one place records are kept: the EHR or the app store.
type wbBackend interface {
	where() string
	create(ctx context.Context, d wbDoc) (*Resource, bool, error)
	read(ctx context.Context, typ, id, version string) (*Resource, error)
	update(ctx context.Context, d wbDoc, ifMatch string) (*Resource, error)
	openDrafts(ctx context.Context, patient string) ([]Resource, error)
}

// ehrBackend writes to the EHR's FHIR server.
type ehrBackend struct {
	c *Client
	// presearch: the server does not declare conditional create, so the
	// identifier is searched first.
	presearch bool
}

func (b ehrBackend) where() string { return WhereEHR }

func (b ehrBackend) create(ctx context.Context, d wbDoc) (*Resource, bool, error) {
	if b.presearch && len(d.cond) > 0 {
		found, err := b.c.Search(ctx, d.typ, d.cond)
		if err != nil && !errors.Is(err, ErrPageLimit) {
			return nil, false, err
		}
		if len(found) > 0 {
			r := found[0]
			return &r, false, nil
		}
	}
	return b.c.Create(ctx, d.typ, d.body, d.cond)
}

func (b ehrBackend) read(ctx context.Context, typ, id, version string) (*Resource, error) {
	if version == "" {
		return b.c.Read(ctx, typ, id)
	}
	return b.c.VRead(ctx, typ, id, version)
}

func (b ehrBackend) update(ctx context.Context, d wbDoc, ifMatch string) (*Resource, error) {
	return b.c.Update(ctx, d.typ, d.id, d.body, ifMatch)
}

func (b ehrBackend) openDrafts(ctx context.Context, patient string) ([]Resource, error) {
	q := url.Values{"subject": {patient}, "status": {"draft"}, "intent": {"proposal"}}
	found, err := b.c.Search(ctx, "CarePlan", q)
	if err != nil && !errors.Is(err, ErrPageLimit) {
		return nil, err
	}
	var out []Resource
	for _, r := range found {
		if r.Type == "CarePlan" && isOpenDraft(r.Raw, patient) {
			out = append(out, r)
		}
	}
	return out, nil
}

// storeBackend keeps records in the app's store.
type storeBackend struct{ s DraftStore }

func (b storeBackend) where() string { return WhereAppStore }

func storedToResource(sr StoredResource) *Resource {
	return &Resource{
		Type: sr.Type, ID: sr.ID, VersionID: sr.VersionID, ETag: `W/"` + sr.VersionID + `"`,
		Raw: withIDVersion(sr.JSON, sr.ID, sr.VersionID),
	}
}

func (b storeBackend) create(ctx context.Context, d wbDoc) (*Resource, bool, error) {
	sr, created, err := b.s.Create(ctx, StoredResource{
		Type: d.typ, PatientRef: d.patient, Identifier: d.identifier, Status: d.status, JSON: d.body,
	})
	if err != nil {
		return nil, false, fmt.Errorf("fhir: app store: create %s: %w", d.typ, err)
	}
	return storedToResource(sr), created, nil
}

func (b storeBackend) read(ctx context.Context, typ, id, version string) (*Resource, error) {
	sr, err := b.s.Get(ctx, typ, id, version)
	if err != nil {
		return nil, fmt.Errorf("fhir: app store: read %s: %w", typ, err)
	}
	return storedToResource(sr), nil
}

func (b storeBackend) update(ctx context.Context, d wbDoc, ifMatch string) (*Resource, error) {
	sr, err := b.s.Update(ctx, StoredResource{
		Type: d.typ, ID: d.id, PatientRef: d.patient, Identifier: d.identifier, Status: d.status, JSON: d.body,
	}, ifMatch)
	if err != nil {
		return nil, fmt.Errorf("fhir: app store: update %s: %w", d.typ, err)
	}
	return storedToResource(sr), nil
}

func (b storeBackend) openDrafts(ctx context.Context, patient string) ([]Resource, error) {
	found, err := b.s.Find(ctx, "CarePlan", patient, "draft")
	if err != nil {
		return nil, fmt.Errorf("fhir: app store: find CarePlan: %w", err)
	}
	var out []Resource
	for _, sr := range found {
		r := storedToResource(sr)
		if isOpenDraft(r.Raw, patient) {
			out = append(out, *r)
		}
	}
	return out, nil
}

// withIDVersion sets id and meta.versionId in a resource's JSON.
func withIDVersion(raw json.RawMessage, id, version string) json.RawMessage {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return raw
	}
	idj, err := json.Marshal(id)
	if err != nil {
		return raw
	}
	m["id"] = idj
	meta := map[string]json.RawMessage{}
	if mj, ok := m["meta"]; ok {
		if err := json.Unmarshal(mj, &meta); err != nil || meta == nil {
			meta = map[string]json.RawMessage{}
		}
	}
	vj, err := json.Marshal(version)
	if err != nil {
		return raw
	}
	meta["versionId"] = vj
	mj, err := json.Marshal(meta)
	if err != nil {
		return raw
	}
	m["meta"] = mj
	out, err := json.Marshal(m)
	if err != nil {
		return raw
	}
	return out
}

// cpHead is the part of a CarePlan the writer checks before decoding it.
type cpHead struct {
	Status  string `json:"status"`
	Intent  string `json:"intent"`
	Subject struct {
		Reference string `json:"reference"`
	} `json:"subject"`
	Identifier []struct {
		System string `json:"system"`
		Value  string `json:"value"`
	} `json:"identifier"`
}

func (h cpHead) identifier(system string) string {
	for _, id := range h.Identifier {
		if id.System == system && id.Value != "" {
			return id.System + "|" + id.Value
		}
	}
	return ""
}

// isOpenDraft: an mbcplan proposal in status draft about patient.
func isOpenDraft(raw json.RawMessage, patient string) bool {
	var h cpHead
	if json.Unmarshal(raw, &h) != nil {
		return false
	}
	return h.Status == "draft" && h.Intent == "proposal" && h.Subject.Reference == patient &&
		h.identifier(DraftIdentifierSystem) != ""
}

// wbRoute says where each kind of record goes for one call.
type wbRoute struct {
	plans wbBackend
	// prov is where Provenance goes; nil when nowhere.
	prov wbBackend
	// notes is where the accepted plan's DocumentReference goes; nil when
	// plans are in the EHR (no note needed).
	notes wbBackend
}

// route reads the CapabilityStatement (when there is a client) and picks
// the backends.
func (w *Writer) route(ctx context.Context) (*wbRoute, error) {
	var caps *Capabilities
	if w.Client != nil {
		c, err := w.Client.Capabilities(ctx)
		if err != nil {
			return nil, fmt.Errorf("fhir: write-back: %w", err)
		}
		caps = c
	}
	ehrPlans := w.Client != nil && caps.Supports("CarePlan", "create") && caps.Supports("CarePlan", "update")
	switch w.Mode {
	case WriteEHR:
		if w.Client == nil {
			return nil, ErrNoWriteBack
		}
		ehrPlans = true
	case WriteAppStore:
		ehrPlans = false
	case WriteAuto:
	default:
		return nil, errors.New("fhir: write-back: unknown mode")
	}
	var store wbBackend
	if w.Store != nil {
		store = storeBackend{w.Store}
	}
	rt := &wbRoute{}
	if ehrPlans {
		ehr := ehrBackend{c: w.Client, presearch: !caps.Supports("CarePlan", "conditional-create")}
		rt.plans = ehr
		if caps.Supports("Provenance", "create") {
			rt.prov = ehrBackend{c: w.Client, presearch: false}
		} else {
			rt.prov = store
		}
		return rt, nil
	}
	if store == nil {
		return nil, ErrNoWriteBack
	}
	rt.plans, rt.prov, rt.notes = store, store, store
	if w.Client != nil && caps.Supports("DocumentReference", "create") {
		rt.notes = ehrBackend{c: w.Client, presearch: !caps.Supports("DocumentReference", "conditional-create")}
	}
	return rt, nil
}

// decodeCarePlan decodes a CarePlan with samply's model.
func decodeCarePlan(raw json.RawMessage) (*r4.CarePlan, error) {
	cp, err := r4.UnmarshalCarePlan(raw)
	if err != nil {
		return nil, errors.New("fhir: the stored CarePlan could not be read")
	}
	return &cp, nil
}

func identifierQuery(system, value string) url.Values {
	return url.Values{"identifier": {system + "|" + value}}
}

func firstIdentifier(cp *r4.CarePlan, system string) string {
	for _, id := range cp.Identifier {
		if id.System != nil && *id.System == system && id.Value != nil {
			return *id.Value
		}
	}
	return ""
}

func (w *Writer) draftOf(rt *wbRoute, r *Resource, created bool) (*Draft, error) {
	var h cpHead
	if err := json.Unmarshal(r.Raw, &h); err != nil {
		return nil, errors.New("fhir: the CarePlan written could not be read back")
	}
	ident := h.identifier(DraftIdentifierSystem)
	if ident == "" {
		ident = h.identifier(PlanIdentifierSystem)
	}
	return &Draft{
		ID: r.ID, VersionID: r.VersionID, Where: rt.plans.where(), Identifier: ident,
		Status: h.Status, Created: created, CarePlan: r.Raw,
	}, nil
}

// versioned is "Type/id/_history/v", or "Type/id" without a version.
func versioned(r *Resource) string {
	if r.VersionID == "" {
		return r.Type + "/" + r.ID
	}
	return r.Type + "/" + r.ID + "/_history/" + r.VersionID
}

// provenance writes a Provenance for one step; a failure becomes a warning
// (the step itself succeeded and must not be repeated).
func (w *Writer) provenance(ctx context.Context, rt *wbRoute, target *Resource, act ProvenanceActivity, dc DraftContext, sources []string, patient string, warnings *[]string) {
	if rt.prov == nil {
		*warnings = append(*warnings, "provenance not recorded: no place to keep it")
		return
	}
	pv, err := BuildProvenance(versioned(target), act, dc, sources)
	if err == nil {
		var body []byte
		body, err = json.Marshal(pv)
		if err == nil {
			_, _, err = rt.prov.create(ctx, wbDoc{
				typ: "Provenance", patient: patient, status: string(act),
				// In the app store the target and step make the record unique.
				identifier: versioned(target) + "|" + string(act), body: body,
			})
		}
	}
	if err != nil {
		*warnings = append(*warnings, "provenance not recorded for the "+string(act)+" step")
	}
}

// hasProvenance reports whether a Provenance for the step already exists
// (a retried draft whose first answer was lost).
func (w *Writer) hasProvenance(ctx context.Context, rt *wbRoute, target *Resource, act ProvenanceActivity, patient string) bool {
	switch b := rt.prov.(type) {
	case storeBackend:
		found, err := b.s.Find(ctx, "Provenance", patient, string(act))
		if err != nil {
			return false
		}
		for _, f := range found {
			if f.Identifier == versioned(target)+"|"+string(act) {
				return true
			}
		}
	case ehrBackend:
		// The target is versioned; servers differ on whether target=Type/id
		// matches a versioned reference (Medplum does not), so ask for both.
		found, err := b.c.Search(ctx, "Provenance", url.Values{"target": {target.Type + "/" + target.ID + "," + versioned(target)}})
		if err != nil && !errors.Is(err, ErrPageLimit) {
			return false
		}
		for _, r := range found {
			var pv struct {
				Target []struct {
					Reference string `json:"reference"`
				} `json:"target"`
			}
			if json.Unmarshal(r.Raw, &pv) != nil {
				continue
			}
			for _, t := range pv.Target {
				if t.Reference == versioned(target) {
					return true
				}
			}
		}
	}
	return false
}

func carePlanDoc(cp *r4.CarePlan, id, identifier string) (wbDoc, error) {
	body, err := json.Marshal(cp)
	if err != nil {
		return wbDoc{}, errors.New("fhir: the CarePlan could not be encoded")
	}
	patient := ""
	if cp.Subject.Reference != nil {
		patient = *cp.Subject.Reference
	}
	return wbDoc{typ: "CarePlan", id: id, patient: patient, identifier: identifier, status: cp.Status.Code(), body: body}, nil
}

// WriteDraft builds the CarePlan proposal for the chosen option (the
// top-ranked one when dc.OptionID is empty) and writes it where the EHR's
// CapabilityStatement allows: a conditional create on its identifier in
// the EHR, or the app store. Writing the same inputs again returns the
// existing draft (Created false). Earlier open drafts for the patient are
// revoked and named in the new draft's replaces. Each write gets a
// Provenance.
func (w *Writer) WriteDraft(ctx context.Context, p recommend.Plan, f recommend.Facts, dc DraftContext) (*Draft, error) {
	cp, err := BuildCarePlan(p, f, dc)
	if err != nil {
		return nil, err
	}
	if err := Validate(cp); err != nil {
		return nil, err
	}
	rt, err := w.route(ctx)
	if err != nil {
		return nil, err
	}
	patient := *cp.Subject.Reference
	value := firstIdentifier(cp, DraftIdentifierSystem)
	open, err := rt.plans.openDrafts(ctx, patient)
	if err != nil {
		return nil, fmt.Errorf("fhir: write draft: %w", err)
	}
	var others []Resource
	for _, o := range open {
		var h cpHead
		if json.Unmarshal(o.Raw, &h) == nil && h.identifier(DraftIdentifierSystem) != DraftIdentifierSystem+"|"+value {
			others = append(others, o)
		}
	}
	sort.Slice(others, func(i, j int) bool { return others[i].ID < others[j].ID })
	for _, o := range others {
		cp.Replaces = append(cp.Replaces, r4.Reference{Reference: cpStr("CarePlan/" + o.ID)})
	}
	cp.Text = CarePlanNarrative(cp)
	doc, err := carePlanDoc(cp, "", DraftIdentifierSystem+"|"+value)
	if err != nil {
		return nil, err
	}
	doc.cond = identifierQuery(DraftIdentifierSystem, value)
	doc.cond.Set("status", "draft")
	res, created, err := rt.plans.create(ctx, doc)
	if err != nil {
		return nil, fmt.Errorf("fhir: write draft: %w", err)
	}
	d, err := w.draftOf(rt, res, created)
	if err != nil {
		return nil, err
	}
	if created || !w.hasProvenance(ctx, rt, res, ActivityDraft, patient) {
		w.provenance(ctx, rt, res, ActivityDraft, dc, carePlanSources(cp), patient, &d.Warnings)
	}
	for _, o := range others {
		if o.ID == res.ID {
			continue
		}
		if err := w.revokeReplaced(ctx, rt, o.ID, res, dc, patient, &d.Warnings); err != nil {
			d.Warnings = append(d.Warnings, "an earlier draft could not be revoked; it is still open")
			continue
		}
		d.Replaced = append(d.Replaced, "CarePlan/"+o.ID)
	}
	return d, nil
}

// revokeReplaced revokes an earlier open draft replaced by newer, retrying
// on version conflicts (someone editing it meanwhile).
func (w *Writer) revokeReplaced(ctx context.Context, rt *wbRoute, id string, newer *Resource, dc DraftContext, patient string, warnings *[]string) error {
	for attempt := 0; attempt < 3; attempt++ {
		cur, err := rt.plans.read(ctx, "CarePlan", id, "")
		if err != nil {
			return err
		}
		if !isOpenDraft(cur.Raw, patient) {
			return nil
		}
		cp, err := decodeCarePlan(cur.Raw)
		if err != nil {
			return err
		}
		cp.Status = r4.RequestStatusRevoked
		cp.Note = append(cp.Note, r4.Annotation{
			AuthorString: cpStr("mbcplan"), Time: cpStr(cpTime(dc.Now)),
			Text: "Replaced by a newer draft (CarePlan/" + newer.ID + ").",
		})
		cp.Text = CarePlanNarrative(cp)
		doc, err := carePlanDoc(cp, id, (&cpHeadOf{cur.Raw}).draftIdentifier())
		if err != nil {
			return err
		}
		upd, err := rt.plans.update(ctx, doc, cur.VersionID)
		if errors.Is(err, ErrPreconditionFailed) {
			continue
		}
		if err != nil {
			return err
		}
		w.provenance(ctx, rt, upd, ActivityReplace, dc, []string{versioned(cur), versioned(newer)}, patient, warnings)
		return nil
	}
	return ErrPreconditionFailed
}

// cpHeadOf reads the head of a raw CarePlan lazily.
type cpHeadOf struct{ raw json.RawMessage }

func (c *cpHeadOf) draftIdentifier() string {
	var h cpHead
	if json.Unmarshal(c.raw, &h) != nil {
		return ""
	}
	return h.identifier(DraftIdentifierSystem)
}

// openProposal reads a draft and checks the caller's version: a stale one
// is a *ConflictError, a draft that is no longer open ErrNotOpen.
func (w *Writer) openProposal(ctx context.Context, rt *wbRoute, id, ifMatch, patientRef string, pending ConflictError) (*Resource, *r4.CarePlan, error) {
	if !validID(id) {
		return nil, nil, errors.New("fhir: invalid draft id")
	}
	cur, err := rt.plans.read(ctx, "CarePlan", id, "")
	if err != nil {
		return nil, nil, fmt.Errorf("fhir: %s: %w", pending.Action, err)
	}
	if ifMatch != "" && ifMatch != cur.VersionID {
		return nil, nil, w.conflict(ctx, rt, cur, ifMatch, pending)
	}
	cp, err := decodeCarePlan(cur.Raw)
	if err != nil {
		return nil, nil, err
	}
	if cp.Intent != r4.CarePlanIntentProposal || cp.Status != r4.RequestStatusDraft || firstIdentifier(cp, DraftIdentifierSystem) == "" ||
		cp.Subject.Reference == nil {
		return nil, nil, ErrNotOpen
	}
	// A draft about anyone but the patient in context is never touched.
	if patientRef != "" && *cp.Subject.Reference != patientRef {
		return nil, nil, fmt.Errorf("fhir: %s: %w", pending.Action, ErrPatientMismatch)
	}
	return cur, cp, nil
}

// conflict builds the ConflictError for a stale version: the current
// version and the elements that differ from the caller's version.
func (w *Writer) conflict(ctx context.Context, rt *wbRoute, cur *Resource, base string, pending ConflictError) error {
	e := pending
	e.Current = cur
	old, err := rt.plans.read(ctx, "CarePlan", cur.ID, base)
	if err != nil {
		e.Changes = []string{"version " + safeVersion(base) + " → " + safeVersion(cur.VersionID) + " (the earlier version could not be read)"}
		return &e
	}
	e.Changes = DiffResources(old.Raw, cur.Raw)
	return &e
}

func safeVersion(v string) string {
	if validID(v) {
		return v
	}
	return "?"
}

// afterConflict re-reads a draft after a 412 on update and answers with
// the ConflictError.
func (w *Writer) afterConflict(ctx context.Context, rt *wbRoute, id, base string, pending ConflictError) error {
	cur, err := rt.plans.read(ctx, "CarePlan", id, "")
	if err != nil {
		return fmt.Errorf("fhir: %s: %w", pending.Action, err)
	}
	return w.conflict(ctx, rt, cur, base, pending)
}

// DiffResources summarises how two versions of a resource differ, element
// by element (meta, id and the generated narrative are ignored). The
// summary names elements and status codes, never free text.
func DiffResources(before, after json.RawMessage) []string {
	var a, b map[string]any
	if json.Unmarshal(before, &a) != nil || json.Unmarshal(after, &b) != nil {
		return []string{"the resource could not be compared"}
	}
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var names []string
	for k := range keys {
		switch k {
		case "meta", "id", "text":
			continue
		}
		if !reflect.DeepEqual(a[k], b[k]) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var out []string
	for _, k := range names {
		av, bv := a[k], b[k]
		switch k {
		case "status", "intent":
			as, _ := av.(string)
			bs, _ := bv.(string)
			out = append(out, k+": "+safeCode(as)+" → "+safeCode(bs))
			continue
		}
		al, aIsList := av.([]any)
		bl, bIsList := bv.([]any)
		if (aIsList || av == nil) && (bIsList || bv == nil) && len(al) != len(bl) {
			out = append(out, k+": "+strconv.Itoa(len(al))+" → "+strconv.Itoa(len(bl))+" entries")
			continue
		}
		out = append(out, k+" changed")
	}
	return out
}

// safeCode passes a FHIR code through, anything else as "?".
func safeCode(s string) string {
	if s == "" {
		return "(none)"
	}
	if len(s) > 32 {
		return "?"
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c == '-') {
			return "?"
		}
	}
	return s
}

// Edit applies a clinician's edit to an open draft, as an update with
// If-Match ifMatch (the version the clinician saw). A stale version is a
// *ConflictError carrying the edit.
func (w *Writer) Edit(ctx context.Context, draftID, ifMatch string, e Edit, dc DraftContext) (*Draft, error) {
	pending := ConflictError{Action: "edit", Edit: &e}
	rt, err := w.route(ctx)
	if err != nil {
		return nil, err
	}
	cur, cp, err := w.openProposal(ctx, rt, draftID, ifMatch, dc.PatientRef, pending)
	if err != nil {
		return nil, err
	}
	if err := applyEdit(cp, e, dc); err != nil {
		return nil, err
	}
	if err := Validate(cp); err != nil {
		return nil, err
	}
	return w.saveProposal(ctx, rt, cur, cp, ActivityEdit, dc, pending)
}

// applyEdit removes activities and sets the clinician's note.
func applyEdit(cp *r4.CarePlan, e Edit, dc DraftContext) error {
	if len(e.RemoveActivities) > 0 {
		drop := map[string]bool{}
		for _, id := range e.RemoveActivities {
			drop[id] = true
		}
		var kept []r4.CarePlanActivity
		for _, a := range cp.Activity {
			if a.Id != nil && drop[*a.Id] {
				delete(drop, *a.Id)
				continue
			}
			kept = append(kept, a)
		}
		if len(drop) > 0 {
			return ErrUnknownActivity
		}
		cp.Activity = kept
		settleChoices(cp, dc)
	}
	if e.Note != nil {
		var notes []r4.Annotation
		for _, n := range cp.Note {
			if n.Id == nil || *n.Id != clinicianNoteID {
				notes = append(notes, n)
			}
		}
		if strings.TrimSpace(*e.Note) != "" {
			ndc := dc
			ndc.Note = *e.Note
			notes = append(notes, clinicianNote(ndc))
		}
		cp.Note = notes
	}
	cp.Text = CarePlanNarrative(cp)
	return nil
}

// settleChoices: an open choice the clinician narrowed to one alternative
// by removing the others is a choice. Its description says so, and a note
// names the alternatives considered, as a draft written with the choice
// would.
func settleChoices(cp *r4.CarePlan, dc DraftContext) {
	count := map[string]int{}
	for _, a := range cp.Activity {
		if d := a.Detail; d != nil && d.Description != nil {
			if _, ok := openChoiceOf(*d.Description); ok {
				count[*d.Description]++
			}
		}
	}
	for i := range cp.Activity {
		d := cp.Activity[i].Detail
		if d == nil || d.Description == nil || count[*d.Description] != 1 {
			continue
		}
		names, _ := openChoiceOf(*d.Description)
		_, rest, _ := strings.Cut(*d.Description, altSuffix)
		chosen, _ := productName(d)
		d.Description = cpStr(chosenDescription(names) + rest)
		g := choiceGroup{names: names, chosen: chosen}
		if others := g.others(); len(others) > 0 {
			cp.Note = append(cp.Note, r4.Annotation{AuthorString: cpStr("mbcplan"), Time: cpStr(cpTime(dc.Now)),
				Text: choiceNote(chosen, others)})
		}
	}
}

// Accept accepts an open proposal (HL7 CPG activity flow): a new CarePlan
// with intent plan, status active, basedOn the proposal and the clinician
// as author is created (conditionally, so a retry writes one), then the
// proposal becomes completed (If-Match ifMatch). Where CarePlans live in
// the app store, the plan is also written to the chart as a
// DocumentReference note where the EHR allows. dc.Note, if set, is added
// to the plan as the clinician's note.
func (w *Writer) Accept(ctx context.Context, draftID, ifMatch string, dc DraftContext) (*Accepted, error) {
	pending := ConflictError{Action: "accept"}
	if dc.Note != "" {
		note := dc.Note
		pending.Edit = &Edit{Note: &note}
	}
	if dc.ClinicianRef == "" && dc.ClinicianName == "" {
		return nil, ErrNoClinician
	}
	if dc.Now.IsZero() {
		return nil, errors.New("fhir: accept: no time given")
	}
	rt, err := w.route(ctx)
	if err != nil {
		return nil, err
	}
	cur, prop, err := w.openProposal(ctx, rt, draftID, ifMatch, dc.PatientRef, pending)
	if err != nil {
		return nil, err
	}
	patient := *prop.Subject.Reference
	if hasOpenChoice(prop) {
		return nil, ErrChoiceNeeded
	}

	plan := acceptedPlan(prop, cur, dc)
	if err := Validate(plan); err != nil {
		return nil, err
	}
	planValue := firstIdentifier(plan, PlanIdentifierSystem)
	pdoc, err := carePlanDoc(plan, "", PlanIdentifierSystem+"|"+planValue)
	if err != nil {
		return nil, err
	}
	pdoc.cond = identifierQuery(PlanIdentifierSystem, planValue)
	pres, pcreated, err := rt.plans.create(ctx, pdoc)
	if err != nil {
		return nil, fmt.Errorf("fhir: accept: %w", err)
	}

	prop.Status = r4.RequestStatusCompleted
	prop.Text = CarePlanNarrative(prop)
	doc, err := carePlanDoc(prop, cur.ID, DraftIdentifierSystem+"|"+firstIdentifier(prop, DraftIdentifierSystem))
	if err != nil {
		return nil, err
	}
	upd, err := rt.plans.update(ctx, doc, cur.VersionID)
	if err != nil {
		// The proposal was not completed: withdraw the plan just made so
		// that no active plan stands on a proposal that changed.
		w.withdrawPlan(ctx, rt, pres)
		if errors.Is(err, ErrPreconditionFailed) {
			return nil, w.afterConflict(ctx, rt, cur.ID, cur.VersionID, pending)
		}
		return nil, fmt.Errorf("fhir: accept: %w", err)
	}
	pd, err := w.draftOf(rt, pres, pcreated)
	if err != nil {
		return nil, err
	}
	prd, err := w.draftOf(rt, upd, false)
	if err != nil {
		return nil, err
	}
	out := &Accepted{Proposal: *prd, Plan: *pd}
	w.provenance(ctx, rt, pres, ActivityAccept, dc, []string{versioned(cur), versioned(upd)}, patient, &out.Plan.Warnings)

	if rt.notes != nil {
		dr, err := BuildDocumentReference(plan, dc, w.NoteFormat, NoteLinks{
			Where: rt.plans.where(), PlanID: pres.ID, ProposalID: cur.ID,
			ProposalIdentifier: firstIdentifier(prop, DraftIdentifierSystem),
		})
		if err != nil {
			return nil, err
		}
		body, err := json.Marshal(dr)
		if err != nil {
			return nil, errors.New("fhir: accept: the note could not be encoded")
		}
		nres, _, err := rt.notes.create(ctx, wbDoc{
			typ: "DocumentReference", patient: patient, identifier: NoteIdentifierSystem + "|" + planValue,
			status: "current", body: body, cond: identifierQuery(NoteIdentifierSystem, planValue),
		})
		if err != nil {
			return out, fmt.Errorf("fhir: accept: the plan was accepted but its note was not written: %w", err)
		}
		out.Note = &NoteRecord{ID: nres.ID, Where: rt.notes.where()}
	}
	return out, nil
}

// acceptedPlan derives the plan (intent plan, status active) from a
// proposal. Its identifier follows the proposal's identifier and version,
// so a retried acceptance of the same version finds the same plan.
func acceptedPlan(prop *r4.CarePlan, cur *Resource, dc DraftContext) *r4.CarePlan {
	plan := *prop
	plan.Id, plan.Meta = nil, nil
	plan.Status = r4.RequestStatusActive
	plan.Intent = r4.CarePlanIntentPlan
	sum := sha256.Sum256([]byte(firstIdentifier(prop, DraftIdentifierSystem) + "\n" + cur.ID + "\n" + cur.VersionID))
	plan.Identifier = []r4.Identifier{{System: cpStr(PlanIdentifierSystem), Value: cpStr(hex.EncodeToString(sum[:]))}}
	plan.BasedOn = []r4.Reference{{Reference: cpStr("CarePlan/" + cur.ID)}}
	plan.Replaces = nil
	plan.Created = cpStr(cpTime(dc.Now))
	plan.Period = &r4.Period{Start: cpStr(cpTime(dc.Now))}
	plan.Author = clinicianReference(dc)
	plan.Contributor = []r4.Reference{*appReference()}
	if prop.Title != nil {
		plan.Title = cpStr("Treatment plan: " + strings.TrimPrefix(*prop.Title, "Proposed treatment plan: "))
	}
	plan.Activity = append([]r4.CarePlanActivity(nil), prop.Activity...)
	plan.Note = append([]r4.Annotation(nil), prop.Note...)
	if strings.TrimSpace(dc.Note) != "" {
		n := clinicianNote(dc)
		n.Id = cpStr("acceptance-note")
		plan.Note = append(plan.Note, n)
	}
	plan.Text = CarePlanNarrative(&plan)
	return &plan
}

// withdrawPlan marks a plan made by a failed acceptance entered-in-error.
// Best effort: the caller reports the acceptance's own error.
func (w *Writer) withdrawPlan(ctx context.Context, rt *wbRoute, res *Resource) {
	cur, err := rt.plans.read(ctx, "CarePlan", res.ID, "")
	if err != nil {
		return
	}
	cp, err := decodeCarePlan(cur.Raw)
	if err != nil || cp.Status != r4.RequestStatusActive {
		return
	}
	cp.Status = r4.RequestStatusEnteredInError
	cp.Text = CarePlanNarrative(cp)
	doc, err := carePlanDoc(cp, cur.ID, PlanIdentifierSystem+"|"+firstIdentifier(cp, PlanIdentifierSystem))
	if err != nil {
		return
	}
	if _, err := rt.plans.update(ctx, doc, cur.VersionID); err != nil {
		return
	}
}

// Reject revokes an open proposal (If-Match ifMatch) with the clinician's
// reason in a note.
func (w *Writer) Reject(ctx context.Context, draftID, ifMatch, reason string, dc DraftContext) (*Draft, error) {
	pending := ConflictError{Action: "reject", Reason: reason}
	if dc.ClinicianRef == "" && dc.ClinicianName == "" {
		return nil, ErrNoClinician
	}
	if dc.Now.IsZero() {
		return nil, errors.New("fhir: reject: no time given")
	}
	rt, err := w.route(ctx)
	if err != nil {
		return nil, err
	}
	cur, cp, err := w.openProposal(ctx, rt, draftID, ifMatch, dc.PatientRef, pending)
	if err != nil {
		return nil, err
	}
	cp.Status = r4.RequestStatusRevoked
	text := "Rejected by the clinician"
	if r := strings.TrimSpace(reason); r != "" {
		text += ": " + r
	} else {
		text += " (no reason given)."
	}
	cp.Note = append(cp.Note, r4.Annotation{Id: cpStr("rejection"), AuthorReference: clinicianReference(dc), Time: cpStr(cpTime(dc.Now)), Text: text})
	cp.Text = CarePlanNarrative(cp)
	return w.saveProposal(ctx, rt, cur, cp, ActivityReject, dc, pending)
}

// saveProposal writes the changed proposal cp over version cur (If-Match)
// and records the step; a stale version answers with the ConflictError that
// carries the pending change.
func (w *Writer) saveProposal(ctx context.Context, rt *wbRoute, cur *Resource, cp *r4.CarePlan, act ProvenanceActivity, dc DraftContext, pending ConflictError) (*Draft, error) {
	doc, err := carePlanDoc(cp, cur.ID, DraftIdentifierSystem+"|"+firstIdentifier(cp, DraftIdentifierSystem))
	if err != nil {
		return nil, err
	}
	upd, err := rt.plans.update(ctx, doc, cur.VersionID)
	if errors.Is(err, ErrPreconditionFailed) {
		return nil, w.afterConflict(ctx, rt, cur.ID, cur.VersionID, pending)
	}
	if err != nil {
		return nil, fmt.Errorf("fhir: %s: %w", pending.Action, err)
	}
	d, err := w.draftOf(rt, upd, false)
	if err != nil {
		return nil, err
	}
	w.provenance(ctx, rt, upd, act, dc, []string{versioned(cur)}, *cp.Subject.Reference, &d.Warnings)
	return d, nil
}

// Read returns a draft or plan as it is now, from wherever CarePlans are
// kept for this EHR.
func (w *Writer) Read(ctx context.Context, id string) (*Draft, error) {
	if !validID(id) {
		return nil, errors.New("fhir: invalid draft id")
	}
	rt, err := w.route(ctx)
	if err != nil {
		return nil, err
	}
	r, err := rt.plans.read(ctx, "CarePlan", id, "")
	if err != nil {
		return nil, fmt.Errorf("fhir: read draft: %w", err)
	}
	if r.Type != "CarePlan" {
		return nil, ErrNotFound
	}
	return w.draftOf(rt, r, false)
}

// hasOpenChoice reports whether an activity still offers alternatives.
func hasOpenChoice(cp *r4.CarePlan) bool {
	for _, a := range cp.Activity {
		if a.Detail != nil && a.Detail.Description != nil && strings.HasPrefix(*a.Detail.Description, altPrefix) {
			return true
		}
	}
	return false
}
