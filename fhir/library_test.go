package fhir

import (
	"errors"
	"testing"

	"github.com/mbcplan/mbcplan/fhir/fhirtest"
	"github.com/mbcplan/mbcplan/recommend"
)

// loadLibrary loads testdata/patients, skipping when it is absent.
func loadLibrary(t testing.TB) *fhirtest.Library {
	t.Helper()
	dir, err := fhirtest.LibraryDir()
	if errors.Is(err, fhirtest.ErrNoLibrary) {
		t.Skip("testdata/patients not found")
	}
	if err != nil {
		t.Fatal(err)
	}
	lib, err := fhirtest.LoadLibrary(dir)
	if err != nil {
		t.Fatal(err)
	}
	return lib
}

// policySkip reports a resource dropped by status policy rather than for
// being malformed (the library's skipped counts leave those out).
func policySkip(s recommend.Skipped) bool {
	return s.Reason == "entered in error" || s.Reason == "cancelled"
}

// TestPatientLibraryRawFacts checks that every library patient maps to the
// raw facts its expectations state: sex, skipped and other-subject counts,
// the presence of final receptor results, and a distant-metastasis finding.
// Derived calls (HER2-low, menopause, line) are the recommend package's job.
func TestPatientLibraryRawFacts(t *testing.T) {
	lib := loadLibrary(t)
	for _, sc := range lib.Scenarios {
		t.Run(sc.ID+" "+sc.Title, func(t *testing.T) {
			rec, err := RecordFromBundle(sc.Bundle)
			if err != nil {
				t.Fatalf("RecordFromBundle(%s): %v", sc.File, err)
			}
			f := MapFacts(rec)
			want := sc.Expect
			if got := string(f.Patient.Sex); got != want.Facts.Sex {
				t.Errorf("sex = %q; want %q", got, want.Facts.Sex)
			}
			malformed := 0
			for _, s := range f.Record.Skipped {
				if !policySkip(s) {
					malformed++
				}
			}
			if malformed != want.Skipped {
				t.Errorf("skipped %v; want %d malformed", f.Record.Skipped, want.Skipped)
			}
			if f.Record.OtherSubject != want.OtherSubject {
				t.Errorf("other subject = %d; want %d", f.Record.OtherSubject, want.OtherSubject)
			}
			checkReceptor(t, "ER", f.ER, want.Facts.ER)
			checkReceptor(t, "PR", f.PR, want.Facts.PR)
			switch want.Facts.HER2 {
			case "positive", "negative":
				if !anyFinalHER2(f.HER2) {
					t.Errorf("HER2 = %+v; want a final HER2 result (%s)", f.HER2, want.Facts.HER2)
				}
			}
			distant := false
			for _, m := range f.Metastases {
				if m.Kind == recommend.MetastasisDistant {
					distant = true
				}
			}
			if distant != want.Facts.Metastatic {
				t.Errorf("distant metastasis finding = %v (%+v); want %v", distant, f.Metastases, want.Facts.Metastatic)
			}
			if want.Facts.Pregnant && len(f.Pregnancy) == 0 && !hasComorbidity(f, recommend.PregnancyState) {
				t.Errorf("no pregnancy record read; want one")
			}
		})
	}
}

func checkReceptor(t *testing.T, name string, got []recommend.ReceptorResult, want string) {
	t.Helper()
	if want != "positive" && want != "negative" {
		return
	}
	for _, r := range got {
		if r.Final && string(r.Status) == want {
			return
		}
	}
	t.Errorf("%s = %+v; want a final %s result", name, got, want)
}

func anyFinalHER2(rs []recommend.HER2Result) bool {
	for _, r := range rs {
		if r.Final && (r.Status != recommend.ReceptorUnknown || r.IHC != recommend.IHCUnknown || r.ISH != recommend.ReceptorUnknown || r.Ratio != nil) {
			return true
		}
	}
	return false
}

func hasComorbidity(f recommend.Facts, k recommend.ComorbidityKind) bool {
	for _, c := range f.Comorbidities {
		if c.Kind == k {
			return true
		}
	}
	return false
}
