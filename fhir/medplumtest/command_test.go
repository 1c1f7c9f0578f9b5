package medplumtest

import (
	"bytes"
	"context"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"testing"
	"time"
)

// buildMbcplan builds cmd/mbcplan into a temporary directory.
func buildMbcplan(t *testing.T) string {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := exec.LookPath(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			t.Fatal("the go command is needed to build cmd/mbcplan")
		}
	}
	bin := filepath.Join(t.TempDir(), "mbcplan")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, append(args, "github.com/mbcplan/mbcplan/cmd/mbcplan")...)
	begin := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/mbcplan: %v\n%s", err, out)
	}
	t.Logf("built cmd/mbcplan in %v", time.Since(begin).Round(time.Millisecond))
	return bin
}

// TestRecommendWriteDraft runs `mbcplan recommend --fhir-base … --write-draft`
// against Medplum, twice: one draft CarePlan, written in the EHR.
func TestRecommendWriteDraft(t *testing.T) {
	t.Parallel()
	lib := library(t)
	s := startMedplum(t)
	bin := buildMbcplan(t)
	sc := lib.Scenarios[0]
	loadOnly(t, s, sc)

	// The first run writes the draft; the second finds it (same inputs).
	written := []*regexp.Regexp{
		regexp.MustCompile(`draft CarePlan/([A-Za-z0-9.\-]+) written in the EHR`),
		regexp.MustCompile(`draft CarePlan/([A-Za-z0-9.\-]+) already there \(same inputs\) in the EHR`),
	}
	var first string
	for run := 1; run <= 2; run++ {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, bin, "recommend",
			"--fhir-base", s.URL, "--patient", sc.ID, "--patient-param", "reference",
			"--now", lib.AsOf.Format(time.DateOnly), "--write-draft")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		if err != nil {
			t.Fatalf("run %d: mbcplan recommend: %v\n%s", run, err, stderr.Bytes())
		}
		m := written[run-1].FindSubmatch(stderr.Bytes())
		if m == nil {
			t.Fatalf("run %d: stderr %q; want it to match %s", run, stderr.Bytes(), written[run-1])
		}
		if run == 1 {
			first = string(m[1])
		} else if string(m[1]) != first {
			t.Errorf("run 2 wrote CarePlan/%s; want the first run's CarePlan/%s again", m[1], first)
		}
	}

	r := call(t, s.Client, "GET", s.URL+"/CarePlan?subject=Patient/"+sc.ID, "")
	mustStatus(t, "search CarePlan", r, http.StatusOK)
	b := decode[bundle](t, r)
	if len(b.Entry) != 1 || b.Entry[0].Resource.ID != first || b.Entry[0].Resource.Status != "draft" {
		var got []string
		for _, e := range b.Entry {
			got = append(got, e.Resource.ID+" "+e.Resource.Status)
		}
		t.Errorf("CarePlans for %s: got %q; want only %s, a draft", sc.ID, got, first)
	}
}
