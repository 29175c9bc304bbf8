package dynschema

// isPasswordSignIn reports whether the Mutation field name is a sign-in
// that checks a secret: a password (<user>AuthWithPassword), an emailed
// code (<user>AuthWithOtp) or an OAuth2 code (<user>AuthWithOAuth2), for
// querycost.SignInOnce.
func (m *model) isPasswordSignIn(name string) bool {
	rf := m.mutation[name]
	return rf != nil && (rf.kind == rkAuthPassword || rf.kind == rkAuthOtp || rf.kind == rkAuthOAuth2)
}
