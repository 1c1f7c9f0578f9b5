package fhir

import (
	"encoding/base64"
	"errors"
	"html"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Note formats for the DocumentReference of an accepted plan.
const (
	NoteHTML  = "text/html"
	NotePlain = "text/plain"
)

const (
	docSystemCategory = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
	docLOINCProgress  = "11506-3"
)

// NoteLinks says where the accepted plan a note carries, and the proposal
// it was accepted from, are kept; the note's context.related points to
// them.
type NoteLinks struct {
	// Where is where the CarePlans are kept: WhereEHR (the note refers to
	// them literally, "CarePlan/{id}", as the chart resolves them) or
	// WhereAppStore (by identifier only: a literal reference would resolve
	// to nothing in the chart, or to another record with the same id).
	Where string
	// PlanID is the accepted plan's id; ProposalID the proposal's.
	PlanID     string
	ProposalID string
	// ProposalIdentifier is the proposal's identifier value
	// (DraftIdentifierSystem).
	ProposalIdentifier string
}

// BuildDocumentReference makes the clinical note that carries an accepted
// plan to a chart that cannot store CarePlans: status current, type LOINC
// 11506-3 Progress note, category clinical-note, the plan's subject, the
// clinician and the app as authors, date dc.Now, context.related pointing
// to the accepted plan and its proposal (see NoteLinks), a narrative naming
// the plan's drugs, and the plan rendered as text/html or text/plain
// (format; empty means HTML), base64 encoded, its drugs named at the top.
// Its identifier (NoteIdentifierSystem) follows the plan's, so a retried
// conditional create writes one note.
func BuildDocumentReference(cp *r4.CarePlan, dc DraftContext, format string, links NoteLinks) (*r4.DocumentReference, error) {
	if cp == nil || cp.Subject.Reference == nil || *cp.Subject.Reference == "" {
		return nil, errors.New("fhir: note: care plan without a subject")
	}
	if dc.Now.IsZero() {
		return nil, errors.New("fhir: note: no time given")
	}
	value, system := "", ""
	for _, id := range cp.Identifier {
		if id.System != nil && id.Value != nil && (*id.System == PlanIdentifierSystem || *id.System == DraftIdentifierSystem) {
			value, system = *id.Value, *id.System
			break
		}
	}
	if value == "" {
		return nil, errors.New("fhir: note: care plan without an mbcplan identifier")
	}
	switch links.Where {
	case WhereEHR, WhereAppStore:
	default:
		return nil, errors.New("fhir: note: unknown place of the care plan")
	}
	drugs := "Drugs: none proposed (work-up only)."
	if s := drugSummary(cp); s != "" {
		drugs = "Drugs: " + s + "."
	}
	kept := "The plan is kept in the EHR as a CarePlan."
	if links.Where == WhereAppStore {
		kept = "The plan is kept in the mbcplan app store; this note is its copy in the chart."
	}
	var body string
	switch format {
	case "", NoteHTML:
		format = NoteHTML
		body = carePlanHTMLDocument(cp, drugs, kept)
	case NotePlain:
		body = carePlanText(cp, drugs, kept)
	default:
		return nil, errors.New("fhir: note: unsupported format")
	}
	title := "Treatment plan"
	if cp.Title != nil && *cp.Title != "" {
		title = *cp.Title
	}
	size := len(body)
	now := cpTime(dc.Now)
	final := r4.CompositionStatusFinal
	dr := &r4.DocumentReference{
		Identifier: []r4.Identifier{{System: cpStr(NoteIdentifierSystem), Value: cpStr(value)}},
		Status:     r4.DocumentReferenceStatusCurrent,
		DocStatus:  &final,
		Type: &r4.CodeableConcept{
			Coding: []r4.Coding{{System: cpStr(cpSystemLOINC), Code: cpStr(docLOINCProgress), Display: cpStr("Progress note")}},
			Text:   cpStr("Progress note"),
		},
		Category: []r4.CodeableConcept{{
			Coding: []r4.Coding{{System: cpStr(docSystemCategory), Code: cpStr("clinical-note"), Display: cpStr("Clinical Note")}},
		}},
		Text: &r4.Narrative{Status: r4.NarrativeStatusGenerated, Div: `<div xmlns="` + cpXHTMLNS + `"><p>` +
			html.EscapeString(title) + `</p><p>` + html.EscapeString(drugs) + `</p><p>` + html.EscapeString(kept) + `</p></div>`},
		Subject:     &r4.Reference{Reference: cpStr(*cp.Subject.Reference)},
		Date:        cpStr(now),
		Description: cpStr(title),
		Content: []r4.DocumentReferenceContent{{
			Attachment: r4.Attachment{
				ContentType: cpStr(format + "; charset=utf-8"),
				Data:        cpStr(base64.StdEncoding.EncodeToString([]byte(body))),
				Size:        &size,
				Title:       cpStr(title),
				Creation:    cpStr(now),
			},
		}},
	}
	if c := clinicianReference(dc); c != nil {
		dr.Author = append(dr.Author, *c)
	}
	dr.Author = append(dr.Author, *appReference())
	dr.Context = &r4.DocumentReferenceContext{}
	if dc.EncounterRef != "" {
		dr.Context.Encounter = []r4.Reference{{Reference: cpStr(dc.EncounterRef)}}
	}
	planDisplay, propDisplay := "Accepted treatment plan", "Treatment plan proposal it was accepted from"
	if system == DraftIdentifierSystem {
		// A proposal given as the plan: it is both.
		planDisplay = "Treatment plan proposal"
	}
	dr.Context.Related = append(dr.Context.Related, noteRelated(links.Where, links.PlanID, system, value, planDisplay))
	if links.ProposalID != "" || links.ProposalIdentifier != "" {
		if system != DraftIdentifierSystem || links.ProposalIdentifier != value {
			dr.Context.Related = append(dr.Context.Related, noteRelated(links.Where, links.ProposalID, DraftIdentifierSystem, links.ProposalIdentifier, propDisplay))
		}
	}
	return dr, nil
}

// noteRelated is a reference to a CarePlan from a note: by identifier
// always, literally only where the CarePlan is in the EHR.
func noteRelated(where, id, system, value, display string) r4.Reference {
	ref := r4.Reference{Type: cpStr("CarePlan"), Display: cpStr(display)}
	if value != "" {
		ref.Identifier = &r4.Identifier{System: cpStr(system), Value: cpStr(value)}
	}
	if where == WhereEHR && validID(id) {
		ref.Reference = cpStr("CarePlan/" + id)
	}
	if where == WhereAppStore {
		ref.Display = cpStr(display + " (kept in the mbcplan app store)")
	}
	return ref
}
