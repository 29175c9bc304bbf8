package graph

import (
	"context"
	"fmt"
	"strings"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/graph/model"
)

// checkRule compiles rule as a rule of the draft collection in, among the
// saved collections (the draft replacing its saved self), and returns the
// first error's message and position. Only a failure to read the saved
// collections is an error of the query.
func (r *Resolver) checkRule(ctx context.Context, in *model.CollectionInput, rule string) (*model.RuleCheck, error) {
	if strings.TrimSpace(rule) == "" {
		return &model.RuleCheck{Ok: true}, nil
	}
	var ignored apperr.FieldErrors // the draft's own rules are not checked here
	draft := toCollection(in, "", &ignored)
	saved := r.savedSelf(draft)
	if draft.Type == "" {
		draft.Type = db.TypeBase
		if saved != nil {
			draft.Type = saved.Type
		}
	}
	if err := r.addSystemFields(draft, saved); err != nil {
		return nil, err
	}
	all := r.db.Collections()
	others := make([]*db.Collection, 0, len(all)+1)
	for _, c := range all {
		if saved == nil || c.ID != saved.ID {
			others = append(others, c)
		}
	}
	others = append(others, draft)
	err := db.ValidateRule(others, draft, rule)
	if err == nil {
		return &model.RuleCheck{Ok: true}, nil
	}
	e := apperr.As(err)
	if e == nil || e.Code != apperr.Invalid {
		return nil, fmt.Errorf("check rule: %w", err)
	}
	msg := strings.TrimPrefix(e.Message, "filter: ")
	return &model.RuleCheck{Ok: false, Message: &msg, Position: e.Pos}, nil
}

// savedSelf returns the saved collection the draft is an edit of (by id,
// else by name), or nil for a new one.
func (r *Resolver) savedSelf(draft *db.Collection) *db.Collection {
	for _, ref := range []string{draft.ID, draft.Name} {
		if ref == "" {
			continue
		}
		if c, err := r.db.Collection(ref); err == nil {
			return c
		}
	}
	return nil
}

// addSystemFields puts into draft the system fields a saved collection of
// its type has (those of saved, else those of _superusers: all of them for
// AUTH, id, created and updated for BASE) unless the draft names them. A
// new VIEW's fields come from its query, so it gets only id.
func (r *Resolver) addSystemFields(draft, saved *db.Collection) error {
	src := saved
	if src == nil {
		su, err := r.db.Collection(db.SuperusersCollection)
		if err != nil {
			return fmt.Errorf("load superusers collection: %w", err)
		}
		src = su
	}
	has := map[string]bool{}
	for _, f := range draft.Fields {
		has[f.Name] = true
	}
	var sys []*db.Field
	for _, f := range src.Fields {
		if !f.System || has[f.Name] {
			continue
		}
		if saved == nil {
			switch draft.Type {
			case db.TypeBase:
				if f.Name != "id" && f.Name != "created" && f.Name != "updated" {
					continue
				}
			case db.TypeView:
				if f.Name != "id" {
					continue
				}
			}
		}
		cp := *f
		sys = append(sys, &cp)
	}
	draft.Fields = append(sys, draft.Fields...)
	return nil
}
