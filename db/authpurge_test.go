package db

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestPurgeExpiredAuthState(t *testing.T) {
	d := openTest(t)
	ctx := context.Background()
	users, err := d.Collection("users") // otp.duration 180 s, mfa.duration 1800 s
	if err != nil {
		t.Fatal(err)
	}
	members := mustCreate(t, d, &Collection{Name: "members", Type: TypeAuth,
		Auth: &AuthOptions{OTP: &OTPOptions{Duration: 3600, Length: 6}}})
	ann := mustInsert(t, d, users, RecordInput{"email": "ann@example.com", "password": "password123", "passwordConfirm": "password123"})
	bob := mustInsert(t, d, members, RecordInput{"email": "bob@example.com", "password": "password123", "passwordConfirm": "password123"})
	now := time.Now()
	ago := func(s int) time.Time { return now.Add(-time.Duration(s) * time.Second) }
	longAgo := now.Add(-48 * time.Hour) // no purge on insert

	otps := []OTP{
		{ID: "users-fresh", CollectionRef: users.ID, RecordRef: ann.ID(), Created: ago(100)},
		{ID: "users-expired", CollectionRef: users.ID, RecordRef: ann.ID(), Created: ago(200)},
		{ID: "members-fresh", CollectionRef: members.ID, RecordRef: bob.ID(), Created: ago(200)}, // 3600 s there
		{ID: "members-expired", CollectionRef: members.ID, RecordRef: bob.ID(), Created: ago(4000)},
		{ID: "gone-collection", CollectionRef: "nosuchcollection", Created: ago(1)},
	}
	for _, o := range otps {
		if err := d.CreateOTP(ctx, o, longAgo); err != nil {
			t.Fatal(err)
		}
	}
	mfas := []MFA{
		{ID: "mfa-fresh", CollectionRef: users.ID, RecordRef: ann.ID(), Method: "password", Created: ago(1000)},
		{ID: "mfa-expired", CollectionRef: users.ID, RecordRef: ann.ID(), Method: "password", Created: ago(2000)},
	}
	for _, m := range mfas {
		if err := d.CreateMFA(ctx, m, longAgo); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range []struct{ coll, rec, fp string }{
		{users.ID, ann.ID(), "ann-laptop"},
		{users.ID, "deletedrecord1", "ghost"},
		{"nosuchcollection", "x", "gone"},
	} {
		if _, err := d.RememberAuthOrigin(ctx, o.coll, o.rec, o.fp, ago(5)); err != nil {
			t.Fatal(err)
		}
	}

	got, err := d.PurgeExpiredAuthState(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := (AuthStatePurge{OTPs: 3, MFAs: 1, AuthOrigins: 2}); got != want {
		t.Errorf("purged %+v, want %+v", got, want)
	}
	ids := func(q string) []string {
		t.Helper()
		rows, err := d.readers.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		slices.Sort(out)
		return out
	}
	if got := ids(`SELECT "id" FROM "_otps"`); !slices.Equal(got, []string{"members-fresh", "users-fresh"}) {
		t.Errorf("otps left: %v", got)
	}
	if got := ids(`SELECT "id" FROM "_mfas"`); !slices.Equal(got, []string{"mfa-fresh"}) {
		t.Errorf("mfas left: %v", got)
	}
	if got := ids(`SELECT "fingerprint" FROM "_authOrigins"`); !slices.Equal(got, []string{"ann-laptop"}) {
		t.Errorf("auth origins left: %v", got)
	}
	again, err := d.PurgeExpiredAuthState(ctx, now)
	if err != nil || again != (AuthStatePurge{}) {
		t.Errorf("second purge = %+v, %v; want nothing", again, err)
	}
}
