package monobase

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrNotServing is Execute's error before `serve` has built its schema.
var ErrNotServing = errors.New("monobase: the server is not serving")

// Execute runs a GraphQL query or mutation on the app's /graphql schema as
// the viewer of ctx (in a resolver or a hook: the caller's, so the access
// rules and hooks apply as for a client), and returns its data. An error
// of the operation comes back with its code (apperr) and message. Do not
// call it from a before or after record hook: those run in the write
// transaction, and a mutation would wait for it.
func (a *App) Execute(ctx context.Context, query string, variables map[string]any) (map[string]any, error) {
	e := a.ext.Engine.Load()
	if e == nil {
		return nil, ErrNotServing
	}
	raw, err := e.Execute(ctx, query, variables)
	var data map[string]any
	if len(raw) > 0 && string(raw) != "null" {
		if jerr := json.Unmarshal(raw, &data); jerr != nil {
			return nil, fmt.Errorf("monobase: execute: %w", jerr)
		}
	}
	return data, err
}
