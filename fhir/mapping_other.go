package fhir

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/mbcplan/mbcplan/recommend"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// ---- conditions ----

// condCodes lists a Condition's SNOMED and ICD-10(-CM) codes.
func condCodes(cc *r4.CodeableConcept) (snomed, icd []string) {
	if cc == nil {
		return nil, nil
	}
	for _, c := range cc.Coding {
		if code, ok := codeIn(c, sysSNOMED); ok {
			snomed = append(snomed, code)
		}
		if code, ok := codeIn(c, sysICD10CM); ok {
			icd = append(icd, strings.ToUpper(code))
		} else if code, ok := codeIn(c, sysICD10); ok {
			icd = append(icd, strings.ToUpper(code))
		}
	}
	return snomed, icd
}

// icdPrefix reports whether code is prefix or starts with prefix followed by
// a dot or more characters of the same code ("I50" matches "I50.9" and
// "I509"; "I25.2" matches "I25.2" only and its children).
func icdPrefix(code, prefix string) bool {
	return strings.HasPrefix(code, prefix) || strings.HasPrefix(strings.ReplaceAll(code, ".", ""), strings.ReplaceAll(prefix, ".", ""))
}

func (m *mapper) condition(r *Resource, c *r4.Condition) {
	clin, verif := ccCode(c.ClinicalStatus), ccCode(c.VerificationStatus)
	src := recommend.Source{
		Refs:   []string{r.Ref()},
		Date:   firstNonEmpty(str(c.OnsetDateTime), periodStart(c.OnsetPeriod), str(c.RecordedDate)),
		Status: clin,
	}
	fin := recommend.Finding{Coding: firstCoding(c.Code, sysSNOMED, sysICD10CM, sysICD10), ClinicalStatus: clin, VerificationStatus: verif, Source: src}
	snomed, icd := condCodes(c.Code)
	text := ccAllText(c.Code)

	// Primary breast cancer.
	cancer := false
	for _, s := range snomed {
		cancer = cancer || breastCancerSNOMED[s]
	}
	for _, i := range icd {
		cancer = cancer || icdPrefix(i, "C50")
	}
	if !cancer && !m.metastasisCoded(snomed, icd) {
		if strings.Contains(text, "breast") && (strings.Contains(text, "cancer") || strings.Contains(text, "carcinoma") || strings.Contains(text, "malignant neoplasm")) &&
			!strings.Contains(text, "metasta") && !strings.Contains(text, "secondary") && !strings.Contains(text, "history of") && !strings.Contains(text, "family") {
			cancer = true
		}
	}
	if cancer {
		m.f.Cancer = append(m.f.Cancer, fin)
	}

	// Receptor status stated at the condition level (last resort). A
	// Condition coded twice for the same status (Z17.0 beside SNOMED
	// 416053008) is one result; two different statuses stay two.
	final := verif == "confirmed"
	stated := map[[2]string]bool{}
	receptor := func(marker, call string) {
		if !stated[[2]string{marker, call}] {
			stated[[2]string{marker, call}] = true
			m.conditionReceptor(marker, call, fin, final)
		}
	}
	for _, s := range snomed {
		if d, ok := disorderReceptor[s]; ok {
			receptor(d[0], d[1])
		}
		if s == "706970001" { // triple negative
			for _, mk := range []string{"er", "pr", "her2"} {
				receptor(mk, "negative")
			}
		}
		if bf, ok := brcaFindings[s]; ok {
			m.addBRCA(bf.gene, bf.detected, ccText(c.Code), final, src)
		}
		if oophorectomySNOMED[s] {
			m.oophorectomy(fin.Coding, src)
		}
	}
	for _, i := range icd {
		for _, p := range oophorectomyICD {
			if icdPrefix(i, p) {
				m.oophorectomy(fin.Coding, src)
			}
		}
		if d, ok := icdReceptor[i]; ok {
			receptor(d[0], d[1])
		}
	}

	// Menopausal status recorded as a problem or health concern.
	m.conditionMenopause(snomed, icd, text, cancer || m.metastasisCoded(snomed, icd), fin)

	// Metastases, and a stage group IV in the cancer's stage summary.
	m.conditionMetastasis(snomed, icd, text, c, fin)
	if cancer {
		m.conditionStage(c, fin)
	}

	// Comorbidities.
	m.comorbidity(c.Code, clin, verif, src)
}

// conditionMenopause reads a menopausal status recorded as a Condition: a
// status code (2.5a), ICD-10-CM Z78.0, or, for a condition that is not the
// cancer itself, words ("Postmenopausal"). A resolved, inactive or refuted
// one says nothing about today; a provisional one is shown, not used.
func (m *mapper) conditionMenopause(snomed, icd []string, text string, cancer bool, fin recommend.Finding) {
	switch fin.ClinicalStatus {
	case "resolved", "inactive", "remission":
		return
	}
	if fin.VerificationStatus == "refuted" {
		return
	}
	st := ""
	for _, s := range snomed {
		st = firstNonEmpty(st, menopauseAnswers[s])
	}
	for _, i := range icd {
		st = firstNonEmpty(st, menopauseICD[i])
	}
	if st == "" && !cancer {
		st = menopauseFromText(text)
	}
	if st == "" {
		return
	}
	final := fin.VerificationStatus == "" || fin.VerificationStatus == "confirmed"
	m.f.Menopause = append(m.f.Menopause, recommend.MenopauseResult{Status: recommend.MenopausalStatus(st), Text: fin.Coding.Display,
		Final: final, Source: fin.Source})
}

func (m *mapper) conditionReceptor(marker, call string, fin recommend.Finding, final bool) {
	st := receptorStatus(call)
	text := fin.Coding.Display
	switch marker {
	case "er":
		m.f.ER = append(m.f.ER, recommend.ReceptorResult{Status: st, Method: "condition", Text: text, Final: final, Source: fin.Source})
	case "pr":
		m.f.PR = append(m.f.PR, recommend.ReceptorResult{Status: st, Method: "condition", Text: text, Final: final, Source: fin.Source})
	case "her2":
		m.f.HER2 = append(m.f.HER2, recommend.HER2Result{Status: st, Method: "condition", Text: text, Final: final, Source: fin.Source})
	}
}

func (m *mapper) metastasisCoded(snomed, icd []string) bool {
	for _, s := range snomed {
		if _, ok := metastasisSNOMED[s]; ok {
			return true
		}
	}
	for _, i := range icd {
		if k, _ := icdMetastasis(i); k != "" {
			return true
		}
	}
	return false
}

// icdMetastasis classifies an ICD-10(-CM) code per section 8.
func icdMetastasis(code string) (recommend.MetastasisKind, string) {
	c := strings.ReplaceAll(code, ".", "")
	switch {
	case strings.HasPrefix(c, "C772"), strings.HasPrefix(c, "C774"), strings.HasPrefix(c, "C775"):
		return recommend.MetastasisDistant, "lymph-node"
	case strings.HasPrefix(c, "C77"):
		return recommend.MetastasisUncertain, "lymph-node"
	case strings.HasPrefix(c, "C780"):
		return recommend.MetastasisDistant, "lung"
	case strings.HasPrefix(c, "C782"):
		return recommend.MetastasisDistant, "pleura"
	case strings.HasPrefix(c, "C787"):
		return recommend.MetastasisDistant, "liver"
	case strings.HasPrefix(c, "C78"):
		return recommend.MetastasisDistant, "other"
	case strings.HasPrefix(c, "C792"):
		return recommend.MetastasisUncertain, "skin"
	case strings.HasPrefix(c, "C7981"):
		return recommend.MetastasisUncertain, "breast"
	case strings.HasPrefix(c, "C793"):
		return recommend.MetastasisDistant, "brain"
	case strings.HasPrefix(c, "C795"):
		return recommend.MetastasisDistant, "bone"
	case c == "C799" || c == "C79":
		return recommend.MetastasisDistant, ""
	case strings.HasPrefix(c, "C79"):
		return recommend.MetastasisDistant, "other"
	case strings.HasPrefix(c, "C800"):
		return recommend.MetastasisDistant, ""
	}
	return "", ""
}

func visceralSite(site string) bool {
	switch site {
	case "liver", "lung", "pleura", "brain", "peritoneum", "other":
		return true
	}
	return false
}

// siteFromText reads a metastatic site from words.
func siteFromText(t string) string {
	switch {
	case strings.Contains(t, "bone") || strings.Contains(t, "osseous") || strings.Contains(t, "skelet"):
		return "bone"
	case strings.Contains(t, "liver") || strings.Contains(t, "hepatic"):
		return "liver"
	case strings.Contains(t, "pleura"):
		return "pleura"
	case strings.Contains(t, "lung") || strings.Contains(t, "pulmonary"):
		return "lung"
	case strings.Contains(t, "brain") || strings.Contains(t, "cerebr") || strings.Contains(t, "mening"):
		return "brain"
	case strings.Contains(t, "lymph"):
		return "lymph-node"
	case strings.Contains(t, "skin") || strings.Contains(t, "cutaneous"):
		return "skin"
	case strings.Contains(t, "peritone"):
		return "peritoneum"
	}
	return ""
}

func (m *mapper) conditionMetastasis(snomed, icd []string, text string, c *r4.Condition, fin recommend.Finding) {
	add := func(kind recommend.MetastasisKind, site string) {
		if site == "peritoneum" {
			site = "other"
		}
		m.f.Metastases = append(m.f.Metastases, recommend.Metastasis{Kind: kind, Site: site, Visceral: kind == recommend.MetastasisDistant && visceralSite(site) || site == "other" && kind == recommend.MetastasisDistant,
			Basis: "condition", Finding: fin})
	}
	bodySite, bodySiteCode := "", ""
	for i := range c.BodySite {
		bodySite += " " + ccAllText(&c.BodySite[i])
		for _, cd := range c.BodySite[i].Coding {
			if code, ok := codeIn(cd, sysSNOMED); ok {
				bodySiteCode = firstNonEmpty(bodySiteCode, bodySiteSNOMED[code])
			}
		}
	}
	found := false
	for _, s := range snomed {
		if site, ok := metastasisSNOMED[s]; ok {
			if site == "" {
				site = firstNonEmpty(bodySiteCode, siteFromText(text+bodySite))
			}
			add(recommend.MetastasisDistant, site)
			found = true
			break
		}
	}
	if !found {
		for _, i := range icd {
			if k, site := icdMetastasis(i); k != "" {
				if site == "" {
					site = firstNonEmpty(bodySiteCode, siteFromText(bodySite))
				}
				add(k, site)
				found = true
				break
			}
		}
	}
	if !found && !strings.Contains(text, "history of") {
		if strings.Contains(text, "metasta") && !strings.Contains(text, "no metasta") && !strings.Contains(text, "non-metasta") ||
			strings.Contains(text, "secondary malignant") {
			site := firstNonEmpty(bodySiteCode, siteFromText(text+bodySite))
			if site == "lymph-node" || site == "skin" {
				add(recommend.MetastasisUncertain, site)
			} else {
				add(recommend.MetastasisDistant, site)
			}
		}
	}
}

// conditionStage reads a stage group IV from a breast cancer Condition's
// stage summary (Epic and mCODE STU1 state the stage there): AJCC or UICC
// SNOMED codes, AJCC codes, or "Stage IV" as text.
func (m *mapper) conditionStage(c *r4.Condition, fin recommend.Finding) {
	for _, st := range c.Stage {
		if st.Summary == nil {
			continue
		}
		iv := reStageIV.MatchString(str(st.Summary.Text))
		for _, cd := range st.Summary.Coding {
			if code, ok := codeIn(cd, sysSNOMED); ok && stageIVCodes[code] {
				iv = true
			}
			if code, ok := codeIn(cd, sysAJCC); ok && reAJCCStageIV.MatchString(code) {
				iv = true
			}
			iv = iv || reStageIV.MatchString(str(cd.Display))
		}
		if iv {
			sf := fin
			sf.Coding = firstCoding(st.Summary, sysSNOMED, sysAJCC)
			m.f.Metastases = append(m.f.Metastases, recommend.Metastasis{Kind: recommend.MetastasisDistant, Basis: "stage-group", Finding: sf})
			return
		}
	}
}

var (
	reDecompensated = regexp.MustCompile(`(^|[^a-z])(acute|decompensated|nyha (class )?(iii|iv|3|4)|class (iii|iv))($|[^a-z])`)
)

// comorbidity matches a condition code against table 2.8.
func (m *mapper) comorbidity(cc *r4.CodeableConcept, clin, verif string, src recommend.Source) {
	snomed, icd := condCodes(cc)
	text := ccAllText(cc)
	for _, rule := range comorbidityRules {
		hit, decomp := false, false
		for _, s := range snomed {
			for _, rs := range rule.snomed {
				hit = hit || s == rs
			}
		}
		for _, i := range icd {
			for _, p := range rule.prefixes {
				hit = hit || icdPrefix(i, p)
			}
			for _, d := range rule.decompensated {
				decomp = decomp || icdPrefix(i, d)
			}
		}
		if !hit && len(snomed)+len(icd) == 0 {
			hit = comorbidityText(rule.kind, text)
		}
		if !hit {
			continue
		}
		if reDecompensated.MatchString(text) {
			decomp = true
		}
		m.f.Comorbidities = append(m.f.Comorbidities, recommend.Comorbidity{
			Kind:          recommend.ComorbidityKind(rule.kind),
			Decompensated: decomp,
			Finding: recommend.Finding{Coding: firstCoding(cc, sysSNOMED, sysICD10CM, sysICD10), ClinicalStatus: clin,
				VerificationStatus: verif, Source: src},
		})
		// One group per condition, except that a specific group (long QT,
		// unstable angina, MI) does not hide the broader one.
		switch rule.kind {
		case "long-qt", "unstable-angina", "myocardial-infarction", "bradyarrhythmia":
			continue
		}
		return
	}
}

// comorbidityText matches a condition known only by text.
func comorbidityText(kind, t string) bool {
	switch kind {
	case "heart-failure":
		return strings.Contains(t, "heart failure")
	case "cardiomyopathy":
		return strings.Contains(t, "cardiomyopathy")
	case "long-qt":
		return strings.Contains(t, "long qt") || strings.Contains(t, "prolonged qt")
	case "ild":
		return strings.Contains(t, "interstitial lung") || strings.Contains(t, "pneumonitis")
	case "diabetes":
		return strings.Contains(t, "diabetes")
	case "liver-disease":
		return strings.Contains(t, "cirrhosis") || strings.Contains(t, "hepatic failure")
	case "myocardial-infarction":
		return strings.Contains(t, "myocardial infarction")
	}
	return false
}

// ---- procedures ----

const sysICD10PCS = "http://www.cms.gov/Medicare/Coding/ICD10"

var reOophorectomy = regexp.MustCompile(`bilateral (salpingo-?)?oophorectomy|(^|[^a-z])bso($|[^a-z])`)

func (m *mapper) procedure(r *Resource, p *r4.Procedure) {
	if statusOfResource(r) != "completed" || p.Code == nil {
		return
	}
	hit := false
	for _, c := range p.Code.Coding {
		if code, ok := codeIn(c, sysSNOMED); ok && oophorectomySNOMED[code] {
			hit = true
		}
		if code, ok := codeIn(c, sysICD10PCS); ok {
			for _, pre := range oophorectomyPCS {
				hit = hit || strings.HasPrefix(strings.ToUpper(code), pre)
			}
		}
	}
	if !hit && reOophorectomy.MatchString(ccAllText(p.Code)) {
		hit = true
	}
	if !hit {
		return
	}
	src := recommend.Source{Refs: []string{r.Ref()}, Date: firstNonEmpty(str(p.PerformedDateTime), periodStart(p.PerformedPeriod)), Status: "completed"}
	m.oophorectomy(firstCoding(p.Code, sysSNOMED), src)
}

// oophorectomy keeps the earliest record of a bilateral oophorectomy.
func (m *mapper) oophorectomy(c recommend.Coding, src recommend.Source) {
	e := &recommend.Event{Coding: c, Source: src}
	if o := m.f.Oophorectomy; o == nil || lessSource(e.Source, o.Source) && e.Source.Date != "" || o.Source.Date == "" && e.Source.Date != "" {
		m.f.Oophorectomy = e
	}
}

// ---- medications ----

// medConcept returns the medication's concept and, for a referenced
// Medication, its ingredients' concepts and the reference's display.
func (m *mapper) medConcept(r *Resource, cc *r4.CodeableConcept, ref *r4.Reference) (main *r4.CodeableConcept, more []r4.CodeableConcept, display string) {
	if cc != nil && (len(cc.Coding) > 0 || str(cc.Text) != "") {
		return cc, nil, ""
	}
	if ref == nil {
		return nil, nil, ""
	}
	display = str(ref.Display)
	target := str(ref.Reference)
	var med *r4.Medication
	if strings.HasPrefix(target, "#") {
		med = containedMedication(r.Raw, target[1:])
	} else if t := m.lookup(target); t != nil {
		med, _ = t.decoded.(*r4.Medication)
	}
	if med == nil {
		return nil, nil, display
	}
	for _, in := range med.Ingredient {
		if len(in.ItemCodeableConcept.Coding) > 0 || str(in.ItemCodeableConcept.Text) != "" {
			more = append(more, in.ItemCodeableConcept)
		}
	}
	return med.Code, more, display
}

// containedMedication finds a contained Medication by id (samply's models
// drop contained resources).
func containedMedication(raw []byte, id string) *r4.Medication {
	var w struct {
		Contained []json.RawMessage `json:"contained"`
	}
	if json.Unmarshal(raw, &w) != nil {
		return nil
	}
	for _, c := range w.Contained {
		var h struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
		}
		if json.Unmarshal(c, &h) != nil || h.ResourceType != "Medication" || h.ID != id {
			continue
		}
		med, err := r4.UnmarshalMedication(unescaped(c))
		if err != nil {
			return nil
		}
		return &med
	}
	return nil
}

func (m *mapper) medication(kind recommend.MedicationKind, r *Resource, cc *r4.CodeableConcept, ref *r4.Reference, src recommend.Source, start, end, reason string) {
	main, more, display := m.medConcept(r, cc, ref)
	var codings []r4.Coding
	texts := []string{display}
	if main != nil {
		codings = append(codings, main.Coding...)
		texts = append(texts, str(main.Text))
		for _, c := range main.Coding {
			texts = append(texts, str(c.Display))
		}
	}
	for i := range more {
		codings = append(codings, more[i].Coding...)
		texts = append(texts, str(more[i].Text))
		for _, c := range more[i].Coding {
			texts = append(texts, str(c.Display))
		}
	}
	med := recommend.Medication{
		Kind:   kind,
		Drugs:  matchDrugs(codings, texts...),
		Name:   firstNonEmpty(ccText(main), display),
		Coding: firstCoding(main, sysRxNorm),
		Status: src.Status,
		Start:  start,
		End:    end,
		Reason: reason,
		Source: src,
	}
	if main == nil {
		med.Coding = recommend.Coding{}
	}
	if med.Name == "" && len(more) > 0 {
		med.Name = ccText(&more[0])
	}
	if med.Name == "" && len(med.Drugs) == 0 && med.Coding.Code == "" {
		return
	}
	m.f.Medications = append(m.f.Medications, med)
}

func (m *mapper) medicationRequest(r *Resource, v *r4.MedicationRequest) {
	if notOrderIntents[v.Intent] {
		return
	}
	status := statusOfResource(r)
	src := recommend.Source{Refs: []string{r.Ref()}, Date: str(v.AuthoredOn), Status: status}
	start, end := "", ""
	for _, d := range v.DosageInstruction {
		if d.Timing != nil && d.Timing.Repeat != nil && d.Timing.Repeat.BoundsPeriod != nil {
			start = firstNonEmpty(start, periodStart(d.Timing.Repeat.BoundsPeriod))
			end = firstNonEmpty(end, periodEnd(d.Timing.Repeat.BoundsPeriod))
		}
	}
	if v.DispenseRequest != nil {
		start = firstNonEmpty(start, periodStart(v.DispenseRequest.ValidityPeriod))
		end = firstNonEmpty(end, periodEnd(v.DispenseRequest.ValidityPeriod))
	}
	start = firstNonEmpty(start, str(v.AuthoredOn))
	m.medication(recommend.MedRequest, r, &v.MedicationCodeableConcept, &v.MedicationReference, src, start, end, ccText(v.StatusReason))
}

func (m *mapper) medicationStatement(r *Resource, v *r4.MedicationStatement) {
	status := statusOfResource(r)
	start, end := firstNonEmpty(str(v.EffectiveDateTime), periodStart(v.EffectivePeriod)), periodEnd(v.EffectivePeriod)
	if start == "" && end == "" {
		// Oracle Health may state the period only in the dosage.
		for _, d := range v.Dosage {
			if d.Timing != nil && d.Timing.Repeat != nil && d.Timing.Repeat.BoundsPeriod != nil {
				start = firstNonEmpty(start, periodStart(d.Timing.Repeat.BoundsPeriod))
				end = firstNonEmpty(end, periodEnd(d.Timing.Repeat.BoundsPeriod))
			}
		}
	}
	src := recommend.Source{Refs: []string{r.Ref()}, Date: firstNonEmpty(start, str(v.DateAsserted)), Status: status}
	reason := ""
	if len(v.StatusReason) > 0 {
		reason = ccText(&v.StatusReason[0])
	}
	m.medication(recommend.MedStatement, r, &v.MedicationCodeableConcept, &v.MedicationReference, src, start, end, reason)
}

func (m *mapper) medicationAdministration(r *Resource, v *r4.MedicationAdministration) {
	status := statusOfResource(r)
	start, end := v.EffectiveDateTime, v.EffectiveDateTime
	if start == "" {
		start, end = periodStart(&v.EffectivePeriod), periodEnd(&v.EffectivePeriod)
	}
	src := recommend.Source{Refs: []string{r.Ref()}, Date: start, Status: status}
	reason := ""
	if len(v.StatusReason) > 0 {
		reason = ccText(&v.StatusReason[0])
	}
	m.medication(recommend.MedAdministration, r, &v.MedicationCodeableConcept, &v.MedicationReference, src, start, end, reason)
}

// ---- allergies ----

func (m *mapper) allergy(r *Resource, a *r4.AllergyIntolerance) {
	if a.Code == nil {
		return
	}
	clin, verif := ccCode(a.ClinicalStatus), ccCode(a.VerificationStatus)
	src := recommend.Source{Refs: []string{r.Ref()}, Date: firstNonEmpty(str(a.OnsetDateTime), str(a.RecordedDate)), Status: clin}
	texts := []string{str(a.Code.Text)}
	for _, c := range a.Code.Coding {
		texts = append(texts, str(c.Display))
	}
	al := recommend.Allergy{
		Drugs:     matchDrugs(a.Code.Coding, texts...),
		Substance: firstCoding(a.Code, sysRxNorm, sysSNOMED),
		Finding:   recommend.Finding{Coding: firstCoding(a.Code, sysRxNorm, sysSNOMED), ClinicalStatus: clin, VerificationStatus: verif, Source: src},
	}
	if a.Criticality != nil {
		al.Criticality = a.Criticality.Code()
	}
	all := strings.ToLower(strings.Join(texts, " "))
	seen := map[string]bool{}
	for word, class := range classNames {
		if strings.Contains(all, word) && !seen[class] {
			seen[class] = true
			al.Classes = append(al.Classes, class)
		}
	}
	sortStrings(al.Classes)
	m.f.Allergies = append(m.f.Allergies, al)
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
