package access

import (
	"strings"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
)

// ValidateRules compiles every rule of every collection in all (the
// collections as they will be after a change) and returns BAD_USER_INPUT
// for the first rule that does not compile, keyed by the rule's name
// ("listRule", ...), naming the collection and the position. So a rule
// naming a missing field is refused when it is saved, and so is a change
// of another collection (a dropped or renamed field, a deleted
// collection) that would break an existing rule. It reads no database.
func ValidateRules(all []*db.Collection) error {
	for _, c := range all {
		for _, r := range []struct {
			name string
			rule *string
		}{
			{"listRule", c.ListRule}, {"viewRule", c.ViewRule}, {"createRule", c.CreateRule},
			{"updateRule", c.UpdateRule}, {"deleteRule", c.DeleteRule},
			{"authRule", c.AuthRule}, {"manageRule", c.ManageRule}, {"mfa.rule", mfaRule(c)},
		} {
			if r.rule == nil {
				continue
			}
			err := db.ValidateRule(all, c, *r.rule)
			if err == nil {
				continue
			}
			e := apperr.As(err)
			if e == nil || e.Code != apperr.Invalid {
				return apperr.Wrap(err, "check the %s of %s", r.name, c.Name)
			}
			msg := strings.TrimPrefix(e.Message, "filter: ")
			out := apperr.InvalidFields("invalid "+r.name+" of "+c.Name+": "+msg, map[string]apperr.FieldError{
				r.name: {Code: "invalid_rule", Message: msg},
			})
			out.Pos = e.Pos
			return out
		}
	}
	return nil
}

// mfaRule returns the MFA rule of an AUTH collection, nil when unset.
func mfaRule(c *db.Collection) *string {
	if o := c.AuthOpts(); o != nil && o.MFA.Rule != "" {
		return &o.MFA.Rule
	}
	return nil
}
