package main

// Browser tests of the clinician's screen: headless Chromium driven with
// chromedp against `mbcplan serve` and its sandbox EHR. In CI (CI=true) a
// missing Chromium fails the tests; elsewhere they skip.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// uiTimeout bounds each browser test; a step that waits for an element that
// never comes fails at this deadline rather than hanging.
const uiTimeout = 2 * time.Minute

// chromiumPath finds Chromium, or skips (fails in CI) with what to install.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("Chromium is not installed; CI must run the browser tests: apt-get install chromium")
	}
	t.Skip("Chromium not found; install it to run the browser tests: apt-get install chromium")
	return ""
}

// tab is one browser tab and what its page logged.
type tab struct {
	ctx     context.Context
	base    context.Context // ctx without the test's deadline, for reports
	mu      sync.Mutex
	console []string
	logged  chan struct{} // closed and replaced when a message is kept
}

// newBrowser starts headless Chromium with a fresh profile and returns its
// first tab. The browser stops when the test ends.
func newBrowser(t *testing.T) *tab {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start Chromium: %v", err)
	}
	tb := &tab{ctx: ctx, base: ctx}
	tb.watchConsole()
	// Each step shares the test's deadline.
	dctx, dcancel := context.WithTimeout(ctx, uiTimeout)
	t.Cleanup(dcancel)
	tb.ctx = dctx
	return tb
}

// newTab opens another tab in the same browser profile.
func (tb *tab) newTab(t *testing.T) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(tb.ctx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a second tab: %v", err)
	}
	nt := &tab{ctx: ctx, base: ctx}
	nt.watchConsole()
	return nt
}

// watchConsole keeps the page's console errors and uncaught exceptions
// (CSP violations among them).
func (tb *tab) watchConsole() {
	tb.logged = make(chan struct{})
	msgs := chromedp.Console(tb.ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if strings.HasSuffix(m.URL, "/favicon.ico") {
				continue // the sandbox launcher has no icon
			}
			if m.IsException() || m.Type == "error" {
				tb.mu.Lock()
				tb.console = append(tb.console, m.String()+" ("+m.URL+")")
				close(tb.logged)
				tb.logged = make(chan struct{})
				tb.mu.Unlock()
			}
		}
	}()
}

// waitConsole waits until the page logs an error containing substr.
func (tb *tab) waitConsole(t *testing.T, substr string) {
	t.Helper()
	for {
		tb.mu.Lock()
		for _, m := range tb.console {
			if strings.Contains(m, substr) {
				tb.mu.Unlock()
				return
			}
		}
		ch := tb.logged
		tb.mu.Unlock()
		select {
		case <-ch:
		case <-tb.ctx.Done():
			t.Fatalf("the browser never logged %q: %v", substr, tb.ctx.Err())
		}
	}
}

// noConsoleErrors fails when the page logged an error, an exception or a
// CSP violation, except messages containing one of expected.
func (tb *tab) noConsoleErrors(t *testing.T, expected ...string) {
	t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
next:
	for _, m := range tb.console {
		for _, e := range expected {
			if strings.Contains(m, e) {
				continue next
			}
		}
		t.Errorf("browser console: %s", m)
	}
}

func (tb *tab) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tb.ctx, steps...); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, tb.report())
	}
}

// report says where the tab is and what it shows, for a failure message.
func (tb *tab) report() string {
	ctx, cancel := context.WithTimeout(tb.base, 5*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(page state unavailable)"
	}
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 600) : ""`))
	if err != nil {
		return "at " + loc
	}
	return "at " + loc + ", page text:\n" + text
}

func (tb *tab) text(t *testing.T, css string) string {
	t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Text(chromedp.CSS(css), chromedp.NodeVisible))
	if err != nil {
		t.Fatalf("read %s: %v", css, err)
	}
	return strings.TrimSpace(s)
}

func (tb *tab) attr(t *testing.T, css, name string) string {
	t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](
		fmt.Sprintf(`(function(){var e=document.querySelector(%q);return e?(e.getAttribute(%q)||""):"<absent>";})()`, css, name)))
	if err != nil {
		t.Fatalf("read %s[%s]: %v", css, name, err)
	}
	return v
}

func (tb *tab) eval(t *testing.T, js string) string {
	t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

func (tb *tab) visible(t *testing.T, css string) bool {
	t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](
		fmt.Sprintf(`(function(){var e=document.querySelector(%q);return !!e&&e.getClientRects().length>0;})()`, css)))
	if err != nil {
		t.Fatalf("check %s: %v", css, err)
	}
	return v
}

// wait waits until the element is visible.
func (tb *tab) wait(t *testing.T, css string) {
	t.Helper()
	tb.do(t, "wait for "+css, chromedp.WaitVisible(chromedp.CSS(css)))
}

// screenshot writes a full-page PNG to the screenshots folder:
// $MBCPLAN_SCREENSHOTS, or screenshots/ at the repository root (git-ignored).
func (tb *tab) screenshot(t *testing.T, name string) {
	t.Helper()
	dir := os.Getenv("MBCPLAN_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "screenshots")
	}
	if _, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](`window.scrollTo(0, 0), document.querySelectorAll(".col-side").forEach(function (e) { e.scrollTop = 0; }), true`)); err != nil {
		t.Fatalf("scroll to top: %v", err)
	}
	png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshot folder: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatalf("write screenshot: %v", err)
	}
}

// launchFromLauncher opens the sandbox launcher and follows the patient's
// Launch link (or "with patient banner") to the app, then waits for the plan.
func (tb *tab) launchFromLauncher(t *testing.T, s *server, patient string, banner bool) string {
	t.Helper()
	sel := fmt.Sprintf(`a.launch[href="/sandbox/launch?patient=%s"]`, url.QueryEscape(patient))
	if banner {
		sel = fmt.Sprintf(`a[href="/sandbox/launch?banner=1&patient=%s"]`, url.QueryEscape(patient))
	}
	tb.do(t, "open the launcher", chromedp.Navigate(s.base+"/"), chromedp.WaitVisible(chromedp.CSS(sel)))
	tb.do(t, "launch "+patient, chromedp.Click(chromedp.CSS(sel)))
	tb.wait(t, "#receptor-er")
	return tb.launchID(t)
}

// launchID is the launch id of the app page open in the tab.
func (tb *tab) launchID(t *testing.T) string {
	t.Helper()
	loc, err := chromedp.Run(tb.ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(loc)
	if err != nil || !strings.HasPrefix(u.Path, "/app/") {
		t.Fatalf("tab is at %s; want /app/{launch}", loc)
	}
	return strings.TrimPrefix(u.Path, "/app/")
}

// waitFor waits until the JavaScript condition holds.
func (tb *tab) waitFor(t *testing.T, what, cond string) {
	t.Helper()
	if _, err := chromedp.Run(tb.ctx, chromedp.Poll[bool](cond)); err != nil {
		t.Fatalf("waiting for %s (%s): %v\n%s", what, cond, err, tb.report())
	}
}

// draftOf reads the launch's draft from the API, as the EHR would see it.
type draftAnswer struct {
	Draft *struct {
		ID, Version, Status, Where, Subject, OptionID, Note string
		Choices                                             map[string]string
		OpenChoices                                         bool
	} `json:"draft"`
	Plan struct {
		Patient struct{ Ref string } `json:"patient"`
	} `json:"plan"`
}

func draftOf(t *testing.T, s *server, launch string) draftAnswer {
	t.Helper()
	var a draftAnswer
	if st := getJSON(t, http.DefaultClient, s.base+"/api/"+launch+"/plan", &a); st != http.StatusOK {
		t.Fatalf("GET plan: status %d", st)
	}
	return a
}

func TestBrowserLaunchPlanDraftAccept(t *testing.T) {
	start := time.Now()
	s := startServer(t)
	b := newBrowser(t)

	b.do(t, "open the launcher", chromedp.Navigate(s.base+"/"), chromedp.WaitVisible(chromedp.CSS("a.launch")))
	b.screenshot(t, "launcher.png")
	launch := b.launchFromLauncher(t, s, "mbc-01", false)

	// The receptor panel shows the record's values, each with its source.
	for _, tc := range []struct{ row, want string }{
		{"#receptor-er", "positive"}, {"#receptor-pr", "positive"},
		{"#receptor-her2", "negative"}, {"#receptor-her2-low", "yes"},
	} {
		if got := b.attr(t, tc.row, "data-value"); got != tc.want {
			t.Errorf("%s value = %q; want %q", tc.row, got, tc.want)
		}
	}
	if got := b.text(t, "#receptor-er a.ref"); got != "Observation/mbc-01-er" {
		t.Errorf("ER source = %q; want Observation/mbc-01-er", got)
	}
	if got := b.text(t, "#receptor-her2"); !strings.Contains(got, "IHC 1+") {
		t.Errorf("HER2 row = %q; want the IHC 1+ detail", got)
	}
	if got := b.text(t, "#subtype"); !strings.Contains(got, "HR+/HER2-") {
		t.Errorf("subtype = %q; want HR+/HER2-", got)
	}
	if n := b.eval(t, `String(document.querySelectorAll("#timeline svg circle.mark").length)`); n != "4" {
		t.Errorf("timeline marks = %s; want 4 (ER, PR, HER2, HER2 IHC)", n)
	}
	if b.visible(t, "#banner") {
		t.Errorf("patient banner shown; the launch did not ask for one")
	}
	// The EHR's smart_style_url (the sandbox's style.json) is applied.
	b.wait(t, "body.ehr-styled")
	if got := b.eval(t, `getComputedStyle(document.body).backgroundColor`); got != "rgb(247, 248, 246)" {
		t.Errorf("background = %s; want the EHR style's color_background rgb(247, 248, 246)", got)
	}
	// Options, preferred first, with their basis.
	if got := b.attr(t, "#option-list > li:first-child", "data-option-id"); got != "H02-nsai-cdk46" {
		t.Errorf("first option = %q; want H02-nsai-cdk46", got)
	}
	if got := b.text(t, `[data-option-id="H02-nsai-cdk46"] .why`); !strings.Contains(got, "H02") || !strings.Contains(got, "Observation/mbc-01-er") {
		t.Errorf("option basis = %q; want facts with sources and rule H02", got)
	}
	if got := b.text(t, `[data-option-id="H02-nsai-cdk46"] .flags`); !strings.Contains(got, "QTcF") {
		t.Errorf("option flags = %q; want the ribociclib QT flag", got)
	}
	// A source link leads to the resource in the source list.
	b.do(t, "follow a source link", chromedp.Click(chromedp.CSS("#receptor-er a.ref")))
	if got := b.eval(t, `location.hash`); got != "#src-Observation-mbc-01-er" {
		t.Errorf("source link went to %q; want #src-Observation-mbc-01-er", got)
	}
	b.screenshot(t, "plan.png")
	checkContrast(t, b)

	// Statements change the plan at once and are shown as the clinician's.
	b.do(t, "state QTcF", chromedp.SendKeys(chromedp.CSS("#st-qtcf"), "430\r"))
	b.waitFor(t, "QTcF in the plan", `!!document.querySelector('#stated-list [data-statement="qtcf"]') && !document.querySelector('[data-id="ecg-qtcf"]')`)
	if got := b.text(t, `#stated-list [data-statement="qtcf"]`); got != "QTcF: 430 ms" {
		t.Errorf("stated QTcF = %q; want \"QTcF: 430 ms\"", got)
	}
	b.do(t, "state visceral crisis", chromedp.SetValue(chromedp.CSS("#st-visceralCrisis"), "true"), dispatchChange("#st-visceralCrisis"))
	b.waitFor(t, "chemotherapy first", `document.querySelector("#option-list > li:first-child").getAttribute("data-option-id") === "H16-chemo"`)
	b.do(t, "withdraw visceral crisis", chromedp.SetValue(chromedp.CSS("#st-visceralCrisis"), ""), dispatchChange("#st-visceralCrisis"))
	b.waitFor(t, "endocrine option first again", `document.querySelector("#option-list > li:first-child").getAttribute("data-option-id") === "H02-nsai-cdk46"`)
	b.do(t, "state ER negative from a report", chromedp.SetValue(chromedp.CSS("#st-er"), "negative"), dispatchChange("#st-er"))
	b.waitFor(t, "ER stated by the clinician", `document.querySelector("#receptor-er").getAttribute("data-value") === "negative"`)
	if got := b.text(t, "#receptor-er"); !strings.Contains(got, "stated by the clinician") {
		t.Errorf("ER row = %q; want \"stated by the clinician\"", got)
	}
	b.do(t, "withdraw ER", chromedp.SetValue(chromedp.CSS("#st-er"), ""), dispatchChange("#st-er"))
	b.waitFor(t, "ER from the record", `document.querySelector("#receptor-er").getAttribute("data-value") === "positive"`)

	// Two quick changes: the second waits for the first; both reach the plan.
	b.eval(t, `(function () {
		for (const id of ["st-ofsDeclined", "st-cdk46Unsuitable"]) {
			const e = document.getElementById(id);
			e.value = "true";
			e.dispatchEvent(new Event("change"));
		}
		return "";
	})()`)
	b.waitFor(t, "both statements in the plan", `!!document.querySelector('#stated-list [data-statement="ofsDeclined"]') && !!document.querySelector('#stated-list [data-statement="cdk46Unsuitable"]')`)
	var st struct {
		Plan struct {
			Statements struct {
				OFSDeclined     *bool `json:"ofsDeclined"`
				CDK46Unsuitable *bool `json:"cdk46Unsuitable"`
			} `json:"statements"`
		} `json:"plan"`
	}
	getJSON(t, http.DefaultClient, s.base+"/api/"+launch+"/plan", &st)
	if st.Plan.Statements.OFSDeclined == nil || st.Plan.Statements.CDK46Unsuitable == nil {
		t.Errorf("server kept ofsDeclined=%v cdk46Unsuitable=%v; want both stated", st.Plan.Statements.OFSDeclined, st.Plan.Statements.CDK46Unsuitable)
	}
	b.eval(t, `(function () {
		document.getElementById("st-ofsDeclined").value = "";
		document.getElementById("st-cdk46Unsuitable").value = "";
		document.getElementById("st-cdk46Unsuitable").dispatchEvent(new Event("change"));
		return "";
	})()`)
	b.waitFor(t, "both withdrawn", `!document.querySelector('#stated-list [data-statement="ofsDeclined"]') && !document.querySelector('#stated-list [data-statement="cdk46Unsuitable"]')`)

	// Reading the record again keeps the clinician's statements.
	b.do(t, "read the record again", chromedp.Click(chromedp.CSS("#refresh")))
	b.waitFor(t, "the record read again", `document.getElementById("status").textContent.indexOf("read again") >= 0`)
	if !b.visible(t, `#stated-list [data-statement="qtcf"]`) {
		t.Errorf("the QTcF statement is gone after reading the record again")
	}

	// Choose, note, write, accept.
	b.do(t, "choose the preferred option", chromedp.Click(chromedp.CSS(`label[for="opt-H02-nsai-cdk46"]`)))
	if got := b.text(t, "#chosen"); !strings.Contains(got, "Letrozole or anastrozole") {
		t.Errorf("chosen = %q; want the preferred option's title", got)
	}
	// A draft may keep the alternatives ("one of") open; accepting needs one
	// drug of each group.
	b.do(t, "write a note and the draft",
		chromedp.SendKeys(chromedp.CSS("#note"), "Discussed with the patient; prefers oral therapy."),
		chromedp.Click(chromedp.CSS("#write-draft")))
	b.wait(t, `#draft-status[data-status="draft"]`)
	b.wait(t, "#choice-note")
	b.do(t, "accept with alternatives open", chromedp.Click(chromedp.CSS("#accept")))
	b.wait(t, `#alert[data-kind="choice-needed"]`)
	b.do(t, "choose letrozole and palbociclib, write again",
		chromedp.SetValue(chromedp.CSS("#choice-nsai"), "letrozole"), dispatchChange("#choice-nsai"),
		chromedp.SetValue(chromedp.CSS("#choice-cdk46"), "palbociclib"), dispatchChange("#choice-cdk46"),
		chromedp.Click(chromedp.CSS("#write-draft")))
	b.wait(t, "#draft-where")
	b.waitFor(t, "the new draft", `document.getElementById("choice-note").hidden && document.getElementById("status").textContent === "Draft written."`)
	if got := b.attr(t, "#draft-status", "data-where"); got != "ehr" {
		t.Errorf("draft where = %q; want ehr (the sandbox keeps CarePlans)", got)
	}
	if got := b.text(t, "#draft-where"); !strings.Contains(got, "Written to the EHR as CarePlan/") {
		t.Errorf("draft where = %q; want it written to the EHR", got)
	}
	d := draftOf(t, s, launch)
	if d.Draft == nil || d.Draft.Subject != "Patient/mbc-01" || d.Draft.OptionID != "H02-nsai-cdk46" {
		t.Fatalf("draft = %+v; want subject Patient/mbc-01 and option H02-nsai-cdk46", d.Draft)
	}
	b.do(t, "accept", chromedp.Click(chromedp.CSS("#accept")))
	b.wait(t, "#accepted-where")
	if got := b.attr(t, "#draft-status", "data-status"); got != "completed" {
		t.Errorf("proposal status after accept = %q; want completed", got)
	}
	if got := b.text(t, "#accepted-where"); !strings.Contains(got, "in the EHR as CarePlan/") {
		t.Errorf("accepted = %q; want the active CarePlan in the EHR", got)
	}
	if b.visible(t, "#accept") {
		t.Errorf("Accept still offered after acceptance")
	}
	b.screenshot(t, "accepted.png")

	// The print stylesheet keeps the plan and the patient, drops the controls.
	if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		t.Fatalf("emulate print: %v", err)
	}
	for css, want := range map[string]bool{"#banner": true, "#option-list": true, "#draft-status": true, "#statements-form": false, "#write-draft": false, "#note": false} {
		if got := b.visible(t, css); got != want {
			t.Errorf("printed: %s visible = %v; want %v", css, got, want)
		}
	}
	b.noConsoleErrors(t, "status of 409") // accepting with alternatives open
	t.Logf("launch → plan → statements → draft → accept in %v", time.Since(start).Round(time.Millisecond))
}

// clearField empties a text field (chromedp's Clear and SetValue do not
// handle a textarea).
func clearField(css string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).value = ""`, css))(ctx, t)
		return err
	})
}

// contrastJS answers, for the first element matching each selector, the
// contrast ratio of its text against the background behind it (WCAG 2).
const contrastJS = `(function (sels) {
  function rgb(s) { var m = s.match(/[\d.]+/g) || []; return m.map(Number); }
  function lum(c) {
    var v = c.slice(0, 3).map(function (x) { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
  }
  function bg(e) {
    for (; e; e = e.parentElement) {
      var c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) { return c; }
    }
    return [255, 255, 255];
  }
  var out = {};
  sels.forEach(function (s) {
    var e = document.querySelector(s);
    if (!e) { out[s] = -1; return; }
    var a = lum(rgb(getComputedStyle(e).color)), b = lum(bg(e));
    out[s] = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  });
  return JSON.stringify(out);
})(%s)`

// checkContrast fails when text the clinician reads has less than 4.5:1
// contrast (WCAG AA), with the EHR's style applied.
func checkContrast(t *testing.T, tb *tab) {
	t.Helper()
	sels := []string{"body", ".muted", ".rule", ".value-positive", ".badge", "a.ref", ".option-title",
		".flag-caution strong", ".message", "label", "select", "#write-draft", ".unchecked", ".checked"}
	js, err := json.Marshal(sels)
	if err != nil {
		t.Fatal(err)
	}
	var ratios map[string]float64
	if err := json.Unmarshal([]byte(tb.eval(t, fmt.Sprintf(contrastJS, js))), &ratios); err != nil {
		t.Fatal(err)
	}
	for _, s := range sels {
		switch r := ratios[s]; {
		case r < 0:
			t.Errorf("contrast: no element %s on the page", s)
		case r < 4.5:
			t.Errorf("contrast of %s = %.2f:1; want at least 4.5:1", s, r)
		}
	}
}

// dispatchChange fires the change event a user's selection fires.
func dispatchChange(css string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%q).dispatchEvent(new Event("change"))`, css))(ctx, t)
		return err
	})
}

func TestBrowserTwoPatientsInTwoTabs(t *testing.T) {
	start := time.Now()
	s := startServer(t)
	one := newBrowser(t)
	two := one.newTab(t)

	l1 := one.launchFromLauncher(t, s, "mbc-01", true)
	l2 := two.launchFromLauncher(t, s, "mbc-03", true)
	if l1 == l2 {
		t.Fatalf("two tabs share one launch id")
	}
	check := func(step string) {
		t.Helper()
		for _, tc := range []struct {
			tb              *tab
			name, ref, her2 string
		}{{one, "Alma Synthetica", "Patient/mbc-01", "negative"}, {two, "Clara Mockdata", "Patient/mbc-03", "positive"}} {
			if got := tc.tb.text(t, "#banner-name"); got != tc.name {
				t.Errorf("%s: banner shows %q; want %q", step, got, tc.name)
			}
			if got := tc.tb.attr(t, "body", "data-patient"); got != tc.ref {
				t.Errorf("%s: page is about %q; want %q", step, got, tc.ref)
			}
			if got := tc.tb.attr(t, "#receptor-her2", "data-value"); got != tc.her2 {
				t.Errorf("%s: %s HER2 = %q; want %q", step, tc.ref, got, tc.her2)
			}
		}
	}
	check("after both launches")

	// Interleaved: a statement in each tab, then a draft in each.
	one.do(t, "tab 1: state QTcF", chromedp.SendKeys(chromedp.CSS("#st-qtcf"), "440\r"))
	two.do(t, "tab 2: state progression", chromedp.SetValue(chromedp.CSS("#st-progression"), "false"), dispatchChange("#st-progression"))
	one.wait(t, `#stated-list [data-statement="qtcf"]`)
	two.wait(t, `#stated-list [data-statement="progression"]`)
	if one.visible(t, `#stated-list [data-statement="progression"]`) || two.visible(t, `#stated-list [data-statement="qtcf"]`) {
		t.Errorf("a statement made in one tab shows in the other")
	}
	check("after statements")

	two.do(t, "tab 2: choose", chromedp.Click(chromedp.CSS(`#option-list > li:first-child label`)))
	one.do(t, "tab 1: choose", chromedp.Click(chromedp.CSS(`#option-list > li:first-child label`)))
	two.do(t, "tab 2: write draft", chromedp.Click(chromedp.CSS("#write-draft")))
	one.do(t, "tab 1: write draft", chromedp.Click(chromedp.CSS("#write-draft")))
	one.wait(t, `#draft-status[data-status="draft"]`)
	two.wait(t, `#draft-status[data-status="draft"]`)
	one.do(t, "tab 1: reload", chromedp.Reload())
	one.wait(t, `#draft-status[data-status="draft"]`)
	check("after drafts and a reload")

	for _, tc := range []struct{ launch, want string }{{l1, "Patient/mbc-01"}, {l2, "Patient/mbc-03"}} {
		d := draftOf(t, s, tc.launch)
		if d.Draft == nil {
			t.Fatalf("launch for %s has no draft", tc.want)
		}
		if d.Draft.Subject != tc.want || d.Plan.Patient.Ref != tc.want {
			t.Errorf("draft subject = %q, plan patient = %q; want %q", d.Draft.Subject, d.Plan.Patient.Ref, tc.want)
		}
	}
	one.noConsoleErrors(t)
	two.noConsoleErrors(t)
	t.Logf("two tabs, interleaved, in %v", time.Since(start).Round(time.Millisecond))
}

// tabTo presses Tab until the focused element matches css.
func (tb *tab) tabTo(t *testing.T, css string) {
	t.Helper()
	cond := fmt.Sprintf(`!!document.activeElement && document.activeElement.matches(%q)`, css)
	for i := 0; i < 300; i++ {
		ok, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](cond))
		if err != nil {
			t.Fatalf("tab to %s: %v", css, err)
		}
		if ok {
			// Keyboard focus must be visible.
			style := tb.eval(t, `getComputedStyle(document.activeElement).outlineStyle`)
			if style == "none" {
				t.Errorf("focus on %s is not visible (outline none)", css)
			}
			return
		}
		tb.do(t, "press Tab", chromedp.KeyEvent(kb.Tab))
	}
	t.Fatalf("%s cannot be reached with the Tab key", css)
}

func TestBrowserKeyboardOnly(t *testing.T) {
	start := time.Now()
	s := startServer(t)
	b := newBrowser(t)
	b.do(t, "open the launcher", chromedp.Navigate(s.base+"/"), chromedp.WaitVisible(chromedp.CSS("a.launch")))

	b.tabTo(t, `a.launch[href="/sandbox/launch?patient=mbc-14"]`)
	b.do(t, "Enter on Launch", chromedp.KeyEvent(kb.Enter))
	b.wait(t, "#option-list > li")
	if got := b.attr(t, "body", "data-patient"); got != "Patient/mbc-14" {
		t.Fatalf("launched %q; want Patient/mbc-14", got)
	}
	b.tabTo(t, "input[name=option]")
	b.do(t, "Space on the first option", chromedp.KeyEvent(" "))
	b.waitFor(t, "option chosen", `document.querySelector("#option-list > li:first-child input").checked`)
	b.tabTo(t, "#note")
	b.do(t, "type a note", chromedp.KeyEvent("Typed with the keyboard."))
	// One drug of each group of alternatives: ArrowDown picks the first.
	groups, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#choices select").length`))
	if err != nil || groups == 0 {
		t.Fatalf("choice groups = %d (%v); want the option's alternatives offered", groups, err)
	}
	for i := 1; i <= groups; i++ {
		b.tabTo(t, fmt.Sprintf("#choices select:nth-of-type(%d)", i))
		b.do(t, "ArrowDown to the first drug", chromedp.KeyEvent(kb.ArrowDown))
	}
	b.waitFor(t, "a drug chosen in each group", `Array.from(document.querySelectorAll("#choices select")).every(s => s.value !== "")`)
	b.tabTo(t, "#write-draft")
	b.do(t, "Enter on Write draft", chromedp.KeyEvent(kb.Enter))
	b.wait(t, `#draft-status[data-status="draft"]`)
	b.tabTo(t, "#accept")
	b.do(t, "Enter on Accept", chromedp.KeyEvent(kb.Enter))
	b.wait(t, "#accepted-where")
	d := draftOf(t, s, b.launchID(t))
	if d.Draft == nil || d.Draft.Subject != "Patient/mbc-14" || d.Draft.Note != "Typed with the keyboard." {
		t.Errorf("draft = %+v; want subject Patient/mbc-14 and the typed note", d.Draft)
	}
	b.noConsoleErrors(t)
	t.Logf("keyboard-only flow in %v", time.Since(start).Round(time.Millisecond))
}

func TestBrowserBlockingDataNeededComesFirst(t *testing.T) {
	s := startServer(t)
	b := newBrowser(t)
	b.launchFromLauncher(t, s, "mbc-10", false) // HER2 never tested
	if got := b.eval(t, `String(!!(document.getElementById("data-needed").compareDocumentPosition(document.getElementById("receptors")) & Node.DOCUMENT_POSITION_FOLLOWING))`); got != "true" {
		t.Errorf("blocking data needed is not above the tumour biology")
	}
	if got := b.text(t, `[data-id="her2"]`); !strings.Contains(got, "Blocks the decision") || !strings.Contains(got, "LOINC 48676-1") {
		t.Errorf("HER2 data needed = %q; want it blocking, with what to order", got)
	}
	if !b.visible(t, "#no-options") {
		t.Errorf("no 'no option' notice while HER2 is unknown")
	}
	// The clinician states HER2 from the pathology report: options appear.
	b.do(t, "state HER2 negative, IHC 0",
		chromedp.SetValue(chromedp.CSS("#st-her2"), "negative"), chromedp.SetValue(chromedp.CSS("#st-her2Ihc"), "0"), dispatchChange("#st-her2Ihc"))
	b.wait(t, "#option-list > li")
	if got := b.text(t, "#receptor-her2"); !strings.Contains(got, "stated by the clinician") {
		t.Errorf("HER2 row = %q; want \"stated by the clinician\"", got)
	}
	if b.visible(t, `[data-id="her2"]`) {
		t.Errorf("HER2 still listed as data needed after the clinician stated it")
	}
	b.noConsoleErrors(t)
}

func TestBrowserDraftInAppStoreAndReject(t *testing.T) {
	s := startServer(t, "--sandbox-careplan-readonly")
	b := newBrowser(t)
	b.launchFromLauncher(t, s, "mbc-14", false)
	b.do(t, "choose and write", chromedp.Click(chromedp.CSS(`#option-list > li:first-child label`)), chromedp.Click(chromedp.CSS("#write-draft")))
	b.wait(t, `#draft-status[data-status="draft"]`)
	if got := b.attr(t, "#draft-status", "data-where"); got != "app-store" {
		t.Errorf("draft where = %q; want app-store (the EHR refuses CarePlans)", got)
	}
	if got := b.text(t, "#draft-where"); !strings.Contains(got, "mbcplan store") {
		t.Errorf("draft where = %q; want it to say the app's store", got)
	}
	// Rejecting needs a reason.
	b.do(t, "reject without a reason", chromedp.Click(chromedp.CSS("#reject")))
	b.wait(t, "#alert")
	b.do(t, "reject with a reason", chromedp.SendKeys(chromedp.CSS("#reject-reason"), "Patient prefers to wait for the trial."), chromedp.Click(chromedp.CSS("#reject")))
	b.wait(t, `#draft-status[data-status="revoked"]`)
	b.noConsoleErrors(t)
}

func TestBrowserConflictIsShownPlainly(t *testing.T) {
	s := startServer(t)
	b := newBrowser(t)
	launch := b.launchFromLauncher(t, s, "mbc-01", false)
	b.do(t, "choose and write", chromedp.Click(chromedp.CSS(`#option-list > li:first-child label`)),
		chromedp.SendKeys(chromedp.CSS("#note"), "First note."), chromedp.Click(chromedp.CSS("#write-draft")))
	b.wait(t, `#draft-status[data-status="draft"]`)

	// Someone else edits the draft meanwhile (another clinician, another tab).
	d := draftOf(t, s, launch)
	var edited struct{ Error string }
	if st := postJSON(t, http.DefaultClient, s.base+"/api/"+launch+"/draft/edit",
		map[string]any{"version": d.Draft.Version, "note": "Changed elsewhere."}, &edited); st != http.StatusOK {
		t.Fatalf("edit elsewhere: status %d (%s)", st, edited.Error)
	}

	b.do(t, "edit the note on the old version",
		clearField("#note"), chromedp.SendKeys(chromedp.CSS("#note"), "My note."),
		chromedp.Click(chromedp.CSS("#save-note")))
	b.wait(t, "#conflict")
	if got := b.text(t, "#conflict"); !strings.Contains(got, "Someone else changed this draft") || !strings.Contains(got, "My note.") {
		t.Errorf("conflict panel = %q; want it to say so and keep my note", got)
	}
	if n := b.eval(t, `String(document.querySelectorAll("#conflict-changes li").length)`); n == "0" {
		t.Errorf("conflict panel lists no changes")
	}
	if got := b.attr(t, "#draft-status", "data-where"); got != "ehr" {
		t.Errorf("after the conflict the draft shows where = %q; want ehr still", got)
	}
	b.screenshot(t, "conflict.png")
	b.do(t, "apply my note on their version", chromedp.Click(chromedp.CSS("#conflict-retry")))
	b.waitFor(t, "my note saved", `!!document.querySelector("#draft-note") && document.querySelector("#draft-note").textContent === "My note."`)
	if got := draftOf(t, s, launch).Draft.Note; got != "My note." {
		t.Errorf("draft note = %q; want \"My note.\"", got)
	}
	b.noConsoleErrors(t, "status of 409") // the conflict answer itself
}

func TestBrowserErrorsAreClinicianPages(t *testing.T) {
	s := startServer(t)
	b := newBrowser(t)

	// A launch id the server does not know: a page, not a trace.
	b.do(t, "open an unknown launch", chromedp.Navigate(s.base+"/app/"+strings.Repeat("A", 43)), chromedp.WaitVisible(chromedp.CSS("h1")))
	if got := b.text(t, "main"); !strings.Contains(got, "session has ended") || strings.Contains(got, "goroutine") || strings.Contains(got, ".go:") {
		t.Errorf("unknown launch page = %q; want a plain 'session has ended' page", got)
	}

	// The EHR refuses to sign the app in: a launch-failed page.
	b.do(t, "launch with invalid_scope", chromedp.Navigate(s.base+"/sandbox/launch?patient=mbc-01&sim=invalid_scope"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if got := b.text(t, "h1"); got != "Launch failed" {
		t.Errorf("refused sign-in page title = %q; want \"Launch failed\"", got)
	}
	if got := b.text(t, "main"); !strings.Contains(got, "Nothing was read or written") || !regexp.MustCompile(`Reference: [0-9a-f]{8,}`).MatchString(got) {
		t.Errorf("refused sign-in page = %q; want what happened and a reference", got)
	}
	b.screenshot(t, "error-launch.png")

	// The EHR refuses every FHIR call: the app says so on a page.
	b.do(t, "launch with FHIR 401", chromedp.Navigate(s.base+"/sandbox/launch?patient=mbc-01&sim=fhir_401"))
	b.wait(t, "#fatal")
	got := b.text(t, "#fatal")
	if strings.Contains(got, "goroutine") || strings.Contains(got, ".go:") || strings.Contains(got, "Bearer") {
		t.Errorf("error panel shows internals: %q", got)
	}
	if !regexp.MustCompile(`Reference: [0-9a-f]{8,}`).MatchString(got) {
		t.Errorf("error panel = %q; want a request reference", got)
	}
	checkAccessibility(t, b)
	b.screenshot(t, "error.png")
}

// TestBrowserInsideEHRFrame loads the app in an iframe of a page on another
// origin, as an EHR shows it: allowed when the origin is configured as the
// EHR's frame origin, refused by Chromium otherwise.
func TestBrowserInsideEHRFrame(t *testing.T) {
	var frameSrc string
	ehrPage := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>EHR</title><h1>EHR chart</h1><iframe id="app" width="1200" height="800" src="%s"></iframe>
<script>document.getElementById("app").addEventListener("load", function(){ document.body.setAttribute("data-loaded", "1"); });</script>`, frameSrc)
	}
	allowed := httptest.NewServer(http.HandlerFunc(ehrPage))
	t.Cleanup(allowed.Close)
	other := httptest.NewServer(http.HandlerFunc(ehrPage))
	t.Cleanup(other.Close)
	// "localhost" is another origin (and site) than the app's 127.0.0.1.
	allowedOrigin := strings.Replace(allowed.URL, "127.0.0.1", "localhost", 1)
	otherOrigin := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)

	cfg := filepath.Join(t.TempDir(), "ehrs.json")
	ehrs := []map[string]any{{"name": "framing EHR", "issuer": allowedOrigin + "/fhir", "clientId": "mbcplan", "frameOrigins": []string{allowedOrigin}}}
	data, err := json.Marshal(ehrs)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, data, 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--sandbox", "on", "--ehr-config", cfg)
	frameSrc = s.base + "/sandbox/launch?patient=mbc-01"

	// The headers: a strict CSP whose frame-ancestors names the EHR, and no
	// X-Frame-Options.
	c := browser(t)
	appURL, _ := launchPatient(t, s, c, "mbc-01")
	resp, body := get(t, c, appURL)
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "frame-ancestors 'self' " + allowedOrigin, "object-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP = %q; want %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, otherOrigin) {
		t.Errorf("CSP = %q; want no unsafe-* and no unconfigured origin", csp)
	}
	if xfo := resp.Header.Get("X-Frame-Options"); xfo != "" {
		t.Errorf("X-Frame-Options = %q; want none", xfo)
	}
	// No inline script, handler or style in the page the CSP protects.
	for _, tag := range regexp.MustCompile(`(?is)<script\b[^>]*>.*?</script>`).FindAllString(body, -1) {
		if !regexp.MustCompile(`(?is)^<script\b[^>]*\bsrc="/static/[^"]+"[^>]*>\s*</script>$`).MatchString(tag) {
			t.Errorf("app page has an inline script: %.80s", tag)
		}
	}
	if m := regexp.MustCompile(`(?i)<[^>]*\s(on[a-z]+|style)\s*=`).FindString(body); m != "" {
		t.Errorf("app page has an inline handler or style attribute: %.80s", m)
	}

	b := newBrowser(t)
	b.do(t, "open the EHR page", chromedp.Navigate(allowedOrigin+"/"))
	b.waitFor(t, "the app in the frame", `document.body.getAttribute("data-loaded") === "1"`)
	frame := b.frameTab(t, s.base+"/app/")
	if frame == nil {
		t.Fatalf("no app frame from %s inside %s", s.base, allowedOrigin)
	}
	frame.wait(t, "#receptor-er")
	if got := frame.attr(t, "#receptor-er", "data-value"); got != "positive" {
		t.Errorf("framed app: ER = %q; want positive", got)
	}
	b.screenshot(t, "in-ehr-frame.png")
	b.noConsoleErrors(t)

	// The same app framed by an origin that is not configured is refused.
	b.do(t, "open the other page", chromedp.Navigate(otherOrigin+"/"))
	b.waitFor(t, "the frame settled", `document.body.getAttribute("data-loaded") === "1"`)
	b.waitConsole(t, `violates the following Content Security Policy directive: "frame-ancestors`)
	if f := b.frameTab(t, s.base+"/app/"); f != nil {
		if ok, err := chromedp.Run(f.ctx, chromedp.Evaluate[bool](`!!document.getElementById("receptor-er")`)); err == nil && ok {
			t.Errorf("the app rendered inside %s, an origin not allowed to frame it", otherOrigin)
		}
	}
}

// frameTab attaches to the cross-site iframe whose URL starts with prefix,
// or returns nil.
func (tb *tab) frameTab(t *testing.T, prefix string) *tab {
	t.Helper()
	infos, err := chromedp.Targets(tb.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range infos {
		if info.Type == "iframe" && strings.HasPrefix(info.URL, prefix) {
			ctx, cancel := chromedp.NewContext(tb.ctx, chromedp.WithTargetID(info.TargetID))
			t.Cleanup(cancel)
			return &tab{ctx: ctx, base: ctx}
		}
	}
	return nil
}

// TestBrowserChoicesAfterReload: the draft panel reads the clinician's
// choices back from the written CarePlan, so a reload neither loses them nor
// hides that alternatives are still open.
func TestBrowserChoicesAfterReload(t *testing.T) {
	s := startServer(t)
	b := newBrowser(t)
	launch := b.launchFromLauncher(t, s, "mbc-01", false)

	// A draft that keeps the alternatives open, then a reload.
	b.do(t, "choose the preferred option and write", chromedp.Click(chromedp.CSS(`label[for="opt-H02-nsai-cdk46"]`)),
		chromedp.Click(chromedp.CSS("#write-draft")))
	b.wait(t, `#draft-status[data-status="draft"]`)
	b.do(t, "reload", chromedp.Reload())
	b.wait(t, `#draft-status[data-status="draft"]`)
	b.wait(t, "#choice-note")
	if got := b.text(t, "#draft-open-choices"); !strings.Contains(got, "still open") {
		t.Errorf("draft panel says %q about alternatives; want them still open", got)
	}
	if b.visible(t, "#draft-choices") {
		t.Errorf("chosen drugs shown for a draft written without choices")
	}
	if got := b.eval(t, `String(document.getElementById("write-again").disabled)`); got != "true" {
		t.Errorf("'write again' enabled before a drug of each group is chosen")
	}
	if d := draftOf(t, s, launch).Draft; d == nil || !d.OpenChoices || len(d.Choices) != 0 {
		t.Fatalf("API draft = %+v; want openChoices and no choices", d)
	}
	b.screenshot(t, "draft-open-choices.png")

	// Choose, write again from the note's button, reload: the choices stay.
	b.do(t, "choose letrozole and palbociclib",
		chromedp.SetValue(chromedp.CSS("#choice-nsai"), "letrozole"), dispatchChange("#choice-nsai"),
		chromedp.SetValue(chromedp.CSS("#choice-cdk46"), "palbociclib"), dispatchChange("#choice-cdk46"))
	b.do(t, "write the draft again with the choices", chromedp.Click(chromedp.CSS("#write-again")))
	b.waitFor(t, "the draft with choices", `document.getElementById("choice-note").hidden && !!document.getElementById("draft-choices")`)
	b.do(t, "reload", chromedp.Reload())
	b.wait(t, "#draft-choices")
	if got := b.text(t, "#draft-choices"); got != "letrozole, palbociclib" {
		t.Errorf("chosen drugs after a reload = %q; want \"letrozole, palbociclib\"", got)
	}
	for css, want := range map[string]string{"#choice-nsai": "letrozole", "#choice-cdk46": "palbociclib"} {
		if got := b.eval(t, fmt.Sprintf(`document.querySelector(%q).value`, css)); got != want {
			t.Errorf("after a reload %s = %q; want %q", css, got, want)
		}
	}
	if b.visible(t, "#choice-note") || b.visible(t, "#draft-open-choices") {
		t.Errorf("alternatives still said to be open after writing with choices")
	}
	d := draftOf(t, s, launch).Draft
	if d == nil || d.OpenChoices || d.Choices["nsai"] != "letrozole" || d.Choices["cdk46"] != "palbociclib" {
		t.Fatalf("API draft = %+v; want choices nsai=letrozole, cdk46=palbociclib and none open", d)
	}
	if n := checkAccessibility(t, b); n < 20 {
		t.Errorf("the Tab key reached %d elements of the plan page; want its links, options, choices and buttons", n)
	}
	b.screenshot(t, "draft-choices.png")

	b.do(t, "accept", chromedp.Click(chromedp.CSS("#accept")))
	b.wait(t, "#accepted-where")
	if got := b.attr(t, "#draft-status", "data-status"); got != "completed" {
		t.Errorf("proposal status after accept = %q; want completed", got)
	}
	if got := b.text(t, "#draft-choices"); got != "letrozole, palbociclib" {
		t.Errorf("chosen drugs after accepting = %q; want \"letrozole, palbociclib\"", got)
	}
	b.noConsoleErrors(t)
}

// TestBrowserEHRUnreachable: the EHR's FHIR server answers 503 to every
// call of this launch. The clinician sees one calm sentence, a reference
// and Try again, and nothing of what went wrong inside.
func TestBrowserEHRUnreachable(t *testing.T) {
	s := startServer(t)
	b := newBrowser(t)
	b.do(t, "launch with FHIR 503", chromedp.Navigate(s.base+"/sandbox/launch?patient=mbc-01&sim=fhir_503"))
	b.wait(t, "#fatal")
	if got := b.attr(t, "#fatal", "data-kind"); got != "ehr-unreachable" {
		t.Errorf("error kind = %q; want ehr-unreachable", got)
	}
	if got := b.text(t, "#fatal-title"); got != "EHR unreachable" {
		t.Errorf("title = %q; want \"EHR unreachable\"", got)
	}
	msg := b.text(t, "#fatal-message")
	if !regexp.MustCompile(`^[A-Z][^.!?]*\.$`).MatchString(msg) {
		t.Errorf("message = %q; want one sentence", msg)
	}
	ref := b.text(t, "#fatal-ref")
	if !regexp.MustCompile(`^[0-9a-f]{8,}$`).MatchString(ref) {
		t.Errorf("reference = %q; want a request id", ref)
	}
	if got := b.text(t, "#fatal-retry"); got != "Try again" {
		t.Errorf("retry button = %q; want \"Try again\"", got)
	}
	if got := b.eval(t, `document.activeElement ? document.activeElement.id : ""`); got != "fatal-retry" {
		t.Errorf("focus on %q; want it on Try again", got)
	}
	if b.visible(t, "#plan") {
		t.Errorf("the plan is shown although the record could not be read")
	}
	page := b.eval(t, `document.body.innerText`)
	for _, internal := range []string{"503", "Service Unavailable", "OperationOutcome", "transient", "simulated",
		"fhir:", "smarttest", "goroutine", ".go:", "Bearer", "Patient/mbc-01", "/sandbox/fhir", "gave up"} {
		if strings.Contains(page, internal) {
			t.Errorf("the page shows %q:\n%s", internal, page)
		}
	}
	if n := checkAccessibility(t, b); n != 1 {
		t.Errorf("the Tab key reached %d elements of the error panel; want Try again alone", n)
	}
	b.screenshot(t, "ehr-unreachable.png")

	// Try again asks again: still unreachable, under a new reference.
	b.do(t, "try again", chromedp.Click(chromedp.CSS("#fatal-retry")))
	b.waitFor(t, "a new reference", fmt.Sprintf(`document.getElementById("fatal-ref").textContent !== %q && !document.getElementById("fatal").hidden`, ref))
	b.noConsoleErrors(t, "status of 502")
}

// a11yJS lists what fails basic accessibility checks on the page: form
// controls without a label, buttons and links without a name, ids used
// twice.
const a11yJS = `(function () {
  var out = [];
  function name(e) {
    var by = e.getAttribute("aria-labelledby");
    if (by) { return by.split(/\s+/).map(function (id) { var l = document.getElementById(id); return l ? l.textContent : ""; }).join(" ").trim(); }
    return (e.getAttribute("aria-label") || e.textContent || e.getAttribute("title") || "").trim();
  }
  function what(e) { return e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.name ? "[name=" + e.name + "]" : ""); }
  document.querySelectorAll("input, select, textarea").forEach(function (e) {
    if (e.type === "hidden") { return; }
    var labelled = Array.prototype.some.call(e.labels || [], function (l) { return l.textContent.trim() !== ""; });
    if (!labelled && !name(e)) { out.push("form control without a label: " + what(e)); }
    if (e.tagName === "SELECT" && name(e) && !labelled && !e.getAttribute("aria-label") && !e.getAttribute("aria-labelledby")) {
      out.push("select named only by its options: " + what(e));
    }
  });
  document.querySelectorAll("button, [role=button]").forEach(function (e) {
    if (!name(e)) { out.push("button without a name: " + what(e)); }
  });
  document.querySelectorAll("a[href]").forEach(function (e) {
    if (!name(e)) { out.push("link without a name: " + what(e)); }
  });
  var seen = {};
  document.querySelectorAll("[id]").forEach(function (e) {
    if (seen[e.id]) { out.push("id used twice: " + e.id); }
    seen[e.id] = true;
  });
  return JSON.stringify(out);
})()`

// focusJS says how the focused element shows its focus ("" when it does
// not): an outline, a box shadow or, for SVG marks, a thicker stroke.
const focusJS = `(function () {
  var e = document.activeElement;
  if (!e || e === document.body) { return "body"; }
  var cs = getComputedStyle(e);
  if (cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) >= 2) { return "outline"; }
  if (cs.boxShadow && cs.boxShadow !== "none") { return "shadow"; }
  if (e instanceof SVGElement && parseFloat(cs.strokeWidth) >= 3) { return "stroke"; }
  return "";
})()`

// checkAccessibility runs the basic checks: every form control has a label,
// every button and link a name, and keyboard focus is visible on each
// element the Tab key reaches. It returns how many the Tab key reached.
func checkAccessibility(t *testing.T, tb *tab) int {
	t.Helper()
	var problems []string
	if err := json.Unmarshal([]byte(tb.eval(t, a11yJS)), &problems); err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("accessibility: %s", p)
	}
	// Walk the page with the Tab key from the top.
	tb.eval(t, `(function () { var b = document.body; b.tabIndex = -1; b.focus(); b.removeAttribute("tabindex"); window.scrollTo(0, 0); return ""; })()`)
	seen := map[string]bool{}
	for i := 0; i < 400; i++ {
		tb.do(t, "press Tab", chromedp.KeyEvent(kb.Tab))
		id := tb.eval(t, `(function () { var e = document.activeElement; if (!e || e === document.body) { return ""; }
		  var path = []; for (; e && e !== document.body; e = e.parentElement) { var i = 0, s = e; while ((s = s.previousElementSibling)) { i++; } path.push(e.tagName + i); }
		  return path.join("<"); })()`)
		if id == "" || seen[id] {
			t.Logf("accessibility: %d elements reached with the Tab key, checked for visible focus", i)
			return i
		}
		seen[id] = true
		if how := tb.eval(t, focusJS); how == "" {
			t.Errorf("accessibility: focus not visible on %s", tb.eval(t, `document.activeElement.outerHTML.slice(0, 120)`))
		}
	}
	t.Errorf("accessibility: the Tab key never left the page")
	return len(seen)
}
