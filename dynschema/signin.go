package dynschema

// isPasswordSignIn reports whether the Mutation field name checks a
// secret (<user>AuthWithPassword, <user>AuthWithOtp), for
// querycost.SignInOnce.
func (m *model) isPasswordSignIn(name string) bool {
	rf := m.mutation[name]
	return rf != nil && (rf.kind == rkAuthPassword || rf.kind == rkAuthOtp)
}
