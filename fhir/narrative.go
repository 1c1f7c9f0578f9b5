package fhir

import (
	"encoding/xml"
	"errors"
	"html"
	"io"
	"strings"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// CarePlanNarrative renders a CarePlan as the XHTML narrative a clinician
// reads in any EHR (text.status generated): the title, the status, the
// description, the proposed drugs, the orders, the other activities and the
// notes. Every text is escaped. It is rendered from the CarePlan itself, so
// it stays true after an edit.
func CarePlanNarrative(cp *r4.CarePlan) *r4.Narrative {
	return &r4.Narrative{Status: r4.NarrativeStatusGenerated, Div: renderCarePlanHTML(cp)}
}

// narrativeSection is one headed list of the narrative.
type narrativeSection struct {
	heading string
	lines   []string
}

// carePlanSections groups a CarePlan's content for the narrative and the
// plain-text note.
func carePlanSections(cp *r4.CarePlan) (title, status, desc string, sections []narrativeSection) {
	if cp == nil {
		return "", "", "", nil
	}
	title = "Care plan"
	if cp.Title != nil && *cp.Title != "" {
		title = *cp.Title
	}
	status = "Status: " + cp.Status.Code() + " (" + cp.Intent.Code() + ")"
	if cp.Created != nil {
		status += ", created " + *cp.Created
	}
	if cp.Description != nil {
		desc = *cp.Description
	}
	drugs := narrativeSection{heading: "Proposed drugs"}
	orders := narrativeSection{heading: "Tests, monitoring and referrals"}
	other := narrativeSection{heading: "Other items"}
	for _, a := range cp.Activity {
		d := a.Detail
		if d == nil {
			continue
		}
		switch {
		case d.Kind != nil && *d.Kind == r4.CarePlanActivityKindMedicationRequest:
			drugs.lines = append(drugs.lines, drugLine(d))
		case d.Kind != nil && *d.Kind == r4.CarePlanActivityKindServiceRequest:
			orders.lines = append(orders.lines, activityLine(d))
		default:
			other.lines = append(other.lines, activityLine(d))
		}
	}
	notes := narrativeSection{heading: "Notes"}
	for _, n := range cp.Note {
		s := n.Text
		if n.AuthorReference != nil && n.AuthorReference.Display != nil {
			s = *n.AuthorReference.Display + ": " + s
		}
		notes.lines = append(notes.lines, s)
	}
	for _, s := range []narrativeSection{drugs, orders, other, notes} {
		if len(s.lines) > 0 {
			sections = append(sections, s)
		}
	}
	return title, status, desc, sections
}

func drugLine(d *r4.CarePlanActivityDetail) string {
	name := ""
	code := ""
	if pc := d.ProductCodeableConcept; pc != nil {
		if pc.Text != nil {
			name = *pc.Text
		}
		for _, c := range pc.Coding {
			if c.Code != nil {
				code = "RxNorm " + *c.Code
				if name == "" && c.Display != nil {
					name = *c.Display
				}
			}
		}
	}
	s := name
	if code != "" {
		s += " (" + code + ")"
	}
	if d.Description != nil && *d.Description != "" {
		s += ": " + *d.Description
	}
	return s + " [" + d.Status.Code() + "]"
}

func activityLine(d *r4.CarePlanActivityDetail) string {
	s := ""
	if d.Description != nil {
		s = *d.Description
	}
	if d.Code != nil {
		for _, c := range d.Code.Coding {
			if c.Code == nil || c.System == nil {
				continue
			}
			sys := "code"
			switch *c.System {
			case cpSystemLOINC:
				sys = "LOINC"
			case cpSystemSNOMED:
				sys = "SNOMED CT"
			}
			s += " (" + sys + " " + *c.Code + ")"
		}
		if s == "" && d.Code.Text != nil {
			s = *d.Code.Text
		}
	}
	return s + " [" + d.Status.Code() + "]"
}

// renderCarePlanHTML writes the narrative div.
func renderCarePlanHTML(cp *r4.CarePlan) string {
	title, status, desc, sections := carePlanSections(cp)
	var b strings.Builder
	b.WriteString(`<div xmlns="` + cpXHTMLNS + `">`)
	b.WriteString("<h2>" + html.EscapeString(title) + "</h2>")
	b.WriteString("<p>" + html.EscapeString(status) + "</p>")
	if desc != "" {
		b.WriteString("<p>" + html.EscapeString(desc) + "</p>")
	}
	for _, s := range sections {
		b.WriteString("<h3>" + html.EscapeString(s.heading) + "</h3><ul>")
		for _, l := range s.lines {
			b.WriteString("<li>" + html.EscapeString(l) + "</li>")
		}
		b.WriteString("</ul>")
	}
	b.WriteString("</div>")
	return b.String()
}

// CarePlanText renders a CarePlan as plain text, for a text/plain note.
func CarePlanText(cp *r4.CarePlan) string {
	title, status, desc, sections := carePlanSections(cp)
	var b strings.Builder
	b.WriteString(title + "\n" + status + "\n")
	if desc != "" {
		b.WriteString("\n" + desc + "\n")
	}
	for _, s := range sections {
		b.WriteString("\n" + s.heading + ":\n")
		for _, l := range s.lines {
			b.WriteString("- " + l + "\n")
		}
	}
	return b.String()
}

// carePlanHTMLDocument wraps the narrative in a complete HTML document, for
// a text/html note.
func carePlanHTMLDocument(cp *r4.CarePlan) string {
	title, _, _, _ := carePlanSections(cp)
	return "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>" + html.EscapeString(title) +
		"</title></head><body>" + renderCarePlanHTML(cp) + "</body></html>"
}

// validateNarrative checks text.status generated and a well-formed XHTML div
// in the XHTML namespace, without scripts or event handlers.
func validateNarrative(n *r4.Narrative) error {
	if n == nil {
		return errors.New("fhir: careplan: no narrative")
	}
	if n.Status != r4.NarrativeStatusGenerated {
		return errors.New("fhir: careplan: narrative status is not generated")
	}
	dec := xml.NewDecoder(strings.NewReader(n.Div))
	depth := 0
	first := true
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return errors.New("fhir: careplan: narrative is not well-formed XHTML")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if first && (t.Name.Local != "div" || t.Name.Space != cpXHTMLNS) {
				return errors.New("fhir: careplan: narrative root is not an XHTML div")
			}
			if !first && depth == 0 {
				return errors.New("fhir: careplan: narrative has more than one root")
			}
			first = false
			if strings.EqualFold(t.Name.Local, "script") {
				return errors.New("fhir: careplan: narrative holds a script")
			}
			for _, a := range t.Attr {
				if strings.HasPrefix(strings.ToLower(a.Name.Local), "on") {
					return errors.New("fhir: careplan: narrative holds an event handler")
				}
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && strings.TrimSpace(string(t)) != "" {
				return errors.New("fhir: careplan: narrative has text outside the div")
			}
		}
	}
	if first {
		return errors.New("fhir: careplan: empty narrative")
	}
	return nil
}
