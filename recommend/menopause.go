package recommend

import "time"

// menopauseOut is the menopausal status the rules use (C06, section 8).
type menopauseOut struct {
	call MenopauseCall
	// postmenopausal is true only when established (record, oophorectomy,
	// age ≥ 60 in a female): the pregnancy-test gate uses it.
	postmenopausal bool
	male           bool
	gnrhActive     bool
	// pastChildbearingAge: a female aged ≥ 60 with no recorded pre- or
	// perimenopausal status. A running GnRH agonist hides her menopausal
	// status (OFS stays) but not her age: no pregnancy test (S10).
	pastChildbearingAge bool
	note                string
}

// gnrhNames are the GnRH agonists (section 8), matched by drug or by name.
var gnrhNames = []string{"goserelin", "leuprolide", "triptorelin"}

// deriveMenopause establishes menopausal status: male; bilateral
// oophorectomy; a GnRH agonist running (status cannot be assigned); the most
// recent recorded status (premenopausal overrides age); age ≥ 60 in a female
// with no record; otherwise unknown, handled as premenopausal.
func deriveMenopause(f Facts, age *int, now time.Time) menopauseOut {
	var out menopauseOut
	for _, m := range f.Medications {
		if medMatchesAny(m, gnrhNames) && medIsCurrent(m, now) {
			out.gnrhActive = true
		}
	}
	var rec *MenopauseResult
	for i := range f.Menopause {
		r := f.Menopause[i]
		if !r.Final || r.Status == MenopauseUnknown {
			continue
		}
		if rec == nil || !later(rec.Date, r.Date) {
			rec = &f.Menopause[i]
		}
	}
	recordedPre := rec != nil && (rec.Status == Premenopausal || rec.Status == Perimenopausal)
	out.pastChildbearingAge = f.Patient.Sex == SexFemale && age != nil && *age >= 60 && !recordedPre
	switch {
	case f.Patient.Sex == SexMale:
		out.male = true
		out.call = MenopauseCall{Status: "male", Basis: "sex", TreatAsPremenopausal: true}
		out.note = "Male patient: an aromatase inhibitor, fulvestrant or elacestrant is proposed with a GnRH agonist (C06)."
	case f.Oophorectomy != nil:
		out.postmenopausal = true
		out.call = MenopauseCall{Status: string(Postmenopausal), Basis: "oophorectomy", Source: f.Oophorectomy.Source}
	case out.gnrhActive:
		out.call = MenopauseCall{Status: "unknown", TreatAsPremenopausal: true}
		out.note = "A GnRH agonist is running, so menopausal status cannot be assigned from the record (it is induced); ovarian function suppression continues with every aromatase inhibitor, fulvestrant or elacestrant (C06)."
	case rec != nil && rec.Status == Postmenopausal:
		out.postmenopausal = true
		out.call = MenopauseCall{Status: string(Postmenopausal), Basis: "recorded", Source: rec.Source}
	case rec != nil && (rec.Status == Premenopausal || rec.Status == Perimenopausal):
		out.call = MenopauseCall{Status: string(rec.Status), Basis: "recorded", TreatAsPremenopausal: true, Source: rec.Source}
	case rec != nil && rec.Status == MenopauseInduced:
		out.call = MenopauseCall{Status: "unknown", TreatAsPremenopausal: true, Source: rec.Source}
		out.note = "The recorded menopause is induced (chemotherapy or ovarian suppression), not a reliable postmenopausal status: handled as premenopausal, so ovarian function suppression accompanies every aromatase inhibitor, fulvestrant or elacestrant (C06)."
	case f.Patient.Sex == SexFemale && age != nil && *age >= 60:
		out.postmenopausal = true
		out.call = MenopauseCall{Status: string(Postmenopausal), Basis: "age ≥ 60", Source: Source{Refs: mergeRefs([]string{f.Patient.Ref})}}
		out.note = "Postmenopausal status inferred from age ≥ 60 (no recorded status): confirm it if in doubt."
	default:
		out.call = MenopauseCall{Status: "unknown", TreatAsPremenopausal: true}
		out.note = "Menopausal status unknown: handled as premenopausal, so every aromatase inhibitor, fulvestrant or elacestrant proposal includes ovarian function suppression (C06)."
	}
	return out
}
