package recommend

import (
	"fmt"
	"strings"
	"testing"
)

// The pre-release clinical review: named scenarios built as Facts, each
// asserting the plan REFERENCE.md (sections 1.3–1.6, 3 and 8) calls for —
// which drugs and classes must and must not be proposed, in what order,
// which safety flags attach to which options, what data is asked for and
// what the clinician is told. Dates are relative to testNow (2026-11-25).

// ago is the date n days before testNow.
func ago(days int) string { return testNow.AddDate(0, 0, -days).Format("2006-01-02") }

// monthsAgo is the date n months before testNow.
func monthsAgo(n int) string { return testNow.AddDate(0, -n, 0).Format("2006-01-02") }

// born gives the patient the age in whole years at testNow.
func born(age int) func(*Facts) {
	return func(f *Facts) { f.Patient.BirthDate = testNow.AddDate(-age, -2, 0).Format("2006-01-02") }
}

// her2Null: HER2 IHC 0 with no membrane staining (neither low nor ultralow).
func her2Null(f *Facts) {
	f.HER2 = []HER2Result{her2IHC(IHC0, "2026-10-01")}
	f.HER2[0].Staining = "absent"
}

// noMenopauseRecord drops the menopausal and pregnancy records.
func noMenopauseRecord(f *Facts) { f.Menopause, f.Pregnancy = nil, nil }

// metsSince records distant metastases first found on date.
func metsSince(date string, sites ...string) func(*Facts) {
	return func(f *Facts) {
		f.Metastases = nil
		for _, s := range sites {
			f.Metastases = append(f.Metastases, metastasis(s, date))
		}
	}
}

// line1Progressed: first-line therapy with the drugs from metastatic
// diagnosis 11 months ago, progression recorded 3 weeks ago.
func line1Progressed(drugNames ...string) func(*Facts) {
	return func(f *Facts) {
		metsSince(monthsAgo(11), "bone", "liver")(f)
		for _, d := range drugNames {
			m := med("MedicationRequest/l1-"+strings.ReplaceAll(d, " ", "-"), MedRequest, "active", monthsAgo(11), "", d)
			f.Medications = append(f.Medications, m)
		}
		f.DiseaseStatus = append(f.DiseaseStatus, worsened(ago(21)))
	}
}

// twoEndocrineLinesProgressed: letrozole + palbociclib (2 years), then
// everolimus + exemestane (progression 3 weeks ago): endocrine-refractory.
func twoEndocrineLinesProgressed(f *Facts) {
	metsSince(monthsAgo(30), "bone", "liver")(f)
	f.Medications = append(f.Medications,
		med("MedicationRequest/let", MedRequest, "completed", monthsAgo(30), monthsAgo(8), "letrozole"),
		med("MedicationRequest/palbo", MedRequest, "completed", monthsAgo(30), monthsAgo(8), "palbociclib"),
		med("MedicationRequest/eve", MedRequest, "active", monthsAgo(7), "", "everolimus"),
		med("MedicationRequest/exe", MedRequest, "active", monthsAgo(7), "", "exemestane"))
	f.DiseaseStatus = append(f.DiseaseStatus, worsened(monthsAgo(8)), worsened(ago(21)))
}

func withQTcF(v float64) func(*Facts) { return func(f *Facts) { f.Statements.QTcF = fp(v) } }

func her2Stated(f *Facts) {
	f.HER2 = nil
	f.Statements.HER2 = rsp(ReceptorNegative)
	ihc := IHC1
	f.Statements.HER2IHC = &ihc
}

// Plan helpers.

// optionsWith lists the IDs of options holding every named drug.
func optionsWith(p Plan, names ...string) []string {
	var out []string
	for _, o := range p.Options {
		all := true
		for _, n := range names {
			if !optionHasDrug(o, n) {
				all = false
			}
		}
		if all {
			out = append(out, o.ID)
		}
	}
	return out
}

// optionsOfClass lists the IDs of options holding a drug of the class.
func optionsOfClass(p Plan, class string) []string {
	var out []string
	for _, o := range p.Options {
		if optionHas(o, class) {
			out = append(out, o.ID)
		}
	}
	return out
}

func wantDrugs(t *testing.T, p Plan, names ...string) {
	t.Helper()
	if len(optionsWith(p, names...)) == 0 {
		t.Errorf("no option with %v; got options %v", names, optionSummary(p))
	}
}

func wantNoDrugs(t *testing.T, p Plan, names ...string) {
	t.Helper()
	if got := optionsWith(p, names...); len(got) > 0 {
		t.Errorf("options %v hold %v; want none (options %v)", got, names, optionSummary(p))
	}
}

func wantNoClass(t *testing.T, p Plan, class string) {
	t.Helper()
	if got := optionsOfClass(p, class); len(got) > 0 {
		t.Errorf("options %v hold a %s drug; want none", got, class)
	}
}

func wantNoAnticancer(t *testing.T, p Plan) {
	t.Helper()
	for _, o := range p.Options {
		if o.Category != "supportive" {
			t.Errorf("option %s (%s) proposed; want no anticancer option", o.ID, o.Category)
		}
	}
}

// wantBefore: an option with drugs a ranks ahead of every option with b.
func wantBefore(t *testing.T, p Plan, a, b string) {
	t.Helper()
	ia, ib := -1, -1
	for i, o := range p.Options {
		if ia < 0 && optionHasDrug(o, a) {
			ia = i
		}
		if ib < 0 && optionHasDrug(o, b) {
			ib = i
		}
	}
	if ia < 0 || (ib >= 0 && ib < ia) {
		t.Errorf("%s first at %d, %s first at %d; want %s ahead (options %v)", a, ia, b, ib, a, optionSummary(p))
	}
}

func optionSummary(p Plan) []string {
	var out []string
	for _, o := range p.Options {
		var ds []string
		for _, d := range o.Drugs {
			ds = append(ds, d.Name)
		}
		pref := ""
		if o.Preferred {
			pref = "*"
		}
		out = append(out, fmt.Sprintf("%d%s %s[%s]", o.Rank, pref, o.ID, strings.Join(ds, "+")))
	}
	return out
}

func wantMessage(t *testing.T, p Plan, level, fragment string) {
	t.Helper()
	for _, m := range p.Messages {
		if (level == "" || m.Level == level) && strings.Contains(m.Text, fragment) {
			return
		}
	}
	t.Errorf("no %s message containing %q; got %+v", level, fragment, p.Messages)
}

func wantFlag(t *testing.T, p Plan, id string, sev Severity, fragment string) Flag {
	t.Helper()
	for _, f := range p.SafetyFlags {
		if f.ID == id && (sev == "" || f.Severity == sev) && strings.Contains(f.Text, fragment) {
			return f
		}
	}
	t.Errorf("no %s flag %s containing %q; got %+v", sev, id, fragment, p.SafetyFlags)
	return Flag{}
}

func wantNotProposed(t *testing.T, p Plan, drug, reasonFragment string) {
	t.Helper()
	for _, n := range p.NotProposed {
		if strings.Contains(n.Drug, drug) && strings.Contains(n.Reason, reasonFragment) {
			return
		}
	}
	t.Errorf("no not-proposed %q with %q; got %+v", drug, reasonFragment, p.NotProposed)
}

func wantItem(t *testing.T, items []Item, id, fragment string) {
	t.Helper()
	for _, it := range items {
		if it.ID == id && strings.Contains(it.Text, fragment) {
			return
		}
	}
	t.Errorf("no item %s containing %q; got %+v", id, fragment, items)
}

func wantBlockingNeed(t *testing.T, p Plan, id string) {
	t.Helper()
	for _, d := range p.DataNeeded {
		if d.ID == id {
			if !d.Blocking {
				t.Errorf("data needed %s got blocking false; want true", id)
			}
			return
		}
	}
	t.Errorf("data needed %s missing; got %v", id, ids(p.DataNeeded, func(d DataNeeded) string { return d.ID }))
}

func TestClinicalReview(t *testing.T) {
	for _, sc := range reviewScenarios() {
		t.Run(sc.name, func(t *testing.T) { checkScenario(t, sc) })
	}
}

// reviewScenarios are the clinical reviewer's rows.
func reviewScenarios() []scenario {
	return []scenario{
		// C07 / H02 / H03: endocrine sensitivity.
		{
			name: "H03: bone relapse while still taking adjuvant anastrozole (active order, no end date): fulvestrant + CDK4/6i",
			facts: patient(metsSince(ago(20), "bone"), withMeds(
				med("MedicationRequest/ana-adj", MedRequest, "active", monthsAgo(30), "", "anastrozole"))),
			fires:   []string{"C07", "H03", "H01"},
			silent:  []string{"H02", "CONT"},
			options: []string{"H03-fulv-cdk46"},
			absent:  []string{"H02-nsai-cdk46"},
			first:   "H03-fulv-cdk46",
			check: func(t *testing.T, p Plan) {
				wantDrugs(t, p, "fulvestrant", "palbociclib")
				wantNoClass(t, p, classNSAI)
				wantMessage(t, p, "info", "AI-resistant")
				if p.Line != 1 {
					t.Errorf("line got %d; want 1 (the adjuvant AI is not a metastatic line)", p.Line)
				}
			},
		},
		{
			name: "H03: liver relapse 8 months after adjuvant exemestane ended: fulvestrant + CDK4/6i, genomic testing asked",
			facts: patient(metsSince(ago(15), "liver"), withMeds(
				med("MedicationStatement/exe-adj", MedStatement, "completed", monthsAgo(68), monthsAgo(8), "exemestane"))),
			fires:   []string{"C07", "H03", "H07"},
			silent:  []string{"H02", "H06"},
			options: []string{"H03-fulv-cdk46"},
			absent:  []string{"H02-nsai-cdk46"},
			needed:  []string{"genomic-pik3ca-akt1-pten", "esr1"},
			check: func(t *testing.T, p Plan) {
				wantDrugs(t, p, "fulvestrant", "abemaciclib")
				wantNoClass(t, p, classAI)
			},
		},
		{
			name: "C07 boundary: relapse 13 months after adjuvant letrozole ended: endocrine-sensitive, AI + CDK4/6i (H02)",
			facts: patient(metsSince(ago(10), "bone"), withMeds(
				med("MedicationStatement/let-adj", MedStatement, "completed", monthsAgo(73), monthsAgo(13), "letrozole"))),
			fires:   []string{"C07", "H02"},
			silent:  []string{"H03", "H07"},
			options: []string{"H02-nsai-cdk46"},
			absent:  []string{"H03-fulv-cdk46"},
			first:   "H02-nsai-cdk46",
			check: func(t *testing.T, p Plan) {
				wantDrugs(t, p, "letrozole", "ribociclib")
				wantMessage(t, p, "info", "endocrine-sensitive")
			},
		},
		{
			name:    "H03: progression on first-line letrozole alone (CDK4/6i-naïve): second-line fulvestrant + CDK4/6i",
			facts:   patient(line1Progressed("letrozole")),
			fires:   []string{"H03", "H07", "H11"},
			silent:  []string{"H02", "H04"},
			options: []string{"H03-fulv-cdk46", "H11-everolimus-exemestane"},
			absent:  []string{"H11-fulv-cdk46", "H11-abema-fulv"},
			first:   "H03-fulv-cdk46",
			check: func(t *testing.T, p Plan) {
				if p.Line != 2 {
					t.Errorf("line got %d; want 2", p.Line)
				}
				wantBefore(t, p, "palbociclib", "everolimus")
			},
		},

		{
			name:    "H11: progression on first-line fulvestrant alone (CDK4/6i-naïve): NSAI + CDK4/6i, not fulvestrant again",
			facts:   patient(line1Progressed("fulvestrant")),
			fires:   []string{"H11"},
			options: []string{"H11-nsai-cdk46", "H11-everolimus-exemestane"},
			absent:  []string{"H11-fulv-cdk46", "H11-fulvestrant"},
			first:   "H11-nsai-cdk46",
			check:   func(t *testing.T, p Plan) { wantNoDrugs(t, p, "fulvestrant") },
		},
		// H04 / H05: premenopausal women.
		{
			name:    "H04: premenopausal woman of 38, first line: OFS + NSAI + CDK4/6i, pregnancy test before start",
			facts:   patient(born(38), func(f *Facts) { premenopausal(f); f.Pregnancy = nil }),
			fires:   []string{"H04", "H02", "C06", "S10"},
			silent:  []string{"H06", "H05"},
			options: []string{"H02-nsai-cdk46"},
			absent:  []string{"H04-tamoxifen"},
			needed:  []string{"pregnancy-test"},
			drugsIn: []string{"H02-nsai-cdk46:goserelin", "H02-nsai-cdk46:leuprolide", "H02-nsai-cdk46:letrozole", "H02-nsai-cdk46:palbociclib"},
			flags:   []string{"S10@H02-nsai-cdk46", "S10@L07-bone-agent"},
			check: func(t *testing.T, p Plan) {
				wantBlockingNeed(t, p, "pregnancy-test")
				wantNoDrugs(t, p, "tamoxifen")
				wantNotProposed(t, p, "tamoxifen alone", "less effective")
				o, _ := optionByID(p, "H02-nsai-cdk46")
				if !contains(o.Rules, "H04") || !contains(o.Rules, "C06") {
					t.Errorf("H02 option rules got %v; want H04 and C06 with the OFS", o.Rules)
				}
			},
		},
		{
			name:    "H04/H05: premenopausal, ovarian function suppression declined: tamoxifen alone, 'less effective', never with ribociclib",
			facts:   patient(born(41), premenopausal, func(f *Facts) { f.Statements.OFSDeclined = bp(true) }),
			fires:   []string{"H04", "H05"},
			silent:  []string{"H02", "H03", "H06"},
			options: []string{"H04-tamoxifen"},
			absent:  []string{"H02-nsai-cdk46", "H03-fulv-cdk46"},
			check: func(t *testing.T, p Plan) {
				o, _ := optionByID(p, "H04-tamoxifen")
				if !strings.Contains(o.Title, "less effective") {
					t.Errorf("tamoxifen title got %q; want \"less effective\"", o.Title)
				}
				wantNoDrugs(t, p, "ribociclib")
				wantNoClass(t, p, classAI)
				wantNoClass(t, p, classSERD)
				wantNotProposed(t, p, "ribociclib", "tamoxifen")
				wantNotProposed(t, p, "aromatase inhibitor", "declined")
			},
		},
		{
			name: "H04/H16: OFS declined and progression on first-line tamoxifen: tamoxifen not proposed again; chemotherapy",
			facts: patient(born(44), premenopausal, line1Progressed("tamoxifen"), func(f *Facts) {
				f.Statements.OFSDeclined = bp(true)
				f.HER2[0].IHC, f.HER2[0].Staining = IHC0, "absent"
			}),
			fires:   []string{"H16"},
			silent:  []string{"H04", "H01", "H11", "H10"},
			options: []string{"H16-chemo"},
			absent:  []string{"H04-tamoxifen"},
			first:   "H16-chemo",
			check: func(t *testing.T, p Plan) {
				wantNoClass(t, p, classEndocrine)
				wantNoDrugs(t, p, "doxorubicin", "goserelin")
			},
		},
		{
			name: "H05: tamoxifen still running at progression: ribociclib left out of every CDK4/6i option",
			facts: patient(func(f *Facts) {
				metsSince(monthsAgo(14), "bone")(f)
				f.Medications = []Medication{med("MedicationRequest/tam", MedRequest, "active", monthsAgo(14), "", "tamoxifen")}
				f.DiseaseStatus = []DiseaseStatus{worsened(ago(10))}
			}),
			fires: []string{"H05", "S04"},
			check: func(t *testing.T, p Plan) {
				wantDrugs(t, p, "fulvestrant", "abemaciclib")
				wantNoDrugs(t, p, "ribociclib")
				wantFlag(t, p, "S04", "", "tamoxifen")
			},
		},

		// H06 / S11: CDK4/6 inhibitor unsuitable.
		{
			name: "H06/S11: ECOG 3, first line: endocrine therapy alone first, palliative care referral, no CDK4/6i",
			facts: patient(func(f *Facts) {
				f.ECOG = []ScoreResult{{Value: ip(3), Final: true, Source: src("Observation/ecog3", ago(3))}}
			}),
			fires:   []string{"H06", "S11"},
			silent:  []string{"H02", "H03", "S06", "S09", "P07", "S07", "S08"},
			options: []string{"H06-ai-alone", "H06-fulvestrant"},
			first:   "H06-ai-alone",
			flags:   []string{"S11@H06-ai-alone"},
			check: func(t *testing.T, p Plan) {
				wantNoClass(t, p, classCDK46)
				wantNotProposed(t, p, "CDK4/6 inhibitor", "performance status")
				wantItem(t, p.Monitoring, "S11-palliative", "Palliative care")
			},
		},
		{
			name: "H06: CDK4/6i stated unsuitable after relapse on adjuvant AI: fulvestrant alone preferred, no AI alone",
			facts: patient(metsSince(ago(20), "bone"), withMeds(
				med("MedicationStatement/let-adj", MedStatement, "completed", monthsAgo(62), monthsAgo(2), "letrozole")),
				func(f *Facts) { f.Statements.CDK46Unsuitable = bp(true) }),
			fires:   []string{"H06"},
			silent:  []string{"H03", "H02", "S11"},
			options: []string{"H06-fulvestrant"},
			absent:  []string{"H06-ai-alone"},
			first:   "H06-fulvestrant",
			check:   func(t *testing.T, p Plan) { wantNoClass(t, p, classCDK46) },
		},

		// H07–H11: second line.
		{
			name:    "H07: progression on first-line letrozole + palbociclib, no genomic results: PIK3CA/AKT1/PTEN, ESR1 and germline BRCA asked",
			facts:   patient(line1Progressed("letrozole", "palbociclib")),
			fires:   []string{"H07", "H11"},
			silent:  []string{"H08", "H09", "H10", "H12", "H03"},
			needed:  []string{"genomic-pik3ca-akt1-pten", "esr1", "germline-brca"},
			options: []string{"H11-everolimus-exemestane", "H11-fulvestrant"},
			absent:  []string{"H11-fulv-cdk46", "H03-fulv-cdk46"},
			check: func(t *testing.T, p Plan) {
				wantDrugs(t, p, "everolimus", "exemestane")
				wantNoDrugs(t, p, "capivasertib")
				wantNoDrugs(t, p, "alpelisib")
				wantNoDrugs(t, p, "elacestrant")
			},
		},
		{
			name:    "H08: AKT1 alteration after AI + CDK4/6i: capivasertib + fulvestrant first; alpelisib is for PIK3CA only",
			facts:   patient(line1Progressed("letrozole", "ribociclib"), withVariants(variant("AKT1", "somatic"), variantAbsent("PIK3CA", "somatic"), variantAbsent("ESR1", "somatic"))),
			fires:   []string{"H08", "S08", "S09"},
			silent:  []string{"H09", "H10"},
			options: []string{"H08-capivasertib-fulv"},
			absent:  []string{"H09-alpelisib-fulv"},
			first:   "H08-capivasertib-fulv",
			flags:   []string{"S08@H08-capivasertib-fulv", "S09@H08-capivasertib-fulv"},
			check: func(t *testing.T, p Plan) {
				wantNoDrugs(t, p, "alpelisib")
				o, _ := optionByID(p, "H08-capivasertib-fulv")
				if !strings.Contains(o.Schedule, "4 days on / 3 days off") {
					t.Errorf("capivasertib schedule got %q; want the Truqap label schedule quoted", o.Schedule)
				}
				for _, d := range o.Drugs {
					if d.Name == "capivasertib" && d.RxNorm != "" {
						t.Errorf("capivasertib RxNorm got %q; want none (unverified)", d.RxNorm)
					}
				}
			},
		},
		{
			name: "H09/S08: PIK3CA with type 2 diabetes: capivasertib ahead of alpelisib, both flagged for glucose",
			facts: patient(line1Progressed("anastrozole", "palbociclib"), withVariants(variant("PIK3CA", "somatic")),
				withComorb(comorbidity(Diabetes, "active"))),
			fires:   []string{"H08", "H09", "S08"},
			options: []string{"H08-capivasertib-fulv", "H09-alpelisib-fulv"},
			flags:   []string{"S08@H09-alpelisib-fulv", "S08@H08-capivasertib-fulv"},
			check: func(t *testing.T, p Plan) {
				wantBefore(t, p, "capivasertib", "alpelisib")
				f := wantFlag(t, p, "S08", SeverityCaution, "prefer capivasertib over alpelisib")
				if !contains(f.Options, "H09-alpelisib-fulv") {
					t.Errorf("S08 caution options got %v; want the alpelisib option", f.Options)
				}
			},
		},
		{
			name:    "H08/H09/H10: PIK3CA and ESR1 known at de novo first line: no capivasertib, alpelisib or elacestrant before any endocrine therapy",
			facts:   patient(withVariants(variant("PIK3CA", "somatic"), variant("ESR1", "somatic"))),
			fires:   []string{"H02"},
			silent:  []string{"H08", "H09", "H10", "H07"},
			options: []string{"H02-nsai-cdk46"},
			check: func(t *testing.T, p Plan) {
				wantNoClass(t, p, classPI3K)
				wantNoDrugs(t, p, "elacestrant")
			},
		},
		{
			name:    "H10: ESR1 mutation after AI + CDK4/6i in a premenopausal woman: elacestrant with ovarian function suppression",
			facts:   patient(born(46), premenopausal, line1Progressed("letrozole", "abemaciclib", "goserelin"), withVariants(variant("ESR1", "somatic"))),
			fires:   []string{"H10", "C06"},
			options: []string{"H10-elacestrant"},
			drugsIn: []string{"H10-elacestrant:elacestrant", "H10-elacestrant:goserelin"},
			check: func(t *testing.T, p Plan) {
				for _, id := range optionsOfClass(p, classSERD) {
					o, _ := optionByID(p, id)
					if !optionHas(o, classGnRH) {
						t.Errorf("option %s has a SERD without a GnRH agonist; want OFS with it", id)
					}
				}
			},
		},
		{
			name:    "H10: ESR1 mutation, premenopausal, OFS declined: no elacestrant",
			facts:   patient(born(46), premenopausal, line1Progressed("tamoxifen"), withVariants(variant("ESR1", "somatic")), func(f *Facts) { f.Statements.OFSDeclined = bp(true) }),
			silent:  []string{"H10"},
			absent:  []string{"H10-elacestrant"},
			check:   func(t *testing.T, p Plan) { wantNoDrugs(t, p, "elacestrant") },
			options: []string{},
		},
		{
			name:      "H11: no actionable alteration after AI + CDK4/6i: everolimus + exemestane; CDK4/6i rechallenge only as the evolving option",
			facts:     patient(line1Progressed("letrozole", "palbociclib"), withVariants(variantAbsent("PIK3CA", "somatic"), variantAbsent("AKT1", "somatic"), variantAbsent("PTEN", "somatic"), variantAbsent("ESR1", "somatic"), variantAbsent("BRCA1", "germline"), variantAbsent("BRCA2", "germline"))),
			fires:     []string{"H11"},
			silent:    []string{"H08", "H09", "H10", "H12", "H16"},
			options:   []string{"H11-everolimus-exemestane", "H11-abema-fulv"},
			absent:    []string{"H11-fulv-cdk46"},
			notNeeded: []string{"genomic-pik3ca-akt1-pten", "germline-brca"},
			// ESR1 was tested before the latest progression: retest (H07).
			needed: []string{"esr1"},
			check: func(t *testing.T, p Plan) {
				o, _ := optionByID(p, "H11-abema-fulv")
				if o.Preferred || !strings.Contains(o.Title, "evolving") {
					t.Errorf("abemaciclib rechallenge got preferred %v title %q; want not preferred, 'evolving'", o.Preferred, o.Title)
				}
				wantItem(t, p.Monitoring, "S08-glucose", "Fasting glucose")
			},
		},

		// H12 / T03: PARP inhibitors.
		{
			name:      "H12: germline BRCA2 after progression on first-line AI + CDK4/6i: olaparib or talazoparib",
			facts:     patient(line1Progressed("letrozole", "palbociclib"), withVariants(variant("BRCA2", "germline"))),
			fires:     []string{"H12"},
			options:   []string{"H12-parpi"},
			notNeeded: []string{"germline-brca"},
			check: func(t *testing.T, p Plan) {
				wantDrugs(t, p, "olaparib")
				wantDrugs(t, p, "talazoparib")
			},
		},
		{
			name:   "H12: BRCA2 found only in the tumour (somatic): no PARP inhibitor, germline test asked",
			facts:  patient(line1Progressed("letrozole", "palbociclib"), withVariants(variant("BRCA2", "somatic"))),
			silent: []string{"H12"},
			absent: []string{"H12-parpi"},
			needed: []string{"germline-brca"},
			check:  func(t *testing.T, p Plan) { wantNoClass(t, p, classPARP) },
		},
		{
			name: "T03: TNBC with germline BRCA1 after first-line paclitaxel: PARP inhibitor",
			facts: patient(tnbc, withVariants(variant("BRCA1", "germline")), metsSince(monthsAgo(9), "lung"), withMeds(
				med("MedicationAdministration/pac", MedAdministration, "completed", monthsAgo(9), monthsAgo(2), "paclitaxel")),
				withStatus(worsened(ago(30)))),
			fires:   []string{"T03", "T02"},
			silent:  []string{"T01", "T06", "H12", "T04"},
			options: []string{"T03-parpi", "T02-single-chemo"},
			first:   "T03-parpi",
			check:   func(t *testing.T, p Plan) { wantNoClass(t, p, classEndocrine) },
		},
		{
			name:      "T03: TNBC with germline BRCA1 before any chemotherapy: no PARP inhibitor yet, chemotherapy first",
			facts:     patient(tnbc, withVariants(variant("BRCA1", "germline")), withCPS(3, "")),
			fires:     []string{"T02", "T06"},
			silent:    []string{"T03"},
			absent:    []string{"T03-parpi"},
			options:   []string{"T02-single-chemo"},
			notNeeded: []string{"germline-brca", "pdl1"},
		},

		// H13–H16: HER2-low, ADCs and chemotherapy.
		{
			name: "H13: HER2-low (IHC 1+) after two endocrine lines and capecitabine: T-DXd first",
			facts: patient(twoEndocrineLinesProgressed, func(f *Facts) {
				f.Medications[2].Status, f.Medications[3].Status = "completed", "completed"
				f.Medications[2].End, f.Medications[3].End = monthsAgo(4), monthsAgo(4)
				f.Medications = append(f.Medications, med("MedicationRequest/cape", MedRequest, "completed", monthsAgo(4), ago(20), "capecitabine"))
				f.DiseaseStatus = append(f.DiseaseStatus, worsened(monthsAgo(4)))
			}),
			fires:   []string{"H13", "H16"},
			silent:  []string{"H14", "H01", "H11", "H15"},
			options: []string{"H13-tdxd", "H16-chemo"},
			first:   "H13-tdxd",
			check: func(t *testing.T, p Plan) {
				wantBefore(t, p, "fam-trastuzumab deruxtecan", "eribulin")
				wantNoClass(t, p, classEndocrine)
			},
		},
		{
			name:    "H14: HER2-low after one endocrine line, no chemotherapy: T-DXd offered after the endocrine-based options",
			facts:   patient(line1Progressed("letrozole", "palbociclib")),
			fires:   []string{"H14", "H01", "H11"},
			silent:  []string{"H13", "H16"},
			options: []string{"H14-tdxd", "H11-everolimus-exemestane"},
			check: func(t *testing.T, p Plan) {
				wantBefore(t, p, "everolimus", "fam-trastuzumab deruxtecan")
				wantNoClass(t, p, classChemo)
				wantItem(t, p.SharedDecision, "L06-tdxd-db06", "DESTINY-Breast06")
			},
		},
		{
			name: "H14: HER2-0 (IHC 0, no membrane staining) after one endocrine line: no T-DXd",
			facts: patient(line1Progressed("letrozole", "palbociclib"), func(f *Facts) {
				f.HER2 = []HER2Result{her2IHC(IHC0, "2026-10-01")}
				f.HER2[0].Staining = "absent"
			}),
			silent:    []string{"H14", "H13"},
			absent:    []string{"H14-tdxd"},
			notNeeded: []string{"her2-ihc"},
			check:     func(t *testing.T, p Plan) { wantNoDrugs(t, p, "fam-trastuzumab deruxtecan") },
		},
		{
			name: "H15: endocrine-refractory after two metastatic chemotherapy lines: sacituzumab govitecan",
			facts: patient(twoEndocrineLinesProgressed, func(f *Facts) {
				f.HER2 = []HER2Result{her2IHC(IHC0, "2026-10-01")}
				f.HER2[0].Staining = "absent"
				f.Medications[2].Status, f.Medications[3].Status = "completed", "completed"
				f.Medications[2].End, f.Medications[3].End = monthsAgo(6), monthsAgo(6)
				f.Medications = append(f.Medications,
					med("MedicationRequest/cape", MedRequest, "completed", monthsAgo(6), monthsAgo(3), "capecitabine"),
					med("MedicationRequest/eri", MedRequest, "completed", monthsAgo(3), ago(20), "eribulin"))
				f.DiseaseStatus = append(f.DiseaseStatus, worsened(monthsAgo(6)), worsened(monthsAgo(3)))
			}),
			fires:   []string{"H15", "H16", "S06", "S09"},
			silent:  []string{"H13", "H14"},
			options: []string{"H15-sacituzumab", "H16-chemo"},
			flags:   []string{"S06@H15-sacituzumab", "S09@H15-sacituzumab"},
			check: func(t *testing.T, p Plan) {
				wantBefore(t, p, "sacituzumab govitecan", "vinorelbine")
				if p.Line != 5 {
					t.Errorf("line got %d; want 5", p.Line)
				}
			},
		},
		{
			name: "H15: adjuvant AC, then two endocrine lines and one metastatic capecitabine line: sacituzumab (adjuvant chemotherapy counts as one of the two lines)",
			facts: patient(twoEndocrineLinesProgressed, her2Null, withMeds(
				med("MedicationAdministration/ac", MedAdministration, "completed", monthsAgo(60), monthsAgo(56), "doxorubicin", "cyclophosphamide")),
				func(f *Facts) {
					f.Medications[2].Status, f.Medications[3].Status = "completed", "completed"
					f.Medications[2].End, f.Medications[3].End = monthsAgo(6), monthsAgo(6)
					f.Medications = append(f.Medications, med("MedicationRequest/cape", MedRequest, "completed", monthsAgo(6), ago(20), "capecitabine"))
					f.DiseaseStatus = append(f.DiseaseStatus, worsened(monthsAgo(6)))
				}),
			fires:   []string{"H15", "H16"},
			options: []string{"H15-sacituzumab", "H16-chemo"},
			check:   func(t *testing.T, p Plan) { wantNoClass(t, p, classAnthra) },
		},
		{
			name: "H15: two endocrine lines and one metastatic capecitabine line, no other chemotherapy: no sacituzumab yet (one chemotherapy line)",
			facts: patient(twoEndocrineLinesProgressed, her2Null, func(f *Facts) {
				f.Medications[2].Status, f.Medications[3].Status = "completed", "completed"
				f.Medications[2].End, f.Medications[3].End = monthsAgo(6), monthsAgo(6)
				f.Medications = append(f.Medications, med("MedicationRequest/cape", MedRequest, "completed", monthsAgo(6), ago(20), "capecitabine"))
				f.DiseaseStatus = append(f.DiseaseStatus, worsened(monthsAgo(6)))
			}),
			fires:   []string{"H16"},
			silent:  []string{"H15"},
			options: []string{"H16-chemo"},
			absent:  []string{"H15-sacituzumab"},
		},
		{
			name: "H15: progression on sacituzumab after adjuvant AC and metastatic capecitabine: sacituzumab not proposed again",
			facts: patient(twoEndocrineLinesProgressed, her2Null, withMeds(
				med("MedicationAdministration/ac", MedAdministration, "completed", monthsAgo(60), monthsAgo(56), "doxorubicin", "cyclophosphamide")),
				func(f *Facts) {
					f.Medications[2].Status, f.Medications[3].Status = "completed", "completed"
					f.Medications[2].End, f.Medications[3].End = monthsAgo(6), monthsAgo(6)
					f.Medications = append(f.Medications,
						med("MedicationRequest/cape", MedRequest, "completed", monthsAgo(6), monthsAgo(3), "capecitabine"),
						med("MedicationAdministration/sg", MedAdministration, "completed", monthsAgo(3), ago(20), "sacituzumab govitecan"))
					f.DiseaseStatus = append(f.DiseaseStatus, worsened(monthsAgo(6)), worsened(monthsAgo(3)))
				}),
			fires:  []string{"H16"},
			silent: []string{"H15"},
			absent: []string{"H15-sacituzumab"},
			check:  func(t *testing.T, p Plan) { wantNoDrugs(t, p, "sacituzumab govitecan") },
		},
		{
			name:    "H16: endocrine options exhausted, HER2-0, no prior anthracycline, LVEF 60%: single-agent chemotherapy including an anthracycline",
			facts:   patient(twoEndocrineLinesProgressed, func(f *Facts) { f.HER2[0].IHC = IHC0; f.HER2[0].Staining = "absent" }),
			fires:   []string{"H16"},
			silent:  []string{"H11", "H01", "H14", "H13", "H15"},
			options: []string{"H16-chemo"},
			drugsIn: []string{"H16-chemo:capecitabine", "H16-chemo:doxorubicin"},
			check: func(t *testing.T, p Plan) {
				o, _ := optionByID(p, "H16-chemo")
				for _, d := range o.Drugs {
					if d.Choice != "chemo" {
						t.Errorf("chemotherapy drug %s choice got %q; want one single agent of the group", d.Name, d.Choice)
					}
				}
			},
		},

		// C08: visceral crisis.
		{
			name: "C08: HR+/HER2- liver metastases with visceral crisis stated, first line: chemotherapy preferred, no endocrine option",
			facts: patient(metsSince(ago(12), "liver", "bone"), func(f *Facts) {
				f.Statements.VisceralCrisis = bp(true)
			}),
			fires:   []string{"C08", "H16"},
			silent:  []string{"H01", "H02", "H03", "H04", "H06", "H11"},
			options: []string{"H16-chemo"},
			first:   "H16-chemo",
			check: func(t *testing.T, p Plan) {
				wantNoClass(t, p, classEndocrine)
				wantNoClass(t, p, classCDK46)
				wantNotProposed(t, p, "endocrine therapy", "visceral crisis")
				wantMessage(t, p, "warning", "Visceral crisis")
				o, _ := optionByID(p, "H16-chemo")
				if !strings.Contains(o.Title, "combination when a rapid response is needed") || !contains(o.Rules, "C08") {
					t.Errorf("H16 option got title %q, rules %v; want a combination allowed when a rapid response is needed (H16), with C08", o.Title, o.Rules)
				}
			},
		},
		{
			name: "C08/T02: TNBC liver metastases with visceral crisis, PD-L1 CPS 3: chemotherapy, a combination allowed for a rapid response",
			facts: patient(tnbc, metsSince(ago(12), "liver"), withCPS(3, ""), withVariants(variantAbsent("BRCA1", "germline")), func(f *Facts) {
				f.Statements.VisceralCrisis = bp(true)
			}),
			fires:   []string{"C08", "T02"},
			silent:  []string{"T01", "T04"},
			options: []string{"T02-single-chemo"},
			check: func(t *testing.T, p Plan) {
				o, _ := optionByID(p, "T02-single-chemo")
				if !strings.Contains(o.Title, "combination when a rapid response is needed") || !contains(o.Rules, "C08") {
					t.Errorf("T02 option got title %q, rules %v; want a combination allowed when a rapid response is needed, with C08", o.Title, o.Rules)
				}
			},
		},
		{
			name: "T04: TNBC after one metastatic line (paclitaxel), no adjuvant therapy: no sacituzumab yet (one systemic therapy)",
			facts: patient(tnbc, metsSince(monthsAgo(8), "lung"), withVariants(variantAbsent("BRCA1", "germline")), withMeds(
				med("MedicationAdministration/pac", MedAdministration, "completed", monthsAgo(8), monthsAgo(2), "paclitaxel")),
				withStatus(worsened(ago(30)))),
			fires:  []string{"T02", "T05"},
			silent: []string{"T04"},
			absent: []string{"T04-sacituzumab"},
		},
		{
			name: "C08: HR+/HER2+ with visceral crisis: THP; no endocrine + HER2 option meant for indolent disease",
			facts: patient(her2Positive, metsSince(ago(12), "liver"), func(f *Facts) {
				f.Statements.VisceralCrisis = bp(true)
			}),
			fires:   []string{"C08", "P02"},
			silent:  []string{"P03"},
			options: []string{"P02-thp"},
			absent:  []string{"P03-et-her2"},
			first:   "P02-thp",
			check:   func(t *testing.T, p Plan) { wantNoClass(t, p, classEndocrine) },
		},

		// C06: menopausal status.
		{
			name:    "C06: woman of 52 with no menopausal record: OFS with the AI, menopausal status and pregnancy test asked",
			facts:   patient(born(52)),
			fires:   []string{"C06", "H04", "S10"},
			needed:  []string{"menopause", "pregnancy-test"},
			drugsIn: []string{"H02-nsai-cdk46:goserelin"},
			check: func(t *testing.T, p Plan) {
				if p.Menopause.Status != "unknown" || !p.Menopause.TreatAsPremenopausal {
					t.Errorf("menopause got %+v; want unknown, treated as premenopausal", p.Menopause)
				}
			},
		},
		{
			name:      "C06 boundary: woman of exactly 60, no record: postmenopausal inferred from age, no OFS, no pregnancy test",
			facts:     patient(born(60)),
			fires:     []string{"C06", "H02"},
			silent:    []string{"H04", "S10"},
			notNeeded: []string{"menopause", "pregnancy-test"},
			drugsOut:  []string{"H02-nsai-cdk46:goserelin"},
			check: func(t *testing.T, p Plan) {
				if p.Menopause.Basis != "age ≥ 60" {
					t.Errorf("menopause basis got %q; want \"age ≥ 60\"", p.Menopause.Basis)
				}
				wantMessage(t, p, "info", "inferred from age ≥ 60")
			},
		},
		{
			name:    "C06 boundary: woman of 59, no record: not inferred, OFS with the AI",
			facts:   patient(born(59)),
			fires:   []string{"C06", "H04"},
			needed:  []string{"menopause", "pregnancy-test"},
			drugsIn: []string{"H02-nsai-cdk46:goserelin"},
		},
		{
			name: "C06: recorded postmenopausal at 55 while goserelin runs: status cannot be assigned, OFS continues with the AI",
			facts: patient(born(55), withMeds(med("MedicationRequest/gos", MedRequest, "active", monthsAgo(3), "", "goserelin")), func(f *Facts) {
				f.Menopause = []MenopauseResult{{Status: Postmenopausal, Final: true, Source: src("Observation/meno-post", ago(40))}}
			}),
			fires:   []string{"C06"},
			needed:  []string{"menopause"},
			drugsIn: []string{"H02-nsai-cdk46:goserelin"},
			check: func(t *testing.T, p Plan) {
				wantMessage(t, p, "info", "GnRH agonist is running")
				if p.Menopause.Status == "postmenopausal" {
					t.Errorf("menopause got %q; want not assigned while a GnRH agonist runs", p.Menopause.Status)
				}
			},
		},
		{
			name:      "C06/S10: woman of 66 with goserelin running and no record: OFS continues with the AI, but no pregnancy test at her age",
			facts:     patient(born(66), withMeds(med("MedicationRequest/gos", MedRequest, "active", monthsAgo(2), "", "goserelin"))),
			fires:     []string{"C06"},
			silent:    []string{"S10"},
			needed:    []string{"menopause"},
			notNeeded: []string{"pregnancy-test"},
			drugsIn:   []string{"H02-nsai-cdk46:goserelin"},
		},
		{
			name: "C06: recorded premenopausal at 63 overrides age: OFS with the AI, pregnancy test asked",
			facts: patient(born(63), func(f *Facts) {
				f.Menopause = []MenopauseResult{{Status: Perimenopausal, Final: true, Source: src("Observation/meno-peri", ago(60))}}
			}),
			fires:   []string{"C06", "H04", "S10"},
			needed:  []string{"pregnancy-test"},
			drugsIn: []string{"H02-nsai-cdk46:goserelin"},
		},
		{
			name: "C06 men: relapse on adjuvant tamoxifen in a man of 66: fulvestrant + CDK4/6i and every AI/SERD with a GnRH agonist; no pregnancy test",
			facts: patient(born(66), func(f *Facts) { f.Patient.Sex = SexMale }, metsSince(ago(30), "bone", "lung"), withMeds(
				med("MedicationStatement/tam-adj", MedStatement, "completed", monthsAgo(40), monthsAgo(4), "tamoxifen"))),
			fires:     []string{"C06", "H02"},
			silent:    []string{"H04", "S10", "H03"},
			notNeeded: []string{"pregnancy-test", "menopause"},
			check: func(t *testing.T, p Plan) {
				for _, c := range []string{classAI, classSERD} {
					for _, id := range optionsOfClass(p, c) {
						o, _ := optionByID(p, id)
						if !optionHas(o, classGnRH) || !strings.Contains(o.Title, "GnRH agonist") {
							t.Errorf("option %s (%s) got title %q; want a GnRH agonist with it", id, c, o.Title)
						}
					}
				}
				if len(optionsOfClass(p, classAI)) == 0 {
					t.Errorf("no AI option; want AI + GnRH agonist + CDK4/6i (options %v)", optionSummary(p))
				}
			},
		},

		// HER2-positive.
		{
			name:      "P02: HER2+ HR- first line: trastuzumab + pertuzumab + a taxane, chemotherapy 4–6 months then HP",
			facts:     patient(her2Positive, hrNegative, metsSince(ago(14), "lung", "bone")),
			fires:     []string{"P01", "P02", "P07", "S01"},
			silent:    []string{"P03", "P04", "P05", "H01", "T02", "C04", "S03", "S12", "ALLERGY", "RENAL", "L04", "S09", "C02"},
			options:   []string{"P02-thp"},
			first:     "P02-thp",
			notNeeded: []string{"pregnancy-test"},
			check: func(t *testing.T, p Plan) {
				wantDrugs(t, p, "trastuzumab", "pertuzumab", "docetaxel")
				wantNoClass(t, p, classEndocrine)
				wantNoClass(t, p, classAnthra)
				wantNotProposed(t, p, "anthracycline", "P07")
			},
		},
		{
			name: "P02: HER2+ relapse 2 years after adjuvant trastuzumab: THP again (relapse > 12 months)",
			facts: patient(her2Positive, hrNegative, metsSince(ago(14), "liver"), withMeds(
				med("MedicationAdministration/trast-adj", MedAdministration, "completed", monthsAgo(38), monthsAgo(26), "trastuzumab"),
				med("MedicationAdministration/pac-adj", MedAdministration, "completed", monthsAgo(38), monthsAgo(35), "paclitaxel"))),
			fires:   []string{"P02"},
			silent:  []string{"P04"},
			options: []string{"P02-thp"},
			absent:  []string{"P04-tdxd"},
		},
		{
			name: "P04: HER2+ relapse 6 months after adjuvant trastuzumab: T-DXd first, no THP",
			facts: patient(her2Positive, hrNegative, metsSince(ago(14), "liver"), withMeds(
				med("MedicationAdministration/trast-adj", MedAdministration, "completed", monthsAgo(18), monthsAgo(6), "trastuzumab", "pertuzumab"))),
			fires:   []string{"P04"},
			silent:  []string{"P02", "P05"},
			options: []string{"P04-tdxd"},
			absent:  []string{"P02-thp"},
			first:   "P04-tdxd",
			check: func(t *testing.T, p Plan) {
				o, _ := optionByID(p, "P04-tdxd")
				var mon []string
				for _, m := range o.Monitoring {
					mon = append(mon, m.ID)
				}
				if !contains(mon, "S01-lvef-baseline") {
					t.Errorf("T-DXd monitoring got %v; want the S01 baseline LVEF", mon)
				}
			},
		},
		{
			name:    "P03: HR+/HER2+ postmenopausal first line: THP preferred, endocrine + HP for selected patients",
			facts:   patient(her2Positive),
			fires:   []string{"P02", "P03"},
			options: []string{"P02-thp", "P03-et-her2"},
			first:   "P02-thp",
			check: func(t *testing.T, p Plan) {
				o, _ := optionByID(p, "P03-et-her2")
				if o.Preferred || !optionHas(o, classAI) || !optionHasDrug(o, "trastuzumab") {
					t.Errorf("P03 option got %+v; want not preferred, AI + trastuzumab", o)
				}
			},
		},
		{
			name: "P05: HER2+ third line after THP and T-DXd: tucatinib + trastuzumab + capecitabine, T-DM1; no T-DXd again",
			facts: patient(her2Positive, hrNegative, metsSince(monthsAgo(36), "lung"), withMeds(
				med("MedicationRequest/hp", MedRequest, "completed", monthsAgo(36), monthsAgo(18), "trastuzumab", "pertuzumab"),
				med("MedicationRequest/doc", MedRequest, "completed", monthsAgo(36), monthsAgo(31), "docetaxel"),
				med("MedicationRequest/tdxd", MedRequest, "completed", monthsAgo(17), ago(25), "fam-trastuzumab deruxtecan")),
				withStatus(worsened(monthsAgo(18)), worsened(ago(25)))),
			fires:   []string{"P05"},
			silent:  []string{"P02", "P04", "P06"},
			options: []string{"P05-tucatinib-trast-cape", "P05-tdm1"},
			absent:  []string{"P05-tdxd", "P04-tdxd", "P05-pertuzumab"},
			check: func(t *testing.T, p Plan) {
				wantNoDrugs(t, p, "fam-trastuzumab deruxtecan")
				if p.Line != 3 {
					t.Errorf("line got %d; want 3", p.Line)
				}
			},
		},
		{
			name: "P06: HER2+ brain metastases progressing after first-line THP: local therapy referral, T-DXd and tucatinib offered",
			facts: patient(her2Positive, hrNegative, metsSince(monthsAgo(20), "lung"), withMets(metastasis("brain", ago(20))), withMeds(
				med("MedicationRequest/hp", MedRequest, "completed", monthsAgo(20), ago(20), "trastuzumab", "pertuzumab"),
				med("MedicationRequest/doc", MedRequest, "completed", monthsAgo(20), monthsAgo(15), "docetaxel")),
				withStatus(worsened(ago(20)))),
			fires:   []string{"P04", "P06"},
			options: []string{"P04-tdxd"},
			check: func(t *testing.T, p Plan) {
				wantItem(t, p.Monitoring, "P06-local-therapy", "local therapy")
				wantDrugs(t, p, "tucatinib", "trastuzumab", "capecitabine")
				for _, id := range optionsWith(p, "tucatinib") {
					o, _ := optionByID(p, id)
					if !o.Preferred || !contains(o.Rules, "P06") {
						t.Errorf("tucatinib option %s got preferred %v rules %v; want preferred under P06", id, o.Preferred, o.Rules)
					}
				}
			},
		},
		{
			name: "P02/C02: HER2 3+ on the metastatic biopsy at progression after letrozole + palbociclib (primary IHC 1+): first HER2-directed line is THP",
			facts: patient(line1Progressed("letrozole", "palbociclib"), func(f *Facts) {
				f.HER2 = []HER2Result{her2IHC(IHC1, "2019-04-01"), her2IHC(IHC3, ago(14))}
				f.HER2[0].Specimen, f.HER2[1].Specimen = SpecimenPrimary, SpecimenMetastatic
			}),
			fires:   []string{"P01", "P02", "C02"},
			silent:  []string{"P04", "P05", "H11", "H14"},
			options: []string{"P02-thp"},
			first:   "P02-thp",
			needed:  []string{"rebiopsy"},
			check: func(t *testing.T, p Plan) {
				wantNoDrugs(t, p, "fam-trastuzumab deruxtecan")
				wantNoDrugs(t, p, "tucatinib")
				if p.Subtype.Name != "HER2+" {
					t.Errorf("subtype got %s; want HER2+ (the metastatic result governs)", p.Subtype.Name)
				}
			},
		},
		{
			name:    "P01/S02: HER2+ with LVEF 45%: THP kept, flagged 'start only after cardio-oncology review', referral, no anthracycline",
			facts:   patient(her2Positive, hrNegative, withLVEF(45, ago(10))),
			fires:   []string{"S02", "P02", "S01"},
			options: []string{"P02-thp"},
			flags:   []string{"S02@P02-thp"},
			check: func(t *testing.T, p Plan) {
				wantFlag(t, p, "S02", SeverityCaution, "start HER2-directed therapy only after cardio-oncology review")
				wantItem(t, p.Monitoring, "S02-cardio-oncology", "Cardio-oncology review")
				wantNoClass(t, p, classAnthra)
			},
		},
		{
			name:    "P01/S02: HER2+ HR- with LVEF 35%: HER2-directed therapy deferred pending cardio-oncology review",
			facts:   patient(her2Positive, hrNegative, withLVEF(35, ago(10))),
			fires:   []string{"S02", "P01"},
			silent:  []string{"P02", "P03", "S01"},
			absent:  []string{"P02-thp"},
			options: []string{"L07-bone-agent"},
			check: func(t *testing.T, p Plan) {
				wantNoClass(t, p, classHER2)
				wantNoClass(t, p, classAnthra)
				wantMessage(t, p, "stop", "HER2-directed therapy deferred pending cardio-oncology review")
			},
		},
		{
			name:      "S02 freshness: adverse LVEF 40% of 200 days ago stays in force: HER2 options flagged, no stale-LVEF request",
			facts:     patient(her2Positive, withLVEF(40, ago(200))),
			fires:     []string{"S02"},
			options:   []string{"P02-thp"},
			flags:     []string{"S02@P02-thp"},
			notNeeded: []string{"stale-lvef"},
			check:     func(t *testing.T, p Plan) { wantNoClass(t, p, classAnthra) },
		},
		{
			name:    "S01 freshness: reassuring LVEF 62% of 120 days ago before trastuzumab: stale-LVEF listed, THP kept",
			facts:   patient(her2Positive, withLVEF(62, ago(120))),
			silent:  []string{"S02"},
			needed:  []string{"stale-lvef"},
			options: []string{"P02-thp"},
		},

		// Triple-negative.
		{
			name:      "T01: TNBC first line, PD-L1 CPS 12: pembrolizumab + chemotherapy first",
			facts:     patient(tnbc, withCPS(12, "")),
			fires:     []string{"T01"},
			silent:    []string{"T02", "T06", "S05", "T05", "H01"},
			options:   []string{"T01-pembro-chemo", "T01-pembro-gemcarbo"},
			first:     "T01-pembro-chemo",
			notNeeded: []string{"pdl1"},
			check:     func(t *testing.T, p Plan) { wantNoClass(t, p, classEndocrine) },
		},
		{
			name:      "T01/T02/T06: TNBC first line, PD-L1 CPS 5: no pembrolizumab; single-agent chemotherapy; first-line ADCs as information only",
			facts:     patient(tnbc, withCPS(5, "")),
			fires:     []string{"T02", "T06"},
			silent:    []string{"T01"},
			options:   []string{"T02-single-chemo"},
			notNeeded: []string{"pdl1"},
			check: func(t *testing.T, p Plan) {
				wantNoClass(t, p, classICI)
				for _, o := range p.Options {
					if contains(o.Rules, "T06") {
						t.Errorf("option %s carries T06; want T06 to propose no drug", o.ID)
					}
				}
				wantItem(t, p.SharedDecision, "T06-adc-first-line", "guideline status to confirm")
			},
		},
		{
			name:    "T02: TNBC first line, PD-L1 unknown: no pembrolizumab, PD-L1 test ordered",
			facts:   patient(tnbc),
			fires:   []string{"T02"},
			silent:  []string{"T01", "T06"},
			needed:  []string{"pdl1"},
			options: []string{"T02-single-chemo"},
			check: func(t *testing.T, p Plan) {
				wantNoClass(t, p, classICI)
				for _, d := range p.DataNeeded {
					if d.ID == "pdl1" && (d.Order == nil || d.Order.Code != "85147-7") {
						t.Errorf("PD-L1 order got %+v; want 22C3 85147-7", d.Order)
					}
				}
			},
		},
		{
			name: "T04/T05: HER2-low TNBC after adjuvant AC and first-line paclitaxel: sacituzumab and T-DXd",
			facts: patient(tnbc, metsSince(monthsAgo(8), "lung"), withVariants(variantAbsent("BRCA1", "germline")), withMeds(
				med("MedicationAdministration/ac", MedAdministration, "completed", monthsAgo(40), monthsAgo(36), "doxorubicin", "cyclophosphamide"),
				med("MedicationAdministration/pac", MedAdministration, "completed", monthsAgo(8), monthsAgo(2), "paclitaxel")),
				withStatus(worsened(ago(30)))),
			fires:   []string{"T04", "T05", "T02"},
			silent:  []string{"T03", "T01"},
			options: []string{"T04-sacituzumab", "T05-tdxd", "T02-single-chemo"},
			check: func(t *testing.T, p Plan) {
				wantNoClass(t, p, classAnthra)
				wantNotProposed(t, p, "anthracycline", "prior anthracycline")
			},
		},
		{
			name: "T05/S07: HER2-low TNBC after chemotherapy with pneumonitis history: T-DXd carries an explicit ILD caution and is not preferred",
			facts: patient(tnbc, metsSince(monthsAgo(8), "lung"), withComorb(comorbidity(ILD, "resolved")), withMeds(
				med("MedicationAdministration/pac", MedAdministration, "completed", monthsAgo(8), monthsAgo(2), "paclitaxel")),
				withStatus(worsened(ago(30)))),
			fires: []string{"T05", "S07"},
			flags: []string{"S07@T05-tdxd"},
			check: func(t *testing.T, p Plan) {
				wantFlag(t, p, "S07", SeverityCaution, "Trastuzumab deruxtecan")
				if o, ok := optionByID(p, "T05-tdxd"); ok && o.Preferred {
					t.Errorf("T-DXd with ILD history got preferred; want not preferred (usually avoided)")
				}
			},
		},

		// S04: ribociclib.
		{
			name:        "S04: QTcF 460 ms stated: no ribociclib, palbociclib or abemaciclib instead",
			facts:       patient(withQTcF(460)),
			fires:       []string{"S04", "H02"},
			drugsIn:     []string{"H02-nsai-cdk46:palbociclib", "H02-nsai-cdk46:abemaciclib"},
			drugsOut:    []string{"H02-nsai-cdk46:ribociclib"},
			notProposed: []string{"ribociclib"},
			notNeeded:   []string{"ecg-qtcf"},
			check: func(t *testing.T, p Plan) {
				wantNoDrugs(t, p, "ribociclib")
				wantFlag(t, p, "S04", "", "QTcF 460 ms")
			},
		},
		{
			name:  "S04: ondansetron running (QT-prolonging co-medication): no ribociclib",
			facts: patient(withMeds(Medication{Kind: MedRequest, Name: "Ondansetron 8 mg tablet", Status: "active", Start: ago(5), Source: src("MedicationRequest/ond", ago(5))})),
			fires: []string{"S04"},
			check: func(t *testing.T, p Plan) {
				wantNoDrugs(t, p, "ribociclib")
				wantNotProposed(t, p, "ribociclib", "QT-prolonging co-medication")
			},
		},
		{
			name:  "S04: potassium below range: no ribociclib until corrected",
			facts: patient(func(f *Facts) { f.Labs[3] = lab(LabPotassium, 3.1, RangeLow, ago(5)) }),
			fires: []string{"S04"},
			check: func(t *testing.T, p Plan) {
				wantNoDrugs(t, p, "ribociclib")
				wantNotProposed(t, p, "ribociclib", "low potassium")
			},
		},
		{
			name:    "S04: QTcF unknown: ribociclib stays with a baseline ECG listed and the ECG schedule",
			facts:   patient(func(f *Facts) { f.Statements.QTcF = nil }),
			fires:   []string{"S04"},
			needed:  []string{"ecg-qtcf"},
			drugsIn: []string{"H02-nsai-cdk46:ribociclib"},
			flags:   []string{"S04@H02-nsai-cdk46"},
			check:   func(t *testing.T, p Plan) { wantItem(t, p.Monitoring, "S04-ecg", "day 14") },
		},

		// S05–S08, S12, allergy, renal.
		{
			name:  "S05: cirrhosis with a CDK4/6 inhibitor: liver flag with Child-Pugh and the ribociclib LFT schedule",
			facts: patient(withComorb(comorbidity(LiverDisease, "active"))),
			fires: []string{"S05"},
			flags: []string{"S05@H02-nsai-cdk46"},
			check: func(t *testing.T, p Plan) {
				wantFlag(t, p, "S05", SeverityCaution, "Child-Pugh")
				wantItem(t, p.Monitoring, "S05-lft", "every 2 weeks")
			},
		},
		{
			name:  "S06: neutropenia recorded with a CDK4/6 inhibitor: neutropenia flag and palbociclib blood counts",
			facts: patient(withComorb(comorbidity(Neutropenia, "active"))),
			fires: []string{"S06"},
			flags: []string{"S06@H02-nsai-cdk46"},
			check: func(t *testing.T, p Plan) { wantItem(t, p.Monitoring, "S06-cbc-palbociclib", "day 15") },
		},
		{
			name:  "S07: HER2-ultralow after one endocrine line with active ILD: T-DXd never silent (block flag or removal)",
			facts: patient(line1Progressed("letrozole", "palbociclib"), withComorb(comorbidity(ILD, "active")), func(f *Facts) { f.HER2[0].IHC = IHC0; f.HER2[0].Staining = "faint" }),
			fires: []string{"S07", "H14"},
			check: func(t *testing.T, p Plan) {
				if o, ok := optionByID(p, "H14-tdxd"); ok {
					blocked := false
					for _, f := range o.Flags {
						if f.ID == "S07" && f.Severity == SeverityBlock {
							blocked = true
						}
					}
					if !blocked {
						t.Errorf("T-DXd flags got %+v; want an S07 block flag", o.Flags)
					}
				}
				wantFlag(t, p, "S07", SeverityCaution, "CDK4/6 inhibitors and everolimus")
			},
		},
		{
			name:  "S12: clarithromycin running with a CDK4/6 inhibitor: CYP3A interaction caution",
			facts: patient(withMeds(Medication{Kind: MedRequest, Name: "Clarithromycin 500 mg", Status: "active", Start: ago(3), Source: src("MedicationRequest/clari", ago(3))})),
			fires: []string{"S12"},
			flags: []string{"S12@H02-nsai-cdk46"},
			check: func(t *testing.T, p Plan) { wantFlag(t, p, "S12", SeverityCaution, "clarithromycin") },
		},
		{
			name: "ALLERGY: fulvestrant allergy after relapse on adjuvant AI: the fulvestrant option is flagged, not silently kept",
			facts: patient(metsSince(ago(20), "bone"), withMeds(
				med("MedicationStatement/let-adj", MedStatement, "completed", monthsAgo(62), monthsAgo(2), "letrozole")), func(f *Facts) {
				f.Allergies = []Allergy{{Drugs: []string{"fulvestrant"}, Substance: Coding{Display: "Fulvestrant"}, Finding: Finding{ClinicalStatus: "active", Source: src("AllergyIntolerance/fulv", "2024-03-01")}}}
			}),
			fires: []string{"ALLERGY", "H03"},
			flags: []string{"ALLERGY@H03-fulv-cdk46"},
			check: func(t *testing.T, p Plan) { wantFlag(t, p, "ALLERGY", SeverityBlock, "Fulvestrant") },
		},
		{
			name:  "RENAL: eGFR below range with bone metastases: zoledronic acid flagged",
			facts: patient(func(f *Facts) { f.Labs[2] = lab(LabEGFR, 38, RangeLow, ago(4)) }),
			fires: []string{"RENAL", "L07"},
			flags: []string{"RENAL@L07-bone-agent"},
		},
		{
			name: "RENAL: creatinine above range with HER2+ third line: capecitabine regimens flagged",
			facts: patient(her2Positive, hrNegative, metsSince(monthsAgo(36), "lung"), func(f *Facts) { f.Labs[2] = lab(LabCreatinine, 2.0, RangeHigh, ago(4)) }, withMeds(
				med("MedicationRequest/hp", MedRequest, "completed", monthsAgo(36), monthsAgo(18), "trastuzumab", "pertuzumab", "docetaxel"),
				med("MedicationRequest/tdxd", MedRequest, "completed", monthsAgo(17), ago(25), "fam-trastuzumab deruxtecan")),
				withStatus(worsened(monthsAgo(18)), worsened(ago(25)))),
			fires: []string{"RENAL", "P05"},
			flags: []string{"RENAL@P05-tucatinib-trast-cape", "RENAL@P05-lapatinib-cape"},
		},

		// S10: pregnancy.
		{
			name:        "S10: pregnancy stated by the clinician in a premenopausal woman: no systemic drug, not even a bone agent; MDT referral",
			facts:       patient(born(34), premenopausal, func(f *Facts) { st := Pregnant; f.Statements.Pregnancy = &st; f.Statements.Date = ago(1) }),
			fires:       []string{"S10"},
			silent:      []string{"H02", "H04", "L07", "L06"},
			noOptions:   true,
			notProposed: []string{"systemic therapy"},
			check: func(t *testing.T, p Plan) {
				wantMessage(t, p, "stop", "maternal-fetal medicine")
				wantItem(t, p.Monitoring, "S10-mdt", "maternal-fetal")
				if p.Pregnancy.Value != "pregnant" {
					t.Errorf("pregnancy got %q; want pregnant", p.Pregnancy.Value)
				}
			},
		},
		{
			name:      "S10: woman of 48 after bilateral oophorectomy: no pregnancy test, no OFS",
			facts:     patient(born(48), func(f *Facts) { f.Oophorectomy = &Event{Source: src("Procedure/bso", "2019-05-01")} }),
			silent:    []string{"S10", "H04"},
			notNeeded: []string{"pregnancy-test", "menopause"},
			drugsOut:  []string{"H02-nsai-cdk46:goserelin"},
		},

		// Receptor calls.
		{
			name:      "Clinician states HER2-negative IHC 1+ from an outside report, no HER2 in the record: HR+/HER2-low plan, shown as stated",
			facts:     patient(her2Stated),
			fires:     []string{"H02", "C04"},
			options:   []string{"H02-nsai-cdk46"},
			notNeeded: []string{"her2", "her2-ihc"},
			check: func(t *testing.T, p Plan) {
				if !p.Subtype.HER2.StatedByClinician || p.Subtype.HER2.Value != "negative" || p.Subtype.HER2Low.Value != "yes" {
					t.Errorf("HER2 call got %+v low %+v; want negative, stated by the clinician, HER2-low yes", p.Subtype.HER2, p.Subtype.HER2Low)
				}
			},
		},
		{
			name: "C02: primary ER+ PR-, metastatic biopsy ER- PR-: the metastatic result governs (TNBC), re-biopsy listed, no endocrine option",
			facts: patient(func(f *Facts) {
				f.ER = []ReceptorResult{erResult(ReceptorPositive, fp(80), "2019-04-01", SpecimenPrimary), erResult(ReceptorNegative, fp(0), "2026-10-01", SpecimenMetastatic)}
				f.PR = []ReceptorResult{prResult(ReceptorNegative, "2019-04-01"), prResult(ReceptorNegative, "2026-10-01")}
			}),
			fires:   []string{"C02", "T02"},
			silent:  []string{"H01", "H02", "C01"},
			needed:  []string{"rebiopsy"},
			options: []string{"T02-single-chemo"},
			check: func(t *testing.T, p Plan) {
				if p.Subtype.Name != "TNBC" || p.Subtype.ER.Value != "negative" {
					t.Errorf("subtype got %s ER %s; want TNBC, ER negative from the metastasis", p.Subtype.Name, p.Subtype.ER.Value)
				}
				if len(p.Discordance) == 0 || p.Discordance[0].Marker != "ER" {
					t.Errorf("discordance got %+v; want ER discordance shown", p.Discordance)
				}
				wantNoClass(t, p, classEndocrine)
			},
		},
		{
			name: "C05: early breast cancer with no distant metastasis: no options, plain message",
			facts: patient(func(f *Facts) {
				f.Metastases = nil
			}),
			fires:     []string{"C05"},
			silent:    []string{"H01", "H02", "L07", "L05", "L06", "S10", "C06", "C07", "C08", "P01", "T02", "S04"},
			noOptions: true,
			check: func(t *testing.T, p Plan) {
				wantMessage(t, p, "stop", "No distant metastatic disease is recorded")
				if p.Line != 0 {
					t.Errorf("line got %d; want 0", p.Line)
				}
			},
		},
		{
			name: "C05/C03: no distant metastasis and no receptor results yet: nothing classified, nothing proposed",
			facts: patient(func(f *Facts) {
				f.Metastases, f.ER, f.PR, f.HER2 = nil, nil, nil, nil
			}),
			fires:     []string{"C05"},
			silent:    []string{"C01", "C02", "C03", "C04", "C06", "L05"},
			noOptions: true,
			notNeeded: []string{"hr-status", "metastasis"},
		},
		{
			name:    "C03: HER2 unknown with bone metastases: no first-line anticancer option, HER2 test asked, bone agent offered",
			facts:   patient(func(f *Facts) { f.HER2 = nil }),
			fires:   []string{"C03", "L07"},
			silent:  []string{"H01", "H02", "P01", "T02", "C07", "S04"},
			options: []string{"L07-bone-agent"},
			needed:  []string{"her2"},
			check: func(t *testing.T, p Plan) {
				wantNoAnticancer(t, p)
				wantMessage(t, p, "stop", "HER2 status is unknown")
				o, _ := optionByID(p, "L07-bone-agent")
				if len(o.Evidence) == 0 || o.Evidence[0].Checked {
					t.Errorf("L07 evidence got %+v; want unchecked (†: guideline status to confirm)", o.Evidence)
				}
			},
		},
		{
			name: "HR unknown: ER missing, PR negative, HER2 IHC 0: never triple-negative, no endocrine or TNBC regimen, ER asked",
			facts: patient(func(f *Facts) {
				f.ER = nil
				f.PR = []ReceptorResult{prResult(ReceptorNegative, "2026-10-01")}
				f.HER2[0].IHC = IHC0
			}),
			silent:  []string{"T01", "T02", "T03", "H01", "H02"},
			needed:  []string{"hr-status"},
			options: []string{"L07-bone-agent"},
			check: func(t *testing.T, p Plan) {
				if p.Subtype.Name == "TNBC" || p.Subtype.HR.Value != "unknown" {
					t.Errorf("subtype got %s HR %s; want not TNBC, HR unknown", p.Subtype.Name, p.Subtype.HR.Value)
				}
				wantNoAnticancer(t, p)
				wantBlockingNeed(t, p, "hr-status")
			},
		},
	}
}

// TestReviewWording checks the wording policies of section 8 across every
// scenario: schedules are "per label" unless a ✔ schedule is quoted, no
// dose is computed, and evidence says whether the rule was checked.
func TestReviewWording(t *testing.T) {
	quoted := map[string]string{
		"P02-thp":               "4–6 months",
		"H08-capivasertib-fulv": "Truqap label",
	}
	checked := map[string]bool{}
	for _, r := range Rules() {
		checked[r.ID] = r.Checked
	}
	for _, sc := range append(scenarios(), reviewScenarios()...) {
		p := Recommend(sc.facts, testNow, sc.settings)
		for _, o := range p.Options {
			if frag, ok := quoted[o.ID]; ok {
				if !strings.Contains(o.Schedule, frag) {
					t.Errorf("%s: %s schedule got %q; want the quoted ✔ schedule (%s)", sc.name, o.ID, o.Schedule, frag)
				}
			} else if o.Schedule != "per label" {
				t.Errorf("%s: %s schedule got %q; want \"per label\"", sc.name, o.ID, o.Schedule)
			}
			text := strings.ToLower(o.Title + " " + o.Rationale + " " + o.Schedule)
			for _, dose := range []string{"mg/m", "mg/kg", "auc ", "mg/m²"} {
				if strings.Contains(text, dose) {
					t.Errorf("%s: %s text %q holds a computed dose (%s); want none", sc.name, o.ID, text, dose)
				}
			}
			for _, e := range o.Evidence {
				if want, ok := checked[e.RuleID]; ok && e.Checked != want && !strings.Contains(o.Title, "check guideline status") {
					t.Errorf("%s: %s evidence %s checked %v; want %v as in the rule table", sc.name, o.ID, e.RuleID, e.Checked, want)
				}
			}
		}
	}
}
