package recommend

// Plan is what the rules propose for one patient. Its JSON field names are
// stable: they are the plan API and the command line's output.
type Plan struct {
	// KnowledgeVersion identifies the rule set; KnowledgeDate its date.
	KnowledgeVersion string `json:"knowledgeVersion"`
	KnowledgeDate    string `json:"knowledgeDate"`
	// Generated is the date (YYYY-MM-DD) the plan was made for.
	Generated string `json:"generated"`

	Patient PatientSummary `json:"patient"`
	Subtype Subtype        `json:"subtype"`
	// Menopause is the menopausal status the rules used and how it was
	// established.
	Menopause MenopauseCall `json:"menopause"`
	Disease   DiseaseCall   `json:"disease"`
	// Pregnancy is the pregnancy status the rules used: "pregnant",
	// "not-pregnant" (a result within 7 days), "stale" (an older "not
	// pregnant") or "unknown" (S10, section 8).
	Pregnancy Call `json:"pregnancy"`

	// Regimens are the anticancer regimens found in the record, oldest first.
	Regimens []Regimen `json:"regimens,omitempty"`
	// Line is the line of therapy the options are for (1 = first line);
	// 0 when not determined.
	Line int `json:"line,omitempty"`
	// Continue is set when a current regimen is working: no new line is
	// proposed.
	Continue *ContinueCall `json:"continue,omitempty"`

	// Options are ranked, preferred first.
	Options []Option `json:"options"`
	// Removed lists options the final safety guard removed, with why.
	Removed []Removed `json:"removed,omitempty"`
	// NotProposed lists drugs or classes considered and not proposed, with
	// the reason (the CarePlan names them in a note).
	NotProposed []NotProposed `json:"notProposed,omitempty"`

	// SafetyFlags are all safety flags; each names the options it affects.
	SafetyFlags []Flag `json:"safetyFlags,omitempty"`
	// Monitoring, tests to order and referrals.
	Monitoring []Item `json:"monitoring,omitempty"`
	// DataNeeded lists missing, stale, conflicting or not-final data, with
	// what to order. Blocking items come first.
	DataNeeded []DataNeeded `json:"dataNeeded"`
	// Discordance lists receptor changes between specimens or over time (C02).
	Discordance []Discordance `json:"discordance,omitempty"`

	Lifestyle      []Item `json:"lifestyle,omitempty"`
	Trials         []Item `json:"trials,omitempty"`
	SharedDecision []Item `json:"sharedDecision,omitempty"`

	// Messages are plain-language explanations shown above the options
	// ("No metastatic disease is recorded: …").
	Messages []Message `json:"messages,omitempty"`

	// RulesFired lists, sorted, the IDs of every rule whose condition held
	// (including classification and safety rules that propose no option).
	RulesFired []string `json:"rulesFired,omitempty"`

	// Statements echoes the clinician's statements the plan used.
	Statements Statements `json:"statements"`
	// Record echoes what the reader skipped.
	Record RecordNotes `json:"record"`
}

// PatientSummary is what the banner and the CarePlan need.
type PatientSummary struct {
	Ref  string `json:"ref,omitempty"`
	Name string `json:"name,omitempty"`
	Sex  Sex    `json:"sex,omitempty"`
	// Age in whole years at the plan date; nil when the birth date is unknown.
	Age *int `json:"age,omitempty"`
}

// Call is one derived value with how it was reached.
type Call struct {
	// Value is the call ("positive", "negative", "unknown", …).
	Value string `json:"value"`
	// Basis explains how it was reached, in plain words.
	Basis string `json:"basis,omitempty"`
	// Rules are the rule IDs applied (C01–C04).
	Rules []string `json:"rules,omitempty"`
	Source
}

// Subtype is the receptor-based subtype call.
type Subtype struct {
	ER   Call `json:"er"`
	PR   Call `json:"pr"`
	HER2 Call `json:"her2"`
	// HR is "positive", "negative" or "unknown" (ER or PR positive = positive).
	HR Call `json:"hr"`
	// HER2Low is "yes", "no" or "unknown"; HER2Ultralow likewise.
	HER2Low      Call `json:"her2Low"`
	HER2Ultralow Call `json:"her2Ultralow"`
	// ERLow is true when ER is 1–10% (C01): endocrine benefit uncertain.
	ERLow bool `json:"erLow,omitempty"`
	// Name is the subtype: "HR+/HER2-", "HER2+", "TNBC" or "unknown".
	Name string `json:"name"`
	// Summary is one line for the clinician.
	Summary string `json:"summary"`
}

// MenopauseCall is the menopausal status used by the rules.
type MenopauseCall struct {
	// Status is "premenopausal", "perimenopausal", "postmenopausal",
	// "male" or "unknown".
	Status string `json:"status"`
	// Basis: "recorded", "oophorectomy", "age ≥ 60", "clinician", "sex", or
	// "" when unknown.
	Basis string `json:"basis,omitempty"`
	// TreatAsPremenopausal is set when OFS must accompany AIs/SERDs (C06).
	TreatAsPremenopausal bool `json:"treatAsPremenopausal,omitempty"`
	Source
}

// DiseaseCall says whether metastatic disease is established.
type DiseaseCall struct {
	Metastatic bool   `json:"metastatic"`
	Basis      string `json:"basis,omitempty"`
	// Sites are the metastatic sites found ("bone", "liver", …).
	Sites    []string `json:"sites,omitempty"`
	Visceral bool     `json:"visceral,omitempty"`
	// FirstRecorded is the earliest date metastatic disease was recorded.
	FirstRecorded string `json:"firstRecorded,omitempty"`
	Source
}

// Regimen is a group of anticancer drugs started within 28 days.
type Regimen struct {
	Drugs   []string `json:"drugs"`
	Classes []string `json:"classes,omitempty"`
	Start   string   `json:"start,omitempty"`
	End     string   `json:"end,omitempty"`
	// Setting is "adjuvant" (before metastatic disease) or "metastatic".
	Setting string `json:"setting,omitempty"`
	// Line is the metastatic line number, 0 for adjuvant.
	Line    int  `json:"line,omitempty"`
	Current bool `json:"current,omitempty"`
	// Progression is set when progression was recorded after its start.
	Progression bool   `json:"progression,omitempty"`
	Status      string `json:"status,omitempty"`
	Source
}

// ContinueCall says to continue a working regimen.
type ContinueCall struct {
	Regimen Regimen  `json:"regimen"`
	Text    string   `json:"text"`
	Rules   []string `json:"rules,omitempty"`
}

// Strength is a guideline's grading, copied in the source's own scheme.
type Evidence struct {
	RuleID string `json:"ruleId"`
	Source string `json:"source"`
	Year   int    `json:"year,omitempty"`
	// Strength as the source grades it ("EB, H, Strong", "I/A", "label").
	Strength string `json:"strength,omitempty"`
	// Checked is true when the statement was read in a stored source (✔);
	// false rules are shown as "guideline status to confirm" (†).
	Checked bool `json:"checked"`
}

// Drug is one drug of a proposed regimen.
type Drug struct {
	Name string `json:"name"`
	// RxNorm is the verified ingredient RXCUI, empty when not verified (the
	// drug is then written by name only).
	RxNorm  string   `json:"rxnorm,omitempty"`
	Classes []string `json:"classes,omitempty"`
	// Choice groups alternatives: drugs of an option with the same non-empty
	// Choice are "one of" (e.g. letrozole or anastrozole); drugs with an
	// empty Choice are all given.
	Choice string `json:"choice,omitempty"`
}

// FactUse is one fact an option relied on.
type FactUse struct {
	Fact string `json:"fact"`
	Source
}

// Option is one proposed regimen or action.
type Option struct {
	// ID is stable for the same inputs ("H02-ai-cdk46"); the UI and the
	// command line choose options by it.
	ID   string `json:"id"`
	Rank int    `json:"rank"`
	// Preferred marks the guideline-preferred option(s).
	Preferred bool   `json:"preferred,omitempty"`
	Title     string `json:"title"`
	// Category: "endocrine", "endocrine+cdk46", "her2", "chemotherapy",
	// "adc", "targeted", "parp", "immunotherapy", "continue", "supportive".
	Category string `json:"category"`
	Line     int    `json:"line,omitempty"`
	Drugs    []Drug `json:"drugs"`
	// Schedule is a quoted ✔ schedule, or "per label".
	Schedule  string     `json:"schedule,omitempty"`
	Rationale string     `json:"rationale"`
	Rules     []string   `json:"rules"`
	FactsUsed []FactUse  `json:"factsUsed,omitempty"`
	Evidence  []Evidence `json:"evidence"`
	// Flags are the safety flags attached to this option.
	Flags      []Flag `json:"flags,omitempty"`
	Monitoring []Item `json:"monitoring,omitempty"`
}

// Severity of a safety flag.
type Severity string

const (
	SeverityInfo    Severity = "info"
	SeverityCaution Severity = "caution"
	// SeverityBlock: the option must not start until resolved.
	SeverityBlock Severity = "block"
)

// Flag is a safety flag.
type Flag struct {
	ID string `json:"id"`
	// Kind: "cardiac", "qt", "liver", "neutropenia", "ild", "glucose",
	// "renal", "allergy", "pregnancy", "interaction", "diarrhea",
	// "performance".
	Kind     string   `json:"kind"`
	Severity Severity `json:"severity"`
	Text     string   `json:"text"`
	Rules    []string `json:"rules"`
	// Options are the IDs of the options the flag affects.
	Options []string `json:"options,omitempty"`
	Source
}

// Item is a monitoring step, test, referral, lifestyle, trial or
// shared-decision item.
type Item struct {
	ID string `json:"id"`
	// Kind: "monitoring", "test", "referral", "lifestyle", "trial",
	// "shared-decision", "supportive".
	Kind  string   `json:"kind"`
	Text  string   `json:"text"`
	Rules []string `json:"rules"`
	// Code is the LOINC or SNOMED code to order, when there is one.
	Code *Coding `json:"code,omitempty"`
	// Options are the IDs of the options the item belongs to (empty = all).
	Options  []string   `json:"options,omitempty"`
	Evidence []Evidence `json:"evidence,omitempty"`
}

// DataNeeded is a fact the plan needs and does not have.
type DataNeeded struct {
	ID string `json:"id"`
	// Item names the missing fact ("HER2 status").
	Item string `json:"item"`
	// Why says what it blocks or changes.
	Why string `json:"why"`
	// Reason: "missing", "conflicting", "not-final", "stale", "unparseable",
	// "uncertain".
	Reason string `json:"reason"`
	// Order is what to order, when a test answers it.
	Order *Coding `json:"order,omitempty"`
	// Blocking is true when a decision waits for it.
	Blocking bool     `json:"blocking,omitempty"`
	Rules    []string `json:"rules,omitempty"`
	Source
}

// Discordance is a receptor change between results (C02).
type Discordance struct {
	Marker string `json:"marker"`
	Text   string `json:"text"`
	// Earlier and Later are the results compared.
	Earlier Call `json:"earlier"`
	Later   Call `json:"later"`
}

// Removed is an option the final safety guard removed.
type Removed struct {
	OptionID string `json:"optionId"`
	Title    string `json:"title"`
	Reason   string `json:"reason"`
	// Gate names the section 8 safety gate ("pregnancy", "her2-negative", …).
	Gate string `json:"gate"`
}

// NotProposed is a drug or class considered and not proposed.
type NotProposed struct {
	Drug   string   `json:"drug"`
	Reason string   `json:"reason"`
	Rules  []string `json:"rules,omitempty"`
}

// Message is a plain-language explanation.
type Message struct {
	// Level: "info", "warning", "stop".
	Level string   `json:"level"`
	Text  string   `json:"text"`
	Rules []string `json:"rules,omitempty"`
}
