// Package medplumtest runs a FHIR R4 server built from Medplum's FHIR engine
// (@medplum/fhir-router 4.5.2 with its in-memory repository, see
// testdata/medplum/server.mjs) for integration tests, in the spirit of
// net/http/httptest. Our own sandbox server (fhir/fhirtest) can share our
// misunderstandings of FHIR; this one was written by other people.
//
// It needs Node.js 20.19 or newer and npm. Without them, Start skips the test
// with a message saying how to enable it, except on CI (CI=true), where it
// fails the test.
//
// The engine's quirks are left visible on purpose (see server.mjs and the
// tests): a reference search with a bare id (patient=123) matches nothing,
// only patient=Patient/123 works; a transaction is not atomic; _include and
// quantity searches are ignored; versionIds are UUIDs.
package medplumtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	// readyTimeout bounds the wait for the server's ready line; it loads
	// Medplum's definitions first: 1.5–4 s on an idle 2-core machine, up to
	// 14 s seen while other test binaries compete for the cores.
	readyTimeout = 45 * time.Second
	// installTimeout bounds npm ci.
	installTimeout = 5 * time.Minute
	// minNode is the oldest Node.js the Medplum 4.5.2 packages accept.
	minNodeMajor, minNodeMinor = 20, 19
)

// enableHint tells a developer how to run the skipped tests.
const enableHint = "install Node.js 20 (20.19 or newer) with npm, and run `npm ci` in testdata/medplum"

// Server is a running Medplum-based FHIR server.
type Server struct {
	// URL is the FHIR base, "http://127.0.0.1:PORT/fhir/R4", without a
	// trailing slash.
	URL string
	// Client talks to the server; it has a timeout.
	Client *http.Client
}

// Start installs the Node packages if needed (npm ci when node_modules is
// missing or was installed from another package-lock.json), starts the
// server on a free port of 127.0.0.1 and waits for it to be ready. The
// server is stopped by t.Cleanup. Without Node or npm, Start skips t, or
// fails it when CI=true. ctx bounds the install and the start, not the
// server's life.
func Start(ctx context.Context, t testing.TB) (*Server, error) {
	t.Helper()
	dir, err := packageDir()
	if err != nil {
		return nil, err
	}
	node, npm, why := tools()
	if why != "" {
		unavailable(t, why)
		return nil, fmt.Errorf("medplumtest: %s", why) // reached only if t's Skip was intercepted
	}
	if err := ensureInstalled(ctx, dir, npm); err != nil {
		return nil, err
	}
	return run(ctx, t, dir, node)
}

// unavailable skips t, or fails it on CI.
func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("medplumtest: %s; CI must provide them (%s)", why, enableHint)
	}
	t.Skipf("medplumtest: %s; to enable these tests, %s", why, enableHint)
}

// tools finds node and npm and checks Node's version; why is non-empty
// when they cannot be used.
func tools() (node, npm, why string) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", "", "node is not on PATH"
	}
	npm, err = exec.LookPath("npm")
	if err != nil {
		return "", "", "npm is not on PATH"
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return "", "", "node --version failed"
	}
	major, minor, ok := parseNodeVersion(string(out))
	if !ok {
		return "", "", fmt.Sprintf("cannot read the Node.js version %q", strings.TrimSpace(string(out)))
	}
	if major < minNodeMajor || (major == minNodeMajor && minor < minNodeMinor) {
		return "", "", fmt.Sprintf("Node.js %d.%d is too old", major, minor)
	}
	return node, npm, ""
}

var nodeVersion = regexp.MustCompile(`^v(\d+)\.(\d+)\.`)

// parseNodeVersion reads "v20.20.2".
func parseNodeVersion(s string) (major, minor int, ok bool) {
	m := nodeVersion.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(m[1])
	minor, err2 := strconv.Atoi(m[2])
	return major, minor, err1 == nil && err2 == nil
}

// packageDir finds testdata/medplum from the working directory (a test runs
// in its package's directory) by walking up to go.mod.
func packageDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("medplumtest: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "testdata", "medplum"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("medplumtest: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// installMu serializes installs within this process; lockDir serializes
// them across test binaries that run at the same time.
var installMu sync.Mutex

// ensureInstalled runs npm ci unless node_modules holds what
// package-lock.json pins (so a manual or CI `npm ci` is reused).
func ensureInstalled(ctx context.Context, dir, npm string) error {
	if ok, err := installed(dir); err != nil || ok {
		return err
	}
	installMu.Lock()
	defer installMu.Unlock()
	unlock, err := lockDir(filepath.Join(dir, ".install.lock"))
	if err != nil {
		return fmt.Errorf("medplumtest: lock for npm ci: %v", err)
	}
	defer unlock()
	if ok, err := installed(dir); err != nil || ok { // another process installed it while we waited
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("medplumtest: npm ci in %s: %v\n%s", dir, err, tail(out.Bytes(), 2000))
	}
	if ok, err := installed(dir); err != nil || !ok {
		return fmt.Errorf("medplumtest: npm ci in %s left node_modules unlike package-lock.json (%v)", dir, err)
	}
	return nil
}

// lockedPackage is a package entry of a lockfile.
type lockedPackage struct {
	Version   string `json:"version"`
	Integrity string `json:"integrity"`
}

// installed reports whether node_modules matches package-lock.json: npm
// records what it installed in node_modules/.package-lock.json, and every
// package pinned by the lockfile must be there, same version and digest.
func installed(dir string) (bool, error) {
	read := func(name string) (map[string]lockedPackage, error) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		var lf struct {
			Packages map[string]lockedPackage `json:"packages"`
		}
		if err := json.Unmarshal(data, &lf); err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		delete(lf.Packages, "") // the project itself
		return lf.Packages, nil
	}
	want, err := read("package-lock.json")
	if err != nil {
		return false, fmt.Errorf("medplumtest: %v", err)
	}
	got, err := read(filepath.Join("node_modules", ".package-lock.json"))
	if err != nil {
		return false, nil // not installed, or by an npm that keeps no record
	}
	if len(want) == 0 || len(got) != len(want) {
		return false, nil
	}
	for path, w := range want {
		if got[path] != w {
			return false, nil
		}
		if _, err := os.Stat(filepath.Join(dir, path, "package.json")); err != nil {
			return false, nil
		}
	}
	return true, nil
}

// run starts node server.mjs on a free port and waits for its ready line.
func run(ctx context.Context, t testing.TB, dir, node string) (*Server, error) {
	t.Helper()
	cmd := exec.Command(node, "server.mjs", "0")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NODE_ENV=test")
	stderr := &limitedBuffer{max: 16 << 10}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("medplumtest: %v", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("medplumtest: start node: %v", err)
	}
	exited := make(chan struct{})
	var stopping atomic.Bool
	t.Cleanup(func() {
		// Kill is enough: the server keeps everything in memory.
		stopping.Store(true)
		if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Logf("medplumtest: stop server: %v", err)
		}
		<-exited
	})

	ready := make(chan string, 1)
	go func() {
		defer close(exited)
		r := bufio.NewReader(stdout)
		if line, err := r.ReadString('\n'); err == nil {
			ready <- line
		}
		// Keep draining so the server never blocks on a full pipe.
		if _, err := io.Copy(io.Discard, r); err != nil {
			t.Logf("medplumtest: server stdout: %v", err)
		}
		if err := cmd.Wait(); err != nil && !stopping.Load() {
			t.Logf("medplumtest: server exited: %v", err)
		}
	}()

	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()
	select {
	case line := <-ready:
		var msg struct {
			URL string `json:"url"`
		}
		if err := json.Unmarshal([]byte(line), &msg); err != nil || !strings.HasPrefix(msg.URL, "http://127.0.0.1:") {
			return nil, fmt.Errorf("medplumtest: unexpected ready line %q", strings.TrimSpace(line))
		}
		return &Server{URL: msg.URL, Client: &http.Client{Timeout: 30 * time.Second}}, nil
	case <-exited:
		return nil, fmt.Errorf("medplumtest: server exited before it was ready:\n%s", stderr.String())
	case <-deadline.C:
		return nil, fmt.Errorf("medplumtest: server not ready after %v:\n%s", readyTimeout, stderr.String())
	case <-ctx.Done():
		return nil, fmt.Errorf("medplumtest: waiting for the server: %w", ctx.Err())
	}
}

// LoadBundle stores every resource of a Bundle (transaction, batch,
// collection or searchset) with one transaction. Each entry becomes
// "PUT Type/id", with the id chosen as the sandbox (fhirtest) chooses it:
// the resource's id, else the id of a PUT request URL, else the id of its
// fullUrl ("urn:uuid:X" gives X), else a fresh one. References to an
// entry's fullUrl are rewritten to "Type/id" before sending, so both servers
// hold the same record. Medplum's validation is switched off for this
// request: fixtures may hold malformed resources on purpose, as an EHR's
// record can. An entry that fails is an error naming its index; since
// Medplum's transactions are not atomic, the other entries are stored.
func (s *Server) LoadBundle(ctx context.Context, data []byte) error {
	tx, err := toTransaction(data)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(tx))
	if err != nil {
		return fmt.Errorf("medplumtest: load bundle: %v", err)
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Accept", "application/fhir+json")
	req.Header.Set("X-Medplumtest-Validation", "off")
	resp, err := s.Client.Do(req)
	if err != nil {
		return fmt.Errorf("medplumtest: load bundle: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("medplumtest: load bundle: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("medplumtest: load bundle: status %d: %s", resp.StatusCode, tail(body, 500))
	}
	var out struct {
		Entry []struct {
			Response struct {
				Status string `json:"status"`
			} `json:"response"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return fmt.Errorf("medplumtest: load bundle: response: %v", err)
	}
	var failed []string
	for i, e := range out.Entry {
		if !strings.HasPrefix(e.Response.Status, "2") {
			failed = append(failed, fmt.Sprintf("entry %d: %s", i, e.Response.Status))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("medplumtest: load bundle: %s", strings.Join(failed, "; "))
	}
	return nil
}

// Reset empties the server's repository. Medplum's in-memory search scans
// every resource of a type, so tests that read many patients load and read
// them one at a time.
func (s *Server) Reset(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/$medplumtest-reset", nil)
	if err != nil {
		return fmt.Errorf("medplumtest: reset: %v", err)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return fmt.Errorf("medplumtest: reset: %v", err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return fmt.Errorf("medplumtest: reset: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("medplumtest: reset: status %d", resp.StatusCode)
	}
	return nil
}

// FaultProxy starts a reverse proxy to target (a server's origin or FHIR
// base; only scheme and host are used) and returns its URL with target's
// path, for a client to use as its FHIR base. For each request, fault
// returns 0 to pass it on, or a status to answer with instead (an
// OperationOutcome body). The proxy keeps the Host header, so links the
// server builds (Bundle.link next) point back through the proxy. It is
// closed by t.Cleanup.
func FaultProxy(t testing.TB, target string, fault func(*http.Request) (status int)) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		t.Fatalf("medplumtest: fault proxy: bad target %q", target)
	}
	origin := &url.URL{Scheme: u.Scheme, Host: u.Host}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(origin)
			pr.Out.Host = pr.In.Host
		},
		// A client that gave up (a cancelled wave) is not news; answer 502
		// without logging.
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) {
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status := fault(r); status != 0 {
			w.Header().Set("Content-Type", "application/fhir+json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"transient","diagnostics":"injected by medplumtest.FaultProxy: %d"}]}`, status)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts.URL + strings.TrimSuffix(u.Path, "/")
}

// tail returns at most the last n bytes of b, as text.
func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// limitedBuffer keeps the first max bytes written to it; it is safe for the
// concurrent writes of a child process and reads of the test.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
