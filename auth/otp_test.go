package auth_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/ratelimit"
)

func TestOTPStoredHashedAndUsedOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	otpID, code, err := e.auth.RequestOTP(ctx, e.users, e.user, "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(code) != 8 || strings.Trim(code, "0123456789") != "" {
		t.Fatalf("code %q: want 8 digits", code)
	}
	// What is stored is not the code (TryOTP charges one attempt).
	row, found, err := e.db.TryOTP(ctx, otpID, e.users.ID, time.Now().Add(-time.Minute), 100)
	if err != nil || !found {
		t.Fatalf("stored otp: %v %v", found, err)
	}
	if row.Hash == code || strings.Contains(row.Hash, code) || row.RecordRef != e.user.ID() || row.SentTo != "ann@example.com" {
		t.Fatalf("stored %+v", row)
	}
	// Of concurrent uses of the right code, exactly one signs in.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, refusals := 0, 0
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := e.auth.CheckOTP(ctx, e.users, otpID, code)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && id == e.user.ID():
				wins++
			case apperr.Is(err, apperr.Invalid):
				refusals++
			default:
				t.Errorf("CheckOTP = %q, %v", id, err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || refusals != 2 {
		t.Fatalf("%d sign-ins and %d refusals, want 1 and 2", wins, refusals)
	}
}

func TestOTPOfUnknownEmailNeverMatches(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	otpID, code, err := e.auth.RequestOTP(ctx, e.users, nil, "nobody@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.auth.CheckOTP(ctx, e.users, otpID, code); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("the code of an unknown email: %v", err)
	}
}

func TestMFAStartAndFinish(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id, err := e.auth.StartMFA(ctx, e.users, e.user, auth.MethodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.auth.FinishMFA(ctx, e.users, e.user, id, auth.MethodPassword); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("the same method: %v", err)
	}
	if err := e.auth.FinishMFA(ctx, e.supc, e.sup, id, auth.MethodOTP); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("another collection: %v", err)
	}
	if err := e.auth.FinishMFA(ctx, e.users, e.user, id, auth.MethodOTP); err != nil {
		t.Fatalf("a second method: %v", err)
	}
	if err := e.auth.FinishMFA(ctx, e.users, e.user, id, auth.MethodOAuth2); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("a used mfaId: %v", err)
	}
}

func TestNewDevice(t *testing.T) {
	e := newEnv(t)
	at := func(ip string) context.Context {
		return ratelimit.WithRemoteAddr(context.Background(), ip+":4000")
	}
	steps := []struct {
		ctx  context.Context
		ua   string
		want bool
	}{
		{at("10.0.0.1"), "firefox", false}, // the first device of the record
		{at("10.0.0.1"), "firefox", false}, // the same
		{at("10.0.0.2"), "firefox", true},  // another IP
		{at("10.0.0.1"), "chrome", true},   // another user agent
		{at("10.0.0.2"), "firefox", false}, // known now
	}
	for i, s := range steps {
		got, err := e.auth.NewDevice(s.ctx, e.users, e.user, s.ua)
		if err != nil || got != s.want {
			t.Fatalf("step %d: new = %v, %v; want %v", i, got, err, s.want)
		}
	}
}
