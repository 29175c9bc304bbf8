package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Owners mode (-owners): every subscriber is a distinct signed-in user
// (bench-owner-<i>@example.com, created on first use, then signed in with
// the admin mutation impersonate), subscribed to the "memos" collection
// whose list and view rules are `author = @request.auth.id`. Each write
// creates a memo for one owner, round-robin, and must reach that owner
// and nobody else. With -broadcast, each write is a shared memo
// (shared = true), which every owner sees: n deliveries per write, each
// rendered for a distinct viewer.

// ownersQuery is the owners' subscription; the alias keeps the response
// key the load script reads.
const ownersQuery = "subscription { postChanged: memoChanged { action record { id } } }"

// ownerRule is the rule of the memos collection: evaluated in memory for
// each viewer.
const ownerRule = "author = @request.auth.id || shared = true"

// owner is one user of owners mode.
type owner struct {
	id, token string
}

// ownerStats checks that every delivery reached the owner of its memo.
type ownerStats struct {
	ownerOf sync.Map // memo id -> owner index
	mu      sync.Mutex
	got     []ownerDelivery
	dups    atomic.Int64
}

type ownerDelivery struct {
	id     string
	client int
}

func (o *ownerStats) record(id string, client int) {
	o.mu.Lock()
	o.got = append(o.got, ownerDelivery{id, client})
	o.mu.Unlock()
}

// anyOwner is the owner of a shared memo in ownerOf: every owner gets it.
const anyOwner = -1

// check returns how many deliveries went to someone else than the owner
// and how many memos reached an owner more than once.
func (o *ownerStats) check() (wrong, dup int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	seen := map[string]bool{}
	for _, d := range o.got {
		want, ok := o.ownerOf.Load(d.id)
		if !ok {
			continue // a warm-up memo or not ours: counted as unmatched elsewhere
		}
		if w := want.(int); w != anyOwner && w != d.client {
			wrong++
			continue
		}
		k := fmt.Sprint(d.id, "/", d.client)
		if seen[k] {
			dup++
		}
		seen[k] = true
	}
	return wrong, dup
}

// ensureOwners creates the memos collection (with the admin token) and
// cfg.n users, and returns a token for each, created writers at a time.
func (w *writer) ensureOwners(ctx context.Context, cfg *config, adminToken string) ([]owner, error) {
	gqlErrs, err := w.post(ctx, w.adminURL, adminToken,
		`mutation($rule: String) { createCollection(input: {name: "memos", type: BASE, listRule: $rule, viewRule: $rule, createRule: "",
			fields: [{name: "title", type: TEXT}, {name: "author", type: RELATION, collection: "users", maxSelect: 1},
				{name: "shared", type: BOOL}]}) { id } }`,
		map[string]any{"rule": ownerRule}, &struct{}{})
	if err != nil && !alreadyExists(gqlErrs) {
		return nil, fmt.Errorf("create the memos collection: %w", err)
	}
	owners := make([]owner, cfg.n)
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range max(cfg.writers, 1) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= cfg.n || ctx.Err() != nil {
					return
				}
				o, err := w.ensureOwner(ctx, adminToken, i)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				owners[i] = o
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return owners, ctx.Err()
}

// ensureOwner creates user i unless it exists and impersonates it.
func (w *writer) ensureOwner(ctx context.Context, adminToken string, i int) (owner, error) {
	email := ownerEmail(i)
	var found struct {
		Users []struct {
			ID string `json:"id"`
		} `json:"users"`
	}
	if _, err := w.post(ctx, w.appURL, adminToken, `query($f: String) { users(filter: $f, limit: 1) { id } }`,
		map[string]any{"f": fmt.Sprintf("email = '%s'", email)}, &found); err != nil {
		return owner{}, fmt.Errorf("find %s: %w", email, err)
	}
	var id string
	if len(found.Users) > 0 {
		id = found.Users[0].ID
	} else {
		var created struct {
			CreateUser struct {
				ID string `json:"id"`
			} `json:"createUser"`
		}
		if _, err := w.post(ctx, w.appURL, adminToken, `mutation($input: UserCreateInput!) { createUser(input: $input) { id } }`,
			map[string]any{"input": map[string]any{"email": email, "password": ownerPassword, "passwordConfirm": ownerPassword}},
			&created); err != nil {
			return owner{}, fmt.Errorf("create %s: %w", email, err)
		}
		id = created.CreateUser.ID
	}
	var imp struct {
		Impersonate struct {
			Token string `json:"token"`
		} `json:"impersonate"`
	}
	if _, err := w.post(ctx, w.adminURL, adminToken, `mutation($id: ID!) { impersonate(collection: "users", recordId: $id, duration: 3600) { token } }`,
		map[string]any{"id": id}, &imp); err != nil {
		return owner{}, fmt.Errorf("impersonate %s: %w", email, err)
	}
	if id == "" || imp.Impersonate.Token == "" {
		return owner{}, errors.New("no id or token for " + email)
	}
	return owner{id: id, token: imp.Impersonate.Token}, nil
}

// createMemo creates a memo of the owner o (as the superuser), shared
// with every owner or not, and returns its id.
func (w *writer) createMemo(ctx context.Context, o owner, title string, shared bool) (string, error) {
	var out struct {
		CreateMemo struct {
			ID string `json:"id"`
		} `json:"createMemo"`
	}
	if _, err := w.post(ctx, w.appURL, w.token,
		`mutation($input: MemoCreateInput!) { createMemo(input: $input) { id } }`,
		map[string]any{"input": map[string]any{"title": title, "author": o.id, "shared": shared}}, &out); err != nil {
		return "", err
	}
	if out.CreateMemo.ID == "" {
		return "", errors.New("createMemo returned no id")
	}
	return out.CreateMemo.ID, nil
}
