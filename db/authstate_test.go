package db

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestAuthOriginsAreBoundedAndGoWithTheRecord(t *testing.T) {
	d := openTest(t)
	ctx := context.Background()
	users, err := d.Collection("users")
	if err != nil {
		t.Fatal(err)
	}
	rec := mustInsert(t, d, users, RecordInput{"email": "ann@example.com", "password": "password123", "passwordConfirm": "password123"})
	start := time.Now()
	remember := func(i int) bool {
		t.Helper()
		isNew, err := d.RememberAuthOrigin(ctx, users.ID, rec.ID(), fmt.Sprintf("device-%d", i), start.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		return isNew
	}
	if remember(0) {
		t.Fatal("the first device is new")
	}
	for i := 1; i <= MaxAuthOrigins; i++ {
		if !remember(i) {
			t.Fatalf("device %d is not new", i)
		}
	}
	// device-0, the oldest, was dropped to keep MaxAuthOrigins; device-1
	// is still known.
	if remember(1) {
		t.Fatal("device-1 was forgotten")
	}
	if !remember(0) {
		t.Fatal("device-0 was kept past the bound")
	}
	otp := OTP{ID: "otp1", CollectionRef: users.ID, RecordRef: rec.ID(), Hash: "h", SentTo: "ann@example.com", Created: time.Now()}
	if err := d.CreateOTP(ctx, otp, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	tx, err := d.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Delete(users, rec.ID()); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// Deleting the record deleted its devices and codes.
	if remember(7) {
		t.Fatal("the devices of a deleted record are still there")
	}
	if _, found, err := d.TryOTP(ctx, "otp1", users.ID, time.Now().Add(-time.Hour), 5); err != nil || found {
		t.Fatalf("the code of a deleted record: %v %v", found, err)
	}
}
