package recommend

import (
	"sort"
	"strings"
	"testing"
)

// scenario is one named clinical scenario of the rule table tests.
type scenario struct {
	name     string
	facts    Facts
	settings Settings
	// fires are rule IDs that must fire; silent rule IDs that must not.
	fires, silent []string
	// options must be proposed; absent must not be.
	options, absent []string
	// needed are DataNeeded IDs that must be listed; notNeeded must not.
	needed, notNeeded []string
	// flags are "FlagID@OptionID" (or "FlagID") that must be attached.
	flags []string
	// notProposed are drug names (substring) that must be listed as not proposed.
	notProposed []string
	// drugsIn are "OptionID:drug" pairs that must hold; drugsOut must not.
	drugsIn, drugsOut []string
	// first is the option ID that must rank first.
	first string
	// noOptions: no option at all.
	noOptions bool
	check     func(t *testing.T, p Plan)
}

func ids[T any](xs []T, id func(T) string) []string {
	var out []string
	for _, x := range xs {
		out = append(out, id(x))
	}
	sort.Strings(out)
	return out
}

func optionByID(p Plan, id string) (Option, bool) {
	for _, o := range p.Options {
		if o.ID == id {
			return o, true
		}
	}
	return Option{}, false
}

func checkScenario(t *testing.T, sc scenario) Plan {
	t.Helper()
	p := Recommend(sc.facts, testNow, sc.settings)
	optIDs := ids(p.Options, func(o Option) string { return o.ID })
	needIDs := ids(p.DataNeeded, func(d DataNeeded) string { return d.ID })
	for _, r := range sc.fires {
		if !contains(p.RulesFired, r) {
			t.Errorf("rule %s did not fire; got fired %v", r, p.RulesFired)
		}
	}
	for _, r := range sc.silent {
		if contains(p.RulesFired, r) {
			t.Errorf("rule %s fired; want silent (fired %v)", r, p.RulesFired)
		}
	}
	for _, id := range sc.options {
		if !contains(optIDs, id) {
			t.Errorf("option %s missing; got options %v (removed %v)", id, optIDs, p.Removed)
		}
	}
	for _, id := range sc.absent {
		if contains(optIDs, id) {
			t.Errorf("option %s proposed; want absent (options %v)", id, optIDs)
		}
	}
	for _, id := range sc.needed {
		if !contains(needIDs, id) {
			t.Errorf("data needed %s missing; got %v", id, needIDs)
		}
	}
	for _, id := range sc.notNeeded {
		if contains(needIDs, id) {
			t.Errorf("data needed %s listed; want not listed (got %v)", id, needIDs)
		}
	}
	for _, fl := range sc.flags {
		fid, oid, _ := strings.Cut(fl, "@")
		found := false
		for _, f := range p.SafetyFlags {
			if f.ID == fid && (oid == "" || contains(f.Options, oid)) {
				found = true
			}
		}
		if oid != "" {
			if o, ok := optionByID(p, oid); ok {
				attached := false
				for _, f := range o.Flags {
					if f.ID == fid {
						attached = true
					}
				}
				found = found && attached
			}
		}
		if !found {
			t.Errorf("flag %s missing; got flags %v", fl, ids(p.SafetyFlags, func(f Flag) string { return f.ID + "@" + strings.Join(f.Options, ",") }))
		}
	}
	for _, d := range sc.notProposed {
		found := false
		for _, n := range p.NotProposed {
			if strings.Contains(n.Drug, d) {
				found = true
			}
		}
		if !found {
			t.Errorf("not-proposed %q missing; got %v", d, p.NotProposed)
		}
	}
	for _, pair := range sc.drugsIn {
		oid, drug, _ := strings.Cut(pair, ":")
		o, ok := optionByID(p, oid)
		if !ok || !optionHasDrug(o, drug) {
			t.Errorf("option %s: drug %s missing; got %+v", oid, drug, o.Drugs)
		}
	}
	for _, pair := range sc.drugsOut {
		oid, drug, _ := strings.Cut(pair, ":")
		if o, ok := optionByID(p, oid); ok && optionHasDrug(o, drug) {
			t.Errorf("option %s includes %s; want it left out", oid, drug)
		}
	}
	if sc.first != "" && (len(p.Options) == 0 || p.Options[0].ID != sc.first) {
		t.Errorf("first option got %v; want %s", optIDs, sc.first)
	}
	if sc.noOptions && len(p.Options) != 0 {
		t.Errorf("options got %v; want none", optIDs)
	}
	if sc.check != nil {
		sc.check(t, p)
	}
	return p
}

func TestScenarios(t *testing.T) {
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) { checkScenario(t, sc) })
	}
}

// scenarios is the rule table test: one named clinical scenario per row.
func scenarios() []scenario {
	return []scenario{
		{
			name:      "ER+ PR+ HER2 IHC 1+ postmenopausal by age, first line, bone metastases",
			facts:     patient(),
			fires:     []string{"C01", "C03", "C04", "C06", "C07", "H01", "H02", "L07", "S04", "S05", "S06", "S09", "S12", "L01", "L02", "L03", "L05", "L06"},
			silent:    []string{"C05", "H03", "H04", "H06", "S10", "S11"},
			options:   []string{"H02-nsai-cdk46", "L07-bone-agent"},
			first:     "H02-nsai-cdk46",
			notNeeded: []string{"pregnancy-test", "menopause", "her2", "her2-ihc"},
			drugsIn:   []string{"H02-nsai-cdk46:ribociclib", "H02-nsai-cdk46:letrozole"},
			drugsOut:  []string{"H02-nsai-cdk46:goserelin"},
			flags:     []string{"S04@H02-nsai-cdk46", "S09@H02-nsai-cdk46"},
			check: func(t *testing.T, p Plan) {
				if p.Menopause.Basis != "age ≥ 60" {
					t.Errorf("menopause basis got %q; want %q", p.Menopause.Basis, "age ≥ 60")
				}
				if p.Subtype.Name != "HR+/HER2-" || p.Subtype.HER2Low.Value != "yes" {
					t.Errorf("subtype got %s, HER2-low %s; want HR+/HER2-, yes", p.Subtype.Name, p.Subtype.HER2Low.Value)
				}
				o, _ := optionByID(p, "H02-nsai-cdk46")
				if len(o.Evidence) == 0 || o.Evidence[0].RuleID != "H02" || !o.Evidence[0].Checked {
					t.Errorf("H02 evidence got %+v; want H02 first, checked", o.Evidence)
				}
				for _, d := range o.Drugs {
					if d.Name == "letrozole" && d.RxNorm != "72965" {
						t.Errorf("letrozole RxNorm got %q; want 72965", d.RxNorm)
					}
				}
			},
		},
		{
			name:        "premenopausal recorded at 44, first line: OFS with the AI",
			facts:       patient(premenopausal),
			fires:       []string{"C06", "H02", "H04", "S10"},
			options:     []string{"H02-nsai-cdk46"},
			drugsIn:     []string{"H02-nsai-cdk46:goserelin", "H02-nsai-cdk46:leuprolide"},
			needed:      nil,
			notProposed: []string{"tamoxifen alone"},
			notNeeded:   []string{"pregnancy-test", "menopause"},
			flags:       []string{"S10@H02-nsai-cdk46"},
		},
		{
			name:        "premenopausal, ovarian function suppression declined: tamoxifen alone",
			facts:       patient(premenopausal, func(f *Facts) { f.Statements.OFSDeclined = bp(true) }),
			fires:       []string{"H04", "H05"},
			silent:      []string{"H02"},
			options:     []string{"H04-tamoxifen"},
			absent:      []string{"H02-nsai-cdk46"},
			notProposed: []string{"aromatase inhibitor", "ribociclib"},
		},
		{
			name: "relapse 6 months after adjuvant letrozole: AI-resistant, fulvestrant + CDK4/6i",
			facts: patient(withMeds(
				med("MedicationStatement/let-adj", MedStatement, "completed", "2021-03-01", "2026-04-01", "letrozole"))),
			fires:   []string{"C07", "H03"},
			silent:  []string{"H02"},
			options: []string{"H03-fulv-cdk46"},
			absent:  []string{"H02-nsai-cdk46"},
			check: func(t *testing.T, p Plan) {
				if len(p.Regimens) != 1 || p.Regimens[0].Setting != "adjuvant" {
					t.Errorf("regimens got %+v; want one adjuvant regimen", p.Regimens)
				}
			},
		},
		{
			name: "relapse 5 years after adjuvant letrozole ended: endocrine-sensitive",
			facts: patient(withMeds(
				med("MedicationStatement/let-adj", MedStatement, "completed", "2016-03-01", "2021-03-01", "letrozole"))),
			fires:   []string{"H02"},
			silent:  []string{"H03"},
			options: []string{"H02-nsai-cdk46"},
		},
		{
			name: "progression on first-line tamoxifen still ordered: no ribociclib (H05)",
			facts: patient(func(f *Facts) {
				f.Metastases = []Metastasis{metastasis("bone", "2025-06-01")}
				f.Medications = []Medication{med("MedicationRequest/tam", MedRequest, "active", "2025-06-10", "", "tamoxifen")}
				f.DiseaseStatus = []DiseaseStatus{worsened("2026-11-01")}
			}),
			fires:       []string{"H05", "H07", "H11", "S04"},
			options:     []string{"H11-fulv-cdk46", "H11-everolimus-exemestane"},
			drugsOut:    []string{"H11-fulv-cdk46:ribociclib"},
			notProposed: []string{"ribociclib"},
			needed:      []string{"genomic-pik3ca-akt1-pten", "esr1", "germline-brca"},
		},
		{
			name:        "CDK4/6 inhibitor stated unsuitable: endocrine therapy alone",
			facts:       patient(func(f *Facts) { f.Statements.CDK46Unsuitable = bp(true) }),
			fires:       []string{"H06"},
			silent:      []string{"H02"},
			options:     []string{"H06-ai-alone", "H06-fulvestrant"},
			notProposed: []string{"CDK4/6 inhibitor"},
			first:       "H06-ai-alone",
		},
		{
			name:      "second line after AI + palbociclib, PIK3CA mutated: capivasertib and alpelisib",
			facts:     patient(firstLineAIProgressed, withVariants(variant("PIK3CA", "somatic"), variantAbsent("BRCA1", "germline"))),
			fires:     []string{"H07", "H08", "H09", "H11", "S08", "L06"},
			silent:    []string{"H02", "H10", "CONT"},
			options:   []string{"H08-capivasertib-fulv", "H09-alpelisib-fulv", "H11-everolimus-exemestane", "H11-abema-fulv"},
			absent:    []string{"H11-fulv-cdk46", "H03-fulv-cdk46"},
			notNeeded: []string{"genomic-pik3ca-akt1-pten", "germline-brca"},
			needed:    []string{"esr1"},
			first:     "H08-capivasertib-fulv",
			flags:     []string{"S08@H08-capivasertib-fulv"},
			check: func(t *testing.T, p Plan) {
				if p.Line != 2 {
					t.Errorf("line got %d; want 2", p.Line)
				}
				found := false
				for _, it := range p.SharedDecision {
					if it.ID == "L06-pi3k" {
						found = true
					}
				}
				if !found {
					t.Errorf("shared decision got %v; want L06-pi3k", p.SharedDecision)
				}
			},
		},
		{
			name:    "second line, ESR1 mutation: elacestrant",
			facts:   patient(firstLineAIProgressed, withVariants(variant("ESR1", "somatic"))),
			fires:   []string{"H10"},
			options: []string{"H10-elacestrant"},
			check: func(t *testing.T, p Plan) {
				o, _ := optionByID(p, "H10-elacestrant")
				for _, d := range o.Drugs {
					if d.Name == "elacestrant" && d.RxNorm != "" {
						t.Errorf("elacestrant RxNorm got %q; want empty (unverified)", d.RxNorm)
					}
				}
			},
		},
		{
			name:    "second line, germline BRCA2: PARP inhibitor",
			facts:   patient(firstLineAIProgressed, withVariants(variant("BRCA2", "germline"))),
			fires:   []string{"H12"},
			options: []string{"H12-parpi"},
		},
		{
			name: "HER2-low, third line after AI+CDK4/6i and capecitabine, adjuvant docetaxel: T-DXd, sacituzumab, chemotherapy",
			facts: patient(firstLineAIProgressed, withMeds(
				med("MedicationAdministration/doce-adj", MedAdministration, "completed", "2019-01-10", "2019-04-10", "docetaxel"),
				med("MedicationRequest/cape", MedRequest, "stopped", "2026-11-05", "2026-11-10", "capecitabine"),
			), func(f *Facts) {
				f.Medications[0].Status, f.Medications[1].Status = "stopped", "stopped"
				f.Medications[0].Reason, f.Medications[1].Reason = "progression", "progression"
				f.HER2 = []HER2Result{her2IHC(IHC2, "2026-10-01")}
				f.HER2[0].ISH = ReceptorNegative
				f.DiseaseStatus = append(f.DiseaseStatus, worsened("2026-11-20"))
			}),
			fires:   []string{"H13", "H15", "H16", "S06"},
			silent:  []string{"H01", "H11", "H14"},
			options: []string{"H13-tdxd", "H15-sacituzumab", "H16-chemo"},
			needed:  []string{"stop-reason"},
			first:   "H13-tdxd",
			check: func(t *testing.T, p Plan) {
				if p.Line != 3 {
					t.Errorf("line got %d; want 3 (regimens %+v)", p.Line, p.Regimens)
				}
			},
		},
		{
			name: "HER2-ultralow after one endocrine line, no chemotherapy: T-DXd before chemotherapy (DB-06)",
			facts: patient(firstLineAIProgressed, func(f *Facts) {
				f.HER2 = []HER2Result{her2IHC(IHC0, "2026-10-01")}
				f.HER2[0].Staining = "faint"
			}),
			fires:   []string{"H01", "H11", "H14"},
			options: []string{"H14-tdxd", "H11-everolimus-exemestane"},
			check: func(t *testing.T, p Plan) {
				if len(p.Options) == 0 || !optionHas(p.Options[0], classEndocrine) {
					t.Errorf("first option %v; want an endocrine-based option ahead of T-DXd while endocrine options remain (H01)", ids(p.Options, func(o Option) string { return o.ID }))
				}
				if p.Subtype.HER2Ultralow.Value != "yes" {
					t.Errorf("HER2-ultralow got %q; want yes", p.Subtype.HER2Ultralow.Value)
				}
				o, _ := optionByID(p, "H14-tdxd")
				if len(o.Drugs) != 1 || o.Drugs[0].RxNorm != "" {
					t.Errorf("T-DXd drug got %+v; want name only (partial code)", o.Drugs)
				}
			},
		},
		{
			name: "HER2-negative without IHC score: HER2-low unknown, IHC asked",
			facts: patient(firstLineAIProgressed, func(f *Facts) {
				f.HER2 = []HER2Result{{Status: ReceptorNegative, Final: true, Source: src("Observation/h", "2026-10-01")}}
			}),
			needed: []string{"her2-ihc"},
			silent: []string{"H13", "H14"},
			absent: []string{"H14-tdxd"},
		},
		{
			name:        "HER2+ HR+ first line, postmenopausal: THP, P03 alternative, LVEF monitoring",
			facts:       patient(her2Positive),
			fires:       []string{"P01", "P02", "P03", "P07", "S01"},
			silent:      []string{"H02", "H01"},
			options:     []string{"P02-thp", "P03-et-her2"},
			first:       "P02-thp",
			notProposed: []string{"anthracycline"},
			check: func(t *testing.T, p Plan) {
				o, _ := optionByID(p, "P02-thp")
				var mon []string
				for _, m := range o.Monitoring {
					mon = append(mon, m.ID+" "+m.Text)
				}
				if !strings.Contains(strings.Join(mon, "|"), "every 3 months") || !strings.Contains(strings.Join(mon, "|"), "US label") {
					t.Errorf("P02 monitoring got %v; want LVEF every 3 months with US thresholds", mon)
				}
			},
		},
		{
			name:     "HER2+ first line with EU LVEF thresholds",
			facts:    patient(her2Positive),
			settings: Settings{LVEFThresholds: "eu"},
			options:  []string{"P02-thp"},
			check: func(t *testing.T, p Plan) {
				for _, m := range p.Monitoring {
					if m.ID == "S01-lvef-3-monthly" && !strings.Contains(m.Text, "EU SmPC") {
						t.Errorf("monitoring text got %q; want EU SmPC thresholds", m.Text)
					}
				}
			},
		},
		{
			name: "HER2+ second line after THP progression: T-DXd",
			facts: patient(her2Positive, hrNegative, func(f *Facts) {
				f.Metastases = []Metastasis{metastasis("lung", "2025-01-05")}
				f.Medications = []Medication{
					med("MedicationRequest/t", MedRequest, "stopped", "2025-01-10", "2026-10-01", "trastuzumab"),
					med("MedicationRequest/p", MedRequest, "stopped", "2025-01-10", "2026-10-01", "pertuzumab"),
					med("MedicationRequest/d", MedRequest, "completed", "2025-01-10", "2025-06-01", "docetaxel"),
				}
				f.Medications[0].Reason, f.Medications[1].Reason = "progression", "progression"
				f.DiseaseStatus = []DiseaseStatus{worsened("2026-10-01")}
			}),
			fires:   []string{"P04"},
			silent:  []string{"P02", "P03", "P05"},
			options: []string{"P04-tdxd"},
			first:   "P04-tdxd",
		},
		{
			name: "HER2+ third line with brain metastases: tucatinib preferred, local therapy",
			facts: patient(her2Positive, hrNegative, withMets(metastasis("brain", "2026-09-01")), func(f *Facts) {
				f.Metastases[0].Date = "2024-01-05"
				f.Medications = []Medication{
					med("MedicationRequest/t", MedRequest, "completed", "2024-01-10", "2025-05-01", "trastuzumab", "pertuzumab"),
					med("MedicationRequest/d", MedRequest, "completed", "2024-01-10", "2024-06-01", "docetaxel"),
					med("MedicationRequest/x", MedRequest, "completed", "2025-06-01", "2026-09-01", "fam-trastuzumab deruxtecan"),
				}
				f.DiseaseStatus = []DiseaseStatus{worsened("2025-05-01"), worsened("2026-09-01")}
			}),
			fires:   []string{"P05", "P06"},
			options: []string{"P05-tucatinib-trast-cape", "P05-tdm1"},
			absent:  []string{"P05-tdxd", "P04-tdxd"},
			first:   "P05-tucatinib-trast-cape",
		},
		{
			name:    "TNBC first line, PD-L1 CPS 15: pembrolizumab + chemotherapy",
			facts:   patient(tnbc, withCPS(15, ""), withVariants(variantAbsent("BRCA1", "germline"))),
			fires:   []string{"T01"},
			silent:  []string{"T02", "T06", "H01"},
			options: []string{"T01-pembro-chemo", "T01-pembro-gemcarbo"},
			first:   "T01-pembro-chemo",
			check: func(t *testing.T, p Plan) {
				if p.Subtype.Name != "TNBC" {
					t.Errorf("subtype got %q; want TNBC", p.Subtype.Name)
				}
			},
		},
		{
			name:    "TNBC first line, PD-L1 unknown: single-agent chemotherapy, PD-L1 and germline BRCA asked",
			facts:   patient(tnbc),
			fires:   []string{"T02", "T03"},
			options: []string{"T02-single-chemo"},
			needed:  []string{"pdl1", "germline-brca"},
			drugsIn: []string{"T02-single-chemo:doxorubicin"},
		},
		{
			name:    "TNBC first line, PD-L1 CPS <1: ADCs emerging (information only)",
			facts:   patient(tnbc, withCPS(1, "<")),
			fires:   []string{"T02", "T06"},
			options: []string{"T02-single-chemo"},
		},
		{
			name: "TNBC HER2-low, germline BRCA1, after adjuvant and metastatic chemotherapy",
			facts: patient(tnbc, withVariants(variant("BRCA1", "germline")), func(f *Facts) {
				f.Metastases = []Metastasis{metastasis("lung", "2026-03-01")}
				f.Medications = []Medication{
					med("MedicationAdministration/ac", MedAdministration, "completed", "2023-01-10", "2023-04-01", "doxorubicin", "cyclophosphamide"),
					med("MedicationAdministration/pac", MedAdministration, "completed", "2026-03-10", "2026-09-01", "paclitaxel"),
				}
				f.DiseaseStatus = []DiseaseStatus{worsened("2026-10-01")}
			}),
			fires:       []string{"T03", "T04", "T05", "T02"},
			options:     []string{"T03-parpi", "T04-sacituzumab", "T05-tdxd", "T02-single-chemo"},
			drugsOut:    []string{"T02-single-chemo:doxorubicin"},
			notProposed: []string{"anthracycline"},
		},
		{
			name: "regional lymph nodes only (C77.3): not metastatic, no options",
			facts: patient(func(f *Facts) {
				f.Metastases = []Metastasis{{Kind: MetastasisUncertain, Site: "lymph-node", Finding: Finding{Coding: Coding{Code: "C77.3"}, ClinicalStatus: "active", Source: src("Condition/ax", "2026-10-01")}}}
			}),
			fires:     []string{"C05", "L01"},
			silent:    []string{"H02", "L07", "L05"},
			noOptions: true,
			needed:    []string{"metastasis"},
			check: func(t *testing.T, p Plan) {
				if len(p.Messages) == 0 || p.Messages[0].Level != "stop" {
					t.Errorf("messages got %+v; want a stop message first", p.Messages)
				}
			},
		},
		{
			name: "provisional metastasis only: not metastatic",
			facts: patient(func(f *Facts) {
				f.Metastases[0].VerificationStatus = "provisional"
			}),
			fires:     []string{"C05"},
			noOptions: true,
		},
		{
			name:    "HER2 unknown with bone metastases: no anticancer option, HER2 asked, bone agent stays",
			facts:   patient(func(f *Facts) { f.HER2 = nil }),
			fires:   []string{"C03", "L07"},
			silent:  []string{"H02", "P02"},
			options: []string{"L07-bone-agent"},
			absent:  []string{"H02-nsai-cdk46"},
			needed:  []string{"her2"},
		},
		{
			name: "HER2 IHC 2+ with same-day ISH group 1: HER2-positive",
			facts: patient(func(f *Facts) {
				f.HER2 = []HER2Result{her2IHC(IHC2, "2026-10-01"), {Ratio: fp(2.5), CopyNumber: fp(6), Final: true, Source: src("Observation/ish", "2026-10-01")}}
			}),
			fires:     []string{"C03", "P02"},
			options:   []string{"P02-thp"},
			notNeeded: []string{"conflict-her2"},
		},
		{
			name:   "HER2 IHC 2+ without ISH: unresolved, ISH asked",
			facts:  patient(func(f *Facts) { f.HER2 = []HER2Result{her2IHC(IHC2, "2026-10-01")} }),
			needed: []string{"her2"},
			absent: []string{"H02-nsai-cdk46", "P02-thp"},
		},
		{
			name: "HER2 positive and negative reported the same day: conflict",
			facts: patient(func(f *Facts) {
				f.HER2 = []HER2Result{her2IHC(IHC3, "2026-10-01"), {Status: ReceptorNegative, Final: true, Source: src("Observation/h2", "2026-10-01")}}
			}),
			needed: []string{"conflict-her2"},
			absent: []string{"P02-thp", "H02-nsai-cdk46"},
		},
		{
			name:    "HER2 stated positive by the clinician over a record IHC 1+",
			facts:   patient(func(f *Facts) { f.Statements.HER2 = rsp(ReceptorPositive) }),
			options: []string{"P02-thp"},
			check: func(t *testing.T, p Plan) {
				if !p.Subtype.HER2.StatedByClinician {
					t.Errorf("HER2 call got %+v; want stated by the clinician", p.Subtype.HER2)
				}
			},
		},
		{
			name:    "ER negative, PR missing, HER2-negative: HR unknown, never TNBC",
			facts:   patient(func(f *Facts) { tnbc(f); f.PR = nil }),
			needed:  []string{"hr-status", "pr"},
			silent:  []string{"T02", "H02"},
			absent:  []string{"T02-single-chemo", "H02-nsai-cdk46"},
			options: []string{"L07-bone-agent"},
			check: func(t *testing.T, p Plan) {
				if p.Subtype.Name == "TNBC" || p.Subtype.HR.Value != "unknown" {
					t.Errorf("subtype got %s HR %s; want not TNBC, HR unknown", p.Subtype.Name, p.Subtype.HR.Value)
				}
			},
		},
		{
			name: "ER-positive metastatic biopsy after ER-negative primary: discordance, re-biopsy",
			facts: patient(func(f *Facts) {
				f.ER = append([]ReceptorResult{erResult(ReceptorNegative, fp(0), "2020-01-01", SpecimenPrimary)}, f.ER...)
			}),
			fires:  []string{"C02", "H02"},
			needed: []string{"rebiopsy"},
			check: func(t *testing.T, p Plan) {
				if len(p.Discordance) != 1 || p.Discordance[0].Later.Value != "positive" {
					t.Errorf("discordance got %+v; want one, later positive", p.Discordance)
				}
			},
		},
		{
			name: "ER-low 5%, PR negative: TNBC pathway shown as well",
			facts: patient(func(f *Facts) {
				f.ER = []ReceptorResult{erResult(ReceptorPositive, fp(5), "2026-10-01", SpecimenMetastatic)}
				f.PR = []ReceptorResult{prResult(ReceptorNegative, "2026-10-01")}
			}),
			fires:   []string{"C01", "H02", "T02"},
			options: []string{"H02-nsai-cdk46", "T02-single-chemo"},
			check: func(t *testing.T, p Plan) {
				if !p.Subtype.ERLow {
					t.Errorf("ERLow got false; want true")
				}
			},
		},
		{
			name: "ER positive and negative the same day: conflict",
			facts: patient(func(f *Facts) {
				f.ER = []ReceptorResult{erResult(ReceptorPositive, nil, "2026-10-01", SpecimenMetastatic), erResult(ReceptorNegative, nil, "2026-10-01", SpecimenMetastatic)}
				f.ER[1].Refs = []string{"Observation/er-b"}
			}),
			needed: []string{"conflict-er"},
			fires:  []string{"H02"},
		},
		{
			name:   "ER result preliminary only: not final",
			facts:  patient(func(f *Facts) { f.ER[0].Final = false; f.PR = nil }),
			needed: []string{"not-final-er", "hr-status"},
			absent: []string{"H02-nsai-cdk46"},
		},
		{
			name:    "woman of 50, no menopausal record: handled as premenopausal",
			facts:   patient(func(f *Facts) { f.Patient.BirthDate = "1976-06-01" }),
			fires:   []string{"C06", "H04", "S10"},
			needed:  []string{"menopause", "pregnancy-test"},
			drugsIn: []string{"H02-nsai-cdk46:goserelin"},
		},
		{
			name: "recorded premenopausal at 62 overrides age",
			facts: patient(func(f *Facts) {
				f.Menopause = []MenopauseResult{{Status: Premenopausal, Final: true, Source: src("Observation/m", "2026-09-01")}}
			}),
			drugsIn: []string{"H02-nsai-cdk46:goserelin"},
		},
		{
			name: "bilateral oophorectomy at 45: postmenopausal, no OFS",
			facts: patient(func(f *Facts) {
				f.Patient.BirthDate = "1981-01-01"
				f.Oophorectomy = &Event{Source: src("Procedure/bso", "2020-01-01")}
			}),
			drugsOut:  []string{"H02-nsai-cdk46:goserelin"},
			notNeeded: []string{"menopause", "pregnancy-test"},
		},
		{
			name:      "man with HR+ HER2- MBC: GnRH agonist with the AI",
			facts:     patient(func(f *Facts) { f.Patient.Sex = SexMale }),
			fires:     []string{"C06", "H02"},
			silent:    []string{"H04", "S10"},
			drugsIn:   []string{"H02-nsai-cdk46:goserelin"},
			notNeeded: []string{"menopause", "pregnancy-test"},
		},
		{
			name: "on first-line letrozole + palbociclib, stable: continue current regimen",
			facts: patient(func(f *Facts) {
				f.Metastases = []Metastasis{metastasis("bone", "2026-01-05")}
				f.Medications = []Medication{
					med("MedicationRequest/let", MedRequest, "active", "2026-01-10", "", "letrozole"),
					med("MedicationRequest/palbo", MedRequest, "active", "2026-01-12", "", "palbociclib"),
				}
				f.DiseaseStatus = []DiseaseStatus{{Value: DiseaseStable, Final: true, Source: src("Observation/s", "2026-11-01")}}
			}),
			fires:   []string{"CONT", "S06"},
			silent:  []string{"H02", "H07"},
			options: []string{"CONT-current", "L07-bone-agent"},
			first:   "CONT-current",
			check: func(t *testing.T, p Plan) {
				if p.Continue == nil || p.Line != 1 {
					t.Errorf("continue got %+v line %d; want continue on line 1", p.Continue, p.Line)
				}
			},
		},
		{
			name: "pregnancy recorded: no systemic drug, multidisciplinary referral",
			facts: patient(premenopausal, func(f *Facts) {
				f.Pregnancy = []PregnancyResult{{Status: Pregnant, Final: true, Source: src("Observation/preg", "2026-10-01")}}
			}),
			fires:       []string{"S10"},
			silent:      []string{"H02", "L07"},
			noOptions:   true,
			notProposed: []string{"systemic therapy"},
		},
		{
			name:   "not pregnant 30 days ago: stale, repeat test",
			facts:  patient(premenopausal, func(f *Facts) { f.Pregnancy[0].Date = "2026-10-20" }),
			needed: []string{"stale-pregnancy"},
		},
		{
			name:        "HER2+ HR+ with LVEF 35%: HER2-directed therapy deferred, endocrine therapy alone",
			facts:       patient(her2Positive, withLVEF(35, "2026-11-20")),
			fires:       []string{"S02", "P01", "P03"},
			silent:      []string{"P02"},
			options:     []string{"P03-et-alone"},
			absent:      []string{"P02-thp"},
			notProposed: []string{"HER2-directed", "anthracycline"},
		},
		{
			name:    "HER2+ with LVEF 45%: THP stays, after cardio-oncology review",
			facts:   patient(her2Positive, withLVEF(45, "2026-11-20")),
			fires:   []string{"S02"},
			options: []string{"P02-thp"},
			flags:   []string{"S02@P02-thp"},
		},
		{
			name:  "HER2+ with coronary disease and hypertension: cardiac risk factors",
			facts: patient(her2Positive, withComorb(comorbidity(CoronaryDisease, "active"), comorbidity(Hypertension, "active"))),
			fires: []string{"S03"},
			flags: []string{"S03@P02-thp"},
		},
		{
			name:    "HER2+ with LVEF 62% measured 5 months ago: stale LVEF",
			facts:   patient(her2Positive, withLVEF(62, "2026-06-20")),
			needed:  []string{"stale-lvef"},
			options: []string{"P02-thp"},
		},
		{
			name:    "HER2+ without any LVEF: baseline LVEF needed, option kept",
			facts:   patient(her2Positive, func(f *Facts) { f.LVEF = nil }),
			needed:  []string{"lvef"},
			options: []string{"P02-thp"},
		},
		{
			name:        "QTcF 470 ms stated: no ribociclib",
			facts:       patient(func(f *Facts) { f.Statements.QTcF = fp(470) }),
			fires:       []string{"S04"},
			drugsOut:    []string{"H02-nsai-cdk46:ribociclib"},
			notProposed: []string{"ribociclib"},
		},
		{
			name:        "long QT syndrome recorded: no ribociclib, and the plan says why",
			facts:       patient(withComorb(comorbidity(LongQT, "active"))),
			flags:       []string{"S04"},
			drugsOut:    []string{"H02-nsai-cdk46:ribociclib"},
			notProposed: []string{"ribociclib"},
		},
		{
			name:   "QTcF unknown: baseline ECG needed",
			facts:  patient(func(f *Facts) { f.Statements.QTcF = nil }),
			needed: []string{"ecg-qtcf"},
		},
		{
			name:  "hepatic impairment with CDK4/6i: liver flag",
			facts: patient(withComorb(comorbidity(LiverDisease, "active"))),
			fires: []string{"S05"},
			flags: []string{"S05@H02-nsai-cdk46"},
		},
		{
			name:  "neutrophils below range: neutropenia flag",
			facts: patient(func(f *Facts) { f.Labs[0] = lab(LabANC, 0.9, RangeLow, "2026-11-20") }),
			fires: []string{"S06"},
			flags: []string{"S06@H02-nsai-cdk46"},
		},
		{
			name:   "labs 2 months old: stale labs",
			facts:  patient(func(f *Facts) { f.Labs[0].Date = "2026-09-20"; f.Labs[1].Date = "2026-09-20" }),
			needed: []string{"stale-labs-cbc", "stale-labs-liver"},
		},
		{
			name: "HER2+ second line with active pneumonitis: T-DXd with explicit ILD flag, T-DM1 alternative",
			facts: patient(her2Positive, hrNegative, withComorb(comorbidity(ILD, "active")), func(f *Facts) {
				f.Metastases = []Metastasis{metastasis("lung", "2025-01-05")}
				f.Medications = []Medication{med("MedicationRequest/t", MedRequest, "completed", "2025-01-10", "2026-10-01", "trastuzumab", "pertuzumab", "docetaxel")}
				f.DiseaseStatus = []DiseaseStatus{worsened("2026-10-01")}
			}),
			fires:   []string{"S07", "P04"},
			options: []string{"P04-tdxd", "P04-tdm1"},
			flags:   []string{"S07@P04-tdxd"},
			first:   "P04-tdm1",
		},
		{
			name:  "diabetes with PIK3CA-mutated second line: glucose flags",
			facts: patient(firstLineAIProgressed, withVariants(variant("PIK3CA", "somatic")), withComorb(comorbidity(Diabetes, "active")), func(f *Facts) { f.Labs[5] = lab(LabHbA1c, 9.1, RangeHigh, "2026-11-20") }),
			fires: []string{"S08"},
			flags: []string{"S08@H09-alpelisib-fulv", "S08@H08-capivasertib-fulv"},
		},
		{
			name:    "ECOG 3: palliative care first, endocrine therapy alone",
			facts:   patient(func(f *Facts) { f.ECOG[0].Value = ip(3) }),
			fires:   []string{"S11", "H06"},
			silent:  []string{"H02"},
			options: []string{"H06-ai-alone"},
			first:   "H06-ai-alone",
			flags:   []string{"S11@H06-ai-alone"},
		},
		{
			name:   "ECOG 1 recorded 3 months ago: stale",
			facts:  patient(func(f *Facts) { f.ECOG[0].Date = "2026-08-20" }),
			needed: []string{"stale-ecog"},
		},
		{
			name:  "clarithromycin running with CDK4/6i: CYP3A interaction",
			facts: patient(withMeds(Medication{Kind: MedRequest, Name: "Clarithromycin 500 mg tablet", Status: "active", Start: "2026-11-20", Source: src("MedicationRequest/cla", "2026-11-20")})),
			fires: []string{"S12"},
			check: func(t *testing.T, p Plan) {
				for _, f := range p.SafetyFlags {
					if f.ID == "S12" && f.Severity == SeverityCaution && strings.Contains(f.Text, "clarithromycin") {
						return
					}
				}
				t.Errorf("flags got %+v; want S12 caution naming clarithromycin", p.SafetyFlags)
			},
			drugsOut: []string{"H02-nsai-cdk46:ribociclib"},
		},
		{
			name: "HER2+ with taxane allergy: THP flagged",
			facts: patient(her2Positive, func(f *Facts) {
				f.Allergies = []Allergy{{Classes: []string{"taxane"}, Substance: Coding{Display: "Paclitaxel"}, Finding: Finding{ClinicalStatus: "active", Source: src("AllergyIntolerance/a", "2020-01-01")}}}
			}),
			fires: []string{"ALLERGY"},
			flags: []string{"ALLERGY@P02-thp"},
		},
		{
			name:  "creatinine above range with bone metastases: zoledronic acid flagged",
			facts: patient(func(f *Facts) { f.Labs[2] = lab(LabCreatinine, 2.1, RangeHigh, "2026-11-20") }),
			fires: []string{"RENAL"},
			flags: []string{"RENAL@L07-bone-agent"},
		},
		{
			name:  "creatinine without a reference range: range unknown",
			facts: patient(func(f *Facts) { f.Labs[2] = lab(LabCreatinine, 1.3, RangeUnknown, "2026-11-20") }),
			fires: []string{"RENAL"},
			check: func(t *testing.T, p Plan) {
				for _, f := range p.SafetyFlags {
					if f.ID == "RENAL" && strings.Contains(f.Text, "range unknown") {
						return
					}
				}
				t.Errorf("flags got %+v; want RENAL with \"range unknown\"", p.SafetyFlags)
			},
		},
		{
			name:  "anxiety recorded: yoga proposed",
			facts: patient(withComorb(comorbidity(Anxiety, "active"))),
			fires: []string{"L04"},
		},
		{
			name:        "visceral crisis stated: chemotherapy first",
			facts:       patient(withMets(metastasis("liver", "2026-10-05")), func(f *Facts) { f.Statements.VisceralCrisis = bp(true) }),
			fires:       []string{"C08", "H16"},
			silent:      []string{"H01", "H02"},
			options:     []string{"H16-chemo"},
			first:       "H16-chemo",
			notProposed: []string{"endocrine therapy"},
		},
		{
			name:      "deceased patient: no plan, no lifestyle advice",
			facts:     patient(func(f *Facts) { f.Patient.Deceased = true }),
			fires:     []string{"C05"},
			silent:    []string{"L01", "L02", "L03", "L04"},
			noOptions: true,
		},
	}
}
