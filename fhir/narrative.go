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
	lines   []narrativeLine
}

// narrativeLine is one item of a section, with the items nested under it
// (the alternatives of one open choice).
type narrativeLine struct {
	text string
	sub  []string
}

// carePlanSections groups a CarePlan's content for the narrative and the
// plain-text note. The alternatives of an open choice (drug activities
// sharing a "One of: …" description) form one item, the alternatives
// nested under it, so the reader sees one choice, not several drugs.
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
	if cp.Intent == r4.CarePlanIntentPlan {
		drugs.heading = "Drugs"
	}
	orders := narrativeSection{heading: "Tests, monitoring and referrals"}
	other := narrativeSection{heading: "Other items"}
	choiceAt := map[string]int{}
	for _, a := range cp.Activity {
		d := a.Detail
		if d == nil {
			continue
		}
		switch {
		case d.Kind != nil && *d.Kind == r4.CarePlanActivityKindMedicationRequest:
			if d.Description != nil {
				if _, ok := openChoiceOf(*d.Description); ok {
					if i, seen := choiceAt[*d.Description]; seen {
						drugs.lines[i].sub = append(drugs.lines[i].sub, drugName(d))
						continue
					}
					choiceAt[*d.Description] = len(drugs.lines)
					drugs.lines = append(drugs.lines, narrativeLine{text: *d.Description + ":", sub: []string{drugName(d)}})
					continue
				}
			}
			drugs.lines = append(drugs.lines, narrativeLine{text: drugLine(d)})
		case d.Kind != nil && *d.Kind == r4.CarePlanActivityKindServiceRequest:
			orders.lines = append(orders.lines, narrativeLine{text: activityLine(d)})
		default:
			other.lines = append(other.lines, narrativeLine{text: activityLine(d)})
		}
	}
	notes := narrativeSection{heading: "Notes"}
	for _, n := range cp.Note {
		s := n.Text
		if n.AuthorReference != nil && n.AuthorReference.Display != nil {
			s = *n.AuthorReference.Display + ": " + s
		}
		notes.lines = append(notes.lines, narrativeLine{text: s})
	}
	for _, s := range []narrativeSection{drugs, orders, other, notes} {
		if len(s.lines) > 0 {
			sections = append(sections, s)
		}
	}
	return title, status, desc, sections
}

// productName is a drug activity's product name and its RxNorm code.
func productName(d *r4.CarePlanActivityDetail) (name, code string) {
	if pc := d.ProductCodeableConcept; pc != nil {
		if pc.Text != nil {
			name = *pc.Text
		}
		for _, c := range pc.Coding {
			if c.Code != nil {
				code = *c.Code
				if name == "" && c.Display != nil {
					name = *c.Display
				}
			}
		}
	}
	return name, code
}

// drugName is "name (RxNorm code) [status]".
func drugName(d *r4.CarePlanActivityDetail) string {
	name, code := productName(d)
	s := name
	if code != "" {
		s += " (RxNorm " + code + ")"
	}
	return s + " [" + d.Status.Code() + "]"
}

func drugLine(d *r4.CarePlanActivityDetail) string {
	name, code := productName(d)
	s := name
	if code != "" {
		s += " (RxNorm " + code + ")"
	}
	if d.Description != nil && *d.Description != "" {
		s += ": " + *d.Description
	}
	return s + " [" + d.Status.Code() + "]"
}

// drugSummary names a CarePlan's drugs in one line: "letrozole;
// palbociclib", an open choice as "one of letrozole, anastrozole (not yet
// chosen)". Empty when the plan has no drug.
func drugSummary(cp *r4.CarePlan) string {
	if cp == nil {
		return ""
	}
	var parts []string
	seen := map[string]bool{}
	for _, a := range cp.Activity {
		d := a.Detail
		if d == nil || d.Kind == nil || *d.Kind != r4.CarePlanActivityKindMedicationRequest {
			continue
		}
		if d.Description != nil {
			if names, ok := openChoiceOf(*d.Description); ok {
				if !seen[*d.Description] {
					seen[*d.Description] = true
					parts = append(parts, "one of "+strings.Join(names, altNameSeparator)+" (not yet chosen)")
				}
				continue
			}
		}
		if name, _ := productName(d); name != "" {
			parts = append(parts, name)
		}
	}
	return strings.Join(parts, "; ")
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

// renderCarePlanHTML writes the narrative div; extra paragraphs, if any,
// follow the status.
func renderCarePlanHTML(cp *r4.CarePlan, extra ...string) string {
	title, status, desc, sections := carePlanSections(cp)
	var b strings.Builder
	b.WriteString(`<div xmlns="` + cpXHTMLNS + `">`)
	b.WriteString("<h2>" + html.EscapeString(title) + "</h2>")
	b.WriteString("<p>" + html.EscapeString(status) + "</p>")
	for _, e := range extra {
		b.WriteString("<p>" + html.EscapeString(e) + "</p>")
	}
	if desc != "" {
		b.WriteString("<p>" + html.EscapeString(desc) + "</p>")
	}
	for _, s := range sections {
		b.WriteString("<h3>" + html.EscapeString(s.heading) + "</h3><ul>")
		for _, l := range s.lines {
			b.WriteString("<li>" + html.EscapeString(l.text))
			if len(l.sub) > 0 {
				b.WriteString("<ul>")
				for _, sub := range l.sub {
					b.WriteString("<li>" + html.EscapeString(sub) + "</li>")
				}
				b.WriteString("</ul>")
			}
			b.WriteString("</li>")
		}
		b.WriteString("</ul>")
	}
	b.WriteString("</div>")
	return b.String()
}

// CarePlanText renders a CarePlan as plain text, for a text/plain note.
func CarePlanText(cp *r4.CarePlan) string { return carePlanText(cp) }

// carePlanText renders the plain text; extra lines, if any, follow the
// status.
func carePlanText(cp *r4.CarePlan, extra ...string) string {
	title, status, desc, sections := carePlanSections(cp)
	var b strings.Builder
	b.WriteString(title + "\n" + status + "\n")
	for _, e := range extra {
		b.WriteString(e + "\n")
	}
	if desc != "" {
		b.WriteString("\n" + desc + "\n")
	}
	for _, s := range sections {
		b.WriteString("\n" + s.heading + ":\n")
		for _, l := range s.lines {
			b.WriteString("- " + l.text + "\n")
			for _, sub := range l.sub {
				b.WriteString("  - " + sub + "\n")
			}
		}
	}
	return b.String()
}

// carePlanHTMLDocument wraps the narrative in a complete HTML document, for
// a text/html note; extra paragraphs follow the status.
func carePlanHTMLDocument(cp *r4.CarePlan, extra ...string) string {
	title, _, _, _ := carePlanSections(cp)
	return "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>" + html.EscapeString(title) +
		"</title></head><body>" + renderCarePlanHTML(cp, extra...) + "</body></html>"
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
