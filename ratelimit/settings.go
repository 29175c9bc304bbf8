package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
)

// settingsParam is the _params key of the settings group rateLimits.
const settingsParam = "settings.rateLimits"

// The audiences of a rule.
const (
	AudienceAll   = ""      // guests and signed-in records
	AudienceGuest = "GUEST" // anonymous requests only
	AudienceAuth  = "AUTH"  // requests of a signed-in record only
)

// Rule is one rule of settings.rateLimits: up to MaxRequests per Duration
// seconds for each signed-in record, or each client IP for guests, on what
// Label names (docs/api.md "Rate limits"), for the callers of Audience.
type Rule struct {
	// Label is an operation, "<collection>:<action>" or "*:<action>"
	// (Actions lists the actions), or a path: "/graphql" matches that path
	// only, "/files/" (ending in "/") the path and everything under it.
	Label       string `json:"label"`
	MaxRequests int    `json:"maxRequests"`
	Duration    int    `json:"duration"` // seconds
	// Audience is AudienceGuest, AudienceAuth or AudienceAll ("").
	Audience string `json:"audience"`
}

// Settings are the settings group rateLimits.
type Settings struct {
	Enabled bool   `json:"enabled"`
	Rules   []Rule `json:"rules"`
}

// DefaultSettings returns the settings of a data folder that never saved
// any: on, with PocketBase's defaults for sign-ins and creates, and a
// budget for every request to /graphql.
func DefaultSettings() Settings {
	return Settings{Enabled: true, Rules: []Rule{
		{Label: "*:auth", MaxRequests: 2, Duration: 3},
		{Label: "*:create", MaxRequests: 20, Duration: 5},
		{Label: "/graphql", MaxRequests: 300, Duration: 10},
	}}
}

// Actions are the actions an operation label may name. "auth" covers
// every sign-in: authWithPassword, authWithOtp, authWithOAuth2 and
// requestOtp.
var Actions = []string{
	"auth", "authWithPassword", "authWithOtp", "authWithOAuth2", "requestOtp", "authRefresh",
	"requestVerification", "confirmVerification", "requestPasswordReset", "confirmPasswordReset",
	"requestEmailChange", "confirmEmailChange", "authMethods", "unlinkOAuth2",
	"list", "view", "create", "update", "delete",
}

// Bounds of Validate.
const (
	MaxRules       = 100
	MaxRequests    = 1_000_000_000
	MaxDuration    = 86_400 // seconds: one day
	maxLabelLength = 200
)

var (
	opCollectionRe = regexp.MustCompile(`^(\*|[a-z_][a-z0-9_]*)$`)
	pathRe         = regexp.MustCompile(`^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$`)
)

// Validate returns a BAD_USER_INPUT *apperr.Error naming each invalid
// field (rateLimits.rules.2.label, ...), or nil.
func (s Settings) Validate() error {
	var fe apperr.FieldErrors
	if len(s.Rules) > MaxRules {
		fe.Add("rateLimits.rules", "invalid", "at most %d rules", MaxRules)
		return fe.Err("invalid settings")
	}
	seen := map[[2]string]bool{}
	for i, r := range s.Rules {
		field := "rateLimits.rules." + strconv.Itoa(i) + "."
		if msg := labelError(r.Label); msg != "" {
			fe.Add(field+"label", "invalid", "%s", msg)
		}
		if r.MaxRequests < 1 || r.MaxRequests > MaxRequests {
			fe.Add(field+"maxRequests", "invalid", "must be between 1 and %d", MaxRequests)
		}
		if r.Duration < 1 || r.Duration > MaxDuration {
			fe.Add(field+"duration", "invalid", "must be between 1 and %d seconds", MaxDuration)
		}
		switch r.Audience {
		case AudienceAll, AudienceGuest, AudienceAuth:
			key := [2]string{r.Label, r.Audience}
			if seen[key] {
				fe.Add(field+"label", "duplicate", "another rule has this label and audience")
			}
			seen[key] = true
		default:
			fe.Add(field+"audience", "invalid", "must be GUEST, AUTH, or null for both")
		}
	}
	return fe.Err("invalid settings")
}

// labelError returns why label is not a valid rule label, "" when it is.
func labelError(label string) string {
	if label == "" || len(label) > maxLabelLength {
		return fmt.Sprintf("must be 1 to %d characters", maxLabelLength)
	}
	if strings.HasPrefix(label, "/") {
		if !pathRe.MatchString(label) {
			return "a path label must be a URL path such as /graphql or /files/ (no query, spaces or control characters)"
		}
		return ""
	}
	coll, action, ok := strings.Cut(label, ":")
	if !ok || !opCollectionRe.MatchString(coll) {
		return "must be an operation (<collection>:<action> or *:<action>, such as users:auth) or a path (such as /graphql)"
	}
	if !slices.Contains(Actions, action) {
		return fmt.Sprintf("unknown action %q: one of %s", action, strings.Join(Actions, ", "))
	}
	return ""
}

// clone returns a copy of s that shares no slice with it.
func (s Settings) clone() Settings {
	s.Rules = append([]Rule{}, s.Rules...)
	return s
}

// ErrInvalidStored is wrapped by Load's error for stored settings that do
// not decode or are not valid (edited by hand, say).
var ErrInvalidStored = errors.New("the stored settings.rateLimits are not valid")

// Load returns the stored settings, def when they were never saved. It
// fails when _params cannot be read, and with ErrInvalidStored (and def)
// when what is stored is not valid settings.
func Load(ctx context.Context, d *db.DB, def Settings) (Settings, error) {
	var s Settings
	if ok, err := db.LoadParamJSON(ctx, d, settingsParam, &s, Settings.Validate, ErrInvalidStored); err != nil || !ok {
		return def.clone(), err
	}
	return s.clone(), nil
}

// Save validates s and stores it. Invalid settings are the BAD_USER_INPUT
// error of Validate; a storage failure is wrapped.
func Save(ctx context.Context, d *db.DB, s Settings) error {
	return db.SaveParamJSON(ctx, d, settingsParam, s.clone(), Settings.Validate)
}
