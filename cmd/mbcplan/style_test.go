package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mbcplan/mbcplan/smart"
)

func TestStyleComesFromTheEHROriginOnly(t *testing.T) {
	a := &app{}
	s := &session{launch: &smart.Launch{FHIRBase: "https://ehr.example.org/fhir/r4"},
		ehr: EHRConfig{FrameOrigins: []string{"https://portal.example.org"}}}
	for raw, want := range map[string]bool{
		"https://ehr.example.org/styles/smart.json":  true,
		"https://portal.example.org/style.json":      true,
		"https://evil.example.net/style.json":        false,
		"http://ehr.example.org/styles/smart.json":   false, // other scheme, other origin
		"https://user@ehr.example.org/style.json":    false,
		"file:///etc/passwd":                         false,
		"https://ehr.example.org:8443/style.json":    false,
		"https://169.254.169.254/latest/meta-data/x": false,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.styleOriginAllowed(s, u); got != want {
			t.Errorf("styleOriginAllowed(%s) = %v; want %v", raw, got, want)
		}
	}
}

func TestStyleKeepsOnlyKnownKeysAndSafeValues(t *testing.T) {
	body := `{"color_background":"#fafafa","color_text":"rgb(10, 20, 30)","font_family_body":"Segoe UI, sans-serif",
		"color_highlight":"red;} body{display:none","dim_border_radius":"4px","other":"x","color_error":42}`
	got, err := readStyle(&http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader(body))})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"color_background": "#fafafa", "color_text": "rgb(10, 20, 30)", "font_family_body": "Segoe UI, sans-serif", "dim_border_radius": "4px"}
	if len(got) != len(want) {
		t.Errorf("got %v; want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q; want %q", k, got[k], v)
		}
	}
	if _, err := readStyle(&http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader(strings.Repeat("x", maxStyleBytes+10)))}); err == nil {
		t.Errorf("oversize style accepted")
	}
}

func TestSandboxStyleReachesTheAppThroughTheServer(t *testing.T) {
	s := startServer(t)
	c := browser(t)
	_, l := launchPatient(t, s, c, "mbc-01")
	var style map[string]string
	if st := getJSON(t, c, s.base+"/api/"+l+"/style", &style); st != http.StatusOK {
		t.Fatalf("GET style: status %d", st)
	}
	if len(style) == 0 {
		t.Errorf("style from the sandbox EHR is empty; want its colours")
	}
}
