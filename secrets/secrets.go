// Package secrets encrypts the secrets Monobase stores (the SMTP password,
// the S3 secrets, OAuth2 client secrets) at rest with AES-256-GCM, when the
// server is given a key in MONOBASE_ENCRYPTION_KEY.
//
// A sealed value is a string: Prefix followed by the base64 (standard,
// unpadded) of a random 12-byte nonce and the GCM ciphertext with its tag.
// A value without the prefix is plain text, as stored before a key was set
// or by a server without one; it is encrypted on its next save.
//
// A Box without a key (or a nil *Box) stores values as they are and
// refuses to open a sealed one (ErrNoKey): the secret is never read as
// its ciphertext, and a caller that cannot read a secret stops rather than
// carry on without it.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/monobase/monobase/apperr"
)

// EnvKey is the environment variable that holds the key.
const EnvKey = "MONOBASE_ENCRYPTION_KEY"

// KeySize is the length of a key in bytes (characters of the variable),
// as PocketBase requires: 32, for AES-256.
const KeySize = 32

// Prefix starts every sealed value.
const Prefix = "mbenc:v1:"

// The errors of Open and Seal, wrapped with what they are about.
var (
	// ErrNoKey: the value is sealed and the Box has no key.
	ErrNoKey = errors.New("the secret is encrypted at rest and " + EnvKey + " is not set")
	// ErrWrongKey: the value is sealed with another key, or damaged.
	ErrWrongKey = errors.New("the secret does not decrypt with " + EnvKey + " (another key, or the stored value is damaged)")
	// ErrReserved: without a key, a plain value that starts with Prefix
	// cannot be stored (it would read back as a sealed one). It is a
	// BAD_USER_INPUT *apperr.Error.
	ErrReserved error = apperr.New(apperr.Invalid, "a secret cannot start with %s when %s is not set", Prefix, EnvKey)
)

// Box seals and opens secrets with one key. Its methods are safe for
// concurrent use; a nil *Box is a Box without a key.
type Box struct {
	aead cipher.AEAD // nil: no key
}

// New returns the Box of key: without a key when key is "", else key must
// be exactly KeySize bytes long. The error never quotes the key.
func New(key string) (*Box, error) {
	if key == "" {
		return &Box{}, nil
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("%s must be exactly %d characters long (it has %d)", EnvKey, KeySize, len(key))
	}
	block, err := aes.NewCipher([]byte(key))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvKey, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvKey, err)
	}
	return &Box{aead: aead}, nil
}

// FromEnv returns the Box of the key in getenv(EnvKey) (New's rules).
func FromEnv(getenv func(string) string) (*Box, error) { return New(getenv(EnvKey)) }

// Encrypts reports whether b has a key, so that Seal encrypts.
func (b *Box) Encrypts() bool { return b != nil && b.aead != nil }

// Sealed reports whether stored is a sealed value.
func Sealed(stored string) bool { return strings.HasPrefix(stored, Prefix) }

// Seal returns what to store for the secret plain: "" stays "", otherwise
// the sealed value when b has a key, else plain itself. Without a key it
// fails with ErrReserved for a plain value that starts with Prefix; with
// one, only when the system's random source does.
func (b *Box) Seal(plain string) (string, error) {
	if plain == "" {
		return "", nil
	}
	if !b.Encrypts() {
		if Sealed(plain) {
			return "", ErrReserved
		}
		return plain, nil
	}
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plain)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal a secret: %w", err)
	}
	sealed := b.aead.Seal(nonce, nonce, []byte(plain), nil)
	return Prefix + base64.RawStdEncoding.EncodeToString(sealed), nil
}

// Open returns the secret that stored holds: a plain value as it is, a
// sealed one decrypted. It fails with ErrNoKey for a sealed value when b
// has no key and with ErrWrongKey when the value does not decrypt with
// b's key.
func (b *Box) Open(stored string) (string, error) {
	if !Sealed(stored) {
		return stored, nil
	}
	if !b.Encrypts() {
		return "", ErrNoKey
	}
	raw, err := base64.RawStdEncoding.DecodeString(stored[len(Prefix):])
	if err != nil || len(raw) < b.aead.NonceSize()+b.aead.Overhead() {
		return "", ErrWrongKey
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], nil)
	if err != nil {
		return "", ErrWrongKey
	}
	return string(plain), nil
}
