package querycost

import (
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// CappedRules returns a validation rule set factory for gqlgen
// (Executor.SetDefaultRulesFn, Server.SetValidationRulesFn): the default
// rules, reporting at most max errors per document between them, then
// one error that says the list was cut.
func CappedRules(max int) func() *rules.Rules {
	if max <= 0 {
		max = Limits{}.WithDefaults().MaxErrors
	}
	return func() *rules.Rules {
		n := 0 // errors of this validation: one factory call per document
		capped := rules.NewRules()
		for name, rule := range rules.NewDefaultRules().GetInner() {
			capped.AddRule(name, func(obs *core.Events, addError core.AddErrFunc) {
				rule(obs, func(opts ...core.ErrorOption) {
					n++
					switch {
					case n <= max:
						addError(opts...)
					case n == max+1:
						addError(core.Message("too many validation errors: only the first %d are shown", max))
					}
				})
			})
		}
		return capped
	}
}
