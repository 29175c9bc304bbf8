package ratelimit

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/monobase/monobase/apperr"
)

// Caller is who makes a request: the audience of a rule, and whose budget
// a request takes. A guest's budgets are its client IP's; a signed-in
// record's are its own, wherever it connects from. The zero Caller is a
// guest. Callers compare with ==.
type Caller struct {
	kind               callerKind
	collection, record string // a signed-in record: its collection id and id
}

type callerKind uint8

const (
	guest    callerKind = iota // anonymous
	signedIn                   // a signed-in record of an auth collection
	exempt                     // a superuser: never limited by the rules
)

var (
	// Guest is an anonymous caller, limited per client IP.
	Guest = Caller{}
	// Exempt is a superuser: never limited by the rules.
	Exempt = Caller{kind: exempt}
)

// SignedIn returns the caller for the record recordID of the auth
// collection collectionID: AUTH rules apply to it, and its budgets are the
// record's own.
func SignedIn(collectionID, recordID string) Caller {
	return Caller{kind: signedIn, collection: collectionID, record: recordID}
}

// IsSignedIn reports whether c is a signed-in record.
func (c Caller) IsSignedIn() bool { return c.kind == signedIn }

// key returns the key of c's budget under a rule: "@<collection id>/<record
// id>" for a signed-in record (no IP key starts with "@"), else the client
// IP of ctx, preceded by "<coll>\x00" for an operation on the collection
// coll (one string built, at most). It returns false when c is a guest and
// ctx carries no client address.
func (c Caller) key(ctx context.Context, coll string) (string, bool) {
	if c.kind == signedIn {
		if coll == "" {
			return "@" + c.collection + "/" + c.record, true
		}
		return coll + "\x00@" + c.collection + "/" + c.record, true
	}
	ip, ok := ClientIP(ctx)
	if !ok || coll == "" {
		return ip, ok
	}
	return coll + "\x00" + ip, true
}

// DefaultRulesMaxKeys is the default of NewRules' maxKeys.
const DefaultRulesMaxKeys = 100_000

// minKeysPerRule is the fewest keys one rule may track, however many
// rules share maxKeys.
const minKeysPerRule = 1_000

// Rules applies the rules of settings.rateLimits: each request (a path
// rule, see Paths) or root field of an operation (Operation) takes one
// unit of the budget of the most specific rule that matches it, per
// signed-in record, or per client IP (IPv6 by /64) for guests. Set
// replaces the rules while requests run. It is safe for concurrent use.
type Rules struct {
	maxKeys int
	now     func() time.Time

	mu  sync.Mutex // serializes Set
	cur atomic.Pointer[ruleSet]
}

// ruleSet is one compiled Settings; it is never changed once stored.
type ruleSet struct {
	s        Settings
	ops      map[opLabel]*labelRules // "<collection>:<action>", "*:<action>"
	paths    map[string]*labelRules  // exact paths
	prefixes []*labelRules           // paths ending in "/", longest first
}

// opLabel is an operation label split in two (so that looking one up
// builds no string).
type opLabel struct{ collection, action string }

// labelRules are the rules of one label, at most one per audience.
type labelRules struct {
	label               string
	all, guest, session *limitRule
}

// limitRule is one rule and its counts (keyed by Caller.key, and for an
// operation rule by collection and Caller.key).
type limitRule struct {
	Rule
	lim *Limiter
}

// NewRules returns the rules of s (which must be valid: see
// Settings.Validate; invalid settings turn every rule off), tracking up to
// maxKeys client keys over all rules together (at least 1,000 per rule;
// DefaultRulesMaxKeys when maxKeys <= 0). now is the clock (time.Now when
// nil).
func NewRules(s Settings, maxKeys int, now func() time.Time) *Rules {
	if maxKeys <= 0 {
		maxKeys = DefaultRulesMaxKeys
	}
	if now == nil {
		now = time.Now
	}
	r := &Rules{maxKeys: maxKeys, now: now}
	if err := r.Set(s); err != nil {
		r.cur.Store(&ruleSet{s: Settings{Rules: []Rule{}}})
	}
	return r
}

// Set applies s at once to the requests that follow. A rule kept
// unchanged (same label, audience, maxRequests and duration) keeps its
// counts; the others start afresh. Invalid settings are refused with the
// BAD_USER_INPUT error of Settings.Validate and change nothing.
func (r *Rules) Set(s Settings) error {
	if err := s.Validate(); err != nil {
		return err
	}
	s = s.clone()
	r.mu.Lock()
	defer r.mu.Unlock()
	old := map[Rule]*Limiter{}
	if prev := r.cur.Load(); prev != nil {
		for _, lr := range prev.all() {
			old[lr.Rule] = lr.lim
		}
	}
	perRule := max(minKeysPerRule, r.maxKeys/max(1, len(s.Rules)))
	rs := &ruleSet{s: s, ops: map[opLabel]*labelRules{}, paths: map[string]*labelRules{}}
	for _, rule := range s.Rules {
		lr := &limitRule{Rule: rule, lim: old[rule]}
		if lr.lim == nil {
			lr.lim = New(Limit{Burst: rule.MaxRequests, Per: time.Duration(rule.Duration) * time.Second}, perRule, r.now)
		}
		var l *labelRules
		if coll, action, ok := strings.Cut(rule.Label, ":"); ok {
			l = labelIn(rs.ops, opLabel{coll, action}, rule.Label)
		} else {
			l = labelIn(rs.paths, rule.Label, rule.Label)
		}
		switch rule.Audience {
		case AudienceGuest:
			l.guest = lr
		case AudienceAuth:
			l.session = lr
		default:
			l.all = lr
		}
	}
	for path, l := range rs.paths {
		if strings.HasSuffix(path, "/") {
			rs.prefixes = append(rs.prefixes, l)
		}
	}
	slices.SortFunc(rs.prefixes, func(a, b *labelRules) int { return len(b.label) - len(a.label) })
	r.cur.Store(rs)
	return nil
}

// labelIn returns the rules of key in m, adding them when missing.
func labelIn[K comparable](m map[K]*labelRules, key K, label string) *labelRules {
	if m[key] == nil {
		m[key] = &labelRules{label: label}
	}
	return m[key]
}

// all returns every rule of rs.
func (rs *ruleSet) all() []*limitRule {
	var out []*limitRule
	add := func(l *labelRules) {
		for _, lr := range []*limitRule{l.all, l.guest, l.session} {
			if lr != nil {
				out = append(out, lr)
			}
		}
	}
	for _, l := range rs.ops {
		add(l)
	}
	for _, l := range rs.paths {
		add(l)
	}
	return out
}

// Settings returns the settings in force.
func (r *Rules) Settings() Settings { return r.cur.Load().s.clone() }

// forCaller returns the rule of l for caller: the one of its audience,
// else the one for both; nil when l has neither.
func (l *labelRules) forCaller(c Caller) *limitRule {
	if l == nil {
		return nil
	}
	if c.kind == signedIn && l.session != nil {
		return l.session
	}
	if c.kind == guest && l.guest != nil {
		return l.guest
	}
	return l.all
}

// Operation returns nil and takes one unit of the budget of the most
// specific rule matching an operation on the collection (its name) by
// caller (a signed-in record, or a guest from the client IP of ctx).
// actions name the operation, most specific first (["authWithPassword",
// "auth"]); the labels are tried in the order <collection>:<action> for
// each action, then *:<action> for each, and the first with a rule for the
// caller's audience wins. Each (rule, collection, record or client IP) has
// its own budget.
//
// Over the budget it counts nothing, marks the HTTP response of ctx for
// status 429 (see Middleware) and returns a RATE_LIMITED error with the
// wait. Exempt callers, a guest without a client address in ctx, disabled
// settings and a nil *Rules never limit.
func (r *Rules) Operation(ctx context.Context, caller Caller, collection string, actions []string) error {
	if r == nil {
		return nil
	}
	rs := r.cur.Load()
	if !rs.s.Enabled || caller.kind == exempt || len(rs.ops) == 0 {
		return nil
	}
	var rule *limitRule
	for _, coll := range [2]string{collection, "*"} {
		for _, a := range actions {
			if rule = rs.ops[opLabel{coll, a}].forCaller(caller); rule != nil {
				break
			}
		}
		if rule != nil {
			break
		}
	}
	if rule == nil {
		return nil
	}
	key, ok := caller.key(ctx, collection)
	if !ok {
		return nil
	}
	return rule.take(ctx, key, collection, 1)
}

// path returns the rule for a request to path by caller: an exact path
// label first, then the longest matching prefix label ("/files/" matches
// "/files" and everything under it).
func (rs *ruleSet) path(path string, caller Caller) *limitRule {
	if rule := rs.paths[path].forCaller(caller); rule != nil {
		return rule
	}
	for _, l := range rs.prefixes {
		p := l.label
		if strings.HasPrefix(path, p) || len(path)+1 == len(p) && strings.HasPrefix(p, path) {
			if rule := l.forCaller(caller); rule != nil {
				return rule
			}
		}
	}
	return nil
}

// take takes n units of key's budget, or none and returns the
// RATE_LIMITED error (what names the budget: the collection, or "" for a
// path).
func (lr *limitRule) take(ctx context.Context, key, what string, n int) error {
	wait, ok := lr.lim.AllowN(key, n)
	if ok {
		return nil
	}
	markLimited(ctx, wait)
	on := ""
	if what != "" {
		on = " on " + what // the budget is per collection: name it
	}
	return apperr.Limited(wait, "too many requests (rate limit %s%s): try again later (extensions.retryAfter says when)", lr.Label, on)
}
