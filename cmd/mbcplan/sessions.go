package main

import (
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"sync"
	"time"
)

// sessionID is the unguessable per-launch id carried in the page URL
// (/app/{id}) and sent by the UI with each call. It is never a cookie:
// embedded EHR browsers share cookies and sessionStorage across patient tabs.
type sessionID string

// LogValue keeps the id out of logs.
func (sessionID) LogValue() slog.Value { return slog.StringValue("[launch]") }

func newSessionID() (sessionID, error) {
	b := make([]byte, 32) // 256 bits
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return sessionID(base64.RawURLEncoding.EncodeToString(b)), nil
}

// validSessionID rejects ids that newSessionID cannot have made, before any
// lookup.
func validSessionID(s string) bool {
	if len(s) != 43 {
		return false
	}
	for _, r := range s {
		ok := r == '-' || r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !ok {
			return false
		}
	}
	return true
}

// sessionStore keeps sessions by launch id. In memory by default; behind an
// interface so a shared store can replace it.
type sessionStore interface {
	Put(s *session)
	Get(id sessionID, now time.Time) (*session, bool)
	Delete(id sessionID)
}

type memSessions struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[sessionID]*session
}

func newMemSessions(ttl time.Duration) *memSessions {
	return &memSessions{ttl: ttl, m: make(map[sessionID]*session)}
}

func (ms *memSessions) Put(s *session) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	ms.m[s.id] = s
}

// Get returns a live session and sweeps expired ones.
func (ms *memSessions) Get(id sessionID, now time.Time) (*session, bool) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	for k, s := range ms.m {
		if now.Sub(s.lastUsed()) > ms.ttl {
			delete(ms.m, k)
		}
	}
	s, ok := ms.m[id]
	if ok {
		s.touch(now)
	}
	return s, ok
}

func (ms *memSessions) Delete(id sessionID) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	delete(ms.m, id)
}

func (ms *memSessions) Len() int {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return len(ms.m)
}
