package fhir

import (
	"encoding/base64"
	"errors"

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

// BuildDocumentReference makes the clinical note that carries an accepted
// plan to a chart that cannot store CarePlans: status current, type LOINC
// 11506-3 Progress note, category clinical-note, the plan's subject, the
// clinician and the app as authors, date dc.Now, and the plan rendered as
// text/html or text/plain (format; empty means HTML), base64 encoded. Its
// identifier (NoteIdentifierSystem) follows the plan's, so a retried
// conditional create writes one note.
func BuildDocumentReference(cp *r4.CarePlan, dc DraftContext, format string) (*r4.DocumentReference, error) {
	if cp == nil || cp.Subject.Reference == nil || *cp.Subject.Reference == "" {
		return nil, errors.New("fhir: note: care plan without a subject")
	}
	if dc.Now.IsZero() {
		return nil, errors.New("fhir: note: no time given")
	}
	value := ""
	for _, id := range cp.Identifier {
		if id.System != nil && id.Value != nil && (*id.System == PlanIdentifierSystem || *id.System == DraftIdentifierSystem) {
			value = *id.Value
			break
		}
	}
	if value == "" {
		return nil, errors.New("fhir: note: care plan without an mbcplan identifier")
	}
	var body string
	switch format {
	case "", NoteHTML:
		format = NoteHTML
		body = carePlanHTMLDocument(cp)
	case NotePlain:
		body = CarePlanText(cp)
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
	if dc.EncounterRef != "" {
		dr.Context = &r4.DocumentReferenceContext{Encounter: []r4.Reference{{Reference: cpStr(dc.EncounterRef)}}}
	}
	return dr, nil
}
