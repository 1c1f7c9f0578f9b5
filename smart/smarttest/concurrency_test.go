package smarttest

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Many launches at once each get their own code and token, and exactly one
// of two racing exchanges of the same code wins.
func TestConcurrentLaunches(t *testing.T) {
	f := newFixture(t)
	const n = 16
	var wg sync.WaitGroup
	tokens := make([]string, n)
	wins := make([]int, n)
	for i := range n {
		verifier, challenge := pkce(t)
		wg.Go(func() {
			launch, err := f.srv.NewLaunch(LaunchContext{Patient: []string{"p1", "p2"}[i%2]})
			if err != nil {
				t.Error(err)
				return
			}
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/sandbox/auth/authorize?"+f.authParams("public-app", launch, challenge, ehrScope).Encode(), nil)
			f.srv.Handler().ServeHTTP(rec, req)
			loc, err := url.Parse(rec.Header().Get("Location"))
			if err != nil || loc.Query().Get("code") == "" {
				t.Errorf("authorize %d: got %d %q; want a code", i, rec.Code, loc)
				return
			}
			form := public(codeForm(loc.Query().Get("code"), verifier)).Encode()
			var inner sync.WaitGroup
			var mu sync.Mutex
			for range 2 {
				inner.Go(func() {
					rec := httptest.NewRecorder()
					req := httptest.NewRequest(http.MethodPost, "/sandbox/auth/token", strings.NewReader(form))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					f.srv.Handler().ServeHTTP(rec, req)
					if rec.Code == http.StatusOK {
						mu.Lock()
						wins[i]++
						tokens[i] = rec.Body.String()
						mu.Unlock()
					}
				})
			}
			inner.Wait()
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for i := range n {
		if wins[i] != 1 {
			t.Errorf("launch %d: got %d successful exchanges of one code; want 1", i, wins[i])
		}
		if seen[tokens[i]] {
			t.Errorf("launch %d: got a token answer seen before", i)
		}
		seen[tokens[i]] = true
	}
}
