package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInvalidSettingsGetOneLineNamingTheSetting(t *testing.T) {
	dir := t.TempDir()
	badJSON := filepath.Join(dir, "ehrs.json")
	if err := os.WriteFile(badJSON, []byte(`{"not": "a list"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	noSecret := filepath.Join(dir, "ehrs2.json")
	if err := os.WriteFile(noSecret, []byte(`[{"name":"oracle","issuer":"https://fhir.example.org/r4/tenant","clientId":"abc","auth":"secret","clientSecretEnv":"ORACLE_SECRET"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"address without port", []string{"--addr", "127.0.0.1"}, nil, "--addr"},
		{"port out of range", []string{"--addr", "127.0.0.1:70000"}, nil, "--addr"},
		{"public URL not a URL", []string{"--public-url", "ftp//x"}, nil, "--public-url"},
		{"sandbox mode", []string{"--sandbox", "maybe"}, nil, "--sandbox"},
		{"session ttl", []string{"--session-ttl", "forever"}, nil, "--session-ttl"},
		{"session ttl too short", []string{"--session-ttl", "1s"}, nil, "--session-ttl"},
		{"lvef thresholds", []string{"--lvef-thresholds", "uk"}, nil, "--lvef-thresholds"},
		{"log level", []string{"--log-level", "loud"}, nil, "--log-level"},
		{"sandbox client auth", []string{"--sandbox-client-auth", "magic"}, nil, "--sandbox-client-auth"},
		{"missing private key file", []string{"--private-key", filepath.Join(dir, "nope.pem")}, nil, "--private-key"},
		{"EHR config not a list", []string{"--ehr-config", badJSON}, nil, "--ehr-config"},
		{"EHR secret missing", []string{"--ehr-config", noSecret}, nil, "client secret"},
		{"EHR issuer not a URL", nil, map[string]string{"MBCPLAN_EHR_ISSUER": "epic", "MBCPLAN_EHR_CLIENT_ID": "x"}, "issuer"},
		{"EHR without client id", nil, map[string]string{"MBCPLAN_EHR_ISSUER": "https://fhir.epic.example/api/FHIR/R4"}, "clientId"},
		{"EHR writeback", nil, map[string]string{"MBCPLAN_EHR_ISSUER": "https://fhir.epic.example/api/FHIR/R4", "MBCPLAN_EHR_CLIENT_ID": "x", "MBCPLAN_EHR_WRITEBACK": "somewhere"}, "writeBack"},
		{"private_key_jwt without key", nil, map[string]string{"MBCPLAN_EHR_ISSUER": "https://fhir.epic.example/api/FHIR/R4", "MBCPLAN_EHR_CLIENT_ID": "x", "MBCPLAN_EHR_AUTH": "private_key_jwt"}, "--private-key"},
		{"sandbox off and no EHR", []string{"--sandbox", "off"}, nil, "--sandbox"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string { return tc.env[k] }
			err := run(context.Background(), append([]string{"serve"}, tc.args...), getenv, io.Discard, io.Discard)
			if err == nil {
				t.Fatalf("serve %v: no error; want one naming %q", tc.args, tc.want)
			}
			if exitCode(err) != 2 {
				t.Errorf("exit code %d; want 2", exitCode(err))
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not name %q", msg, tc.want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
		})
	}
}

func TestUnknownCommandAndNoCommandExit2(t *testing.T) {
	for _, args := range [][]string{nil, {"frobnicate"}} {
		err := run(context.Background(), args, func(string) string { return "" }, io.Discard, io.Discard)
		if err == nil || exitCode(err) != 2 {
			t.Errorf("run(%v) = %v; want a usage error (exit 2)", args, err)
		}
	}
}
