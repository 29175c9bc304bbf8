package graph

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/db/filter"
	"github.com/monobase/monobase/graph/model"
)

// toCollection converts a collection input into a definition for the db
// package, which validates names, options and relation targets itself. The
// rules are syntax-checked here (db leaves that to its callers): a rule that
// does not parse is recorded in fe under prefix+"listRule" and so on. A
// relation's `collection` may be an id or a name; db resolves it.
func toCollection(in *model.CollectionInput, prefix string, fe *apperr.FieldErrors) *db.Collection {
	c := &db.Collection{
		Name:       in.Name,
		Type:       db.TypeBase,
		Indexes:    in.Indexes,
		ListRule:   in.ListRule,
		ViewRule:   in.ViewRule,
		CreateRule: in.CreateRule,
		UpdateRule: in.UpdateRule,
		DeleteRule: in.DeleteRule,
		AuthRule:   in.AuthRule,
		ManageRule: in.ManageRule,
	}
	if in.ID != nil {
		c.ID = *in.ID
	}
	if in.Type != nil {
		c.Type = *in.Type
	}
	if c.Type == db.TypeAuth {
		c.Auth = toAuthOptions(in)
	} else {
		c.AuthRule, c.ManageRule = nil, nil // AUTH-only rules; the input default of authRule is ""
	}
	if in.ViewQuery != nil {
		c.ViewQuery = *in.ViewQuery
	}
	if in.GraphqlSingle != nil {
		c.GraphQLSingle = *in.GraphqlSingle
	}
	if in.GraphqlList != nil {
		c.GraphQLList = *in.GraphqlList
	}
	c.Fields = make([]*db.Field, len(in.Fields))
	for i, f := range in.Fields {
		c.Fields[i] = toField(f)
	}
	for _, r := range []struct {
		name string
		src  *string
	}{
		{"listRule", c.ListRule}, {"viewRule", c.ViewRule}, {"createRule", c.CreateRule},
		{"updateRule", c.UpdateRule}, {"deleteRule", c.DeleteRule},
		{"authRule", c.AuthRule}, {"manageRule", c.ManageRule},
	} {
		if r.src == nil || *r.src == "" {
			continue
		}
		if _, err := filter.Parse(*r.src); err != nil {
			msg := err.Error()
			if e := apperr.As(err); e != nil {
				msg = e.Message
			}
			fe.Add(prefix+r.name, "invalid_rule", "%s", strings.TrimPrefix(msg, "filter: "))
		}
	}
	return c
}

// toField converts one field input; unset options are zero.
func toField(in *model.FieldInput) *db.Field {
	f := &db.Field{
		Name:          in.Name,
		Type:          in.Type,
		Required:      deref(in.Required),
		Hidden:        deref(in.Hidden),
		Min:           in.Min,
		Max:           in.Max,
		OnlyInt:       deref(in.OnlyInt),
		Values:        in.Values,
		MaxSelect:     deref(in.MaxSelect),
		CascadeDelete: deref(in.CascadeDelete),
		MaxSize:       int64(deref(in.MaxSize)),
		MimeTypes:     in.MimeTypes,
		Thumbs:        in.Thumbs,
		Protected:     deref(in.Protected),
		OnCreate:      deref(in.OnCreate),
		OnUpdate:      deref(in.OnUpdate),
		OnlyDomains:   in.OnlyDomains,
		ExceptDomains: in.ExceptDomains,
	}
	f.ID = deref(in.ID)
	f.Pattern = deref(in.Pattern)
	f.AutogeneratePattern = deref(in.AutogeneratePattern)
	f.Collection = deref(in.Collection)
	return f
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// ruleErrors returns the BAD_USER_INPUT error for rules that did not parse,
// naming the first rule (by key) and its error in the message.
func ruleErrors(fe apperr.FieldErrors) error {
	if len(fe) == 0 {
		return nil
	}
	keys := make([]string, 0, len(fe))
	for k := range fe {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return apperr.InvalidFields(fmt.Sprintf("invalid %s: %s", keys[0], fe[keys[0]].Message), fe)
}

// recordTime reads a stored date of rec; a malformed value reads as the
// zero time.
func recordTime(rec db.Record, key string) time.Time {
	s, _ := rec[key].(string)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
