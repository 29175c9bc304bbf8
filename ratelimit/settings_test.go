package ratelimit

import (
	"errors"
	"fmt"
	"github.com/monobase/monobase/internal/dbtest"
	"reflect"
	"strings"
	"testing"

	"github.com/monobase/monobase/apperr"
)

func TestSettingsValidate(t *testing.T) {
	rule := func(label string, max, dur int, aud string) Settings {
		return Settings{Enabled: true, Rules: []Rule{{Label: label, MaxRequests: max, Duration: dur, Audience: aud}}}
	}
	many := Settings{}
	for i := range MaxRules + 1 {
		many.Rules = append(many.Rules, Rule{Label: fmt.Sprint("/x", i), MaxRequests: 1, Duration: 1})
	}
	tests := []struct {
		name string
		s    Settings
		want []string // the invalid fields; none: valid
	}{
		{"the defaults", DefaultSettings(), nil},
		{"off and empty", Settings{}, nil},
		{"every action", func() Settings {
			s := Settings{}
			for _, a := range Actions {
				s.Rules = append(s.Rules, Rule{Label: "users:" + a, MaxRequests: 1, Duration: 1})
			}
			return s
		}(), nil},
		{"system collections and paths", Settings{Rules: []Rule{
			{Label: "_superusers:auth", MaxRequests: 1, Duration: 1},
			{Label: "/files/", MaxRequests: 1, Duration: 1, Audience: AudienceGuest},
			{Label: "/auth/", MaxRequests: MaxRequests, Duration: MaxDuration, Audience: AudienceAuth},
		}}, nil},
		{"an unknown action", rule("users:fly", 1, 1, ""), []string{"rateLimits.rules.0.label"}},
		{"no action", rule("users", 1, 1, ""), []string{"rateLimits.rules.0.label"}},
		{"a bad collection name", rule("Users!:auth", 1, 1, ""), []string{"rateLimits.rules.0.label"}},
		{"an empty label", rule("", 1, 1, ""), []string{"rateLimits.rules.0.label"}},
		{"a path with a query", rule("/graphql?x=1", 1, 1, ""), []string{"rateLimits.rules.0.label"}},
		{"a path with a space", rule("/a b", 1, 1, ""), []string{"rateLimits.rules.0.label"}},
		{"a long label", rule("/"+strings.Repeat("a", maxLabelLength), 1, 1, ""), []string{"rateLimits.rules.0.label"}},
		{"maxRequests 0", rule("*:auth", 0, 1, ""), []string{"rateLimits.rules.0.maxRequests"}},
		{"maxRequests too large", rule("*:auth", MaxRequests+1, 1, ""), []string{"rateLimits.rules.0.maxRequests"}},
		{"duration 0", rule("*:auth", 1, 0, ""), []string{"rateLimits.rules.0.duration"}},
		{"duration over a day", rule("*:auth", 1, MaxDuration+1, ""), []string{"rateLimits.rules.0.duration"}},
		{"a bad audience", rule("*:auth", 1, 1, "guest"), []string{"rateLimits.rules.0.audience"}},
		{"everything wrong at once", rule("x", -1, -1, "ALL"), []string{
			"rateLimits.rules.0.audience", "rateLimits.rules.0.duration", "rateLimits.rules.0.label", "rateLimits.rules.0.maxRequests"}},
		{"the same label and audience twice", Settings{Rules: []Rule{
			{Label: "*:auth", MaxRequests: 1, Duration: 1},
			{Label: "*:auth", MaxRequests: 1, Duration: 1, Audience: AudienceGuest},
			{Label: "*:auth", MaxRequests: 2, Duration: 2},
		}}, []string{"rateLimits.rules.2.label"}},
		{"too many rules", many, []string{"rateLimits.rules"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			e := apperr.As(err)
			if e == nil || e.Code != apperr.Invalid {
				t.Fatalf("Validate() = %v, want BAD_USER_INPUT", err)
			}
			var got []string
			for f := range e.Fields {
				got = append(got, f)
			}
			if !sameSet(got, tt.want) {
				t.Fatalf("invalid fields %v, want %v", got, tt.want)
			}
		})
	}
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestSettingsLoadSave(t *testing.T) {
	ctx := t.Context()
	d, err := dbtest.Open(t, ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	def := Settings{Enabled: true, Rules: []Rule{{Label: "/graphql", MaxRequests: 9, Duration: 9}}}
	got, err := Load(ctx, d, def)
	if err != nil || !reflect.DeepEqual(got, def) {
		t.Fatalf("Load before any Save = %+v, %v; want the given default", got, err)
	}
	want := Settings{Enabled: false, Rules: []Rule{{Label: "users:auth", MaxRequests: 5, Duration: 3, Audience: AudienceGuest}}}
	if err := Save(ctx, d, want); err != nil {
		t.Fatal(err)
	}
	if got, err := Load(ctx, d, def); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Load after Save = %+v, %v; want %+v", got, err, want)
	}
	// Invalid settings are not saved.
	if err := Save(ctx, d, Settings{Rules: []Rule{{Label: "x"}}}); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("Save(invalid) = %v, want BAD_USER_INPUT", err)
	}
	if got, _ := Load(ctx, d, def); !reflect.DeepEqual(got, want) {
		t.Fatalf("a refused Save changed the stored settings: %+v", got)
	}
	// What was stored by hand and is not valid is reported, with def.
	for _, raw := range []string{`{"enabled":`, `{"enabled":true,"rules":[{"label":"x","maxRequests":1,"duration":1}]}`} {
		if err := d.SetParam(ctx, settingsParam, []byte(raw)); err != nil {
			t.Fatal(err)
		}
		got, err := Load(ctx, d, def)
		if !errors.Is(err, ErrInvalidStored) || !reflect.DeepEqual(got, def) {
			t.Fatalf("Load(%s) = %+v, %v; want def and ErrInvalidStored", raw, got, err)
		}
	}
}
