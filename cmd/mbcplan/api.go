package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/go-playground/validator/v10"

	"github.com/mbcplan/mbcplan/fhir"
	"github.com/mbcplan/mbcplan/recommend"
)

// planResponse is GET /api/{launch}/plan and the answer to statements.
type planResponse struct {
	Plan    recommend.Plan  `json:"plan"`
	Facts   recommend.Facts `json:"facts"`
	Context launchContext   `json:"context"`
	Draft   *draftView      `json:"draft"`
}

// launchContext is what the UI needs from the launch; never a token.
type launchContext struct {
	EHR               string   `json:"ehr"`
	NeedPatientBanner bool     `json:"needPatientBanner"`
	SmartStyleURL     string   `json:"smartStyleUrl,omitempty"`
	User              string   `json:"user,omitempty"`
	Encounter         string   `json:"encounter,omitempty"`
	CanWriteCarePlan  bool     `json:"canWriteCarePlan"`
	Warnings          []string `json:"warnings,omitempty"`
}

func (a *app) launchContext(s *session) launchContext {
	l := s.launch
	lc := launchContext{
		EHR:               s.ehr.Name,
		NeedPatientBanner: l.NeedPatientBanner,
		SmartStyleURL:     l.SmartStyleURL,
		User:              l.FHIRUser,
		CanWriteCarePlan:  l.CanWrite("CarePlan"),
		Warnings:          l.Warnings,
	}
	if l.EncounterID != "" {
		lc.Encounter = "Encounter/" + l.EncounterID
	}
	return lc
}

// factsFor returns the session's facts, reading the record once per launch
// (or again when refresh is asked).
func (a *app) factsFor(ctx context.Context, s *session, refresh bool) (recommend.Facts, error) {
	s.mu.Lock()
	cached := s.facts
	s.mu.Unlock()
	if cached != nil && !refresh {
		return *cached, nil
	}
	rec, err := s.client.FetchRecord(ctx, s.launch.PatientID)
	if err != nil {
		return recommend.Facts{}, err
	}
	f := fhir.MapFacts(rec)
	// The record must be about the patient in context: the reader already
	// drops resources about anyone else; this guards the Patient itself.
	if want := "Patient/" + s.launch.PatientID; f.Patient.Ref != want {
		return recommend.Facts{}, newAppError(http.StatusBadGateway, "wrong-patient",
			"The EHR returned a record for a different patient than the one open. Nothing is shown.", errors.New("record patient does not match launch context"))
	}
	s.mu.Lock()
	s.facts = &f
	s.mu.Unlock()
	return f, nil
}

// planFor computes the plan from the session's facts and statements.
func (a *app) planFor(ctx context.Context, s *session, refresh bool) (recommend.Plan, recommend.Facts, error) {
	f, err := a.factsFor(ctx, s, refresh)
	if err != nil {
		return recommend.Plan{}, recommend.Facts{}, err
	}
	s.mu.Lock()
	f.Statements = s.statements
	s.mu.Unlock()
	p := recommend.Recommend(f, a.now(), a.settings)
	return p, f, nil
}

func (a *app) getPlan(c *gin.Context) {
	s := sessionOf(c)
	p, f, err := a.planFor(c.Request.Context(), s, c.Query("refresh") == "1")
	if err != nil {
		respondError(c, err)
		return
	}
	a.respondPlan(c, s, p, f)
}

func (a *app) respondPlan(c *gin.Context, s *session, p recommend.Plan, f recommend.Facts) {
	c.JSON(http.StatusOK, planResponse{Plan: p, Facts: f, Context: a.launchContext(s), Draft: a.currentDraft(c.Request.Context(), s)})
}

// statementsRequest is what the clinician may state (REFERENCE.md section 8).
type statementsRequest struct {
	ER              *recommend.ReceptorStatus  `json:"er" validate:"omitempty,oneof=positive negative"`
	PR              *recommend.ReceptorStatus  `json:"pr" validate:"omitempty,oneof=positive negative"`
	HER2            *recommend.ReceptorStatus  `json:"her2" validate:"omitempty,oneof=positive negative"`
	HER2IHC         *recommend.IHCScore        `json:"her2Ihc" validate:"omitempty,oneof=0 1+ 2+ 3+"`
	VisceralCrisis  *bool                      `json:"visceralCrisis"`
	Progression     *bool                      `json:"progression"`
	QTcF            *float64                   `json:"qtcf" validate:"omitempty,min=250,max=800"`
	OFSDeclined     *bool                      `json:"ofsDeclined"`
	CDK46Unsuitable *bool                      `json:"cdk46Unsuitable"`
	Pregnancy       *recommend.PregnancyStatus `json:"pregnancy" validate:"omitempty,oneof=pregnant not-pregnant"`
}

// postStatements replaces the clinician's statements and answers the new
// plan. An omitted field clears that statement.
func (a *app) postStatements(c *gin.Context) {
	s := sessionOf(c)
	var req statementsRequest
	if err := bindJSON(c, &req); err != nil {
		respondError(c, err)
		return
	}
	st := recommend.Statements{
		ER: req.ER, PR: req.PR, HER2: req.HER2, HER2IHC: req.HER2IHC,
		VisceralCrisis: req.VisceralCrisis, Progression: req.Progression, QTcF: req.QTcF,
		OFSDeclined: req.OFSDeclined, CDK46Unsuitable: req.CDK46Unsuitable, Pregnancy: req.Pregnancy,
		Date: a.now().UTC().Format("2006-01-02T15:04:05Z"),
	}
	s.mu.Lock()
	s.statements = st
	s.mu.Unlock()
	a.metrics.event("statements_set")
	a.getPlan(c)
}

var validate = newRequestValidator()

// newRequestValidator names fields by their JSON names, as the UI knows them.
func newRequestValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			return f.Name
		}
		return name
	})
	return v
}

// bindJSON decodes a JSON body strictly (one object, no unknown fields, no
// trailing data) and validates it. Its messages name a field, never a value
// from the request.
func bindJSON(c *gin.Context, v any) error {
	dec := jsonDecoder(c.Request.Body)
	err := dec.Decode(v)
	if err == nil {
		// Only white space may follow the object.
		var extra json.RawMessage
		if derr := dec.Decode(&extra); !errors.Is(derr, io.EOF) {
			err = errTrailingJSON
		}
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return newAppError(http.StatusRequestEntityTooLarge, "bad-request", "The request is too large.", nil)
		}
		return newAppError(http.StatusBadRequest, "bad-request", "The request was not understood ("+jsonErrorSummary(err)+").", nil)
	}
	if err := validate.Struct(v); err != nil {
		var ves validator.ValidationErrors
		msg := "The request has an invalid value."
		if errors.As(err, &ves) && len(ves) > 0 {
			msg = "The request has an invalid value for " + fieldOf(ves[0]) + "."
		}
		return newAppError(http.StatusBadRequest, "bad-request", msg, nil)
	}
	return nil
}

var errTrailingJSON = errors.New("data after the JSON object")

// fieldOf names the field of a validation error without the map key or
// index that validator appends ("choices[KEY]" → "choices"): a map key is
// request input.
func fieldOf(fe validator.FieldError) string {
	name, _, _ := strings.Cut(fe.Field(), "[")
	return name
}
