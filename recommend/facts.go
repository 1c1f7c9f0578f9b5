// Package recommend holds the clinical domain of mbcplan: the facts read from
// a patient's record (Facts), the guideline rule table, and the plan the rules
// produce (Plan). It is pure: no I/O, no clock (callers pass now), no logging.
//
// Zero values mean "unknown" throughout. A fact that was not found is never
// defaulted: the rules turn it into a "data needed" item.
//
// References to FHIR resources are opaque strings ("Observation/123",
// "urn:uuid:…"); this package never parses them.
package recommend

// Facts is everything the rules may use about one patient, each fact with the
// references and dates of the resources it came from. The fhir package builds
// it from a record; the clinician may add Statements.
type Facts struct {
	Patient Patient `json:"patient"`

	// Receptor results, one entry per result read (all of them, oldest first,
	// after status filtering). The rules choose the governing result (C02).
	ER   []ReceptorResult `json:"er,omitempty"`
	PR   []ReceptorResult `json:"pr,omitempty"`
	HER2 []HER2Result     `json:"her2,omitempty"`
	// HRCombined are combined ER+PR results (LOINC 10480-2): positive
	// means ER or PR is positive, without saying which.
	HRCombined []ReceptorResult `json:"hrCombined,omitempty"`

	// Menopause holds recorded menopausal-status observations, oldest first.
	Menopause []MenopauseResult `json:"menopause,omitempty"`
	// Oophorectomy is a recorded bilateral oophorectomy, if any.
	Oophorectomy *Event `json:"oophorectomy,omitempty"`

	Pregnancy []PregnancyResult `json:"pregnancy,omitempty"`
	ECOG      []ScoreResult     `json:"ecog,omitempty"`
	Karnofsky []ScoreResult     `json:"karnofsky,omitempty"`
	LVEF      []Measurement     `json:"lvef,omitempty"`
	Labs      []Lab             `json:"labs,omitempty"`

	// Cancer is the primary breast cancer Condition(s), for CarePlan.addresses.
	Cancer []Finding `json:"cancer,omitempty"`
	// Metastases are distant-metastasis findings: Conditions (table 2.7),
	// stage group IV and M1 observations. Findings that may be regional or
	// distant (C77.3, C79.81, …) have Kind MetastasisUncertain.
	Metastases []Metastasis `json:"metastases,omitempty"`
	// Comorbidities matched against the code lists of table 2.8.
	Comorbidities []Comorbidity `json:"comorbidities,omitempty"`

	// Medications are every medication order, statement or administration
	// read, anticancer or not (co-medications matter for S04 and S12).
	Medications []Medication `json:"medications,omitempty"`
	// DiseaseStatus holds cancer disease status observations (progression).
	DiseaseStatus []DiseaseStatus `json:"diseaseStatus,omitempty"`

	Allergies []Allergy    `json:"allergies,omitempty"`
	Variants  []Variant    `json:"variants,omitempty"`
	PDL1      []PDL1Result `json:"pdl1,omitempty"`

	// Statements are what the clinician stated in the app (section 8).
	Statements Statements `json:"statements"`

	// Record describes what the reader could not use.
	Record RecordNotes `json:"record"`
}

// Source says where a fact came from.
type Source struct {
	// Refs are the FHIR references of the resources behind the fact.
	Refs []string `json:"refs,omitempty"`
	// Date is the clinically relevant date (effective, onset, performed,
	// authored) as written in the resource: YYYY, YYYY-MM, YYYY-MM-DD or a
	// full dateTime. Empty when the resource gives none.
	Date string `json:"date,omitempty"`
	// Status is the resource's status as written (final, preliminary, …).
	// Its JSON name differs from the results' own "status" (the call), which
	// would otherwise hide it.
	Status string `json:"resourceStatus,omitempty"`
	// StatedByClinician marks a fact the clinician stated in the app.
	StatedByClinician bool `json:"statedByClinician,omitempty"`
}

// Coding is a code from a code system, with its display text.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// Sex is administrative gender as the record gives it.
type Sex string

const (
	SexUnknown Sex = ""
	SexFemale  Sex = "female"
	SexMale    Sex = "male"
	SexOther   Sex = "other"
)

// Patient is the patient in context.
type Patient struct {
	// Ref is "Patient/{id}" (or the fullUrl of a Bundle entry).
	Ref string `json:"ref,omitempty"`
	// Name is for the banner only; it is PHI and never logged.
	Name      string `json:"name,omitempty"`
	Sex       Sex    `json:"sex,omitempty"`
	BirthDate string `json:"birthDate,omitempty"`
	// Deceased is true when the record says the patient has died.
	Deceased bool `json:"deceased,omitempty"`
}

// ReceptorStatus is a normalised receptor call.
type ReceptorStatus string

const (
	ReceptorUnknown   ReceptorStatus = ""
	ReceptorPositive  ReceptorStatus = "positive"
	ReceptorNegative  ReceptorStatus = "negative"
	ReceptorEquivocal ReceptorStatus = "equivocal"
)

// SpecimenSite says whether a result was obtained on the primary tumour or on
// a metastasis.
type SpecimenSite string

const (
	SpecimenUnknown    SpecimenSite = ""
	SpecimenPrimary    SpecimenSite = "primary"
	SpecimenMetastatic SpecimenSite = "metastatic"
)

// ReceptorResult is one ER or PR result.
type ReceptorResult struct {
	Status ReceptorStatus `json:"status,omitempty"`
	// Percent is the share of positive nuclei when reported (0–100).
	Percent *float64 `json:"percent,omitempty"`
	// Allred is the Allred total score (0–8) when reported.
	Allred *int `json:"allred,omitempty"`
	// Method says how the status was read: "coded", "interpretation",
	// "percent", "allred", "text", "condition", "clinician".
	Method string `json:"method,omitempty"`
	// Text is the value as the record shows it ("Positive (95%)").
	Text     string       `json:"text,omitempty"`
	Specimen SpecimenSite `json:"specimen,omitempty"`
	// SpecimenRef identifies the specimen, to tell same-specimen results apart.
	SpecimenRef string `json:"specimenRef,omitempty"`
	// Final is true for final, amended and corrected results only.
	Final bool `json:"final,omitempty"`
	Source
}

// IHCScore is a HER2 immunohistochemistry score.
type IHCScore string

const (
	IHCUnknown IHCScore = ""
	IHC0       IHCScore = "0"
	IHC1       IHCScore = "1+"
	IHC2       IHCScore = "2+"
	IHC3       IHCScore = "3+"
)

// HER2Result is one HER2 result: an IHC score, an ISH result, a final call,
// or several of these from one report.
type HER2Result struct {
	// Status is the final call when the result states one (interpretation,
	// coded answer, text); unknown when only an IHC score or ISH numbers are
	// given (the rules apply ASCO/CAP 2018).
	Status ReceptorStatus `json:"status,omitempty"`
	IHC    IHCScore       `json:"ihc,omitempty"`
	// Staining describes IHC 0 when the report does: "absent" (HER2-0/null)
	// or "faint" (faint incomplete staining in ≤10%: ultralow).
	Staining string `json:"staining,omitempty"`
	// ISH is the ISH result when stated (positive = amplified).
	ISH ReceptorStatus `json:"ish,omitempty"`
	// Ratio is the HER2/CEP17 ratio; CopyNumber the mean HER2 copies per cell.
	Ratio       *float64     `json:"ratio,omitempty"`
	CopyNumber  *float64     `json:"copyNumber,omitempty"`
	Method      string       `json:"method,omitempty"`
	Text        string       `json:"text,omitempty"`
	Specimen    SpecimenSite `json:"specimen,omitempty"`
	SpecimenRef string       `json:"specimenRef,omitempty"`
	Final       bool         `json:"final,omitempty"`
	Source
}

// MenopausalStatus is a recorded menopausal status.
type MenopausalStatus string

const (
	MenopauseUnknown MenopausalStatus = ""
	Premenopausal    MenopausalStatus = "premenopausal"
	Perimenopausal   MenopausalStatus = "perimenopausal"
	Postmenopausal   MenopausalStatus = "postmenopausal"
	// MenopauseInduced is an artificial (chemotherapy- or OFS-induced) state:
	// not a reliable postmenopausal status.
	MenopauseInduced MenopausalStatus = "induced"
)

// MenopauseResult is one recorded menopausal-status observation.
type MenopauseResult struct {
	Status MenopausalStatus `json:"status,omitempty"`
	Text   string           `json:"text,omitempty"`
	Final  bool             `json:"final,omitempty"`
	Source
}

// Event is something that happened on a date (a procedure).
type Event struct {
	Coding Coding `json:"coding"`
	Source
}

// PregnancyStatus is a recorded pregnancy status.
type PregnancyStatus string

const (
	PregnancyUnknown PregnancyStatus = ""
	Pregnant         PregnancyStatus = "pregnant"
	NotPregnant      PregnancyStatus = "not-pregnant"
)

// PregnancyResult is a pregnancy status observation, hCG test or condition.
type PregnancyResult struct {
	Status PregnancyStatus `json:"status,omitempty"`
	Text   string          `json:"text,omitempty"`
	Final  bool            `json:"final,omitempty"`
	Source
}

// ScoreResult is an integer score (ECOG 0–5, Karnofsky 0–100).
type ScoreResult struct {
	Value *int `json:"value,omitempty"`
	Final bool `json:"final,omitempty"`
	Source
}

// Measurement is a numeric result such as LVEF in percent.
type Measurement struct {
	Value *float64 `json:"value,omitempty"`
	// Comparator qualifies Value when the result is a bound: "<", "<=",
	// ">=", ">" ("<40 %" is Value 40 with Comparator "<").
	Comparator string `json:"comparator,omitempty"`
	Unit       string `json:"unit,omitempty"`
	Final      bool   `json:"final,omitempty"`
	Source
}

// LabKind names the laboratory tests the rules use.
type LabKind string

const (
	LabALT            LabKind = "alt"
	LabAST            LabKind = "ast"
	LabBilirubin      LabKind = "bilirubin"
	LabANC            LabKind = "anc"
	LabHbA1c          LabKind = "hba1c"
	LabGlucose        LabKind = "glucose"
	LabFastingGlucose LabKind = "fasting-glucose"
	LabCreatinine     LabKind = "creatinine"
	LabEGFR           LabKind = "egfr"
	LabPotassium      LabKind = "potassium"
	LabMagnesium      LabKind = "magnesium"
)

// RangeFlag says where a lab value lies against its reference range.
type RangeFlag string

const (
	RangeUnknown RangeFlag = "" // no interpretation and no reference range
	RangeNormal  RangeFlag = "normal"
	RangeHigh    RangeFlag = "high"
	RangeLow     RangeFlag = "low"
)

// Lab is one laboratory result.
type Lab struct {
	Kind  LabKind   `json:"kind"`
	Value *float64  `json:"value,omitempty"`
	Unit  string    `json:"unit,omitempty"`
	Flag  RangeFlag `json:"flag,omitempty"`
	Final bool      `json:"final,omitempty"`
	Source
}

// Finding is a coded Condition or Observation.
type Finding struct {
	Coding Coding `json:"coding"`
	// ClinicalStatus and VerificationStatus are the Condition's codes as
	// written (active, remission, resolved, …; confirmed, provisional, …).
	ClinicalStatus     string `json:"clinicalStatus,omitempty"`
	VerificationStatus string `json:"verificationStatus,omitempty"`
	Source
}

// MetastasisKind classifies a metastasis finding.
type MetastasisKind string

const (
	// MetastasisDistant establishes distant metastatic disease.
	MetastasisDistant MetastasisKind = "distant"
	// MetastasisUncertain may be regional or distant (C77.3, C77.0, C77.1,
	// C77.8, C77.9, C79.2, C79.81): "data needed: distant metastasis?".
	MetastasisUncertain MetastasisKind = "uncertain"
	// MetastasisNone is an explicit M0 or "no metastasis" finding.
	MetastasisNone MetastasisKind = "none"
)

// Metastasis is one finding about distant spread.
type Metastasis struct {
	Kind MetastasisKind `json:"kind"`
	// Site is "bone", "liver", "lung", "brain", "pleura", "lymph-node",
	// "skin", "breast", "other" or "" when not stated (stage IV, M1).
	Site string `json:"site,omitempty"`
	// Visceral is true for liver, lung, pleura, brain, peritoneum and other
	// organ metastases.
	Visceral bool `json:"visceral,omitempty"`
	// Basis is "condition", "stage-group", "m-category".
	Basis string `json:"basis,omitempty"`
	Finding
}

// ComorbidityKind names the comorbidity groups the rules use.
type ComorbidityKind string

const (
	HeartFailure      ComorbidityKind = "heart-failure"
	Cardiomyopathy    ComorbidityKind = "cardiomyopathy"
	CoronaryDisease   ComorbidityKind = "coronary-disease" // CAD, angina
	MyocardialInfarct ComorbidityKind = "myocardial-infarction"
	UnstableAngina    ComorbidityKind = "unstable-angina"
	Hypertension      ComorbidityKind = "hypertension"
	Arrhythmia        ComorbidityKind = "arrhythmia"
	Bradyarrhythmia   ComorbidityKind = "bradyarrhythmia"
	LongQT            ComorbidityKind = "long-qt"
	LiverDisease      ComorbidityKind = "liver-disease"
	ILD               ComorbidityKind = "ild" // interstitial lung disease or pneumonitis
	Neutropenia       ComorbidityKind = "neutropenia"
	Diabetes          ComorbidityKind = "diabetes"
	RenalImpairment   ComorbidityKind = "renal-impairment"
	Anxiety           ComorbidityKind = "anxiety"
	Depression        ComorbidityKind = "depression"
	PregnancyState    ComorbidityKind = "pregnancy" // a pregnancy Condition (Z33.1, …)
)

// Comorbidity is a Condition matched to a comorbidity group.
type Comorbidity struct {
	Kind ComorbidityKind `json:"kind"`
	// Decompensated is true when the code or text says acute, decompensated
	// or symptomatic (for heart failure: NYHA III–IV).
	Decompensated bool `json:"decompensated,omitempty"`
	Finding
}

// MedicationKind says which resource recorded a medication.
type MedicationKind string

const (
	MedRequest        MedicationKind = "request"
	MedStatement      MedicationKind = "statement"
	MedAdministration MedicationKind = "administration"
)

// Medication is one medication order, statement or administration.
type Medication struct {
	Kind MedicationKind `json:"kind"`
	// Drugs are the canonical drug names matched from rxnorm-drug-sets.json
	// or by name ("trastuzumab", "pertuzumab"); empty for other drugs. A
	// combination product yields several.
	Drugs []string `json:"drugs,omitempty"`
	// Name is the medication's text as the record shows it.
	Name   string `json:"name,omitempty"`
	Coding Coding `json:"coding"`
	// Status is the resource's status as written (active, completed,
	// stopped, on-hold, cancelled, …).
	Status string `json:"status,omitempty"`
	// Start and End bound the period the drug was (to be) given, as written.
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
	// Reason is a status reason or stop reason as text, when given.
	Reason string `json:"reason,omitempty"`
	Source
}

// DiseaseStatusValue is a cancer disease status answer.
type DiseaseStatusValue string

const (
	DiseaseStatusUnknown DiseaseStatusValue = ""
	DiseaseWorsened      DiseaseStatusValue = "worsened"
	DiseaseImproved      DiseaseStatusValue = "improved"
	DiseaseStable        DiseaseStatusValue = "stable"
	DiseaseNotDetected   DiseaseStatusValue = "not-detected"
	DiseaseUndetermined  DiseaseStatusValue = "undetermined"
)

// DiseaseStatus is one cancer disease status observation.
type DiseaseStatus struct {
	Value DiseaseStatusValue `json:"value,omitempty"`
	Final bool               `json:"final,omitempty"`
	Source
}

// Allergy is an AllergyIntolerance.
type Allergy struct {
	// Drugs are canonical drug names matched from the substance, if any.
	Drugs []string `json:"drugs,omitempty"`
	// Classes are drug classes named by the substance (e.g. "taxane").
	Classes     []string `json:"classes,omitempty"`
	Substance   Coding   `json:"substance"`
	Criticality string   `json:"criticality,omitempty"`
	Finding
}

// VariantStatus says whether a genomic alteration was found.
type VariantStatus string

const (
	VariantUnknown  VariantStatus = ""
	VariantDetected VariantStatus = "detected"
	VariantAbsent   VariantStatus = "not-detected"
)

// Variant is a genomic test result for one gene.
type Variant struct {
	// Gene is the HGNC symbol: PIK3CA, ESR1, AKT1, PTEN, BRCA1, BRCA2, PALB2, ERBB2.
	Gene   string        `json:"gene"`
	Status VariantStatus `json:"status,omitempty"`
	// Origin is "germline", "somatic" or "" when not stated.
	Origin string `json:"origin,omitempty"`
	// Pathogenic is false for variants of uncertain significance or benign.
	Pathogenic *bool  `json:"pathogenic,omitempty"`
	Text       string `json:"text,omitempty"`
	Final      bool   `json:"final,omitempty"`
	Source
}

// PDL1Result is a PD-L1 combined positive score.
type PDL1Result struct {
	// CPS is the combined positive score when a number was read.
	CPS *float64 `json:"cps,omitempty"`
	// Comparator qualifies CPS: "", "<", "<=", ">=", ">".
	Comparator string `json:"comparator,omitempty"`
	Text       string `json:"text,omitempty"`
	Final      bool   `json:"final,omitempty"`
	Source
}

// Statements are what the clinician stated in the app (REFERENCE.md section
// 8). A nil pointer means "not stated".
type Statements struct {
	ER   *ReceptorStatus `json:"er,omitempty"`
	PR   *ReceptorStatus `json:"pr,omitempty"`
	HER2 *ReceptorStatus `json:"her2,omitempty"`
	// HER2IHC is an IHC score from a pathology report ("0", "1+", "2+", "3+").
	HER2IHC *IHCScore `json:"her2Ihc,omitempty"`
	// VisceralCrisis is C08.
	VisceralCrisis *bool `json:"visceralCrisis,omitempty"`
	// Progression on the current regimen.
	Progression *bool `json:"progression,omitempty"`
	// QTcF in milliseconds (S04).
	QTcF *float64 `json:"qtcf,omitempty"`
	// OFSDeclined: ovarian function suppression declined (H04).
	OFSDeclined *bool `json:"ofsDeclined,omitempty"`
	// CDK46Unsuitable: a CDK4/6 inhibitor is unsuitable (H06).
	CDK46Unsuitable *bool `json:"cdk46Unsuitable,omitempty"`
	// Pregnancy status.
	Pregnancy *PregnancyStatus `json:"pregnancy,omitempty"`
	// Date is when the statements were made (YYYY-MM-DD or dateTime); the
	// QTcF statement ages from it.
	Date string `json:"date,omitempty"`
}

// RecordNotes lists what the reader skipped or dropped.
type RecordNotes struct {
	// Skipped are resources that could not be used, each with its reason.
	Skipped []Skipped `json:"skipped,omitempty"`
	// OtherSubject counts resources about someone other than the patient in
	// context, dropped by the reader.
	OtherSubject int `json:"otherSubject,omitempty"`
	// NotFinal lists results shown but not used because they are not final.
	NotFinal []string `json:"notFinal,omitempty"`
}

// Skipped is one resource that could not be used.
type Skipped struct {
	// Resource is "Observation/123" or "entry 4" when no id could be read.
	Resource string `json:"resource"`
	// Reason is a safe summary (no resource content).
	Reason string `json:"reason"`
}
