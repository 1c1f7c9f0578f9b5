package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"
)

// Config is every setting of `mbcplan serve`, read from flags and the
// environment in run and validated once at start.
type Config struct {
	Addr      string `setting:"--addr / MBCPLAN_ADDR" validate:"required"`
	PublicURL string `setting:"--public-url / MBCPLAN_PUBLIC_URL" validate:"omitempty,http_url"`

	// Sandbox runs the embedded sandbox EHR: "auto" (when no EHR is
	// configured), "on" or "off".
	Sandbox                 string `setting:"--sandbox / MBCPLAN_SANDBOX" validate:"oneof=auto on off"`
	SandboxData             string `setting:"--sandbox-data / MBCPLAN_SANDBOX_DATA" validate:"required_if=SandboxEnabled true"`
	SandboxCarePlanReadOnly bool   `setting:"--sandbox-careplan-readonly"`
	SandboxClientAuth       string `setting:"--sandbox-client-auth / MBCPLAN_SANDBOX_CLIENT_AUTH" validate:"oneof=public secret private_key_jwt"`
	SandboxEnabled          bool   `setting:"--sandbox"`

	EHRs []EHRConfig `setting:"--ehr-config / MBCPLAN_EHR_* " validate:"dive"`

	// PrivateKeyFiles are PEM private keys (RSA or EC P-384) for
	// private_key_jwt; all are published in the JWKS, the first signs.
	PrivateKeyFiles []string `setting:"--private-key / MBCPLAN_PRIVATE_KEYS" validate:"dive,file"`

	StorePath      string        `setting:"--store / MBCPLAN_STORE" validate:"required"`
	SessionTTL     time.Duration `setting:"--session-ttl / MBCPLAN_SESSION_TTL" validate:"min=1m,max=24h"`
	LVEFThresholds string        `setting:"--lvef-thresholds / MBCPLAN_LVEF_THRESHOLDS" validate:"oneof=us eu"`
	LogLevel       string        `setting:"--log-level / MBCPLAN_LOG_LEVEL" validate:"oneof=debug info warn error"`
}

// EHRConfig is one EHR the app is registered with. Per-EHR differences are
// data here, never code branches.
type EHRConfig struct {
	Name     string `json:"name" setting:"EHR name" validate:"required"`
	Issuer   string `json:"issuer" setting:"EHR issuer (iss)" validate:"required,http_url"`
	ClientID string `json:"clientId" setting:"EHR clientId" validate:"required"`
	// ClientSecretEnv names the environment variable holding the secret;
	// secrets never sit in the config file.
	ClientSecretEnv string `json:"clientSecretEnv,omitempty" setting:"EHR clientSecretEnv"`
	ClientSecret    string `json:"-" setting:"EHR client secret" validate:"required_if=Auth secret"`
	// Auth is the client authentication: public, secret (HTTP Basic) or
	// private_key_jwt.
	Auth          string   `json:"auth" setting:"EHR auth" validate:"oneof=public secret private_key_jwt"`
	Scopes        []string `json:"scopes,omitempty" setting:"EHR scopes"`
	OfflineAccess bool     `json:"offlineAccess,omitempty" setting:"EHR offlineAccess"`
	AuthorizePOST bool     `json:"authorizePost,omitempty" setting:"EHR authorizePost"`
	// FrameOrigins are the origins allowed to frame the app (CSP
	// frame-ancestors), e.g. https://ehr.example.org.
	FrameOrigins []string `json:"frameOrigins,omitempty" setting:"EHR frameOrigins" validate:"dive,http_url"`
	// WriteBack is auto (follow the CapabilityStatement), ehr or app-store.
	WriteBack string `json:"writeBack,omitempty" setting:"EHR writeBack" validate:"oneof=auto ehr app-store"`
}

// LogValue keeps secrets out of logs.
func (c Config) LogValue() slog.Value {
	names := make([]string, 0, len(c.EHRs))
	for _, e := range c.EHRs {
		names = append(names, e.Name)
	}
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.Bool("sandbox", c.SandboxEnabled),
		slog.Any("ehrs", names),
		slog.Int("privateKeys", len(c.PrivateKeyFiles)),
		slog.String("lvefThresholds", c.LVEFThresholds),
	)
}

// LogValue keeps the client secret out of logs.
func (e EHRConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", e.Name), slog.String("auth", e.Auth))
}

// parseServeConfig reads flags, then the environment for what flags left
// unset, then validates.
func parseServeConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.Addr, "addr", env("MBCPLAN_ADDR", "127.0.0.1:8080"), "listen address HOST:PORT (port 0 picks a free port)")
	fs.StringVar(&c.PublicURL, "public-url", env("MBCPLAN_PUBLIC_URL", ""), "public base URL when behind a proxy (default: the bound address)")
	fs.StringVar(&c.Sandbox, "sandbox", env("MBCPLAN_SANDBOX", "auto"), "embedded sandbox EHR: auto, on or off")
	fs.StringVar(&c.SandboxData, "sandbox-data", env("MBCPLAN_SANDBOX_DATA", "testdata/patients"), "folder of patient bundles for the sandbox")
	fs.BoolVar(&c.SandboxCarePlanReadOnly, "sandbox-careplan-readonly", env("MBCPLAN_SANDBOX_CAREPLAN_READONLY", "") == "true", "sandbox FHIR server refuses CarePlan create (as Epic and Oracle Health do)")
	fs.StringVar(&c.SandboxClientAuth, "sandbox-client-auth", env("MBCPLAN_SANDBOX_CLIENT_AUTH", "public"), "how the app authenticates to the sandbox: public, secret or private_key_jwt")
	ehrFile := fs.String("ehr-config", env("MBCPLAN_EHR_CONFIG", ""), "JSON file listing the EHRs the app is registered with")
	keys := fs.String("private-key", env("MBCPLAN_PRIVATE_KEYS", ""), "comma-separated PEM private key files for private_key_jwt (first signs)")
	fs.StringVar(&c.StorePath, "store", env("MBCPLAN_STORE", ":memory:"), "SQLite file for drafts kept in the app (\":memory:\" keeps them until exit)")
	ttl := fs.String("session-ttl", env("MBCPLAN_SESSION_TTL", "8h"), "how long a launch stays usable")
	fs.StringVar(&c.LVEFThresholds, "lvef-thresholds", env("MBCPLAN_LVEF_THRESHOLDS", "us"), "trastuzumab LVEF hold thresholds: us or eu")
	fs.StringVar(&c.LogLevel, "log-level", env("MBCPLAN_LOG_LEVEL", "info"), "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return c, usagef("serve: %v", err)
	}
	if fs.NArg() > 0 {
		return c, usagef("serve: unexpected argument %q", fs.Arg(0))
	}
	d, err := time.ParseDuration(*ttl)
	if err != nil {
		return c, usagef("setting --session-ttl / MBCPLAN_SESSION_TTL: not a duration (e.g. 8h)")
	}
	c.SessionTTL = d
	if *keys != "" {
		for _, k := range strings.Split(*keys, ",") {
			if k = strings.TrimSpace(k); k != "" {
				c.PrivateKeyFiles = append(c.PrivateKeyFiles, k)
			}
		}
	}
	if *ehrFile != "" {
		ehrs, err := readEHRConfig(*ehrFile, getenv)
		if err != nil {
			return c, err
		}
		c.EHRs = ehrs
	}
	if one, ok, err := ehrFromEnv(getenv); err != nil {
		return c, err
	} else if ok {
		c.EHRs = append(c.EHRs, one)
	}
	switch c.Sandbox {
	case "on":
		c.SandboxEnabled = true
	case "auto":
		c.SandboxEnabled = len(c.EHRs) == 0
	}
	if err := validateConfig(c); err != nil {
		return c, err
	}
	return c, nil
}

// readEHRConfig reads a JSON array of EHRConfig; secrets come from the
// environment variables the file names.
func readEHRConfig(path string, getenv func(string) string) ([]EHRConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("setting --ehr-config / MBCPLAN_EHR_CONFIG: cannot read the file")
	}
	var ehrs []EHRConfig
	if err := json.Unmarshal(data, &ehrs); err != nil {
		return nil, usagef("setting --ehr-config / MBCPLAN_EHR_CONFIG: not a JSON array of EHRs (%v)", jsonErrorSummary(err))
	}
	for i := range ehrs {
		if ehrs[i].WriteBack == "" {
			ehrs[i].WriteBack = "auto"
		}
		if ehrs[i].Auth == "" {
			ehrs[i].Auth = "public"
		}
		if ehrs[i].ClientSecretEnv != "" {
			ehrs[i].ClientSecret = getenv(ehrs[i].ClientSecretEnv)
		}
	}
	return ehrs, nil
}

// ehrFromEnv reads one EHR from MBCPLAN_EHR_* variables.
func ehrFromEnv(getenv func(string) string) (EHRConfig, bool, error) {
	iss := getenv("MBCPLAN_EHR_ISSUER")
	if iss == "" {
		return EHRConfig{}, false, nil
	}
	e := EHRConfig{
		Name:         orDefault(getenv("MBCPLAN_EHR_NAME"), "EHR"),
		Issuer:       iss,
		ClientID:     getenv("MBCPLAN_EHR_CLIENT_ID"),
		ClientSecret: getenv("MBCPLAN_EHR_CLIENT_SECRET"),
		Auth:         orDefault(getenv("MBCPLAN_EHR_AUTH"), "public"),
		WriteBack:    orDefault(getenv("MBCPLAN_EHR_WRITEBACK"), "auto"),
	}
	if s := getenv("MBCPLAN_EHR_SCOPES"); s != "" {
		e.Scopes = strings.Fields(s)
	}
	if s := getenv("MBCPLAN_EHR_FRAME_ORIGINS"); s != "" {
		e.FrameOrigins = strings.Fields(strings.ReplaceAll(s, ",", " "))
	}
	if s := getenv("MBCPLAN_EHR_OFFLINE_ACCESS"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return e, false, usagef("setting MBCPLAN_EHR_OFFLINE_ACCESS: want true or false")
		}
		e.OfflineAccess = b
	}
	if s := getenv("MBCPLAN_EHR_AUTHORIZE_POST"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return e, false, usagef("setting MBCPLAN_EHR_AUTHORIZE_POST: want true or false")
		}
		e.AuthorizePOST = b
	}
	return e, true, nil
}

// isOrigin reports whether s is a bare origin (scheme://host[:port]), as a
// CSP source must be: a path could carry ';' and end the directive, and
// the browser compares origins only anyway.
func isOrigin(s string) bool {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return false
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || (u.Path != "" && u.Path != "/") {
		return false
	}
	return !strings.ContainsAny(s, " ;,'\"")
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// validateConfig checks every setting and answers with one line naming the
// first bad one.
func validateConfig(c Config) error {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string { return f.Tag.Get("setting") })
	if err := v.Struct(c); err != nil {
		var ves validator.ValidationErrors
		if errors.As(err, &ves) && len(ves) > 0 {
			fe := ves[0]
			return usagef("setting %s: %s", settingName(fe), describeTag(fe))
		}
		return usagef("invalid settings: %v", err)
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil {
		return usagef("setting --addr / MBCPLAN_ADDR: want HOST:PORT, e.g. 127.0.0.1:8080 (port 0 picks a free port)")
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return usagef("setting --addr / MBCPLAN_ADDR: the port must be a number from 0 to 65535")
	}
	if !c.SandboxEnabled && len(c.EHRs) == 0 {
		return usagef("setting --sandbox / MBCPLAN_SANDBOX: the sandbox is off and no EHR is configured (--ehr-config or MBCPLAN_EHR_ISSUER)")
	}
	seen := map[string]bool{}
	for _, e := range c.EHRs {
		for _, o := range e.FrameOrigins {
			if !isOrigin(o) {
				return usagef("setting EHR frameOrigins: want origins such as https://ehr.example.org (scheme and host, no path)")
			}
		}
		if seen[e.Issuer] {
			return usagef("setting EHR issuer (iss): %s is configured twice", e.Issuer)
		}
		seen[e.Issuer] = true
		if e.Auth == "private_key_jwt" && len(c.PrivateKeyFiles) == 0 {
			return usagef("setting --private-key / MBCPLAN_PRIVATE_KEYS: EHR %q uses private_key_jwt and no private key is configured", e.Name)
		}
	}
	if c.SandboxEnabled && c.SandboxClientAuth == "private_key_jwt" && len(c.PrivateKeyFiles) == 0 {
		// The sandbox accepts an ephemeral key generated at start.
		return nil
	}
	return nil
}

func settingName(fe validator.FieldError) string {
	ns := fe.Namespace()
	// Namespace is "Config.<setting>[i].<setting>"; keep the innermost setting.
	if i := strings.LastIndex(ns, "."); i >= 0 {
		ns = ns[i+1:]
	}
	if ns == "" {
		return fe.Field()
	}
	return ns
}

func describeTag(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required", "required_if":
		return "is required"
	case "hostname_port":
		return "want HOST:PORT, e.g. 127.0.0.1:8080"
	case "http_url":
		return "want an http(s) URL"
	case "oneof":
		return "want one of: " + strings.ReplaceAll(fe.Param(), " ", ", ")
	case "file":
		return "no such file"
	case "min":
		return "must be at least " + fe.Param()
	case "max":
		return "must be at most " + fe.Param()
	default:
		return fmt.Sprintf("fails check %q", fe.Tag())
	}
}
