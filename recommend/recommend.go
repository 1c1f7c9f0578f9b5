package recommend

import "time"

// KnowledgeVersion identifies the rule set written into every plan and draft.
const (
	KnowledgeVersion = "mbcplan-rules-2026.11"
	KnowledgeDate    = "2026-11-25"
)

// Settings are the deployment choices the rules depend on.
type Settings struct {
	// LVEFThresholds selects the trastuzumab hold thresholds (S01): "us"
	// (the default) or "eu".
	LVEFThresholds string `json:"lvefThresholds,omitempty"`
}

// Recommend applies the rule table to f as of now and returns the plan.
// It is deterministic: the same facts, now and settings give the same plan.
func Recommend(f Facts, now time.Time, s Settings) Plan {
	// Placeholder until the rule table lands (issue 4).
	return Plan{
		KnowledgeVersion: KnowledgeVersion,
		KnowledgeDate:    KnowledgeDate,
		Generated:        now.UTC().Format("2006-01-02"),
		Patient:          PatientSummary{Ref: f.Patient.Ref, Name: f.Patient.Name, Sex: f.Patient.Sex},
		Options:          []Option{},
		DataNeeded:       []DataNeeded{},
		Statements:       f.Statements,
		Record:           f.Record,
	}
}
