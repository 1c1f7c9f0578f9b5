package main

import (
	"testing"
	"time"
)

func TestSessionsExpireAfterIdleTTL(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	ms := newMemSessions(time.Hour)
	id, err := newSessionID()
	if err != nil {
		t.Fatal(err)
	}
	ms.Put(&session{id: id, used: t0})
	if _, ok := ms.Get(id, t0.Add(59*time.Minute)); !ok {
		t.Fatalf("session gone after 59 min idle; want kept (TTL 1h)")
	}
	// The Get above refreshed its use: 59 more minutes is still fine.
	if _, ok := ms.Get(id, t0.Add(118*time.Minute)); !ok {
		t.Fatalf("session gone 59 min after its last use; want kept")
	}
	if _, ok := ms.Get(id, t0.Add(180*time.Minute)); ok {
		t.Fatalf("session kept after 62 min idle; want expired")
	}
	if n := ms.Len(); n != 0 {
		t.Errorf("store holds %d sessions after expiry; want 0", n)
	}
}

func TestSessionIDsAreUnguessableAndValidated(t *testing.T) {
	seen := map[sessionID]bool{}
	for i := 0; i < 1000; i++ {
		id, err := newSessionID()
		if err != nil {
			t.Fatal(err)
		}
		if seen[id] {
			t.Fatalf("duplicate session id after %d draws", i)
		}
		seen[id] = true
		if !validSessionID(string(id)) {
			t.Fatalf("validSessionID(%q) = false for a generated id", id)
		}
	}
	for _, bad := range []string{"", "short", "../../../../etc/passwd/aaaaaaaaaaaaaaaaaaaaaaaa", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		if validSessionID(bad) {
			t.Errorf("validSessionID(%q) = true; want false", bad)
		}
	}
}
