package smarttest_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/mbcplan/mbcplan/smart/smarttest"
)

// A sandbox authorization server mounted beside its FHIR base, and an EHR
// launch for one of its patients.
func Example() {
	srv, err := smarttest.New(smarttest.Config{
		Issuer:       "http://127.0.0.1:8080/sandbox/fhir",
		BaseURL:      "http://127.0.0.1:8080/sandbox/auth",
		Clients:      []smarttest.Client{{ID: "mbcplan", RedirectURIs: []string{"http://127.0.0.1:8080/callback"}}},
		Patients:     []smarttest.Patient{{ID: "mbc-1", Name: "Test One"}},
		Practitioner: "Practitioner/sandbox-oncologist",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/sandbox/auth/", srv.Handler())
	mux.Handle("/sandbox/fhir/.well-known/smart-configuration", srv.SmartConfiguration())

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/sandbox/fhir/.well-known/smart-configuration", nil))
	var conf struct {
		Authorize string   `json:"authorization_endpoint"`
		PKCE      []string `json:"code_challenge_methods_supported"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &conf); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(conf.Authorize, conf.PKCE)

	launch, err := srv.NewLaunch(smarttest.LaunchContext{Patient: "mbc-1", NeedPatientBanner: true})
	fmt.Println(len(launch), err)
	_, err = srv.NewLaunch(smarttest.LaunchContext{Patient: "someone-else"})
	fmt.Println(errors.Is(err, smarttest.ErrUnknownPatient))
	_, err = srv.Introspect("not-a-token")
	fmt.Println(err)
	// Output:
	// http://127.0.0.1:8080/sandbox/auth/authorize [S256]
	// 43 <nil>
	// true
	// smarttest: invalid access token
}
