package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/mbcplan/mbcplan/fhir"
	"github.com/mbcplan/mbcplan/recommend"
)

// draftView is a draft as the UI sees it.
type draftView struct {
	ID         string   `json:"id"`
	Version    string   `json:"version"`
	Status     string   `json:"status"`
	Where      string   `json:"where"`
	Identifier string   `json:"identifier"`
	OptionID   string   `json:"optionId,omitempty"`
	Note       string   `json:"note,omitempty"`
	Subject    string   `json:"subject"`
	Created    bool     `json:"created"`
	Replaced   []string `json:"replaced,omitempty"`
	Warnings   []string `json:"warnings,omitempty"`
	// Choices are the clinician's choices the CarePlan records: choice
	// group → drug, as in the draft request.
	Choices map[string]string `json:"choices,omitempty"`
	// OpenChoices: the CarePlan still lists alternatives ("one of …"), so
	// it cannot be accepted before it is written again with choices.
	OpenChoices bool `json:"openChoices"`
}

// carePlanHead is what the view reads from a CarePlan.
type carePlanHead struct {
	Subject struct {
		Reference string `json:"reference"`
	} `json:"subject"`
	InstantiatesURI []string `json:"instantiatesUri"`
	Note            []struct {
		Text   string `json:"text"`
		Author *struct {
			Reference string `json:"reference"`
		} `json:"authorReference"`
	} `json:"note"`
	Extension []struct {
		URL         string `json:"url"`
		ValueString string `json:"valueString"`
	} `json:"extension"`
}

// viewOf is the draft as the UI sees it; p, when known, is the plan whose
// choice groups key the draft's choices.
func viewOf(d *fhir.Draft, p *recommend.Plan) *draftView {
	if d == nil {
		return nil
	}
	v := &draftView{ID: d.ID, Version: d.VersionID, Status: d.Status, Where: d.Where,
		Identifier: d.Identifier, Created: d.Created, Replaced: d.Replaced, Warnings: d.Warnings}
	var h carePlanHead
	if json.Unmarshal(d.CarePlan, &h) == nil {
		v.Subject = h.Subject.Reference
		for _, u := range h.InstantiatesURI {
			if i := lastIndexByte(u, '#'); i >= 0 {
				v.OptionID = u[i+1:]
			}
		}
		for _, n := range h.Note {
			if n.Author != nil && n.Author.Reference != "" {
				v.Note = n.Text
			}
		}
	}
	if chosen, open, err := d.Choices(); err == nil {
		v.OpenChoices = open
		for _, c := range chosen {
			if v.Choices == nil {
				v.Choices = map[string]string{}
			}
			v.Choices[choiceGroupOf(p, v.OptionID, c)] = c.Drug
		}
	}
	return v
}

// choiceGroupOf is the choice group of a chosen drug: the group of the
// draft's option in p holding the drug, else the first such group of
// another option. Without one (no plan, or a plan that no longer offers
// the drug) the alternatives it was chosen from name the group.
func choiceGroupOf(p *recommend.Plan, optionID string, c fhir.Choice) string {
	if p != nil {
		var other string
		for _, o := range p.Options {
			for _, d := range o.Drugs {
				if d.Choice == "" || d.Name != c.Drug {
					continue
				}
				if o.ID == optionID {
					return d.Choice
				}
				if other == "" {
					other = d.Choice
				}
			}
		}
		if other != "" {
			return other
		}
	}
	return strings.Join(c.From, " / ")
}

// viewFor is viewOf with the plan of the session's facts, when they were
// read already: a view never reads the record.
func (a *app) viewFor(s *session, d *fhir.Draft) *draftView {
	s.mu.Lock()
	cached, st := s.facts, s.statements
	s.mu.Unlock()
	if cached == nil {
		return viewOf(d, nil)
	}
	f := *cached
	f.Statements = st
	p := recommend.Recommend(f, a.now(), a.settings)
	return viewOf(d, &p)
}

func lastIndexByte(s string, b byte) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == b {
			return i
		}
	}
	return -1
}

// writer is the session's write-back: the EHR where it can keep CarePlans,
// the app store otherwise (or as configured).
func (a *app) writer(s *session) *fhir.Writer {
	w := &fhir.Writer{Client: s.client}
	if a.store != nil {
		w.Store = scopeStore(a.store, s.launch.FHIRBase)
	}
	switch s.ehr.WriteBack {
	case "ehr":
		w.Mode = fhir.WriteEHR
	case "app-store":
		w.Mode = fhir.WriteAppStore
	}
	return w
}

func (a *app) draftContext(s *session, optionID, note string) fhir.DraftContext {
	dc := fhir.DraftContext{
		PatientRef:   patientRef(s),
		ClinicianRef: s.launch.FHIRUser,
		Now:          a.now(),
		OptionID:     optionID,
		Note:         note,
	}
	if s.launch.EncounterID != "" {
		dc.EncounterRef = "Encounter/" + s.launch.EncounterID
	}
	return dc
}

func (a *app) currentDraft(ctx context.Context, s *session) *draftView {
	s.mu.Lock()
	id := s.draftID
	s.mu.Unlock()
	if id == "" {
		return nil
	}
	d, err := a.writer(s).Read(ctx, id)
	if err != nil {
		return nil
	}
	v := a.viewFor(s, d)
	if v.Subject != patientRef(s) {
		// Never show a draft about anyone but the launch's patient.
		return nil
	}
	return v
}

// patientRef is the launch's patient as a reference.
func patientRef(s *session) string { return "Patient/" + s.launch.PatientID }

// errDraftOtherPatient answers a review step on a draft whose subject is not
// the launch's patient (changed at the EHR since it was written).
var errDraftOtherPatient = &appError{status: http.StatusConflict, kind: "wrong-patient",
	message: "This draft is not about the patient open in this launch, so nothing was changed.",
	cause:   errors.New("draft subject does not match the launch's patient")}

// checkDraftSubject reads the session's draft as it is now and refuses a
// review step when its subject is not the launch's patient: accept, reject
// and edit act on a CarePlan kept elsewhere (the EHR or the app store),
// which may have changed since this launch wrote it.
func (a *app) checkDraftSubject(ctx context.Context, s *session, id string) error {
	d, err := a.writer(s).Read(ctx, id)
	if err != nil {
		return err
	}
	if viewOf(d, nil).Subject != patientRef(s) {
		return errDraftOtherPatient
	}
	return nil
}

type draftRequest struct {
	OptionID string `json:"optionId" validate:"required,max=100"`
	Note     string `json:"note" validate:"max=4000"`
	// Choices are the clinician's choices among the option's alternatives:
	// choice group → drug ({"cdk46": "palbociclib"}).
	Choices map[string]string `json:"choices" validate:"max=10,dive,keys,max=100,endkeys,max=100"`
}

// postDraft writes the draft for the chosen option: the plan is computed
// again from the session's own facts, so the draft can only be about the
// patient of this launch.
func (a *app) postDraft(c *gin.Context) {
	s := sessionOf(c)
	var req draftRequest
	if err := bindJSON(c, &req); err != nil {
		respondError(c, err)
		return
	}
	ctx := c.Request.Context()
	p, f, err := a.planFor(ctx, s, false)
	if err != nil {
		respondError(c, err)
		return
	}
	dc := a.draftContext(s, req.OptionID, req.Note)
	dc.Choices = req.Choices
	if p.Patient.Ref != dc.PatientRef {
		respondError(c, newAppError(http.StatusConflict, "wrong-patient",
			"The plan is not about the patient open in this launch. Nothing was written.", errors.New("plan patient does not match launch")))
		return
	}
	d, err := a.writer(s).WriteDraft(ctx, p, f, dc)
	if err != nil {
		if errors.Is(err, fhir.ErrUnknownOption) {
			respondError(c, newAppError(http.StatusBadRequest, "bad-request", "That option is not in the current plan: reload the plan and choose again.", err))
			return
		}
		if errors.Is(err, fhir.ErrUnknownChoice) {
			respondError(c, newAppError(http.StatusBadRequest, "bad-request", "A chosen drug is not one of that option's alternatives: reload the plan and choose again.", err))
			return
		}
		respondError(c, err)
		return
	}
	s.mu.Lock()
	s.draftID, s.draftWhere = d.ID, d.Where
	s.mu.Unlock()
	a.metrics.event("draft_written_" + d.Where)
	c.JSON(http.StatusOK, gin.H{"draft": viewOf(d, &p)})
}

type editRequest struct {
	Version          string   `json:"version" validate:"required,max=100"`
	Note             *string  `json:"note" validate:"omitempty,max=4000"`
	RemoveActivities []string `json:"removeActivities" validate:"max=50,dive,max=100"`
}

func (a *app) openDraftID(c *gin.Context, s *session) (string, bool) {
	s.mu.Lock()
	id := s.draftID
	s.mu.Unlock()
	if id == "" {
		respondError(c, newAppError(http.StatusConflict, "no-draft", "There is no draft yet: write a draft first.", nil))
		return "", false
	}
	return id, true
}

// review runs one review step on the session's open draft: bind and check
// the body, find the draft (only ever the one this launch wrote), run step,
// answer its result or the write error.
func review[T any](a *app, c *gin.Context, event string, step func(ctx context.Context, w *fhir.Writer, id string, dc fhir.DraftContext, req *T) (gin.H, error)) {
	s := sessionOf(c)
	var req T
	if err := bindJSON(c, &req); err != nil {
		respondError(c, err)
		return
	}
	id, ok := a.openDraftID(c, s)
	if !ok {
		return
	}
	if err := a.checkDraftSubject(c.Request.Context(), s, id); err != nil {
		a.respondWriteError(c, err)
		return
	}
	out, err := step(c.Request.Context(), a.writer(s), id, a.draftContext(s, "", ""), &req)
	if err != nil {
		a.respondWriteError(c, err)
		return
	}
	a.metrics.event(event)
	c.JSON(http.StatusOK, out)
}

func (a *app) postEdit(c *gin.Context) {
	review(a, c, "draft_edited", func(ctx context.Context, w *fhir.Writer, id string, dc fhir.DraftContext, req *editRequest) (gin.H, error) {
		d, err := w.Edit(ctx, id, req.Version, fhir.Edit{Note: req.Note, RemoveActivities: req.RemoveActivities}, dc)
		if err != nil {
			return nil, err
		}
		return gin.H{"draft": a.viewFor(sessionOf(c), d)}, nil
	})
}

type acceptRequest struct {
	Version string `json:"version" validate:"required,max=100"`
}

func (a *app) postAccept(c *gin.Context) {
	review(a, c, "draft_accepted", func(ctx context.Context, w *fhir.Writer, id string, dc fhir.DraftContext, req *acceptRequest) (gin.H, error) {
		acc, err := w.Accept(ctx, id, req.Version, dc)
		if err != nil {
			return nil, err
		}
		accepted := gin.H{"id": acc.Plan.ID, "where": acc.Plan.Where, "status": acc.Plan.Status}
		if acc.Note != nil {
			accepted["documentReference"] = gin.H{"id": acc.Note.ID, "where": acc.Note.Where}
		}
		return gin.H{"draft": a.viewFor(sessionOf(c), &acc.Proposal), "accepted": accepted}, nil
	})
}

type rejectRequest struct {
	Version string `json:"version" validate:"required,max=100"`
	Reason  string `json:"reason" validate:"required,min=3,max=2000"`
}

func (a *app) postReject(c *gin.Context) {
	review(a, c, "draft_rejected", func(ctx context.Context, w *fhir.Writer, id string, dc fhir.DraftContext, req *rejectRequest) (gin.H, error) {
		d, err := w.Reject(ctx, id, req.Version, req.Reason, dc)
		if err != nil {
			return nil, err
		}
		return gin.H{"draft": a.viewFor(sessionOf(c), d)}, nil
	})
}

// respondWriteError answers a conflict with the current version, what
// changed and the clinician's pending change, so nothing is lost.
func (a *app) respondWriteError(c *gin.Context, err error) {
	var ce *fhir.ConflictError
	if errors.As(err, &ce) {
		loggerFrom(c).Warn("draft conflict", "action", ce.Action, "requestID", requestIDOf(c))
		var cur *draftView
		if ce.Current != nil {
			var h struct {
				Status     string `json:"status"`
				Identifier []struct {
					System string `json:"system"`
					Value  string `json:"value"`
				} `json:"identifier"`
			}
			if err := json.Unmarshal(ce.Current.Raw, &h); err != nil {
				h.Status = "" // shown as unknown; the changes still say what moved
			}
			d := &fhir.Draft{ID: ce.Current.ID, VersionID: ce.Current.VersionID, Status: h.Status,
				Where: sessionOf(c).lastWhere(), CarePlan: ce.Current.Raw}
			for _, id := range h.Identifier {
				if id.System == fhir.DraftIdentifierSystem {
					d.Identifier = id.System + "|" + id.Value
				}
			}
			cur = a.viewFor(sessionOf(c), d)
		}
		c.AbortWithStatusJSON(http.StatusConflict, gin.H{
			"error":     "conflict",
			"message":   "Someone changed this draft since you opened it. Your change is kept below; review what changed and try again.",
			"current":   cur,
			"changes":   ce.Changes,
			"yourEdit":  gin.H{"action": ce.Action, "edit": ce.Edit, "reason": ce.Reason},
			"requestId": requestIDOf(c),
		})
		return
	}
	if errors.Is(err, fhir.ErrChoiceNeeded) {
		respondError(c, newAppError(http.StatusConflict, "choice-needed",
			"This draft still lists alternatives (\"one of …\"). Choose one drug of each group, then accept.", err))
		return
	}
	if errors.Is(err, fhir.ErrNotOpen) {
		respondError(c, newAppError(http.StatusConflict, "not-open", "This draft was already accepted, rejected or replaced.", err))
		return
	}
	respondError(c, err)
}

// lastWhere is where the session's draft was written ("ehr" or "app-store").
func (s *session) lastWhere() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draftWhere
}
