package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/monobase/monobase/db"
)

// Seeding the owners offline (-seed-owners DIR): creating a user through
// the API hashes its password at bcrypt's default cost, about 65 ms of CPU
// here, so 10,000 owners took about 11 minutes. Before the server starts,
// this mode opens its data folder itself and inserts the missing
// bench-owner-<i> users at bcrypt's lowest cost, in transactions of
// seedChunk users. The server's own hashing is unchanged: the low cost is
// only this process's (db.SetPasswordCost), and a hash records its cost.

// seedChunk is how many users one transaction inserts.
const seedChunk = 500

// ownerEmail is the email of owner i.
func ownerEmail(i int) string { return fmt.Sprintf("bench-owner-%d@example.com", i) }

// ownerPassword is every owner's password (owners sign in by impersonate).
const ownerPassword = "bench-password-1"

// seedOwners creates the users bench-owner-0 … bench-owner-(n-1) that the
// data folder dir lacks. The server must not be running on dir.
func seedOwners(ctx context.Context, dir string, n int, out io.Writer) error {
	t0 := time.Now()
	d, err := db.Open(ctx, dir)
	if err != nil {
		return fmt.Errorf("open the data folder: %w", err)
	}
	defer d.Close()
	users, err := d.Collection("users")
	if err != nil {
		return fmt.Errorf("seed owners: %w", err)
	}
	have, err := d.Find(ctx, &db.Query{Collection: users, Alias: "r", Columns: []string{"email"},
		Where: []db.Cond{{SQL: `"r"."email" LIKE ?`, Args: []any{"bench-owner-%@example.com"}}}})
	if err != nil {
		return fmt.Errorf("list the existing owners: %w", err)
	}
	exists := make(map[string]bool, len(have))
	for _, r := range have {
		exists[fmt.Sprint(r["email"])] = true
	}
	db.SetPasswordCost(bcrypt.MinCost)
	created := 0
	for start := 0; start < n; start += seedChunk {
		tx, err := d.Begin(ctx)
		if err != nil {
			return fmt.Errorf("seed owners: %w", err)
		}
		for i := start; i < min(start+seedChunk, n); i++ {
			email := ownerEmail(i)
			if exists[email] {
				continue
			}
			if _, err := tx.Insert(users, db.RecordInput{"email": email, "password": ownerPassword, "passwordConfirm": ownerPassword}); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("create %s: %w", email, err)
			}
			created++
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("seed owners: %w", err)
		}
	}
	fmt.Fprintf(out, "seed: %d owners created, %d were there, in %v\n", created, len(exists), time.Since(t0).Round(time.Millisecond))
	return nil
}
