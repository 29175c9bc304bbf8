package dynschema

// isPasswordSignIn reports whether the Mutation field name is a password
// sign-in (<user>AuthWithPassword), for querycost.SignInOnce.
func (m *model) isPasswordSignIn(name string) bool {
	rf := m.mutation[name]
	return rf != nil && rf.kind == rkAuthPassword
}
