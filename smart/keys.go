package smart

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// clientAssertionType is RFC 7523's client assertion type.
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLifetime keeps exp under the 5 minutes SMART allows.
const assertionLifetime = 4 * time.Minute

// KeySet holds the app's private keys for private_key_jwt. The newest key
// signs; all keys are published, so a key can be rotated in before the old one
// is retired. A KeySet is immutable and safe for concurrent use.
type KeySet struct {
	keys []signingKey // oldest first; the last one signs
	jwks []byte       // the public JWKS, marshalled once
}

type signingKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

// ParseKeySet reads PEM private keys, oldest first: the last key is the newest
// and signs. RSA keys (at least 2048 bits) sign with RS384, EC P-384 keys with
// ES384. PKCS#8, PKCS#1 and SEC 1 encodings are accepted; one argument may hold
// several PEM blocks. Key IDs are RFC 7638 thumbprints.
func ParseKeySet(pems ...[]byte) (*KeySet, error) {
	ks := &KeySet{}
	seen := map[string]bool{}
	for i, data := range pems {
		n := 0
		for {
			var block *pem.Block
			block, data = pem.Decode(data)
			if block == nil {
				break
			}
			n++
			k, err := parsePrivateKey(block)
			if err != nil {
				return nil, fmt.Errorf("%w: key %d: %v", ErrConfig, i+1, err)
			}
			if seen[k.kid] {
				continue
			}
			seen[k.kid] = true
			ks.keys = append(ks.keys, k)
		}
		if n == 0 {
			return nil, fmt.Errorf("%w: key %d: no PEM block", ErrConfig, i+1)
		}
	}
	if len(ks.keys) == 0 {
		return nil, fmt.Errorf("%w: no private key", ErrConfig)
	}
	set := jose.JSONWebKeySet{}
	for _, k := range ks.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"})
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("smart: marshal JWKS: %v", err)
	}
	ks.jwks = b
	return ks, nil
}

// LoadKeySet reads PEM files, oldest first (see ParseKeySet).
func LoadKeySet(paths ...string) (*KeySet, error) {
	var pems [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("%w: read key file: %v", ErrConfig, err)
		}
		pems = append(pems, b)
	}
	return ParseKeySet(pems...)
}

func parsePrivateKey(block *pem.Block) (signingKey, error) {
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return signingKey{}, fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return signingKey{}, fmt.Errorf("cannot parse private key")
	}
	var k signingKey
	switch pk := key.(type) {
	case *rsa.PrivateKey:
		if pk.N.BitLen() < 2048 {
			return signingKey{}, fmt.Errorf("RSA key has %d bits; want at least 2048", pk.N.BitLen())
		}
		k = signingKey{alg: jose.RS384, priv: pk}
	case *ecdsa.PrivateKey:
		if pk.Curve != elliptic.P384() {
			return signingKey{}, fmt.Errorf("EC key is not on P-384 (ES384 needs P-384)")
		}
		k = signingKey{alg: jose.ES384, priv: pk}
	default:
		return signingKey{}, fmt.Errorf("unsupported key type %T; use RSA or EC P-384", key)
	}
	jwk := jose.JSONWebKey{Key: k.priv.Public()}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return signingKey{}, fmt.Errorf("cannot compute key thumbprint")
	}
	k.kid = base64.RawURLEncoding.EncodeToString(tp)
	return k, nil
}

// JWKS returns the public keys as a JSON Web Key Set.
func (ks *KeySet) JWKS() []byte { return append([]byte(nil), ks.jwks...) }

// PublicJWKS returns the public keys as a go-jose key set.
func (ks *KeySet) PublicJWKS() *jose.JSONWebKeySet {
	set := &jose.JSONWebKeySet{}
	for _, k := range ks.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"})
	}
	return set
}

// SigningKeyID is the kid of the key that signs.
func (ks *KeySet) SigningKeyID() string { return ks.keys[len(ks.keys)-1].kid }

// LogValue lists key IDs only.
func (ks *KeySet) LogValue() slog.Value {
	ids := make([]string, len(ks.keys))
	for i, k := range ks.keys {
		ids[i] = k.kid
	}
	return slog.GroupValue(slog.Any("kids", ids))
}

// JWKSCacheControl is the Cache-Control of the JWKS handler.
const JWKSCacheControl = "public, max-age=3600"

// JWKSHandler serves the public keys (GET and HEAD) with Cache-Control.
func (ks *KeySet) JWKSHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", JWKSCacheControl)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if r.Method == http.MethodHead {
			return
		}
		if _, err := w.Write(ks.jwks); err != nil {
			return // client went away; nothing to report
		}
	})
}

// assertionClaims are the claims of a client assertion.
type assertionClaims struct {
	Issuer   string           `json:"iss"`
	Subject  string           `json:"sub"`
	Audience string           `json:"aud"`
	ID       string           `json:"jti"`
	Expiry   *jwt.NumericDate `json:"exp"`
	IssuedAt *jwt.NumericDate `json:"iat"`
}

// ClientAssertion signs a private_key_jwt client assertion for clientID at
// tokenURL with the newest key: header alg, kid and typ JWT; claims iss = sub =
// clientID, aud = tokenURL, a unique jti, iat = now, exp = now + 4 minutes.
func (ks *KeySet) ClientAssertion(clientID, tokenURL string, now time.Time) (string, error) {
	k := ks.keys[len(ks.keys)-1]
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: k.alg, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.kid}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return "", fmt.Errorf("smart: client assertion signer: %v", err)
	}
	jti, err := randomString(24)
	if err != nil {
		return "", err
	}
	s, err := jwt.Signed(signer).Claims(assertionClaims{
		Issuer:   clientID,
		Subject:  clientID,
		Audience: tokenURL,
		ID:       jti,
		Expiry:   jwt.NewNumericDate(now.Add(assertionLifetime)),
		IssuedAt: jwt.NewNumericDate(now),
	}).Serialize()
	if err != nil {
		return "", fmt.Errorf("smart: sign client assertion: %v", err)
	}
	return s, nil
}

// randomString returns n random bytes from crypto/rand, base64url-encoded.
func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("smart: random: %v", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
