package dynschema

// isPasswordSignIn reports whether the Mutation field name is a password
// sign-in (<user>AuthWithPassword), for ratelimit.SignInOnce.
func (m *model) isPasswordSignIn(name string) bool {
	rf := m.mutation[name]
	return rf != nil && rf.kind == rkAuthPassword
}
