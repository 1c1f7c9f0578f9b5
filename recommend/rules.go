package recommend

// Rule is one row of the rule table (REFERENCE.md section 3, with the
// engine policies of section 8). The data fields are what a clinician reads;
// when is the condition over the derived facts and then what the rule
// proposes or records when the condition holds. Hit policy: every rule whose
// condition holds fires (collect); options are ranked afterwards; a
// conflict between rules is written as a message or a "not proposed" entry.
type Rule struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Proposes string `json:"proposes"`
	Source   string `json:"source"`
	Year     int    `json:"year"`
	Strength string `json:"strength"`
	// Checked: the statement was read in a stored source (✔); false (†)
	// means "guideline status to confirm".
	Checked bool `json:"checked"`

	when func(s *state) bool
	then func(s *state)
}

// Rules returns the rule table, top to bottom, in the order the engine
// applies it.
func Rules() []Rule { return ruleTable() }

// ruleTable is the rule table. Conditions read the derived facts (state.go,
// receptors.go, menopause.go, disease.go, regimens.go); proposals are built
// in options.go, safety.go and items.go.
func ruleTable() []Rule {
	return []Rule{
		// 3.1 Classification and gating.
		{ID: "C05", Title: "No distant metastatic disease", Proposes: "No therapy options; explain that the patient does not appear to have metastatic disease",
			Source: "engine safety rule", Year: 2026, Strength: "—", Checked: true,
			when: func(s *state) bool { return !s.metastatic() }, then: thenC05},
		{ID: "C01", Title: "Receptor-positive at ≥1%; ER-low 1–10%", Proposes: "Call ER/PR positive; flag ER-low and allow the TNBC pathway as well",
			Source: "ASCO/CAP ER/PgR testing guideline (Allison)", Year: 2020, Strength: "testing guideline", Checked: false,
			when: func(s *state) bool { return s.er.status == ReceptorPositive || s.pr.status == ReceptorPositive }, then: thenC01},
		{ID: "C02", Title: "Governing result over time and specimens", Proposes: "Most recent metastatic result governs; show discordance and suggest re-biopsy",
			Source: "ABC5; ASCO HR+ 2016", Year: 2020, Strength: "†", Checked: false,
			when: whenC02, then: thenC02},
		{ID: "C03", Title: "HER2 by ASCO/CAP 2018", Proposes: "HER2-positive or negative from IHC and ISH; HER2 unknown blocks first-line options",
			Source: "Wolff, ASCO/CAP HER2 testing focused update", Year: 2018, Strength: "testing guideline", Checked: true,
			when: whenC03, then: thenC03},
		{ID: "C04", Title: "HER2-low and HER2-ultralow", Proposes: "HER2-low from IHC 1+ or 2+/ISH−; ultralow from faint IHC 0; ask for the IHC score when only \"negative\" is known",
			Source: "ASCO HER2-negative rapid update; DESTINY-Breast04; DESTINY-Breast06", Year: 2022, Strength: "—", Checked: true,
			when: func(s *state) bool { return s.her2.status == ReceptorNegative }, then: func(*state) {}},
		{ID: "C06", Title: "Menopausal status unknown, pre/peri, or male", Proposes: "Treat as premenopausal: ovarian function suppression with every AI, fulvestrant or elacestrant; GnRH agonist for men",
			Source: "ABC5", Year: 2020, Strength: "Expert opinion/A", Checked: true,
			when: func(s *state) bool {
				return s.metastatic() && (s.meno.call.TreatAsPremenopausal || s.meno.call.Basis == "age ≥ 60")
			}, then: thenC06},
		{ID: "C07", Title: "Endocrine sensitivity from adjuvant AI timing", Proposes: "Relapse during or ≤12 months after adjuvant AI → AI-resistant path (H03); otherwise endocrine-sensitive (H02)",
			Source: "ASCO HR+ 2021 (Burstein)", Year: 2021, Strength: "see H03", Checked: true,
			when: func(s *state) bool { return s.hrPosHER2Neg() && s.line == 1 }, then: thenC07},
		{ID: "C08", Title: "Visceral crisis stated by the clinician", Proposes: "Chemotherapy (or an ADC where indicated) instead of first-line endocrine therapy",
			Source: "ABC5", Year: 2020, Strength: "I/A", Checked: true,
			when: func(s *state) bool { return s.canTreat() && s.visceralCrisis() }, then: thenC08},

		// Continue a working regimen (section 8).
		{ID: "CONT", Title: "Current regimen without progression", Proposes: "Continue the current regimen; re-evaluate at progression; no new line",
			Source: "REFERENCE.md section 8 engine policy", Year: 2026, Strength: "engine policy", Checked: true,
			when: func(s *state) bool { return s.continuing() && !s.pregnant && !s.f.Patient.Deceased }, then: thenCONT},

		// 3.2 HR-positive / HER2-negative.
		{ID: "H01", Title: "Endocrine-based therapy first", Proposes: "Endocrine-based therapy first, even with visceral metastases; chemotherapy is not the first choice",
			Source: "ABC5; ASCO HR+ 2016; ASCO 2024 rapid update", Year: 2020, Strength: "ABC5 I/A; ASCO 2016 EB, H, Strong", Checked: true,
			when: func(s *state) bool { return s.hrPosHER2Neg() && !s.visceralCrisis() && !s.endocrineRefractory() }, then: thenH01},
		{ID: "H02", Title: "First line, endocrine-sensitive", Proposes: "Letrozole or anastrozole + a CDK4/6 inhibitor (palbociclib, ribociclib or abemaciclib)",
			Source: "ASCO HR+ 2021 (Burstein); ASCO 2024 rapid update Rec 1.1; JBCS 2022 CQ20; ABC5", Year: 2024, Strength: "ASCO 2024 Rec 1.1: High, Strong; JBCS: 1, strong", Checked: true,
			when: whenH02, then: thenH02},
		{ID: "H03", Title: "AI-resistant, CDK4/6 inhibitor-naïve", Proposes: "Fulvestrant + a CDK4/6 inhibitor (with OFS if pre/peri)",
			Source: "ASCO HR+ 2021; MONALEESA-3", Year: 2021, Strength: "should be offered (ASCO 2021)", Checked: true,
			when: whenH03, then: thenH03},
		{ID: "H04", Title: "Premenopausal or perimenopausal", Proposes: "OFS + endocrine therapy + CDK4/6 inhibitor, then as postmenopausal; tamoxifen alone only if OFS is declined (less effective)",
			Source: "ABC5", Year: 2020, Strength: "OFS + ET: I/A; tamoxifen alone: I/D", Checked: true,
			when: whenH04, then: thenH04},
		{ID: "H05", Title: "Ribociclib with tamoxifen", Proposes: "Do not combine; use an AI or fulvestrant with ribociclib, or another CDK4/6 inhibitor",
			Source: "Kisqali label (QT prolongation with tamoxifen)", Year: 2024, Strength: "label", Checked: false,
			when: whenH05, then: thenH05},
		{ID: "H06", Title: "First line, CDK4/6 inhibitor unsuitable", Proposes: "Endocrine therapy alone: an AI, or fulvestrant monotherapy",
			Source: "JBCS 2022 CQ20; SONIA", Year: 2022, Strength: "JBCS: AI alone 2/moderate; fulvestrant alone 2/weak", Checked: true,
			when: whenH06, then: thenH06},
		{ID: "H07", Title: "Genomic testing at progression", Proposes: "Tumour PIK3CA, AKT1, PTEN and ESR1 testing (ctDNA for ESR1); germline BRCA1/2 testing",
			Source: "ASCO 2021; ASCO 2023 and 2024 rapid updates", Year: 2024, Strength: "PIK3CA testing: Strong; ESR1: High, Strong", Checked: true,
			when: func(s *state) bool { return s.hrPosHER2Neg() && (s.line >= 2 || s.reg.etRelapse12) }, then: thenH07},
		{ID: "H08", Title: "PIK3CA, AKT1 or PTEN alteration after endocrine therapy", Proposes: "Capivasertib + fulvestrant",
			Source: "ASCO 2024 rapid update; CAPItello-291; Truqap label", Year: 2024, Strength: "Rec 1.1: High, Strong", Checked: true,
			when: func(s *state) bool {
				return s.hrPosHER2Neg() && !s.visceralCrisis() && s.endocrinePossible() && s.afterEndocrineLine() && s.variant("PIK3CA", "AKT1", "PTEN") != nil
			}, then: thenH08},
		{ID: "H09", Title: "PIK3CA-mutated after endocrine therapy", Proposes: "Alpelisib + fulvestrant as an alternative to capivasertib (choose by toxicity); inavolisib + palbociclib + fulvestrant (newer)",
			Source: "ASCO 2021; ASCO 2024 Rec 1.2", Year: 2024, Strength: "ASCO 2021: EB, B, H, Moderate; 2024 Rec 1.2: Low, Weak", Checked: true,
			when: func(s *state) bool {
				return s.hrPosHER2Neg() && !s.visceralCrisis() && s.endocrinePossible() && s.afterEndocrineLine() && s.variant("PIK3CA") != nil
			}, then: thenH09},
		{ID: "H10", Title: "ESR1 mutation after endocrine therapy", Proposes: "Elacestrant monotherapy",
			Source: "ASCO 2023; ASCO 2024; EMERALD; Orserdu label", Year: 2023, Strength: "part of Rec 1.1: High, Strong", Checked: true,
			when: func(s *state) bool {
				return s.hrPosHER2Neg() && !s.visceralCrisis() && s.endocrinePossible() && s.afterEndocrineLine() && s.variant("ESR1") != nil
			}, then: thenH10},
		{ID: "H11", Title: "Second line and later, no actionable alteration", Proposes: "Everolimus + exemestane; fulvestrant ± CDK4/6 inhibitor if CDK4/6i-naïve; other single-agent ET; abemaciclib + fulvestrant after CDK4/6i (evolving)",
			Source: "ASCO 2024; ASCO 2021", Year: 2024, Strength: "Rec 1.1: High, Strong", Checked: true,
			when: func(s *state) bool {
				return s.hrPosHER2Neg() && s.line >= 2 && !s.visceralCrisis() && !s.endocrineRefractory()
			}, then: thenH11},
		{ID: "H12", Title: "Germline BRCA1/2, HR+ no longer benefiting from ET", Proposes: "Olaparib or talazoparib in the first to third line",
			Source: "ASCO HR+ 2021; ASCO HER2-negative 2021 (Moy); ESMO MBC 2021", Year: 2021, Strength: "ASCO: moderate, Strong; ESMO [I, A]", Checked: true,
			when: func(s *state) bool {
				return s.hrPosHER2Neg() && s.germlineBRCA() != nil && s.line <= 3 && (s.line >= 2 || s.endocrineRefractory())
			}, then: thenH12},
		{ID: "H13", Title: "HER2-low, endocrine-refractory, after chemotherapy", Proposes: "Trastuzumab deruxtecan",
			Source: "ASCO HER2-negative rapid update 2022; DESTINY-Breast04", Year: 2022, Strength: "moderate; EB, B, Strong", Checked: true,
			when: func(s *state) bool {
				return s.hrPosHER2Neg() && s.her2.isLow && s.endocrineRefractory() && (s.reg.metChemoLines >= 1 || s.reg.chemoRelapse6) && !s.reg.exposure["fam-trastuzumab deruxtecan"] && !s.her2Deferred()
			}, then: thenH13},
		{ID: "H14", Title: "HER2-low or ultralow after endocrine therapy, before chemotherapy", Proposes: "Trastuzumab deruxtecan before chemotherapy",
			Source: "DESTINY-Breast06; FDA indication", Year: 2024, Strength: "ASCO grading not seen", Checked: true,
			when: func(s *state) bool {
				return s.hrPosHER2Neg() && (s.her2.isLow || s.her2.isUltralow) && s.reg.metEndoProg >= 1 && s.reg.metChemoLines == 0 && !s.reg.exposure["fam-trastuzumab deruxtecan"] && !s.her2Deferred()
			}, then: thenH14},
		{ID: "H15", Title: "Endocrine-refractory after two chemotherapy lines", Proposes: "Sacituzumab govitecan",
			Source: "ASCO HER2-negative rapid update 2023; TROPiCS-02", Year: 2023, Strength: "medium; EB, B, Strong", Checked: true,
			when: func(s *state) bool {
				// ≥2 prior chemotherapy lines, ≥1 of them for metastatic
				// disease: (neo)adjuvant chemotherapy counts as one line
				// toward the two. Not again after sacituzumab.
				return s.hrPosHER2Neg() && s.endocrineRefractory() && s.reg.metChemoLines >= 1 && s.chemoLinesAll() >= 2 &&
					!s.reg.exposure["sacituzumab govitecan"]
			}, then: thenH15},
		{ID: "H16", Title: "Endocrine options exhausted or visceral crisis", Proposes: "Single-agent chemotherapy (capecitabine, a taxane, eribulin; anthracycline if not used and the heart allows)",
			Source: "ASCO HER2-negative 2021 (Moy); ABC5", Year: 2021, Strength: "see T02", Checked: true,
			when: func(s *state) bool { return s.hrPosHER2Neg() && (s.endocrineRefractory() || s.visceralCrisis()) }, then: thenH16},

		// 3.3 HER2-positive.
		{ID: "P01", Title: "HER2-directed therapy in every line", Proposes: "HER2-directed therapy in every line; with heart failure or low LVEF, decide with cardio-oncology",
			Source: "ASCO HER2+ 2022 (Giordano)", Year: 2022, Strength: "EB, H, Strong (Rec 1.0)", Checked: true,
			when: func(s *state) bool { return s.her2Pos() }, then: thenP01},
		{ID: "P02", Title: "HER2+, first line", Proposes: "Trastuzumab + pertuzumab + a taxane; chemotherapy about 4–6 months, then trastuzumab + pertuzumab until progression",
			Source: "ASCO HER2+ 2022 Rec 1.1, 4.0, 5.1; CLEOPATRA", Year: 2022, Strength: "Rec 1.1: EB, B, H, Strong", Checked: true,
			when: func(s *state) bool {
				// The first HER2-directed line, whatever the line number (HER2
				// may turn positive on a later biopsy, C02).
				return s.her2Pos() && !s.her2Deferred() && !s.metExposed(classHER2) && !s.reg.her2Relapse12
			}, then: thenP02},
		{ID: "P03", Title: "HER2+ and HR+", Proposes: "Endocrine therapy added to HER2-directed maintenance; ET + HER2-directed therapy or ET alone in selected patients; abemaciclib + trastuzumab + fulvestrant later",
			Source: "ASCO HER2+ 2022 Rec 1.0 exception, 3.2.0, 3.2.1", Year: 2022, Strength: "EB, B, M, Weak", Checked: true,
			when: func(s *state) bool {
				return s.her2Pos() && s.hr == "positive" && s.endocrinePossible() && !s.visceralCrisis()
			}, then: thenP03},
		{ID: "P04", Title: "HER2+, second line", Proposes: "Trastuzumab deruxtecan (if not received before)",
			Source: "ASCO HER2+ 2022 Rec 2.0/2.1, 5.0; DESTINY-Breast03", Year: 2022, Strength: "2.1: EB, B, M, Strong", Checked: true,
			when: func(s *state) bool {
				return s.her2Pos() && !s.her2Deferred() && !s.reg.exposure["fam-trastuzumab deruxtecan"] &&
					((s.line == 2 && s.metExposed(classHER2)) || (!s.metExposed(classHER2) && s.reg.her2Relapse12))
			}, then: thenP04},
		{ID: "P05", Title: "HER2+, third line and later", Proposes: "Tucatinib + trastuzumab + capecitabine; T-DM1; T-DXd if not given; lapatinib or neratinib + capecitabine; trastuzumab + other chemotherapy; pertuzumab if never received",
			Source: "ASCO HER2+ 2022 Rec 3.0, 3.1, 3.1.9; HER2CLIMB", Year: 2022, Strength: "3.0: EB, I, Moderate", Checked: true,
			when: func(s *state) bool {
				return s.her2Pos() && !s.her2Deferred() && (s.metExposed(classHER2) || s.reg.her2Relapse12) &&
					(s.line >= 3 || (s.line == 2 && (s.reg.exposure["fam-trastuzumab deruxtecan"] || s.has(ILD))))
			}, then: thenP05},
		{ID: "P06", Title: "HER2+ with brain metastases", Proposes: "Local therapy referral; continue HER2 therapy if stable; tucatinib + trastuzumab + capecitabine if progressing; no routine surveillance MRI",
			Source: "ASCO HER2+ brain metastases 2022 (Ramakrishna)", Year: 2022, Strength: "FC, I, Moderate; no routine MRI: Weak", Checked: true,
			when: func(s *state) bool {
				return s.metastatic() && s.her2.status == ReceptorPositive && s.dis.brain && !s.pregnant
			}, then: thenP06},
		{ID: "P07", Title: "No anthracycline with trastuzumab", Proposes: "Do not give anthracyclines with trastuzumab",
			Source: "Herceptin US label", Year: 2024, Strength: "label", Checked: true,
			when: func(s *state) bool { return s.her2Pos() }, then: thenP07},

		// 3.4 Triple-negative.
		{ID: "T01", Title: "TNBC first line, PD-L1 CPS ≥10", Proposes: "Pembrolizumab + chemotherapy (paclitaxel, nab-paclitaxel, or gemcitabine + carboplatin)",
			Source: "ASCO HER2-negative 2021 (Moy); KEYNOTE-355", Year: 2021, Strength: "EB, Intermediate, B, Strong", Checked: true,
			when: func(s *state) bool {
				high, _, _ := s.pdl1CPS()
				return s.tnbcPathway() && s.line == 1 && high && !s.metExposed(classICI)
			}, then: thenT01},
		{ID: "T02", Title: "TNBC, PD-L1 negative or unknown", Proposes: "Single-agent chemotherapy in preference to combinations; order PD-L1 if unknown",
			Source: "ASCO HER2-negative 2021 (Moy)", Year: 2021, Strength: "EB, I, B, Strong", Checked: true,
			when: func(s *state) bool {
				high, _, _ := s.pdl1CPS()
				return s.tnbcPathway() && (!high || s.line >= 2)
			}, then: thenT02},
		{ID: "T03", Title: "TNBC with germline BRCA1/2, after chemotherapy", Proposes: "Olaparib or talazoparib; germline testing when not done",
			Source: "ASCO HER2-negative 2021; ESMO MBC 2021", Year: 2021, Strength: "moderate, Strong; ESMO [I, A]", Checked: true,
			when: func(s *state) bool {
				return s.tnbcPathway() && ((s.germlineBRCA() != nil && s.exposed(classChemo)) || !s.tested("germline", "BRCA1", "BRCA2"))
			}, then: thenT03},
		{ID: "T04", Title: "TNBC after two systemic therapies", Proposes: "Sacituzumab govitecan",
			Source: "ASCO HER2-negative 2021; ASCENT", Year: 2021, Strength: "graded in Moy 2021 (grade not captured)", Checked: true,
			when: func(s *state) bool {
				// ≥2 prior systemic therapies, ≥1 for metastatic disease
				// ((neo)adjuvant therapy counts as one). Not again after
				// sacituzumab.
				return s.tnbcPathway() && s.reg.lines >= 1 && s.systemicAll() >= 2 && !s.reg.exposure["sacituzumab govitecan"]
			}, then: thenT04},
		{ID: "T05", Title: "TNBC HER2-low after chemotherapy", Proposes: "Trastuzumab deruxtecan",
			Source: "ASCO 2022 rapid update; DESTINY-Breast04", Year: 2022, Strength: "moderate; EB, B, Strong", Checked: true,
			when: func(s *state) bool {
				return s.tnbcPathway() && s.her2.isLow && s.reg.metChemoLines >= 1 && !s.reg.exposure["fam-trastuzumab deruxtecan"] && !s.her2Deferred()
			}, then: thenT05},
		{ID: "T06", Title: "TNBC first line, PD-L1 negative: ADCs emerging", Proposes: "Information only: first-line ADCs are emerging; no drug proposed",
			Source: "not verified in stored sources", Year: 2025, Strength: "†", Checked: false,
			when: func(s *state) bool {
				high, known, _ := s.pdl1CPS()
				return s.tnbcPathway() && s.line == 1 && known && !high
			}, then: thenT06},

		// Supportive (must not be blocked by HER2 unknown).
		{ID: "L07", Title: "Bone metastases", Proposes: "A bone-modifying agent (zoledronic acid or denosumab) with calcium/vitamin D and a dental review",
			Source: "ASCO bone-modifying agents guideline", Year: 2017, Strength: "†", Checked: false,
			when: func(s *state) bool { return s.metastatic() && s.dis.bone && !s.pregnant }, then: thenL07},

		// 3.5 Safety and monitoring (read the options proposed above).
		{ID: "S01", Title: "HER2-directed antibody or ADC: LVEF monitoring", Proposes: "Baseline LVEF; every 3 months with trastuzumab and at its end; every 4 weeks if held; hold thresholds per label (US or EU)",
			Source: "Herceptin US PI; Herceptin EU SmPC", Year: 2024, Strength: "label (boxed warning)", Checked: true,
			when: func(s *state) bool { return s.anyOption(classHER2Cardio) }, then: thenS01},
		{ID: "S02", Title: "Heart failure, cardiomyopathy or LVEF < 50%", Proposes: "Cardio-oncology review before HER2-directed therapy; no anthracycline; HER2-directed therapy deferred when LVEF < 40% or symptomatic heart failure",
			Source: "ASCO HER2+ 2022; SAFE-HEaRt (Lynce)", Year: 2022, Strength: "case by case", Checked: true,
			when: func(s *state) bool {
				return s.metastatic() && !s.pregnant && (s.has(HeartFailure) || s.has(Cardiomyopathy) || s.lvefBelow(50))
			}, then: thenS02},
		{ID: "S03", Title: "Cardiac risk factors", Proposes: "Shorter LVEF interval and cardiology input before HER2-directed therapy",
			Source: "Herceptin EU SmPC; Enhertu label", Year: 2024, Strength: "label", Checked: true,
			when: func(s *state) bool {
				return s.anyOption(classHER2Cardio) && (s.has(CoronaryDisease) || s.has(MyocardialInfarct) || s.has(Hypertension) || s.has(Arrhythmia) || s.has(UnstableAngina))
			}, then: thenS03},
		{ID: "S04", Title: "Ribociclib and the QT interval", Proposes: "No ribociclib with long QT, QTcF ≥ 450 ms, tamoxifen, QT-prolonging drugs, heart failure, recent MI, bradyarrhythmia or low K/Mg; ECG at baseline and about day 14",
			Source: "Kisqali US PI / UK SmPC; Fareston boxed warning", Year: 2024, Strength: "label", Checked: true,
			when: func(s *state) bool { return len(s.out.ribociclib) > 0 || s.anyDrug("ribociclib") }, then: thenS04},
		{ID: "S05", Title: "Liver function with CDK4/6 inhibitors", Proposes: "LFT schedule for ribociclib; dose changes per label in hepatic impairment; Child-Pugh before proposing",
			Source: "Kisqali, Verzenio, Ibrance labels", Year: 2024, Strength: "label", Checked: true,
			when: func(s *state) bool { return s.anyOption(classCDK46) || s.anyOption(classHepato) }, then: thenS05},
		{ID: "S06", Title: "Neutropenia with myelosuppressive therapy", Proposes: "CBC at baseline and per label; G-CSF consideration with sacituzumab",
			Source: "Ibrance, Trodelvy labels", Year: 2024, Strength: "label", Checked: true,
			when: func(s *state) bool { return s.anyMyelosuppressive() }, then: thenS06},
		{ID: "S07", Title: "Interstitial lung disease or pneumonitis", Proposes: "T-DXd: high risk, explicit caution; CDK4/6 inhibitors and everolimus also warn",
			Source: "Enhertu PI (boxed warning); Ibrance and Kisqali labels", Year: 2024, Strength: "label", Checked: true,
			when: func(s *state) bool { return s.has(ILD) && s.anyOption(classILD) }, then: thenS07},
		{ID: "S08", Title: "Glucose with PI3K/AKT/mTOR inhibitors", Proposes: "Fasting glucose and HbA1c before and during; glycaemic control before alpelisib",
			Source: "Piqray, Truqap labels; ASCO 2024 Rec 1.2", Year: 2024, Strength: "label; ASCO Low, Weak", Checked: true,
			when: func(s *state) bool { return s.anyOption(classHyperglyc) }, then: thenS08},
		{ID: "S09", Title: "Diarrhoea plan", Proposes: "Loperamide at the first loose stool with abemaciclib; hydration; dose by grade",
			Source: "Verzenio, Trodelvy labels", Year: 2024, Strength: "label", Checked: true,
			when: func(s *state) bool { return s.anyOption(classDiarrhea) }, then: thenS09},
		{ID: "S10", Title: "Pregnancy", Proposes: "Recorded pregnancy: no systemic drug, multidisciplinary decision; otherwise confirm pregnancy status and advise contraception",
			Source: "Enhertu label; other labels", Year: 2024, Strength: "label", Checked: true,
			when: func(s *state) bool {
				return s.metastatic() && (s.pregnant || (s.couldBecomePregnant() && s.anySystemic()))
			}, then: thenS10},
		{ID: "S11", Title: "ECOG ≥ 3 or Karnofsky ≤ 40", Proposes: "Benefit of systemic therapy limited; palliative care first; least toxic option",
			Source: "clinical convention", Year: 2020, Strength: "†", Checked: false,
			when: func(s *state) bool { return s.metastatic() && s.poorPerformance() }, then: thenS11},
		{ID: "S12", Title: "Strong CYP3A inhibitors or inducers", Proposes: "Interaction warning with palbociclib, ribociclib, abemaciclib, capivasertib or elacestrant",
			Source: "Ibrance label (avoid strong CYP3A inhibitors); others", Year: 2024, Strength: "label", Checked: true,
			when: func(s *state) bool { return s.anyDrug(cyp3aSensitive()...) }, then: thenS12},
		{ID: "ALLERGY", Title: "Drug allergy", Proposes: "Flag any option with a drug or class the patient is allergic to",
			Source: "REFERENCE.md section 8 engine policy", Year: 2026, Strength: "engine policy", Checked: true,
			when: func(s *state) bool { return len(s.allergyHits()) > 0 }, then: thenAllergy},
		{ID: "RENAL", Title: "Renal function below range", Proposes: "Flag zoledronic acid, capecitabine and carboplatin; \"range unknown\" without a range",
			Source: "REFERENCE.md section 8 engine policy", Year: 2026, Strength: "engine policy", Checked: true,
			when: func(s *state) bool {
				return s.anyDrug("zoledronic acid", "capecitabine", "carboplatin") && s.renalConcern()
			}, then: thenRenal},

		// 3.6 Lifestyle, trials and process.
		{ID: "L01", Title: "Physical activity", Proposes: "≥150 min/week moderate activity plus strength training twice a week, within tolerance; adapt to bone metastases",
			Source: "ACS (Kushi 2012; Rock 2012)", Year: 2012, Strength: "guideline text", Checked: true,
			when: func(s *state) bool { return !s.f.Patient.Deceased }, then: thenL01},
		{ID: "L02", Title: "Weight and diet", Proposes: "Healthy weight; mostly vegetables, fruit and whole grains; limit red and processed meat",
			Source: "ACS (Kushi 2012)", Year: 2012, Strength: "guideline text", Checked: true,
			when: func(s *state) bool { return !s.f.Patient.Deceased }, then: thenL02},
		{ID: "L03", Title: "Alcohol", Proposes: "Limit alcohol (at most 1 drink a day for women); avoiding it is safest",
			Source: "ACS (Kushi 2012)", Year: 2012, Strength: "guideline text", Checked: true,
			when: func(s *state) bool { return !s.f.Patient.Deceased }, then: thenL03},
		{ID: "L04", Title: "Anxiety or depression", Proposes: "Yoga and mind-body practices as supportive care, never instead of therapy",
			Source: "SIO (Greenlee 2017) with ASCO endorsement (Lyman 2018); SIO-ASCO (Carlson 2023)", Year: 2023, Strength: "graded in source (not captured)", Checked: true,
			when: func(s *state) bool { return !s.f.Patient.Deceased && (s.has(Anxiety) || s.has(Depression)) }, then: thenL04},
		{ID: "L05", Title: "Clinical trials", Proposes: "Clinical-trial screening at every line",
			Source: "HR+/HER2− MBC treatment algorithm (PMC6424488); CHU de Québec MBC guide", Year: 2019, Strength: "—", Checked: true,
			when: func(s *state) bool { return s.metastatic() }, then: thenL05},
		{ID: "L06", Title: "Shared decision", Proposes: "Options, benefit, toxicities, schedule and burden, chosen together; say where there is no head-to-head evidence",
			Source: "ASCO endocrine therapy guideline; ASCO HER2+ 2022; ASCO 2024", Year: 2024, Strength: "—", Checked: true,
			when: func(s *state) bool { return len(s.out.options) > 0 }, then: thenL06},
	}
}

// evidence builds the evidence list of an option from its rule IDs.
func (s *state) evidence(ids ...string) []Evidence {
	var out []Evidence
	for _, id := range ids {
		r, ok := s.rules[id]
		if !ok {
			continue
		}
		out = append(out, Evidence{RuleID: r.ID, Source: r.Source, Year: r.Year, Strength: r.Strength, Checked: r.Checked})
	}
	return out
}
