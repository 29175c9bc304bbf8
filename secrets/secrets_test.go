package secrets

import (
	"errors"
	"strings"
	"testing"
)

const (
	key      = "0123456789abcdef0123456789abcdef"
	otherKey = "fedcba9876543210fedcba9876543210"
)

func mustBox(t *testing.T, k string) *Box {
	t.Helper()
	b, err := New(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpenRoundTrip(t *testing.T) {
	b := mustBox(t, key)
	for _, plain := range []string{"s3cr3t", "ünïcödé ✓", strings.Repeat("x", 10_000), "mbenc:v1:looks sealed"} {
		sealed, err := b.Seal(plain)
		if err != nil {
			t.Fatal(err)
		}
		if !Sealed(sealed) || strings.Contains(sealed, plain) {
			t.Fatalf("Seal(%.20q) = %.40q: not sealed, or the plain text shows", plain, sealed)
		}
		got, err := b.Open(sealed)
		if err != nil || got != plain {
			t.Fatalf("Open(Seal(%.20q)) = %.20q, %v", plain, got, err)
		}
	}
	a1, _ := b.Seal("same")
	a2, _ := b.Seal("same")
	if a1 == a2 {
		t.Fatal("two seals of one value are equal: the nonce is not random")
	}
	if s, err := b.Seal(""); s != "" || err != nil {
		t.Fatalf(`Seal("") = %q, %v; want "" (an unset secret stays unset)`, s, err)
	}
}

func TestOpenPlainValues(t *testing.T) {
	for _, b := range []*Box{nil, mustBox(t, ""), mustBox(t, key)} {
		got, err := b.Open("plain-password")
		if err != nil || got != "plain-password" {
			t.Fatalf("Open(plain) = %q, %v; a value stored before the key was set reads as it is", got, err)
		}
	}
}

func TestWithoutKey(t *testing.T) {
	var nilBox *Box
	for _, b := range []*Box{nilBox, mustBox(t, "")} {
		if b.Encrypts() {
			t.Fatal("a Box without a key encrypts")
		}
		if s, err := b.Seal("pw"); s != "pw" || err != nil {
			t.Fatalf("Seal without a key = %q, %v; want the value as is", s, err)
		}
		if _, err := b.Seal(Prefix + "x"); !errors.Is(err, ErrReserved) {
			t.Fatalf("Seal(%q) without a key: %v, want ErrReserved", Prefix+"x", err)
		}
		sealed, _ := mustBox(t, key).Seal("pw")
		if got, err := b.Open(sealed); !errors.Is(err, ErrNoKey) || got != "" {
			t.Fatalf("Open(sealed) without a key = %q, %v; want ErrNoKey", got, err)
		}
	}
}

func TestWrongKeyOrDamage(t *testing.T) {
	sealed, err := mustBox(t, key).Seal("pw")
	if err != nil {
		t.Fatal(err)
	}
	other := mustBox(t, otherKey)
	flipped := []byte(sealed)
	flipped[len(flipped)-3] ^= 1
	for name, v := range map[string]string{
		"another key":   sealed,
		"flipped bit":   string(flipped),
		"cut short":     sealed[:len(Prefix)+10],
		"not base64":    Prefix + "!!!!",
		"prefix only":   Prefix,
		"one byte less": sealed[:len(sealed)-1],
	} {
		b := other
		if name != "another key" {
			b = mustBox(t, key)
		}
		if got, err := b.Open(v); !errors.Is(err, ErrWrongKey) || got != "" {
			t.Errorf("%s: Open = %q, %v; want ErrWrongKey", name, got, err)
		}
	}
}

func TestKeyLength(t *testing.T) {
	for _, k := range []string{"short", key[:31], key + "x", strings.Repeat("k", 64)} {
		_, err := New(k)
		if err == nil {
			t.Fatalf("New(%d characters) succeeded; want exactly %d", len(k), KeySize)
		}
		if strings.Contains(err.Error(), k) || !strings.Contains(err.Error(), EnvKey) {
			t.Fatalf("the error %q quotes the key or does not name %s", err, EnvKey)
		}
	}
	b, err := FromEnv(func(name string) string {
		if name == EnvKey {
			return key
		}
		return ""
	})
	if err != nil || !b.Encrypts() {
		t.Fatalf("FromEnv with a 32-character key: %v, encrypts %v", err, b.Encrypts())
	}
}
