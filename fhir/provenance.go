package fhir

import (
	"errors"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// ProvenanceActivity names a step of a draft's life a Provenance records.
type ProvenanceActivity string

// The steps. The app is always the author agent; the clinician is the
// enterer of a draft, an edit and a replacement, and the verifier of an
// acceptance or a rejection.
const (
	ActivityDraft   ProvenanceActivity = "draft"   // a proposal written
	ActivityEdit    ProvenanceActivity = "edit"    // a proposal edited before acceptance
	ActivityAccept  ProvenanceActivity = "accept"  // a plan created from a proposal; the proposal completed
	ActivityReject  ProvenanceActivity = "reject"  // a proposal revoked by the clinician
	ActivityReplace ProvenanceActivity = "replace" // a proposal revoked by a newer draft
)

const (
	provSystemDataOperation = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
	provSystemAgentType     = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
)

// provenanceSpec is how each step is coded.
func provenanceSpec(a ProvenanceActivity) (code, display, text, clinicianType string, ok bool) {
	switch a {
	case ActivityDraft:
		return "CREATE", "Created", "treatment plan proposal drafted", "enterer", true
	case ActivityEdit:
		return "UPDATE", "Updated", "treatment plan proposal edited", "enterer", true
	case ActivityAccept:
		return "CREATE", "Created", "treatment plan proposal accepted", "verifier", true
	case ActivityReject:
		return "ABORT", "Stopped/Ended/Aborted", "treatment plan proposal rejected", "verifier", true
	case ActivityReplace:
		return "ABORT", "Stopped/Ended/Aborted", "treatment plan proposal replaced by a newer draft", "enterer", true
	}
	return "", "", "", "", false
}

// BuildProvenance records one step: target is what the step wrote
// ("CarePlan/1/_history/2"), sources the resources it was derived from
// (entity role source), recorded dc.Now. The app is the author agent and
// the clinician in dc, when known, the enterer or verifier.
func BuildProvenance(target string, activity ProvenanceActivity, dc DraftContext, sources []string) (*r4.Provenance, error) {
	if target == "" {
		return nil, errors.New("fhir: provenance: no target")
	}
	if dc.Now.IsZero() {
		return nil, errors.New("fhir: provenance: no time given")
	}
	code, display, text, clinicianType, ok := provenanceSpec(activity)
	if !ok {
		return nil, errors.New("fhir: provenance: unknown activity")
	}
	pv := &r4.Provenance{
		Target:   []r4.Reference{{Reference: cpStr(target)}},
		Recorded: cpTime(dc.Now),
		Activity: &r4.CodeableConcept{
			Coding: []r4.Coding{{System: cpStr(provSystemDataOperation), Code: cpStr(code), Display: cpStr(display)}},
			Text:   cpStr(text),
		},
		Agent: []r4.ProvenanceAgent{{Type: agentType("author", "Author"), Who: *appReference()}},
	}
	if c := clinicianReference(dc); c != nil {
		disp := "Enterer"
		if clinicianType == "verifier" {
			disp = "Verifier"
		}
		pv.Agent = append(pv.Agent, r4.ProvenanceAgent{Type: agentType(clinicianType, disp), Who: *c})
	}
	seen := map[string]bool{target: true}
	for _, s := range sources {
		if seen[s] || !resolvableRef(s) {
			continue
		}
		seen[s] = true
		pv.Entity = append(pv.Entity, r4.ProvenanceEntity{Role: r4.ProvenanceEntityRoleSource, What: r4.Reference{Reference: cpStr(s)}})
	}
	return pv, nil
}

func agentType(code, display string) *r4.CodeableConcept {
	return &r4.CodeableConcept{Coding: []r4.Coding{{System: cpStr(provSystemAgentType), Code: cpStr(code), Display: cpStr(display)}}}
}
